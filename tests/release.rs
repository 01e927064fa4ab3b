//! Release engineering that can be checked here (issue 14): the Dockerfile (linted with
//! hadolint when installed, and its shape), the release workflow's targets and checksums, the
//! pre-commit hooks, the scripts (shellcheck when installed) and the crate's publish metadata.
//! The workflow itself only runs on GitHub; the Action's download and checksum path and the
//! packaging script are run by tests/action_test.sh.

use calint::load::tree::Node;
use calint::load::yaml::{ParseLimits, parse};
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Run a linter if it is installed; say so when it is not (and fail when `require` is set).
fn lint_with(tool: &str, args: &[&str], require: &str) {
    match Command::new(tool).args(args).current_dir(root()).output() {
        Ok(out) => assert!(
            out.status.success(),
            "{tool} {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            eprintln!("SKIPPED: {tool} is not installed ({tool} {args:?} not run)");
            assert!(
                std::env::var_os(require).is_none(),
                "{require} is set but {tool} is not installed"
            );
        }
    }
}

#[test]
fn dockerfile_is_multi_stage_non_root_binary_only_and_lints_clean() {
    let text = read("Dockerfile");
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].ends_with(" AS build"));
    assert_eq!(froms[1], "FROM scratch");
    let final_stage = &text[text.find("FROM scratch").unwrap_or(0)..];
    let copies: Vec<&str> = final_stage
        .lines()
        .filter(|l| l.starts_with("COPY"))
        .collect();
    assert_eq!(
        copies,
        ["COPY --from=build /src/target/release/calint /calint"]
    );
    let user = final_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER in the final stage");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    assert!(final_stage.contains("ENTRYPOINT [\"/calint\"]"));
    assert!(text.contains("--features vendored"));
    assert!(text.contains("static(-pie)? linked"));
    lint_with("hadolint", &["Dockerfile"], "CALINT_REQUIRE_HADOLINT");
}

fn scalar<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Node::scalar_str)
}

#[test]
fn release_workflow_builds_every_target_with_checksums() {
    let text = read(".github/workflows/release.yml");
    let parsed = parse(&text, &ParseLimits::default());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let doc = &parsed.documents.first().expect("one document").root;
    let tags = doc
        .get("on")
        .and_then(|o| o.get("push"))
        .and_then(|p| p.get("tags"))
        .and_then(Node::as_seq)
        .map(|s| s.iter().filter_map(Node::scalar_str).collect::<Vec<_>>());
    assert_eq!(tags, Some(vec!["v[0-9]*"]));
    let jobs = doc.get("jobs").expect("jobs");
    let mut targets = Vec::new();
    for job in ["linux", "macos"] {
        let include = jobs
            .get(job)
            .and_then(|j| j.get("strategy"))
            .and_then(|s| s.get("matrix"))
            .and_then(|m| m.get("include"))
            .and_then(Node::as_seq)
            .expect("a target matrix");
        targets.extend(include.iter().filter_map(|e| scalar(e, "target")));
    }
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin"
        ]
    );
    for needle in [
        "--features vendored",
        "+crt-static",
        "static(-pie)? linked",
        "sha256sum calint-*.tar.gz > SHA256SUMS",
        "scripts/release-package.sh",
        "dist/SHA256SUMS",
        "cargo publish --locked",
    ] {
        assert!(text.contains(needle), "release.yml lacks `{needle}`");
    }
    for job in ["release", "image", "manifest", "crates-io"] {
        assert!(jobs.get(job).is_some(), "job {job}");
    }
}

#[test]
fn precommit_hooks_include_prebuilt_and_image() {
    let text = read(".pre-commit-hooks.yaml");
    let parsed = parse(&text, &ParseLimits::default());
    assert!(parsed.problems.is_empty());
    let hooks = parsed.documents[0].root.as_seq().expect("a list");
    let ids: Vec<(&str, &str)> = hooks
        .iter()
        .filter_map(|h| Some((scalar(h, "id")?, scalar(h, "language")?)))
        .collect();
    assert_eq!(
        ids,
        [
            ("calint", "rust"),
            ("calint-system", "system"),
            ("calint-prebuilt", "script"),
            ("calint-docker", "docker_image")
        ]
    );
    assert!(root().join("scripts/precommit-prebuilt.sh").is_file());
}

#[test]
fn scripts_pass_shellcheck() {
    lint_with(
        "shellcheck",
        &[
            "scripts/action-install.sh",
            "scripts/action-run.sh",
            "scripts/precommit-prebuilt.sh",
            "scripts/release-package.sh",
            "tests/action_test.sh",
        ],
        "CALINT_REQUIRE_SHELLCHECK",
    );
}

#[test]
fn crate_metadata_is_ready_for_cargo_publish() {
    let text = read("Cargo.toml");
    for key in [
        "description =",
        "license =",
        "repository =",
        "readme =",
        "keywords =",
        "categories =",
        "include =",
    ] {
        assert!(text.contains(key), "Cargo.toml lacks {key}");
    }
    // Everything the crate embeds is inside what `include` ships.
    for dir in ["/src/**", "/rules/*.md"] {
        assert!(text.contains(dir), "include must ship {dir}");
    }
}
