//! Synthetic GitOps tree generator for benchmarks (the generation itself is in
//! `tools/tree_gen.rs`): `cargo run --release --example gen-tree --
//! --policies 1000 --namespaces 50 --out /tmp/tree`.
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
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        policies: 1000,
        namespaces: 50,
        out: PathBuf::from("generated-tree"),
        seed: 1,
        workloads: None,
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
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let (files, written) =
        tree_gen::generate_with(args.policies, args.namespaces, args.seed, args.workloads);
    for (rel, text) in &files {
        let path = args.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "wrote {written} policies in {} namespaces to {}",
        args.namespaces.max(1),
        args.out.display()
    );
    Ok(())
}
