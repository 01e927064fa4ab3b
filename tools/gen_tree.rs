//! Synthetic GitOps tree generator for benchmarks (the generation itself is in
//! `tools/tree_gen.rs`): `cargo run --release --example gen-tree --
//! --policies 1000 --namespaces 50 --out /tmp/tree [--profile sparse|dense|dense-nca]`.
//!
//! `--profile sparse` (the default) is described below; `--profile dense` writes a
//! platform team's tree with planted findings (see `tree_gen::generate_dense`), and prints
//! the planted counts. `--profile dense-nca` writes the same dense tree without tiers and
//! with integer orders, which network-config-analyzer 2.1.0 reads (see
//! `tree_gen::generate_dense_nca`; BENCHMARKS.md has the side-by-side).
//!
//! The tree looks like a real multi-team cluster: a security tier with global deny lists and
//! a Pass, a platform tier with DNS and monitoring, and per namespace a default deny, one
//! policy per app (ingress from the app in front of it, egress to the one behind it, some
//! cross-namespace access), Kubernetes NetworkPolicies, network sets and Deployments.
//! Output is deterministic for given arguments.

#[path = "tree_gen.rs"]
mod tree_gen;

use std::path::PathBuf;

struct Args {
    policies: usize,
    namespaces: usize,
    out: PathBuf,
    seed: u64,
    /// Write at most this many Deployments (reachability groups).
    workloads: Option<usize>,
    profile: tree_gen::Profile,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        policies: 1000,
        namespaces: 50,
        out: PathBuf::from("generated-tree"),
        seed: 1,
        workloads: None,
        profile: tree_gen::Profile::Sparse,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--policies" => a.policies = value.parse().map_err(|e| format!("--policies: {e}"))?,
            "--namespaces" => {
                a.namespaces = value.parse().map_err(|e| format!("--namespaces: {e}"))?
            }
            "--out" => a.out = PathBuf::from(value),
            "--seed" => a.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            "--workloads" => {
                a.workloads = Some(value.parse().map_err(|e| format!("--workloads: {e}"))?)
            }
            "--profile" => {
                a.profile = match value.as_str() {
                    "sparse" => tree_gen::Profile::Sparse,
                    "dense" => tree_gen::Profile::Dense,
                    "dense-nca" => tree_gen::Profile::DenseNca,
                    other => {
                        return Err(format!(
                            "--profile: `{other}` is not sparse, dense or dense-nca"
                        ));
                    }
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let tree = tree_gen::generate_profile(
        args.profile,
        args.policies,
        args.namespaces,
        args.seed,
        args.workloads,
    );
    for (rel, text) in &tree.files {
        let path = args.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "wrote {} policies in {} namespaces to {}",
        tree.policies,
        args.namespaces.max(1),
        args.out.display()
    );
    if args.profile != tree_gen::Profile::Sparse {
        let p = tree.planted;
        eprintln!(
            "planted: {} CAL110, {} CAL201, {} CAL202, {} CAL203",
            p.unsatisfiable_rules, p.shadowed_rules, p.decided_before, p.conflicts
        );
    }
    Ok(())
}
