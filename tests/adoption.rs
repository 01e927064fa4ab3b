//! Adoption features of `calint check` (issue 14): honest output for wrong paths, concise and
//! statistics output, baselines, report-only runs, stdin, views, Kustomize trees and `--fix`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn calint_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("calint runs");
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin.unwrap_or("").as_bytes());
    }
    let out = child.wait_with_output().expect("calint finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn calint(args: &[&str]) -> (i32, String, String) {
    calint_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}

/// A fresh scratch directory for one test, removed when the test ends (pass or fail).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("calint-adoption-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    Scratch(dir)
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("dirs");
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn a_path_without_resources_warns_and_fails_with_strict_paths() {
    let dir = scratch("empty");
    std::fs::create_dir_all(dir.join("empty")).expect("dir");
    write(&dir, "unrelated/values.yaml", "replicas: 3\n");
    for path in ["empty", "unrelated"] {
        let (code, _, err) = calint_in(&dir, &["check", "--no-config", path], None);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(&format!("warning: {path}: no Kubernetes resources found")),
            "{err}"
        );
        let (code, _, err) = calint_in(
            &dir,
            &["check", "--no-config", "--strict-paths", path],
            None,
        );
        assert_eq!(code, 2, "{err}");
    }
    // A path with resources next to an empty one: only the empty one is named.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/CAL124/clean");
    let (code, _, err) = calint_in(
        &dir,
        &["check", "--no-config", "empty", &fixtures.to_string_lossy()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("no Kubernetes resources").count(), 1, "{err}");
    let (_, _, err) = calint(&["check", "--no-config", "fixtures/CAL124/clean"]);
    assert!(!err.contains("no Kubernetes resources"), "{err}");
}

#[test]
fn concise_format_and_statistics() {
    let (code, out, _) = calint(&[
        "check",
        "--no-config",
        "--no-analysis",
        "fixtures/CAL101/fires",
        "--format",
        "concise",
    ]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 2, "{out}");
    // One line per finding (the tree also trips other lints, e.g. CAL125), then the summary.
    for line in &lines[..lines.len() - 1] {
        assert!(line.starts_with("fixtures/CAL101/fires/"), "{line}");
        assert!(
            line.split(": ")
                .nth(1)
                .is_some_and(|c| c.starts_with("CAL")),
            "{line}"
        );
    }
    assert!(out.matches(": CAL101 warning: ").count() >= 1, "{out}");
    let (code, out, _) = calint(&[
        "check",
        "--no-config",
        "--no-analysis",
        "fixtures/CAL101/fires",
        "--statistics",
    ]);
    assert_eq!(code, 1);
    // One line per code with its count, most frequent first: the concise lines above.
    let n = out.matches("CAL101").count();
    assert!(
        out.starts_with(&format!(
            "{}  CAL101  warning  defaulted-types\n",
            lines.iter().filter(|l| l.contains(": CAL101 ")).count()
        )),
        "{out}"
    );
    assert_eq!(n, 1, "{out}");
    let counted: usize = out
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(counted, lines.len() - 1, "{out}");
}

/// Records every stage with its total and the units advanced in it.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(&'static str, usize, usize)>>);

impl calint::progress::Progress for Recorder {
    fn stage(&self, name: &'static str, total: usize) {
        if let Ok(mut v) = self.0.lock() {
            v.push((name, total, 0));
        }
    }
    fn advance(&self, n: usize) {
        if let Ok(mut v) = self.0.lock() {
            if let Some(last) = v.last_mut() {
                last.2 += n;
            }
        }
    }
}

#[test]
fn progress_reports_each_real_stage_with_its_own_count() {
    use calint::check::{CheckOptions, check_with};
    let rec = Recorder::default();
    let opts = CheckOptions {
        paths: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")],
        ..CheckOptions::default()
    };
    let (project, _) = check_with(&opts, &rec).expect("examples load");
    let stages = rec.0.into_inner().expect("lock");
    let names: Vec<&str> = stages.iter().map(|s| s.0).collect();
    assert_eq!(names, ["discover", "load", "validate", "analysis", "lint"]);
    for (name, total, done) in &stages {
        assert_eq!(total, done, "stage {name} advanced {done} of {total}");
    }
    assert_eq!(stages[1].1, project.stats.files);
    assert_eq!(stages[2].1, project.resources.len());
    let analyzed = project.stats.analysis_totals.map_or(0, |t| t.policies);
    assert_eq!(stages[3].1, analyzed);

    // `graph` reports its pairs.
    let rec = Recorder::default();
    let set = calint::analysis::ir::PolicySet::from_project(&project);
    let groups = calint::analysis::groups::discover(&project);
    let _ = calint::analysis::graph::graph_with(&set, &groups, 2000, &rec);
    let stages = rec.0.into_inner().expect("lock");
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].0, "graph pairs");
    assert!(stages[0].1 > 0);
    assert_eq!(stages[0].1, stages[0].2);
}

/// Copy the example tree into a scratch directory (tests edit it).
fn example_copy(name: &str) -> Scratch {
    let dir = scratch(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in walkdir::WalkDir::new(&src).into_iter().flatten() {
        let rel = entry.path().strip_prefix(&src).expect("under examples");
        let to = dir.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("dir");
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
    dir
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn baseline_write_read_and_stale_entries() {
    let dir = example_copy("baseline");
    let args = ["check", ".", "--no-analysis", "--format", "json"];
    let (code, out, _) = calint_in(&dir, &args, None);
    assert_eq!(code, 1);
    let all = json(&out)["summary"]["findings"].as_u64().unwrap_or(0);
    assert!(all >= 5, "{out}");

    let mut writing = args.to_vec();
    writing.extend(["--write-baseline", "calint-baseline.json"]);
    let (code, out, err) = calint_in(&dir, &writing, None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["summary"]["baselined"], all);
    let text = std::fs::read_to_string(dir.join("calint-baseline.json")).expect("written");
    let b: serde_json::Value = json(&text);
    assert_eq!(b["findings"].as_array().map(Vec::len), Some(all as usize));

    let mut read = args.to_vec();
    read.extend(["--baseline", "calint-baseline.json"]);
    let (code, out, _) = calint_in(&dir, &read, None);
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    assert_eq!(v["summary"]["findings"], 0);
    assert_eq!(v["summary"]["baselined"], all);
    assert!(v["summary"].get("baseline_stale").is_none());

    // Lines shift above a finding: still baselined. A finding is fixed: its entry is stale.
    // A new mistake: reported.
    let backend = dir.join("policies/shop/backend.yaml");
    let text = std::fs::read_to_string(&backend).expect("read");
    std::fs::write(&backend, format!("# moved\n\n{text}")).expect("write");
    let replica = dir.join("policies/shop/database-replica.yaml");
    let text = std::fs::read_to_string(&replica).expect("read");
    std::fs::write(&replica, text.replace("protocl", "protocol")).expect("write");
    write_new_mistake(&dir);
    let (code, out, err) = calint_in(&dir, &read, None);
    assert_eq!(code, 1, "{out}");
    let v = json(&out);
    // The new policy's CAL101, and the replica policy, now valid, is analysed for the first
    // time: its selector matches none of the tree's workloads (CAL141, info). Both are new.
    assert_eq!(v["summary"]["findings"], 2, "{out}");
    let codes: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default(),
                f["location"]["file"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("CAL141", "policies/shop/database-replica.yaml"),
            ("CAL101", "policies/shop/new.yaml")
        ],
        "{out}"
    );
    assert_eq!(v["summary"]["baselined"], all - 1);
    assert_eq!(v["summary"]["baseline_stale"], 1);
    assert!(
        err.contains("1 entries of calint-baseline.json no longer occur"),
        "{err}"
    );
    assert!(err.contains("unknown field `protocl`"), "{err}");

    // The same baseline from another working directory, named in .calint.yaml.
    write(&dir, ".calint.yaml", "baseline: calint-baseline.json\n");
    let (code, out, _) = calint_in(
        dir.parent().expect("parent"),
        &[
            "check",
            &dir.to_string_lossy(),
            "--no-analysis",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 1, "{out}");
    // The same two new findings (CAL141 compares selectors with the tree's workloads, no
    // solver needed).
    assert_eq!(json(&out)["summary"]["findings"], 2, "{out}");
    assert_eq!(json(&out)["summary"]["baselined"], all - 1);

    // A baseline that cannot be read or is not a baseline is an error (exit 2).
    let (code, _, err) = calint_in(&dir, &["check", ".", "--baseline", "missing.json"], None);
    assert_eq!(code, 2, "{err}");
    write(&dir, "bad.json", "{\"version\": 7, \"findings\": []}");
    let (code, _, err) = calint_in(&dir, &["check", ".", "--baseline", "bad.json"], None);
    assert_eq!(code, 2, "{err}");
}

fn write_new_mistake(dir: &Path) {
    write(
        dir,
        "policies/shop/new.yaml",
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: new\n  namespace: shop\nspec:\n  selector: app == 'frontend'\n  egress:\n    - action: Allow\n",
    );
}

#[test]
fn fail_on_never_reports_but_exits_zero_and_still_fails_on_errors() {
    let (code, out, _) = calint(&[
        "check",
        "--no-config",
        "fixtures/mixed",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("error["), "{out}");
    let (code, _, err) = calint(&["check", "does/not/exist", "--fail-on", "never"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = calint(&["check", ".", "--fail-on", "never", "--config", "nope.yaml"]);
    assert_eq!(code, 2, "{err}");
    let dir = scratch("never");
    write(&dir, ".calint.yaml", "fail-on: never\n");
    let mixed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mixed");
    let (code, _, err) = calint_in(
        &dir,
        &[
            "check",
            "--config",
            ".calint.yaml",
            &mixed.to_string_lossy(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = calint_in(&dir, &["config", "--print"], None);
    assert_eq!(code, 0);
    assert!(out.contains("fail-on: never"), "{out}");
    write(&dir, ".calint.yaml", "fail-on: nevr\n");
    let (code, _, err) = calint_in(&dir, &["config"], None);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn stdin_is_one_stream_named_stdin() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies/shop/database-replica.yaml"),
    )
    .expect("example");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = calint_in(
        root,
        &[
            "check",
            "--no-config",
            "--no-analysis",
            "-",
            "--format",
            "json",
        ],
        Some(&text),
    );
    assert_eq!(code, 1, "{err}");
    let v = json(&out);
    assert_eq!(v["summary"]["files"], 1);
    assert_eq!(v["summary"]["resources"], 1);
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 3, "{out}");
    for f in &findings {
        assert_eq!(f["location"]["file"], "<stdin>");
    }
    assert_eq!(findings[0]["location"]["line"], 15);
    // Several documents in one stream (what `kustomize build` prints), next to a directory.
    let two = format!("{text}---\n{}", text.replace("database-replica", "other"));
    let (code, out, _) = calint_in(
        root,
        &[
            "check",
            "--no-config",
            "--no-analysis",
            "-",
            "fixtures/CAL101/clean",
            "--format",
            "json",
        ],
        Some(&two),
    );
    assert_eq!(code, 1);
    // 3 + 3 from the stream; the directory's default-deny policy has its own three (two
    // CAL125 notes and CAL128: it isolates egress without DNS).
    assert_eq!(json(&out)["summary"]["findings"], 9, "{out}");
    // An empty stream is a path without resources.
    let (code, _, err) = calint_in(
        root,
        &["check", "--no-config", "-", "--strict-paths"],
        Some(""),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("warning: -: no Kubernetes resources found"),
        "{err}"
    );
}

#[test]
fn views_analyse_each_cluster_on_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/views");
    let (code, out, err) = calint_in(&root, &["check", ".", "--format", "json"], None);
    assert_eq!(code, 1, "{err}");
    let v = json(&out);
    assert_eq!(
        v["summary"]["views"],
        serde_json::json!(["prod", "staging"])
    );
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    let summary: Vec<(String, String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["location"]["file"].as_str().unwrap_or("").to_string(),
                f["view"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let expected = [
        ("CAL301", ".calint.yaml", "staging"),
        // A workload no policy selects for ingress (issue 10's unisolated-workload).
        ("CAL310", "base/shop.yaml", "-"),
        ("CAL002", "base/shop.yaml", "-"),
        // Only the later of two duplicate definitions is enforced (and analysed), so the
        // copy decides nothing: CAL003 alone.
        ("CAL003", "clusters/prod/db.yaml", "prod"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(summary, expected, "{out}");
    // The same policy in both clusters is no duplicate; without views it is.
    let (_, out, _) = calint_in(
        &root,
        &["check", ".", "--no-config", "--format", "json"],
        None,
    );
    let v = json(&out);
    let cross = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == "CAL003" && f["location"]["file"] == "clusters/staging/db.yaml")
        .count();
    assert_eq!(cross, 1, "{out}");
    // Human output names the view.
    let (_, out, _) = calint_in(&root, &["check", ".", "--color", "never"], None);
    assert!(out.contains("= in view prod"), "{out}");

    // reach answers per view; without --view it asks for one.
    let ask = |view: &str| {
        let (code, out, err) = calint_in(
            &root,
            &[
                "reach",
                "--view",
                view,
                "--from",
                "web",
                "--to",
                "db",
                "--protocol",
                "TCP",
                "--port",
                "5432",
                "--format",
                "json",
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
        json(&out)["verdict"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(ask("prod"), "allowed");
    assert_eq!(ask("staging"), "denied");
    let (code, _, err) = calint_in(&root, &["reach", "--from", "web", "--to", "db"], None);
    assert_eq!(code, 2);
    assert!(err.contains("pick one with --view"), "{err}");
    let (code, _, err) = calint_in(&root, &["graph", "--view", "qa", "--format", "json"], None);
    assert_eq!(code, 2);
    assert!(err.contains("no view `qa`"), "{err}");
    let (code, out, _) = calint_in(
        &root,
        &["graph", "--view", "staging", "--format", "json"],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("5433"), "{out}");
    assert!(!out.contains("5432"), "{out}");
}

#[test]
fn bad_views_and_render_settings_are_configuration_errors() {
    let dir = scratch("badviews");
    for (text, expect) in [
        ("views: [prod]\n", "`views` must be a mapping"),
        ("views: {prod: []}\n", "view `prod` lists no directories"),
        (
            "views: {prod: {a: b}}\n",
            "view `prod` must list directories or globs",
        ),
        ("render: maybe\n", "`render` must be true or false"),
        ("baseline: [a]\n", "baseline"),
    ] {
        write(&dir, ".calint.yaml", text);
        let (code, _, err) = calint_in(&dir, &["config"], None);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(expect), "{text}: {err}");
    }
}

fn kustomize_tool() -> Option<&'static str> {
    let path = std::env::var_os("PATH")?;
    ["kustomize", "kubectl"]
        .into_iter()
        .find(|tool| std::env::split_paths(&path).any(|d| d.join(tool).is_file()))
}

#[test]
fn kustomize_patches_are_not_resources_and_overlays_are_separate_clusters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kustomize");
    let (code, out, err) = calint_in(&root, &["check", ".", "--format", "json"], None);
    assert_eq!(code, 0, "{out}{err}");
    let v = json(&out);
    // No error or warning: patches are not misread as policies (no CAL003, no CAL101). The
    // pitfall lints' infos about the policies themselves (DNS over UDP only, a selector
    // matching no workload of the tree) are real and may stay.
    assert_eq!(v["summary"]["errors"], 0, "{out}");
    assert_eq!(v["summary"]["warnings"], 0, "{out}");
    for f in v["findings"].as_array().into_iter().flatten() {
        assert!(
            !["CAL003", "CAL101"].contains(&f["code"].as_str().unwrap_or_default()),
            "{f}"
        );
    }
    assert_eq!(v["summary"]["kustomize_patches_skipped"], 2);
    assert_eq!(
        v["summary"]["views"],
        serde_json::json!(["overlays/prod", "overlays/staging"])
    );
    // Without views the two overlays' `db-egress` are duplicates: the views are what helps.
    let (_, out, _) = calint_in(&root, &["check", "overlays", "--format", "concise"], None);
    assert!(!out.contains("CAL003"), "{out}");

    // reach answers per overlay too.
    let (code, _, err) = calint_in(
        &root,
        &["reach", "--from", "shop/all()", "--to", "shop/app == 'db'"],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`overlays/prod`, `overlays/staging`"), "{err}");
    let (code, out, err) = calint_in(
        &root,
        &[
            "reach",
            "--view",
            "overlays/prod",
            "--from",
            "shop/app == 'db'",
            "--to",
            "world",
            "--protocol",
            "UDP",
            "--port",
            "53",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["verdict"], "allowed", "{out}");

    // --render without any tool: a note, the same result.
    let without_render = v["findings"].clone();
    let (code, out, err) = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(["check", ".", "--render", "--format", "json"])
        .current_dir(&root)
        .env("PATH", "/nonexistent")
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .expect("runs");
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["findings"], without_render, "{out}");
    assert!(
        json(&out)["summary"]["notes"][0]
            .as_str()
            .unwrap_or("")
            .contains("not rendered"),
        "{out}"
    );
    assert!(
        err.contains("note: --render: overlays/prod, overlays/staging not rendered: no kustomize, kubectl or helm on PATH"),
        "{err}"
    );

    // --render with a tool: the patched prod policy is wrong only once rendered.
    let Some(tool) = kustomize_tool() else {
        eprintln!(
            "SKIPPED: kustomize_patches_are_not_resources_and_overlays_are_separate_clusters \
             (--render part): neither kustomize nor kubectl is on PATH"
        );
        assert!(
            std::env::var_os("CALINT_REQUIRE_KUSTOMIZE").is_none(),
            "CALINT_REQUIRE_KUSTOMIZE is set but no kustomize or kubectl is on PATH"
        );
        return;
    };
    let (code, out, err) = calint_in(&root, &["check", ".", "--render", "--format", "json"], None);
    assert_eq!(code, 1, "{out}{err}");
    let v = json(&out);
    // One error: the patched policy. (Invalid, it is not enforced, so its database is also
    // reported as unisolated (CAL310); the pitfall infos of the rendered policies are real.)
    assert_eq!(v["summary"]["errors"], 1, "{out}");
    let f = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["severity"] == "error"))
        .expect("the error");
    assert_eq!(f["code"], "CAL002");
    assert!(f["message"].as_str().unwrap_or("").contains("5432-5433"));
    assert_eq!(f["view"], "overlays/prod");
    // Mapped back to the source document (the base policy the patch applies to).
    assert_eq!(f["location"]["file"], "base/db-policy.yaml", "{out}");
    assert_eq!(f["location"]["line"], 4);
    assert_eq!(f["resource"]["name"], "prod-db-ingress");
    let notes = f["notes"].to_string();
    let shown = if tool == "kustomize" {
        "kustomize build"
    } else {
        "kubectl kustomize"
    };
    assert!(
        notes.contains(&format!("found in the output of `{shown} overlays/prod`")),
        "{notes}"
    );
}

fn snapshot_tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap_or(e.path()).to_path_buf();
            (rel, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect()
}

#[test]
fn fix_edits_in_place_and_the_fixed_findings_are_gone() {
    let dir = example_copy("fix");
    let before = snapshot_tree(&dir);
    let args = ["check", ".", "--format", "json"];
    let (_, out, _) = calint_in(&dir, &args, None);
    let findings_before = json(&out)["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();

    // --diff shows the edits and writes nothing.
    let (code, diff, err) = calint_in(&dir, &["check", ".", "--diff"], None);
    assert_eq!(code, 1, "{err}");
    assert!(diff.contains("+  types: [Egress]"), "{diff}");
    assert!(diff.contains("-      protocl: TCP"), "{diff}");
    assert_eq!(snapshot_tree(&dir), before);

    let (code, _, err) = calint_in(&dir, &["check", ".", "--fix", "--format", "json"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("calint: fixed 4 findings in 2 files"), "{err}");
    let after = snapshot_tree(&dir);
    let text = |m: &std::collections::BTreeMap<PathBuf, Vec<u8>>, f: &str| {
        String::from_utf8(m.get(Path::new(f)).cloned().unwrap_or_default()).unwrap_or_default()
    };
    // Exactly the fixed spans changed: comments, quoting and every other byte are kept.
    let replica = "policies/shop/database-replica.yaml";
    assert_eq!(
        text(&after, replica),
        text(&before, replica)
            .replace("[10.244.0.1/16]   #", "[10.244.0.0/16]   #")
            .replace("[\"5432-5433\"]    #", "[\"5432:5433\"]    #")
            .replace("protocl: TCP", "protocol: TCP")
    );
    let backend = "policies/shop/backend.yaml";
    assert_eq!(
        text(&after, backend),
        text(&before, backend).replacen("spec:\n", "spec:\n  types: [Egress]\n", 1)
    );
    for (file, bytes) in &before {
        if file != Path::new(replica) && file != Path::new(backend) {
            assert_eq!(after.get(file), Some(bytes), "{} changed", file.display());
        }
    }
    // Re-checked: the fixed findings are gone, every other one is still there.
    let (_, out, _) = calint_in(&dir, &args, None);
    let findings_after = json(&out)["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let key =
        |f: &serde_json::Value| format!("{} {} {}", f["code"], f["location"]["file"], f["message"]);
    let left: Vec<String> = findings_after.iter().map(key).collect();
    let gone: Vec<String> = findings_before
        .iter()
        .map(key)
        .filter(|k| !left.contains(k))
        .collect();
    assert_eq!(gone.len(), 4, "{gone:?}");
    for k in &gone {
        assert!(
            k.contains("host bits")
                || k.contains("5432-5433")
                || k.contains("protocl")
                || k.contains("CAL101"),
            "{k}"
        );
    }
    // The fixes make the replica policy valid, so it is analysed for the first time: what
    // that reveals is new, and only about that file.
    let before_keys: Vec<String> = findings_before.iter().map(key).collect();
    let revealed: Vec<&String> = left.iter().filter(|k| !before_keys.contains(k)).collect();
    for k in &revealed {
        assert!(k.contains(&format!("\"{replica}\"")), "{k}");
    }
    assert_eq!(
        findings_after.len(),
        findings_before.len() - 4 + revealed.len(),
        "{revealed:?}"
    );
    // Nothing left to fix.
    let (code, diff, _) = calint_in(&dir, &["check", ".", "--diff"], None);
    assert_eq!((code, diff.as_str()), (0, ""));
}

#[test]
fn fix_never_touches_a_file_with_a_yaml_error() {
    let dir = scratch("fix-broken");
    let text = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: x\n  namespace: shop\nspec:\n  selector: all()\n  types: [Ingress]\n  ingress:\n    - action: Allow\n      source:\n        nets: [10.0.0.1/8]  # keep\n---\nfoo: [unclosed\n";
    write(&dir, "broken.yaml", text);
    let (code, out, err) = calint_in(
        &dir,
        &["check", "--no-config", ".", "--fix", "--format", "concise"],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("not fixing broken.yaml: the file has a YAML error"),
        "{err}"
    );
    assert!(out.contains("host bits are set"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.yaml")).unwrap_or_default(),
        text
    );
    // Standard input is never written.
    let (code, _, err) = calint_in(&dir, &["check", "--no-config", "-", "--fix"], Some(text));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn fix_removes_duplicate_set_entries_in_block_and_flow_lists() {
    let dir = scratch("fix-dup");
    let text = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s\nspec:\n  nets:\n    - 10.0.0.0/8\n    - 10.1.0.0/16   # b\n    - 10.0.0.0/8\n  # end\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: t\nspec:\n  nets: [10.0.0.0/8, 10.0.0.0/8]\n";
    write(&dir, "sets.yaml", text);
    let (code, _, err) = calint_in(&dir, &["check", "--no-config", ".", "--fix"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("sets.yaml")).unwrap_or_default(),
        text.replacen("    - 10.0.0.0/8\n  # end", "  # end", 1)
            .replace("[10.0.0.0/8, 10.0.0.0/8]", "[10.0.0.0/8]")
    );
}

/// A first run on a tree with many findings says, after the report, how to adopt calint with a
/// baseline; not for machine formats, and not once a baseline is in use.
#[test]
fn many_findings_suggest_a_baseline() {
    let dir = scratch("legacy");
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: shop}}\nspec:\n  selector: app == 'a{i}'\n  ingress: [{{action: Allow}}]\n"
        ));
    }
    write(&dir, "legacy.yaml", &text);
    let human = ["check", "--no-config", "--no-analysis", "."];
    let (code, _, err) = calint_in(&dir, &human, None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("findings. To adopt calint on an existing tree")
            && err.contains("--write-baseline calint-baseline.json"),
        "{err}"
    );
    let (_, _, err) = calint_in(&dir, &[&human[..], &["--format", "json"]].concat(), None);
    assert!(!err.contains("To adopt calint"), "{err}");
    let (code, _, err) = calint_in(
        &dir,
        &[&human[..], &["--write-baseline", "calint-baseline.json"]].concat(),
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("To adopt calint"), "{err}");
    // Few findings: no hint.
    let (_, _, err) = calint_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["check", "--no-config", "examples"],
        None,
    );
    assert!(!err.contains("To adopt calint"), "{err}");
}
