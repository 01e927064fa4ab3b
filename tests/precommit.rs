//! The pre-commit hook, for real: `pre-commit try-repo <this repository> calint-system` in a
//! scratch git repository must fail on a broken policy (showing the finding) and pass once it
//! is fixed. The test binary's `calint` is put first on PATH, as the system hook expects.
//!
//! Skipped (with a message) only when `pre-commit` is not installed and
//! `CALINT_REQUIRE_PRECOMMIT` is unset; `.ci/run` installs pre-commit and sets it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BAD: &str = "apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: db
  namespace: shop
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        nets: [10.0.0.1/8]
";

fn precommit_available() -> bool {
    Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("command starts")
}

fn git(dir: &Path, args: &[&str]) {
    let out = run(Command::new("git").args(args).current_dir(dir));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The repository to `try-repo`: this checkout when it is a git work tree whose top level is
/// the crate and which tracks the hooks file (a clean clone); otherwise a scratch repository
/// holding just the hooks file (a source tarball, or a tree where it is not committed yet).
fn hooks_repo(scratch: &Path) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let top = run(Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(manifest));
    let tracked = run(Command::new("git")
        .args(["ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"])
        .current_dir(manifest));
    let top = String::from_utf8_lossy(&top.stdout).trim().to_string();
    let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if tracked.status.success() && same(Path::new(&top), manifest) {
        return manifest.to_path_buf();
    }
    eprintln!(
        "note: {} is not a git checkout tracking .pre-commit-hooks.yaml; using a copy of the hooks file",
        manifest.display()
    );
    let repo = scratch.join("hooks-repo");
    std::fs::create_dir_all(&repo).expect("hooks repo dir");
    std::fs::copy(
        manifest.join(".pre-commit-hooks.yaml"),
        repo.join(".pre-commit-hooks.yaml"),
    )
    .expect("copy hooks file");
    init(&repo);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "hooks"]);
    repo
}

fn init(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.name", "calint test"]);
    git(dir, &["config", "user.email", "calint@example.invalid"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
}

fn try_repo(work: &Path, hooks: &Path, home: &Path) -> (bool, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_calint"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH joins");
    let out = run(Command::new("pre-commit")
        .args([
            "try-repo",
            &hooks.to_string_lossy(),
            "calint-system",
            "--all-files",
            "--color",
            "never",
        ])
        .current_dir(work)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn precommit_hook_blocks_a_broken_policy_and_passes_the_fix() {
    if !precommit_available() {
        assert!(
            std::env::var_os("CALINT_REQUIRE_PRECOMMIT").is_none(),
            "CALINT_REQUIRE_PRECOMMIT is set but `pre-commit` is not installed"
        );
        eprintln!(
            "SKIPPED: `pre-commit` is not installed (pip install pre-commit); set CALINT_REQUIRE_PRECOMMIT=1 to make this a failure"
        );
        return;
    }
    // Outside this repository, so no .calint.yaml of ours is found by walking up.
    let scratch = std::env::temp_dir().join(format!("calint-precommit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let work = scratch.join("work");
    std::fs::create_dir_all(work.join("policies")).expect("work dir");
    let hooks = hooks_repo(&scratch);
    init(&work);
    std::fs::write(work.join("policies/db.yaml"), BAD).expect("write policy");
    git(&work, &["add", "."]);

    let (ok, out) = try_repo(&work, &hooks, &scratch.join("cache"));
    assert!(!ok, "the hook must fail on a broken policy:\n{out}");
    assert!(out.contains("calint (system)"), "{out}");
    assert!(out.contains("Failed"), "{out}");
    assert!(
        out.contains("error[CAL002]") && out.contains("policies/db.yaml:12:16"),
        "{out}"
    );

    std::fs::write(
        work.join("policies/db.yaml"),
        BAD.replace("10.0.0.1/8", "10.0.0.0/8"),
    )
    .expect("fix policy");
    git(&work, &["add", "."]);
    let (ok, out) = try_repo(&work, &hooks, &scratch.join("cache"));
    assert!(ok, "the hook must pass once fixed:\n{out}");
    assert!(out.contains("Passed"), "{out}");

    let _ = std::fs::remove_dir_all(&scratch);
}
