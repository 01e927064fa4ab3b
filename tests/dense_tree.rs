//! A generated dense tree (the `--profile dense` of `tools/gen_tree.rs`): the analysis
//! reports exactly the findings planted in it, no more and no fewer, with no undecided query.
//! Not a timing test (see BENCHMARKS.md for those).

#[path = "../tools/tree_gen.rs"]
mod tree_gen;

use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn dense_tree_reports_exactly_the_planted_findings() {
    assert_exactly_the_planted_findings(tree_gen::generate_dense(200, 4, 11, None), "dense");
}

/// The `dense-nca` profile (no tiers, integer orders, for network-config-analyzer) keeps the
/// dense tree's planted findings and nothing NCA 2.1.0 cannot read: no Tier, no `tier:`
/// field, no order that is not an integer (NCA's loader keeps `0.5` as a string and its
/// policy sort then fails).
#[test]
fn dense_nca_tree_has_no_tiers_only_integer_orders_and_the_same_planted_findings() {
    let tree = tree_gen::generate_dense_nca(200, 4, 11, None);
    let dense = tree_gen::generate_dense(200, 4, 11, None);
    assert_eq!(tree.planted, dense.planted);
    assert_eq!(tree.policies, dense.policies);
    let mut orders = 0;
    for (rel, text) in &tree.files {
        assert!(!text.contains("kind: Tier"), "{rel}");
        for line in text.lines() {
            assert!(!line.trim_start().starts_with("tier:"), "{rel}: {line}");
            if let Some(order) = line.trim_start().strip_prefix("order: ") {
                assert!(order.parse::<u64>().is_ok(), "{rel}: {line}");
                orders += 1;
            }
        }
    }
    assert_eq!(orders, tree.policies);
    assert_exactly_the_planted_findings(tree, "dense-nca");
}

fn assert_exactly_the_planted_findings(tree: tree_gen::Tree, profile: &str) {
    let dir = std::env::temp_dir().join(format!("calint-{profile}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (rel, text) in &tree.files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(["check", &dir.to_string_lossy(), "--format", "json"])
        .output()
        .expect("calint runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    // The planted codes; the generator's trees also trip the pitfall and anomaly lints of
    // issue 15 (no DNS egress, selectors matching no generated workload, correlated rules),
    // which this test does not count.
    const PLANTED: [&str; 4] = ["CAL110", "CAL201", "CAL202", "CAL203"];
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let planted_codes = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| PLANTED.contains(&f["code"].as_str().unwrap_or_default()));
    for f in planted_codes {
        *counts
            .entry(f["code"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let p = tree.planted;
    assert!(p.conflicts >= 2, "{p:?}");
    let expected: BTreeMap<String, usize> = [
        ("CAL110", p.unsatisfiable_rules),
        ("CAL201", p.shadowed_rules),
        ("CAL202", p.decided_before),
        ("CAL203", p.conflicts),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_string(), n))
    .collect();
    assert_eq!(counts, expected, "summary: {}", v["summary"]);
    assert_eq!(v["summary"]["undecided"], 0, "{}", v["summary"]);
    assert_eq!(
        v["summary"]["policies_analyzed"].as_u64(),
        Some(tree.policies as u64)
    );
}

/// `graph` solves each question once for all the pairs that ask it (`analysis::pair_key`) and
/// only with the rules that may match the pair (`analysis::pair_rules`); `reach` asks each pair
/// on its own, its examples from the whole formula. On a generated dense tree (global policies
/// overlapping every namespace, nets, port ranges, `starts with`, Pass and Log) the two agree
/// on every pair: the verdict, and the allowed protocols and ports.
#[test]
fn graph_pairs_agree_with_reach_pair_by_pair() {
    use calint::analysis::graph::{edge_between, graph};
    use calint::analysis::groups::discover;
    use calint::analysis::reach::{ReachOptions, Verdict, reach};
    let dir = std::env::temp_dir().join(format!("calint-dense-graph-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tree = tree_gen::generate_dense(12, 3, 5, None);
    for (rel, text) in &tree.files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    let opts = calint::check::CheckOptions {
        paths: vec![dir.clone()],
        analysis: None,
        ..calint::check::CheckOptions::default()
    };
    let project = calint::check::load_project(&opts).expect("tree loads");
    let _ = std::fs::remove_dir_all(&dir);
    let set = calint::analysis::ir::PolicySet::from_project(&project).workload_view();
    let groups = discover(&project);
    assert!(groups.len() >= 8, "{} groups", groups.len());
    let (edges, undecided) = graph(&set, &groups, 2000);
    assert_eq!(undecided, 0);
    let opts = ReachOptions {
        protocol: None,
        port: None,
        timeout_ms: 2000,
    };
    let mut partial = 0;
    for (a, from) in groups.iter().enumerate() {
        for (b, to) in groups.iter().enumerate() {
            if a == b || !(from.policed || to.policed) {
                continue;
            }
            let r = reach(&set, from, to, &opts);
            assert_eq!(r.undecided, 0);
            let edge = edge_between(&edges, a, b);
            match edge {
                None => assert_eq!(r.verdict, Verdict::Denied, "{} -> {}", from.name, to.name),
                Some(e) => {
                    partial += usize::from(e.verdict == Verdict::Partial);
                    assert_eq!(
                        (e.verdict, &e.allowed),
                        (r.verdict, &r.allowed),
                        "{} -> {}",
                        from.name,
                        to.name
                    );
                }
            }
        }
    }
    // The tree is not trivial: some pairs are only partly allowed.
    assert!(partial > 0);
}
