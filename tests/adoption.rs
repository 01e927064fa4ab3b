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

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calint-adoption-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
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
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/CAL101/clean");
    let (code, _, err) = calint_in(
        &dir,
        &["check", "--no-config", "empty", &fixtures.to_string_lossy()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("no Kubernetes resources").count(), 1, "{err}");
    let (_, _, err) = calint(&["check", "--no-config", "fixtures/CAL101/clean"]);
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
    for line in &lines[..lines.len() - 1] {
        assert!(line.starts_with("fixtures/CAL101/fires/"), "{line}");
        assert!(line.contains(": CAL101 warning: "), "{line}");
    }
    assert_eq!(lines.len() - 1, out.matches("CAL101 warning").count());
    let (code, out, _) = calint(&[
        "check",
        "--no-config",
        "--no-analysis",
        "fixtures/CAL101/fires",
        "--statistics",
    ]);
    assert_eq!(code, 1);
    let n = lines.len() - 1;
    assert_eq!(out, format!("{n}  CAL101  warning  defaulted-types\n"));
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
    let analyzed = project
        .analysis
        .as_ref()
        .map_or(0, |a| a.set.policies.len());
    assert_eq!(stages[3].1, analyzed);

    // `graph` reports its pairs.
    let rec = Recorder::default();
    let set = calint::analysis::ir::PolicySet::from_project(&project);
    let groups = calint::analysis::reach::discover(&project);
    let _ = calint::analysis::reach::graph_with(&set, &groups, 2000, &rec);
    let stages = rec.0.into_inner().expect("lock");
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].0, "graph pairs");
    assert!(stages[0].1 > 0);
    assert_eq!(stages[0].1, stages[0].2);
}
