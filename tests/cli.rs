//! The binary's contract: exit codes and the `selector` command.

use std::process::Command;

fn calint(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(args)
        .output()
        .expect("calint runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_follow_fail_on() {
    let (code, out, _) = calint(&["check", "fixtures/CAL101/fires", "--color", "never"]);
    assert_eq!(code, 1, "{out}");
    let (code, _, _) = calint(&["check", "fixtures/CAL101/fires", "--fail-on", "error"]);
    assert_eq!(code, 0);
    let (code, _, _) = calint(&["check", "fixtures/CAL101/clean", "--fail-on", "info"]);
    assert_eq!(code, 0);
    let (code, _, err) = calint(&["check", "does/not/exist"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = calint(&["check", "--format", "yaml"]);
    assert_eq!(code, 2);
}

#[test]
fn json_format_is_parseable() {
    let (_, out, _) = calint(&["check", "fixtures/mixed", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert!(v["summary"]["findings"].as_u64().unwrap_or(0) >= 3);
    let first = &v["findings"][0];
    for key in ["code", "name", "severity", "message", "location", "related"] {
        assert!(first.get(key).is_some(), "missing {key}: {first}");
    }
}

#[test]
fn selector_command() {
    let (code, out, _) = calint(&["selector", "a == 'b' && has(c)", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["valid"], true);
    assert_eq!(v["normalized"], "(a == \"b\" && has(c))");

    let (code, out, _) = calint(&["selector", "app == 'web'", "--labels", r#"{"app":"web"}"#]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("matches: yes"));
    let (code, _, _) = calint(&["selector", "app == 'web'", "--labels", r#"{"app":"db"}"#]);
    assert_eq!(code, 1);
    let (code, out, _) = calint(&["selector", "app = 'web'"]);
    assert_eq!(code, 2, "{out}");
    let (code, _, _) = calint(&["selector", "app == 'web'", "--labels", "not json"]);
    assert_eq!(code, 2);
}

#[test]
fn rules_command_lists_and_explains() {
    let (code, out, _) = calint(&["rules"]);
    assert_eq!(code, 0);
    assert!(out.contains("CAL101") && out.contains("defaulted-types"));
    let (code, out, _) = calint(&["rules", "CAL003"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# CAL003 duplicate-resource"));
    let (code, _, _) = calint(&["rules", "CAL999"]);
    assert_eq!(code, 2);
}
