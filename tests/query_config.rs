//! The query commands (`reach`, `graph`, `paths`, `exposure`) read `.calint.yaml` as `check`
//! does: its `exclude`, `limits` and `calico-version`, and the flags `--config`,
//! `--no-config`, `--exclude` and `--calico-version` (issue 11: they used to ignore the file
//! and reject the flags).

use std::path::{Path, PathBuf};
use std::process::Command;

const WORKLOADS: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: db}
---
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {team: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: postgres, namespace: db, labels: {app: postgres}}
spec: {containers: [{name: pg, image: postgres}]}
---
apiVersion: v1
kind: Pod
metadata: {name: site, namespace: web, labels: {app: site}}
spec: {containers: [{name: site, image: nginx}]}
"#;

/// Isolates postgres: with this file read, web/site cannot reach db/postgres.
const ISOLATE: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate-postgres, namespace: db}
spec:
  podSelector: {matchLabels: {app: postgres}}
  policyTypes: [Ingress]
"#;

/// A fresh directory holding `files` (path, text).
fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("query_config_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn calint(args: &[&str], path: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(args)
        .arg(path)
        .output()
        .expect("calint runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The verdict of `reach` from web/site to db/postgres on TCP 5432.
fn verdict(path: &Path, flags: &[&str]) -> String {
    let mut args = vec![
        "reach",
        "--from",
        "web/site",
        "--to",
        "db/postgres",
        "--port",
        "5432",
        "--format",
        "json",
    ];
    args.extend_from_slice(flags);
    let (code, out, err) = calint(&args, path);
    assert_eq!(code, 0, "reach {flags:?}: {err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("reach JSON");
    json["verdict"].as_str().expect("verdict").to_string()
}

/// Whether `graph` draws an edge from web/site to db/postgres.
fn graph_edge(path: &Path, flags: &[&str]) -> bool {
    let mut args = vec!["graph", "--format", "dot"];
    args.extend_from_slice(flags);
    let (code, out, err) = calint(&args, path);
    assert_eq!(code, 0, "graph {flags:?}: {err}");
    let id = |label: &str| {
        out.lines()
            .find(|l| l.contains(&format!("[label=\"{label}\"")))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("node {label} in {out}"))
            .to_string()
    };
    let edge = format!("{} -> {} ", id("web/site"), id("db/postgres"));
    out.lines().any(|l| l.trim_start().starts_with(&edge))
}

#[test]
fn reach_and_graph_honour_the_file_s_exclude_and_the_config_flags() {
    let dir = tree(
        "exclude",
        &[
            ("tree/workloads.yaml", WORKLOADS),
            ("tree/old/isolate.yaml", ISOLATE),
            ("tree/.calint.yaml", "exclude: [\"old/**\"]\n"),
            ("empty.yaml", "rules: {}\n"),
            ("exclude-old.yaml", "exclude: [\"tree/old/**\"]\n"),
        ],
    );
    let t = dir.join("tree");
    let empty = dir.join("empty.yaml");
    let exclude_old = dir.join("exclude-old.yaml");
    let (empty, exclude_old) = (empty.to_str().unwrap(), exclude_old.to_str().unwrap());
    // Found `.calint.yaml`: the isolating policy is excluded.
    assert_eq!(verdict(&t, &[]), "allowed");
    assert!(graph_edge(&t, &[]));
    // `--no-config`: it is read.
    assert_eq!(verdict(&t, &["--no-config"]), "denied");
    assert!(!graph_edge(&t, &["--no-config"]));
    // `--exclude` on the command line, relative to the PATH.
    assert_eq!(
        verdict(&t, &["--no-config", "--exclude", "old/**"]),
        "allowed"
    );
    assert!(graph_edge(&t, &["--no-config", "--exclude", "old/**"]));
    // `--config FILE` replaces the found file; its excludes are relative to its directory.
    assert_eq!(verdict(&t, &["--config", empty]), "denied");
    assert!(!graph_edge(&t, &["--config", empty]));
    assert_eq!(verdict(&t, &["--config", exclude_old]), "allowed");
    assert!(graph_edge(&t, &["--config", exclude_old]));
    // `paths` and `exposure` read the same configuration.
    let paths = |flags: &[&str]| {
        let mut args = vec![
            "paths",
            "--from",
            "web/site",
            "--to",
            "db/postgres",
            "--expect-none",
        ];
        args.extend_from_slice(flags);
        calint(&args, &t).0
    };
    assert_eq!(paths(&[]), 1, "a path exists with the isolation excluded");
    assert_eq!(paths(&["--no-config"]), 0);
    let exposure = |flags: &[&str]| {
        let mut args = vec!["exposure", "--format", "json"];
        args.extend_from_slice(flags);
        let (code, out, err) = calint(&args, &t);
        assert_eq!(code, 0, "exposure {flags:?}: {err}");
        out
    };
    assert_ne!(exposure(&[]), exposure(&["--no-config"]));
    // A configuration that cannot be read is a configuration error (exit 2), as in `check`.
    let (code, _, err) = calint(
        &[
            "reach",
            "--from",
            "web/site",
            "--to",
            "db/postgres",
            "--config",
        ],
        &dir.join("missing.yaml"),
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn reach_and_graph_honour_the_file_s_limits() {
    // The isolating policy is padded past the configured file-size limit: not read.
    let padded = format!("{ISOLATE}# {}\n", "x".repeat(4000));
    let dir = tree(
        "limits",
        &[
            ("workloads.yaml", WORKLOADS),
            ("isolate.yaml", &padded),
            (".calint.yaml", "limits:\n  max-file-size: 2000\n"),
        ],
    );
    assert_eq!(verdict(&dir, &[]), "allowed");
    assert!(graph_edge(&dir, &[]));
    assert_eq!(verdict(&dir, &["--no-config"]), "denied");
    assert!(!graph_edge(&dir, &["--no-config"]));
}

#[test]
fn reach_and_graph_honour_the_calico_version_of_the_file_and_the_flag() {
    // Calico v3.29-v3.31 enforce AdminNetworkPolicy (its Deny comes first); v3.32+ no longer
    // watch the kind, and the Kubernetes policy allows.
    let anp = r#"apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: isolate-postgres}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: postgres}}}}
  ingress:
    - {name: deny-from-web, action: Deny, from: [{namespaces: {matchLabels: {team: web}}}]}
"#;
    let allow = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: db}
spec:
  podSelector: {matchLabels: {app: postgres}}
  policyTypes: [Ingress]
  ingress:
    - from: [{namespaceSelector: {matchLabels: {team: web}}}]
      ports: [{port: 5432}]
"#;
    let dir = tree(
        "version",
        &[
            ("workloads.yaml", WORKLOADS),
            ("admin.yaml", anp),
            ("allow.yaml", allow),
            (".calint.yaml", "calico-version: \"3.31\"\n"),
        ],
    );
    assert_eq!(verdict(&dir, &[]), "denied");
    assert!(!graph_edge(&dir, &[]));
    assert_eq!(verdict(&dir, &["--no-config"]), "allowed");
    assert!(graph_edge(&dir, &["--no-config"]));
    let v331 = ["--no-config", "--calico-version", "3.31"];
    assert_eq!(verdict(&dir, &v331), "denied");
    assert!(!graph_edge(&dir, &v331));
    // The flag wins over the file.
    assert_eq!(verdict(&dir, &["--calico-version", "3.33"]), "allowed");
}
