//! `calint graph [PATH...] [--format json|dot|mermaid|html]`.

use super::settings::ConfigFileArgs;
use super::{EXIT_CLEAN, EXIT_ERROR, print};
use calint::analysis::reach::{discover, graph, graph_with, resolve_named};
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
    /// The view (`.calint.yaml` `views:`) to answer for; required when views are configured.
    #[arg(long, value_name = "NAME")]
    view: Option<String>,
    /// Per-query solver limit in milliseconds' worth of Z3 work (a deterministic resource
    /// limit; wall time only as a 10x safety net) [default: 2000, or the config's
    /// `limits.solver-timeout-ms`].
    #[arg(long, value_name = "MS")]
    solver_timeout: Option<u32>,
    #[command(flatten)]
    settings: ConfigFileArgs,
}

pub fn run(args: GraphArgs) -> u8 {
    let q = match super::load_for_queries(
        args.paths,
        args.view.as_deref(),
        &args.settings,
        args.solver_timeout,
    ) {
        Ok(q) => q,
        Err(code) => return code,
    };
    let (set, timeout_ms) = (q.policy_set(), q.timeout_ms);
    let (project, defs) = (q.project, q.groups);
    // Groups defined in `.calint.yaml` replace the discovered ones.
    let groups = if defs.is_empty() {
        discover(&project)
    } else {
        let mut groups = Vec::new();
        for def in &defs {
            match resolve_named(&project, &defs, &def.name.value) {
                Ok(g) => groups.push(g),
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_ERROR;
                }
            }
        }
        groups
    };
    let bar = super::progress::Bar::start();
    let (edges, undecided) = match &bar {
        Some(bar) => graph_with(&set, &groups, timeout_ms, bar),
        None => graph(&set, &groups, timeout_ms),
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    let text = match args.format {
        Format::Json => report::graph::json(&groups, &edges, undecided),
        Format::Dot => report::graph::dot(&groups, &edges),
        Format::Mermaid => report::graph::mermaid(&groups, &edges),
        Format::Html => report::graph::html(&groups, &edges),
    };
    if undecided > 0 {
        eprintln!("warning: {undecided} solver queries timed out; some edges may be missing");
    }
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
