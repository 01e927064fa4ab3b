//! Snapshot tests over the fixture trees: each `fixtures/<CODE>/{fires,clean}` case is checked,
//! its human and JSON reports are snapshotted, and the case's intent is asserted directly
//! (`fires` must report the code, `clean` must not), so a wrong snapshot cannot hide a
//! regression.

use calint::check::{CheckOptions, check};
use calint::report;
use std::path::{Path, PathBuf};

fn run(dir: &Path) -> (String, String, Vec<&'static str>) {
    let mut opts = CheckOptions {
        paths: vec![dir.to_path_buf()],
        ..CheckOptions::default()
    };
    // world-exposure (CAL311) is opt-in (without `public:` it runs only when turned on).
    if dir.starts_with("fixtures/CAL311") {
        opts.lints.overrides.insert(
            "CAL311".to_string(),
            Some(calint::finding::Severity::Warning),
        );
    }
    let (project, findings) = check(&opts).expect("fixture tree loads");
    let human = report::human::render(&project, &findings, false);
    let json = report::json::render(&project, &findings);
    (human, json, findings.iter().map(|f| f.code).collect())
}

fn cases() -> Vec<(String, PathBuf)> {
    let root = Path::new("fixtures");
    let mut cases = Vec::new();
    for code in std::fs::read_dir(root).expect("fixtures/ exists") {
        let code = code.expect("readable").path();
        // Only `fixtures/CALnnn/` trees are lint cases (others, such as `fixtures/assertions`,
        // need a configuration file and are tested through the CLI).
        let is_code = code.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n.len() == 6 && n.starts_with("CAL") && n[3..].bytes().all(|b| b.is_ascii_digit())
        });
        if !code.is_dir() || !is_code {
            continue;
        }
        for kind in ["fires", "clean"] {
            let dir = code.join(kind);
            if dir.is_dir() {
                let name = format!(
                    "{}_{kind}",
                    code.file_name().unwrap_or_default().to_string_lossy()
                );
                cases.push((name, dir));
            }
        }
    }
    cases.sort();
    cases
}

#[test]
fn every_lint_fixture_fires_or_stays_clean() {
    let cases = cases();
    assert!(
        cases.len() >= 14,
        "expected a fires and a clean case per lint, found {}",
        cases.len()
    );
    for (name, dir) in cases {
        let code = name.split('_').next().unwrap_or_default();
        let (human, json, codes) = run(&dir);
        if name.ends_with("_fires") {
            assert!(
                codes.contains(&code),
                "{name}: expected {code} in {codes:?}\n{human}"
            );
        } else {
            assert!(!codes.contains(&code), "{name}: unexpected {code}\n{human}");
        }
        insta::assert_snapshot!(format!("{name}_human"), human);
        insta::assert_snapshot!(format!("{name}_json"), json);
    }
}

#[test]
fn broken_file_does_not_hide_the_rest_of_the_tree() {
    let (human, json, codes) = run(Path::new("fixtures/mixed"));
    assert!(codes.contains(&"CAL001"), "{human}");
    assert!(codes.contains(&"CAL002"), "{human}");
    assert!(
        codes.contains(&"CAL101"),
        "valid files are still linted:\n{human}"
    );
    insta::assert_snapshot!("mixed_human", human);
    insta::assert_snapshot!("mixed_json", json);
}

#[test]
fn example_tree() {
    let (human, json, codes) = run(Path::new("examples"));
    for code in ["CAL001", "CAL002", "CAL003", "CAL004", "CAL101", "CAL102"] {
        assert!(
            codes.contains(&code),
            "examples/ should show {code}:\n{human}"
        );
    }
    insta::assert_snapshot!("examples_human", human);
    insta::assert_snapshot!("examples_json", json);
}

#[test]
fn suppressions_apply_to_every_lint_of_the_annotated_resource_only() {
    let (human, json, codes) = run(Path::new("fixtures/suppressions"));
    // legacy-db's CAL002 and CAL101 and the set's CAL002 are suppressed; the same problems
    // elsewhere are not.
    assert_eq!(codes, vec!["CAL101", "CAL002"], "{human}");
    assert!(human.contains("NetworkPolicy shop/unsuppressed"), "{human}");
    assert!(!human.contains("legacy-db"), "{human}");
    assert!(
        human.ends_with("; 3 findings suppressed by annotations\n"),
        "{human}"
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["summary"]["suppressed"], 3);
    insta::assert_snapshot!("suppressions_human", human);
    insta::assert_snapshot!("suppressions_json", json);
}
