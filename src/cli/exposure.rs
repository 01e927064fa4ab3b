//! `calint exposure [PATH...] [--format human|json|markdown|html]`.

use super::QueryArgs;
use super::{EXIT_CLEAN, EXIT_ERROR, print};
use calint::analysis::exposure::exposure;
use calint::report;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Html,
}

#[derive(Args)]
pub struct ExposureArgs {
    /// Files or directories holding the policies and workloads.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn run(args: ExposureArgs) -> u8 {
    let Some(q) = args.query.load(args.paths) else {
        return EXIT_ERROR;
    };
    // Every workload, then every configured group (network sets and the world are not
    // policed: exposure skips them).
    let Some(configured) = q.configured_groups() else {
        return EXIT_ERROR;
    };
    let groups: Vec<_> = (q.discovered().iter().cloned()).chain(configured).collect();
    let (set, timeout_ms, project) = (q.policy_set(), q.timeout_ms, q.project);
    let exposures = exposure(&project, &set, &groups, timeout_ms);
    let text = match args.format {
        Format::Human => report::exposure::render_human(&project, &set, &groups, &exposures),
        Format::Json => report::exposure::render_json(&project, &set, &groups, &exposures),
        Format::Markdown => report::exposure::render_markdown(&groups, &exposures),
        Format::Html => report::exposure::render_html(&project, &set, &groups, &exposures),
    };
    let undecided: usize = exposures
        .iter()
        .flat_map(|e| {
            [&e.from_world, &e.from_any_pod, &e.to_world]
                .into_iter()
                .chain(&e.from_other_namespaces)
                .map(|f| f.undecided)
        })
        .sum();
    if undecided > 0 {
        eprintln!("warning: {undecided} solver queries timed out; some answers may be incomplete");
    }
    super::keep_until_exit((project, set, groups, exposures));
    match args.output {
        Some(path) => match super::write_file(&path, &text) {
            Ok(()) => EXIT_CLEAN,
            Err(code) => code,
        },
        None => {
            print(&text);
            EXIT_CLEAN
        }
    }
}
