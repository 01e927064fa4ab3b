//! `calint graph [PATH...] [--format json|dot|mermaid|html]`.

use super::QueryArgs;
use super::{EXIT_CLEAN, EXIT_ERROR, print};
use calint::analysis::graph::{graph, graph_with};
use calint::report;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Dot,
    Mermaid,
    Html,
}

#[derive(Args)]
pub struct GraphArgs {
    /// Files or directories holding the policies and workloads.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
    /// Write the graph to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn run(args: GraphArgs) -> u8 {
    let Some(q) = args.query.load(args.paths) else {
        return EXIT_ERROR;
    };
    // Groups defined in `.calint.yaml` replace the discovered ones.
    let groups = if q.groups.is_empty() {
        q.discovered().to_vec()
    } else {
        match q.configured_groups() {
            Some(groups) => groups,
            None => return EXIT_ERROR,
        }
    };
    let (set, timeout_ms) = (q.policy_set(), q.timeout_ms);
    let bar = super::progress::Bar::start();
    let (reachability, undecided) = match &bar {
        Some(bar) => graph_with(&set, &groups, timeout_ms, bar),
        None => graph(&set, &groups, timeout_ms),
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    let text = match args.format {
        Format::Json => report::graph::json(&reachability, undecided),
        Format::Dot => report::graph::dot(&reachability),
        Format::Mermaid => report::graph::mermaid(&reachability),
        Format::Html => report::graph::html(&reachability),
    };
    if undecided > 0 {
        eprintln!("warning: {undecided} solver queries timed out; some edges may be missing");
    }
    super::keep_until_exit((q, set, groups, reachability));
    match args.output {
        Some(path) => match std::fs::write(&path, text) {
            Ok(()) => EXIT_CLEAN,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                EXIT_ERROR
            }
        },
        None => {
            print(&text);
            EXIT_CLEAN
        }
    }
}
