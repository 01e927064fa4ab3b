//! `.calint.yaml` end to end: discovery, every key, command-line overrides, and what a broken
//! configuration looks like (exit code 2, source snippets on stderr). Each case runs the binary
//! and snapshots exit code, stdout and stderr together.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("calint runs");
    let code = out.status.code().unwrap_or(-1);
    let text = format!(
        "exit: {code}\n--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, text)
}

#[test]
fn config_file_sets_rules_fail_on_version_and_excludes() {
    let (code, out) = run(&["check", "fixtures/config/overrides", "--color", "never"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("vendor"), "vendor/ is excluded:\n{out}");
    assert!(!out.contains("CAL101"), "CAL101 is off:\n{out}");
    assert!(
        out.contains("error[CAL004]"),
        "unknown-tier raised to error:\n{out}"
    );
    assert!(
        out.contains("Calico v3.30"),
        "calico-version applies:\n{out}"
    );
    insta::assert_snapshot!("config_overrides", out);
}

#[test]
fn command_line_overrides_the_file() {
    let (code, out) = run(&[
        "check",
        "fixtures/config/overrides",
        "--color",
        "never",
        "--rule",
        "CAL101=warning",
        "--rule",
        "unknown-tier=off",
        "--calico-version",
        "3.33",
        "--fail-on",
        "error",
    ]);
    // Only a CAL101 warning is left, and the command line says to fail on errors only.
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning[CAL101]") && !out.contains("CAL004") && !out.contains("CAL002"));
    insta::assert_snapshot!("config_cli_overrides", out);

    let (code, out) = run(&[
        "check",
        "fixtures/config/overrides",
        "--no-config",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("vendor/upstream.yaml"),
        "--no-config drops the excludes:\n{out}"
    );
}

#[test]
fn discovery_walks_up_from_the_first_path() {
    let (code, dir) = run(&[
        "check",
        "fixtures/config/nested/team/policies",
        "--color",
        "never",
    ]);
    assert_eq!(code, 0, "CAL101 is info there, below fail-on: {dir}");
    assert!(dir.contains("note[CAL101]"), "{dir}");
    let (code, file) = run(&[
        "check",
        "fixtures/config/nested/team/policies/web.yaml",
        "--color",
        "never",
    ]);
    assert_eq!(code, 0);
    assert_eq!(dir, file, "a file PATH finds the same configuration");
    let (code, out) = run(&["config", "fixtures/config/nested/team/policies"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "exit: 0\n--- stdout\nconfiguration: fixtures/config/nested/.calint.yaml (found): ok\n--- stderr\n"
    );
}

#[test]
fn broken_configurations_exit_2_with_located_errors() {
    let (code, out) = run(&["check", "fixtures/config/bad-keys", "--color", "never"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("did you mean `exclude`?"), "{out}");
    assert!(
        out.contains("fixtures/config/bad-keys/.calint.yaml:1:1"),
        "{out}"
    );
    insta::assert_snapshot!("config_bad_keys", out);

    let (code, out) = run(&["check", "fixtures/config/bad-yaml", "--color", "never"]);
    assert_eq!(code, 2, "{out}");
    insta::assert_snapshot!("config_bad_yaml", out);

    let (code, out) = run(&["config", "fixtures/config/bad-keys"]);
    assert_eq!(code, 2, "`config` checks the file too: {out}");

    let (code, out) = run(&[
        "check",
        "fixtures/CAL101",
        "--config",
        "does/not/exist.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(out.contains("cannot read the configuration file"), "{out}");

    let (code, out) = run(&["check", "fixtures/CAL101", "--rule", "CAL999=off"]);
    assert_eq!(code, 2);
    assert!(out.contains("not a calint lint code"), "{out}");
}

#[test]
fn config_print_shows_the_effective_configuration() {
    let (code, out) = run(&["config", "fixtures/config/overrides", "--print"]);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("config_print_yaml", out);
    let (code, out) = run(&[
        "config",
        "--config",
        "fixtures/config/overrides/.calint.yaml",
        "--print",
        "--format",
        "json",
        "--fail-on",
        "info",
    ]);
    assert_eq!(code, 0, "{out}");
    let json = out
        .split("--- stdout\n")
        .nth(1)
        .and_then(|s| s.split("--- stderr\n").next())
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON");
    assert_eq!(v["fail-on"]["value"], "info");
    assert_eq!(v["fail-on"]["from"], "command line");
    assert_eq!(v["rules"]["CAL101"]["level"], "off");
    assert_eq!(
        v["source"],
        "fixtures/config/overrides/.calint.yaml (--config)"
    );
    assert_eq!(v["groups"]["web"], "app == 'web'");
    let (code, out) = run(&["config", "fixtures/CAL101", "--print", "--no-config"]);
    assert_eq!(code, 0);
    assert!(out.contains("# source: none (built-in defaults)"), "{out}");
}

/// `limits:` sets the resource bounds; bad limit keys and values are located config errors.
#[test]
fn limits_from_the_config_file() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(["check", "fixtures/config/limits", "--color", "never"])
        .output()
        .expect("calint runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("larger than the 200-byte limit"),
        "{stdout}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(["check", "fixtures/config/bad-limits", "--color", "never"])
        .output()
        .expect("calint runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("did you mean `max-file-size`?"), "{stderr}");
    assert!(
        stderr.contains("`max-yaml-depth` must be a positive whole number"),
        "{stderr}"
    );
}
