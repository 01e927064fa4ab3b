//! Argument parsing and dispatch. Exit codes: 0 clean, 1 findings at or above the failing
//! severity (or a selector that does not match), 2 usage, configuration or I/O error.

mod check;
mod completions;
mod config;
mod diff;
mod graph;
mod progress;
mod reach;
mod rules;
mod selector;
mod settings;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "calint",
    version,
    about = "Static analyzer and linter for Calico network policy"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint a tree of Calico (and Kubernetes) manifests.
    Check(check::CheckArgs),
    /// Check the configuration file, or print the effective configuration.
    Config(config::ConfigArgs),
    /// Parse a Calico selector, print its normalized form, optionally match it against labels.
    Selector(selector::SelectorArgs),
    /// List the lint codes, or print one rule's documentation.
    Rules(rules::RulesArgs),
    /// Can one group reach another, on what, and which rule decides?
    Reach(reach::ReachArgs),
    /// Draw who can reach whom: every workload, network set and the world.
    Graph(graph::GraphArgs),
    /// What a change does: findings added or removed, connections opened, closed or changed.
    Diff(diff::DiffArgs),
    /// Print a shell completion script (e.g. `calint completions bash > /etc/bash_completion.d/calint`).
    Completions(completions::CompletionsArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Colour for text going to stdout.
    pub fn enabled(self) -> bool {
        self.enabled_for(std::io::stdout().is_terminal())
    }

    /// Colour for text going to stderr.
    pub fn enabled_on_stderr(self) -> bool {
        self.enabled_for(std::io::stderr().is_terminal())
    }

    fn enabled_for(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Config(args) => config::run(args),
        Command::Selector(args) => selector::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Reach(args) => reach::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Completions(args) => completions::run(args),
    };
    ExitCode::from(code)
}

/// Print to stdout, ignoring a closed pipe (`calint check | head`).
pub fn print(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Write a report to `path`; on failure say so on stderr and return the exit code.
pub fn write_file(path: &Path, text: &str) -> Result<(), u8> {
    std::fs::write(path, text).map_err(|e| {
        eprintln!("error: cannot write {}: {e}", path.display());
        EXIT_ERROR
    })
}

/// The `.calint.yaml` that applies to `paths` (the defaults when there is none). A broken
/// configuration is reported and gives exit code 2.
pub fn configured(paths: &[std::path::PathBuf]) -> Result<calint::config::Config, u8> {
    use calint::config;
    let cwd = std::env::current_dir().unwrap_or_default();
    let Some(path) = config::discover(&config::start_dir(paths, &cwd)) else {
        return Ok(config::Config::default());
    };
    let name = calint::check::display_name(&path, Some(&cwd));
    config::load(&path, name, config::Origin::Discovered(path.clone())).map_err(|e| {
        eprint!("{}", calint::report::human::render_config_error(&e, false));
        EXIT_ERROR
    })
}

/// What `reach` and `graph` work on: the tree under `paths` (no lints, no analysis), or the
/// part of it in `view`, and the reachability groups of the `.calint.yaml` that applies to it.
pub fn load_for_queries(
    paths: Vec<std::path::PathBuf>,
    view: Option<&str>,
) -> Result<(calint::project::Project, Vec<calint::config::GroupDef>), u8> {
    let opts = calint::check::CheckOptions {
        paths,
        analysis: None,
        ..calint::check::CheckOptions::default()
    };
    let project = calint::check::load_project(&opts).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_ERROR
    })?;
    let config = configured(&opts.paths)?;
    let mut views = calint::check::ViewSpec::from_config(&config);
    if views.is_empty() {
        // Top-level Kustomize roots are clusters of their own, as in `check`.
        views = calint::check::views::kustomize_views(&project);
        if views.len() < 2 {
            views.clear();
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let project = calint::check::views::restrict(project, &views, view, &cwd).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_ERROR
    })?;
    let mut project = project;
    project.external_tiers = config.tier_defs.iter().map(|t| t.compiled()).collect();
    // Say when the tree has resources the answer leaves out (issue 13 item 8).
    if let Some(note) = calint::analysis::admission::Admission::of(&project).note(&project) {
        eprintln!("note: {note}");
    }
    Ok((project, config.group_defs))
}
