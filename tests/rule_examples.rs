//! The rule pages' examples are part of the test suite: every `rules/CODE.md` may tag its
//! YAML examples as ```` ```yaml fires ```` (the lint must report this tree) and
//! ```` ```yaml clean ```` (the lint must not). Each tagged block is a whole tree (one file,
//! any number of documents) checked exactly as `calint check` would. Pages of the pitfall and
//! anomaly lints must carry both kinds of block.

use calint::check::{CheckOptions, check};
use calint::lints::REGISTRY;
use std::path::PathBuf;

/// `(tag, yaml)` for every fenced block whose info string is `yaml fires` or `yaml clean`.
fn tagged_blocks(doc: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut current: Option<(&'static str, String)> = None;
    for line in doc.lines() {
        match &mut current {
            Some((tag, body)) => {
                if line.trim_end() == "```" {
                    out.push((*tag, std::mem::take(body)));
                    current = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
            None => {
                let info: Vec<&str> = line
                    .strip_prefix("```")
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                match info.as_slice() {
                    ["yaml", "fires"] => current = Some(("fires", String::new())),
                    ["yaml", "clean"] => current = Some(("clean", String::new())),
                    _ => {}
                }
            }
        }
    }
    assert!(current.is_none(), "unterminated example block");
    out
}

/// Codes whose pages must carry checked examples (the pitfall and anomaly ranges).
fn must_have_examples(code: &str) -> bool {
    let n: u32 = code[3..].parse().unwrap_or(0);
    (120..=179).contains(&n) || (204..=229).contains(&n)
}

fn codes_for(code: &str, yaml: &str, dir: &PathBuf) -> Vec<&'static str> {
    std::fs::create_dir_all(dir).expect("temp dir");
    std::fs::write(dir.join("example.yaml"), yaml).expect("write example");
    let opts = CheckOptions {
        paths: vec![dir.clone()],
        ..CheckOptions::default()
    };
    let (_, findings) = check(&opts).unwrap_or_else(|e| panic!("{code}: {e:?}"));
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn rule_page_examples_fire_and_fixes_stay_clean() {
    let root = std::env::temp_dir().join(format!("calint-rule-examples-{}", std::process::id()));
    let mut checked = 0;
    for lint in REGISTRY {
        let m = lint.meta();
        let blocks = tagged_blocks(m.doc);
        if must_have_examples(m.code) {
            assert!(
                blocks.iter().any(|(t, _)| *t == "fires")
                    && blocks.iter().any(|(t, _)| *t == "clean"),
                "rules/{}.md needs a ```yaml fires and a ```yaml clean example",
                m.code
            );
        }
        for (i, (tag, yaml)) in blocks.iter().enumerate() {
            let dir = root.join(format!("{}-{i}-{tag}", m.code));
            let codes = codes_for(m.code, yaml, &dir);
            if *tag == "fires" {
                assert!(
                    codes.contains(&m.code),
                    "rules/{}.md example {i} should report {} but reports {codes:?}:\n{yaml}",
                    m.code,
                    m.code
                );
            } else {
                assert!(
                    !codes.contains(&m.code),
                    "rules/{}.md example {i} (`Use instead`) must not report {}:\n{yaml}",
                    m.code,
                    m.code
                );
            }
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(checked > 0, "no tagged examples found");
}

#[test]
fn tagged_blocks_are_found() {
    let doc = "x\n```yaml fires\na: 1\n```\n```yaml\nb: 2\n```\n```yaml clean\nc: 3\n```\n";
    assert_eq!(
        tagged_blocks(doc),
        vec![
            ("fires", "a: 1\n".to_string()),
            ("clean", "c: 3\n".to_string())
        ]
    );
}
