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

#[test]
fn github_format_emits_escaped_workflow_commands() {
    let (code, out, _) = calint(&["check", "examples", "--format", "github"]);
    assert_eq!(code, 1);
    let commands: Vec<&str> = out.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 11, "{out}");
    let dup = commands
        .iter()
        .find(|c| c.contains("CAL003"))
        .expect("CAL003 annotation");
    assert!(
        dup.starts_with(
            "::error file=examples/policies/shop/legacy.yaml,line=5,endLine=5,col=9,endColumn=17,title=CAL003 duplicate-resource::"
        ),
        "{dup}"
    );
    // Newlines in the message are escaped; `:` and `,` stay as they are in the message part.
    assert!(
        dup.contains("%0Aexamples/policies/shop/frontend.yaml:4: first defined here"),
        "{dup}"
    );
    assert!(commands.iter().any(|c| c.starts_with("::warning ")));
    assert!(
        out.ends_with(
            "11 findings (6 errors, 5 warnings) in 19 files (24 resources, 14 policies)\n"
        )
    );
    let (_, quiet, _) = calint(&["check", "examples", "--format", "github", "--quiet"]);
    assert!(quiet.lines().all(|l| l.starts_with("::")), "{quiet}");
    let (_, info, _) = calint(&["check", "fixtures/CAL006/fires", "--format", "github"]);
    assert!(
        info.lines().any(|l| l.starts_with("::notice ")),
        "info → notice: {info}"
    );
}

/// A fresh directory for one test's output files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn output_and_extra_reports_come_from_one_run() {
    let dir = scratch("cli-output");
    let sarif = dir.join("out.sarif");
    let json = dir.join("out.json");
    let md = dir.join("summary.md");
    let (code, stdout, err) = calint(&[
        "check",
        "examples",
        "--format",
        "sarif",
        "--output",
        &sarif.to_string_lossy(),
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("markdown={}", md.display()),
        "--link-base",
        "https://example.com/repo/blob/abc/",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(stdout, "", "--output leaves stdout empty");
    let (_, direct, _) = calint(&["check", "examples", "--format", "sarif"]);
    assert_eq!(std::fs::read_to_string(&sarif).unwrap_or_default(), direct);
    let (_, direct, _) = calint(&["check", "examples", "--format", "json"]);
    assert_eq!(std::fs::read_to_string(&json).unwrap_or_default(), direct);
    let summary = std::fs::read_to_string(&md).unwrap_or_default();
    assert!(summary.starts_with("## calint\n"), "{summary}");
    assert!(
        summary.contains("[examples/policies/shop/database-replica.yaml:15](https://example.com/repo/blob/abc/examples/policies/shop/database-replica.yaml#L15)"),
        "{summary}"
    );
    assert!(
        summary.contains("| CAL002 | invalid-resource | error | 3 |"),
        "{summary}"
    );

    let (code, _, err) = calint(&["check", "examples", "--output", "/nonexistent/dir/x"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = calint(&["check", "examples", "--report", "yaml=x"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn quiet_and_verbose() {
    let (_, out, _) = calint(&["check", "examples", "--quiet", "--color", "never"]);
    assert!(!out.contains("11 findings"), "--quiet drops the summary");
    assert!(out.contains("error[CAL002]"));
    let (_, clean, _) = calint(&["check", "fixtures/CAL101/clean", "--quiet"]);
    assert_eq!(clean, "", "nothing at all when clean and quiet");
    let (code, out, err) = calint(&["check", "examples", "--verbose", "--color", "never"]);
    assert_eq!(code, 1);
    assert!(out.contains("11 findings"));
    for stage in [
        "configuration:",
        "19 files",
        "discover",
        "parse and lower",
        "validate",
        "lint CAL002",
        "render",
    ] {
        assert!(
            err.contains(stage),
            "--verbose should mention {stage}:\n{err}"
        );
    }
    let (code, _, _) = calint(&["check", "examples", "--quiet", "--verbose"]);
    assert_eq!(code, 2, "--quiet and --verbose conflict");
}

#[test]
fn version_and_completions() {
    let (code, out, _) = calint(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("calint {}\n", env!("CARGO_PKG_VERSION")));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, _) = calint(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(out.contains("calint") && out.contains("fail-on"), "{shell}");
    }
    let (code, _, _) = calint(&["completions", "tcsh"]);
    assert_eq!(code, 2);
}

#[test]
fn progress_bar_never_reaches_pipes() {
    // stderr is a pipe here, so no bar, whatever the format and however long the run.
    for format in ["human", "json", "sarif", "github", "markdown"] {
        let (_, _, err) = calint(&["check", "examples", "--format", format]);
        assert_eq!(err, "", "{format}: {err}");
    }
}
