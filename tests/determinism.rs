//! Determinism: the JSON report is byte-identical whatever the number of threads, on the
//! example tree and on a generated tree of a few hundred policies with semantic findings
//! (conflicts with witnesses, shadowed and unsatisfiable rules, HTTP matches).
//!
//! Solver faults: with a 1 ms solver timeout the run still completes, reports undecided
//! queries in the summary, and every semantic finding it makes is one the normal run makes.
//!
//! The binary is run as a subprocess, with `RAYON_NUM_THREADS` set, for each thread count.

#[path = "../tools/tree_gen.rs"]
mod tree_gen;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Large enough that a loaded CI machine never turns a query into a timeout: these tests are
/// about thread counts, not timeouts.
const GENEROUS_TIMEOUT_MS: &str = "60000";

/// Codes of the semantic (Z3) lints.
const SEMANTIC: &[&str] = &["CAL110", "CAL111", "CAL201", "CAL202", "CAL203"];
/// Solver-derived codes the generated tree need not show, but which must obey the same rules.
const SEMANTIC_DERIVED: &[&str] = &[
    "CAL127", "CAL204", "CAL205", "CAL206", "CAL207", "CAL208", "CAL311",
];

fn is_semantic(code: &str) -> bool {
    SEMANTIC.contains(&code) || SEMANTIC_DERIVED.contains(&code)
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("calint-det-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Policies with semantic findings, for namespace `ns` (index `n`).
fn spice(ns: &str, n: usize) -> String {
    let head = |name: &str, order: u32, selector: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  order: {order}\n  selector: {selector}\n  types: [Ingress]\n  ingress:\n"
        )
    };
    let mut out = String::new();
    // CAL203: same order, names decide; Allow and Deny overlap.
    out += &head("zz-allow-app1", 500, "app == 'app1'");
    out +=
        "    - action: Allow\n      protocol: TCP\n      source: {selector: app == 'app0'}\n---\n";
    out += &head("zz-deny-app1", 500, "app == 'app1'");
    out += "    - action: Deny\n      protocol: TCP\n---\n";
    // CAL201 (covered by the first rule) and CAL110 (contradictory selector).
    out += &head("shadows", 600, "app == 'app2'");
    out += "    - action: Deny\n      protocol: TCP\n    - action: Allow\n      protocol: TCP\n      destination: {ports: [443]}\n    - action: Allow\n      protocol: UDP\n      source: {selector: role == 'a' && role == 'b'}\n---\n";
    // CAL111: a selector no endpoint matches.
    out += &head("selects-nothing", 700, "app == 'x' && app == 'y'");
    out += "    - action: Allow\n---\n";
    if n % 5 == 0 {
        // HTTP matches (the string theory), one of them shadowed.
        out += &head("http", 800, "app == 'app3'");
        out += "    - action: Allow\n      http: {methods: [GET], paths: [{prefix: /api}]}\n    - action: Allow\n      http: {methods: [GET], paths: [{exact: /api/v1}]}\n---\n";
    }
    out
}

/// A generated tree (about 300 generated policies plus the spice) written under `dir`.
fn write_tree(dir: &Path) -> usize {
    let (files, policies) = tree_gen::generate(300, 12, 7);
    let mut namespaces = BTreeSet::new();
    for (rel, text) in &files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        if let Some((ns, _)) = rel.split_once('/') {
            if ns.starts_with("team-") {
                namespaces.insert(ns.to_string());
            }
        }
    }
    let mut extra = 0;
    for (n, ns) in namespaces.iter().enumerate() {
        let text = spice(ns, n);
        extra += text.matches("kind: NetworkPolicy").count();
        std::fs::write(dir.join(ns).join("extra.yaml"), text).expect("write");
    }
    policies + extra
}

fn calint(args: &[&str], threads: usize) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("calint runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "calint failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json_report(path: &Path, threads: usize, timeout_ms: &str) -> String {
    let path = path.to_string_lossy();
    let args = [
        "check",
        &path,
        "--format",
        "json",
        "--solver-timeout",
        timeout_ms,
    ];
    calint(&args, threads).1
}

fn summary(json: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON report");
    v["summary"].clone()
}

/// Identical JSON for 1, 2 and 8 threads; returns the single-threaded report.
fn assert_same_for_all_thread_counts(path: &Path) -> String {
    let one = json_report(path, 1, GENEROUS_TIMEOUT_MS);
    for threads in [2, 8] {
        let other = json_report(path, threads, GENEROUS_TIMEOUT_MS);
        if other != one {
            let diff: String = one
                .lines()
                .zip(other.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .take(10)
                .fold(String::new(), |mut s, (i, (a, b))| {
                    let _ = writeln!(
                        s,
                        "line {}:\n  1 thread: {a}\n  {threads} threads: {b}",
                        i + 1
                    );
                    s
                });
            panic!(
                "{}: output with {threads} threads differs from 1 thread:\n{diff}",
                path.display()
            );
        }
    }
    one
}

/// (code, file, line, column) of every semantic finding in a JSON report.
fn semantic_findings(json: &str) -> BTreeSet<(String, String, u64, u64)> {
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON report");
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| is_semantic(f["code"].as_str().unwrap_or_default()))
        .map(|f| {
            let loc = &f["location"];
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                loc["file"].as_str().unwrap_or_default().to_string(),
                loc["line"].as_u64().unwrap_or(0),
                loc["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn example_tree_is_deterministic() {
    let report = assert_same_for_all_thread_counts(Path::new("examples"));
    assert!(summary(&report)["findings"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn generated_tree_is_deterministic_and_survives_a_tiny_solver_timeout() {
    let s = Scratch::new("tree");
    let policies = write_tree(&s.0);
    assert!(policies >= 300, "only {policies} policies generated");
    let report = assert_same_for_all_thread_counts(&s.0);
    let normal = semantic_findings(&report);
    let sum = summary(&report);
    assert_eq!(sum["undecided"], 0, "{sum}");
    for code in SEMANTIC {
        assert!(
            normal.iter().any(|(c, ..)| c == code),
            "the generated tree should show {code}"
        );
    }

    // Solver faults: a 1 ms timeout. The run completes, counts undecided queries, and makes
    // no finding the normal run does not make.
    let (_, tiny) = calint(
        &[
            "check",
            &s.0.to_string_lossy(),
            "--format",
            "json",
            "--solver-timeout",
            "1",
        ],
        2,
    );
    let tiny_sum = summary(&tiny);
    // Whether 1 ms leaves queries of this tree undecided depends on the machine (most of
    // them take less); `tiny_solver_limit_reports_undecided_queries_deterministically` makes sure the path
    // is taken.
    assert!(tiny_sum["undecided"].is_u64(), "{tiny_sum}");
    assert_eq!(tiny_sum["policies_analyzed"], sum["policies_analyzed"]);
    let under_faults = semantic_findings(&tiny);
    let wrong: Vec<_> = under_faults.difference(&normal).collect();
    assert!(
        wrong.is_empty(),
        "findings made only under a 1 ms timeout: {wrong:#?}"
    );
    // Validation findings do not depend on the solver at all.
    let non_semantic = |json: &str| {
        let v: serde_json::Value = serde_json::from_str(json).expect("JSON");
        v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| !is_semantic(f["code"].as_str().unwrap_or_default()))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(non_semantic(&tiny), non_semantic(&report));
}

/// With a 1 ms solver limit (a resource limit of 1 ms' worth of Z3 work), queries of a dense
/// tree run out of resources: the run completes, the summary counts them as undecided, no
/// semantic finding comes from an undecided query, and, the limit being a resource count and
/// not wall time, the output is identical at every thread count.
#[test]
fn tiny_solver_limit_reports_undecided_queries_deterministically() {
    let s = Scratch::new("tiny-limit");
    let tree = tree_gen::generate_dense(60, 2, 3, None);
    for (rel, text) in &tree.files {
        let path = s.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    let one = json_report(&s.0, 1, "1");
    let sum = summary(&one);
    assert!(sum["undecided"].as_u64().unwrap_or(0) > 0, "{sum}");
    assert_eq!(
        sum["policies_analyzed"].as_u64(),
        Some(tree.policies as u64),
        "{sum}"
    );
    for threads in [2, 8] {
        assert_eq!(json_report(&s.0, threads, "1"), one, "{threads} threads");
    }
    let normal = semantic_findings(&json_report(&s.0, 2, GENEROUS_TIMEOUT_MS));
    let under_limit = semantic_findings(&one);
    let wrong: Vec<_> = under_limit.difference(&normal).collect();
    assert!(
        wrong.is_empty(),
        "findings made only under the limit: {wrong:#?}"
    );
}

/// The analysis work budget is charged in policy order, in Z3 resource units: when it runs
/// out (CAL007), the same policies are analyzed and the JSON is byte-identical at 1, 2 and
/// 8 threads.
#[test]
fn exhausted_work_budget_gives_identical_output_at_every_thread_count() {
    let s = Scratch::new("budget");
    let tree = tree_gen::generate_dense(120, 3, 5, None);
    for (rel, text) in &tree.files {
        let path = s.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    // A small fraction of what the tree needs (1 ms' worth is 2,000 resource units; with
    // per-rule reach frames 10 ms' worth no longer ran out on this tree).
    std::fs::write(
        s.0.join(".calint.yaml"),
        "limits:\n  analysis-budget-ms: 1\n",
    )
    .expect("write config");
    let one = json_report(&s.0, 1, GENEROUS_TIMEOUT_MS);
    let v: serde_json::Value = serde_json::from_str(&one).expect("JSON");
    let cal007: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == "CAL007")
        .collect();
    assert_eq!(cal007.len(), 1, "the budget is hit: {}", v["summary"]);
    assert!(summary(&one)["undecided"].as_u64().unwrap_or(0) > 0);
    for threads in [2, 8] {
        let other = json_report(&s.0, threads, GENEROUS_TIMEOUT_MS);
        assert_eq!(other, one, "output with {threads} threads differs");
    }
}
