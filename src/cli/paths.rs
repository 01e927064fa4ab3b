//! `calint paths [PATH...] --from G --to G [--max-hops N] [--format human|json|dot]`.

use super::QueryArgs;
use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print};
use calint::analysis::paths::{nodes, search};
use calint::report;
use calint::report::paths::PathsReport;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Dot,
}

#[derive(Args)]
pub struct PathsArgs {
    /// Files or directories holding the policies and workloads.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Where the attacker starts (same group forms as `reach`; `world` for the internet).
    #[arg(long)]
    from: String,
    /// What the attacker wants to reach.
    #[arg(long)]
    to: String,
    /// Longest path, in hops (default: any length).
    #[arg(long, value_name = "N")]
    max_hops: Option<usize>,
    /// Most paths shown (shortest first).
    #[arg(long, value_name = "N", default_value_t = 10)]
    limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit with 1 when a path exists (for scripts; `.calint.yaml` has `no-path` assertions).
    #[arg(long)]
    expect_none: bool,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn run(args: PathsArgs) -> u8 {
    let Some(q) = args.query.load(args.paths) else {
        return EXIT_ERROR;
    };
    let Some((from, to)) = q.endpoints(&args.from, &args.to) else {
        return EXIT_ERROR;
    };
    let (set, timeout_ms) = (q.policy_set(), q.timeout_ms);
    let discovered = q.discovered().to_vec();
    let project = q.project;
    let (groups, fi, ti) = nodes(discovered, from, to);
    let max_hops = args.max_hops.unwrap_or(groups.len());
    let found = search(&set, &groups, (fi, ti), max_hops, args.limit, timeout_ms);
    let r = PathsReport {
        groups: &groups,
        from: fi,
        to: ti,
        max_hops,
        paths: &found.paths,
        hops: &found.hops,
        undecided: found.undecided,
    };
    let text = match args.format {
        Format::Human => report::paths::render_human(&project, &set, &r),
        Format::Json => report::paths::render_json(&project, &set, &r),
        Format::Dot => report::paths::render_dot(&r),
    };
    print(&text);
    let code = if args.expect_none && !found.paths.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    super::keep_until_exit((project, set, groups, found));
    code
}
