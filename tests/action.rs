//! The GitHub Action: `action.yml` is well-formed and wired to its scripts, and the step script
//! behaves as documented under a simulated runner (tests/action_test.sh).

use calint::load::tree::Node;
use calint::load::yaml::{ParseLimits, parse};
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn action_step_script_under_a_simulated_runner() {
    let out = Command::new("bash")
        .arg(root().join("tests/action_test.sh"))
        .arg(env!("CARGO_BIN_EXE_calint"))
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all cases passed"), "{text}");
}

fn scalar<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Node::scalar_str)
}

#[test]
fn action_yml_declares_and_uses_every_input() {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let parsed = parse(&text, &ParseLimits::default());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let doc = &parsed.documents.first().expect("one document").root;
    let runs = doc.get("runs").expect("runs");
    assert_eq!(scalar(runs, "using"), Some("composite"));

    let inputs = doc.get("inputs").and_then(Node::as_map).expect("inputs");
    let expected = [
        ("paths", "."),
        ("config", ""),
        ("fail-on", ""),
        ("sarif-file", "calint.sarif"),
        ("annotations", "true"),
        ("install-from", "release"),
        ("version", ""),
        ("only-changed", "auto"),
        ("diff-base", ""),
        ("diff-file", "calint-diff.md"),
        ("fail-on-opened", "false"),
    ];
    let names: Vec<&str> = inputs.iter().filter_map(|e| e.key.scalar_str()).collect();
    assert_eq!(names, expected.map(|(n, _)| n));
    for (entry, (name, default)) in inputs.iter().zip(expected) {
        assert_eq!(scalar(&entry.value, "default"), Some(default), "{name}");
        assert!(scalar(&entry.value, "description").is_some(), "{name}");
        assert!(
            text.contains(&format!("inputs.{name} }}}}"))
                || text.contains(&format!("inputs.{name} ||")),
            "input `{name}` is never used"
        );
    }
    for output in ["findings", "sarif-file"] {
        let value = doc
            .get("outputs")
            .and_then(|o| o.get(output))
            .and_then(|o| scalar(o, "value"))
            .unwrap_or_default();
        assert_eq!(value, format!("${{{{ steps.calint.outputs.{output} }}}}"));
    }

    // Every step runs in bash and every script it names exists.
    let steps = runs.get("steps").and_then(Node::as_seq).expect("steps");
    for step in steps {
        if let Some(run) = scalar(step, "run") {
            assert_eq!(scalar(step, "shell"), Some("bash"), "{run}");
            if let Some(at) = run.find("scripts/") {
                let script: String = run[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                assert!(root().join(&script).is_file(), "{script} is missing");
            }
        }
    }
    let install =
        std::fs::read_to_string(root().join("scripts/action-install.sh")).expect("install script");
    // By default the action downloads its release, verified, else builds its own checkout.
    assert!(install.contains("SHA256SUMS"));
    assert!(install.contains("cargo install --path \"${GITHUB_ACTION_PATH:?}\" --locked"));
    assert!(install.contains("libz3-dev"));
    assert!(text.contains("uses: actions/cache@v5"));
}
