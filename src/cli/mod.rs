//! Argument parsing and dispatch. Exit codes: 0 clean, 1 findings at or above the failing
//! severity (or a selector that does not match), 2 usage, configuration or I/O error.
//!
//! Layer 13, the binary: uses the whole library (`check::options` for every command's
//! options, `report` for every output); the library never uses it.

mod check;
mod completions;
mod config;
mod diff;
mod exposure;
mod graph;
mod paths;
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
    /// What can the world, other namespaces and any future pod reach, and is each workload policied?
    Exposure(exposure::ExposureArgs),
    /// Multi-hop attack paths: chains of allowed connections from one group to another.
    Paths(paths::PathsArgs),
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
        Command::Exposure(args) => exposure::run(args),
        Command::Paths(args) => paths::run(args),
        Command::Completions(args) => completions::run(args),
    };
    ExitCode::from(code)
}

/// Leave `value` to the end of the process instead of dropping it. A command calls this for
/// what it loaded once its answer is out: freeing a tree of 10,000 policies (millions of small
/// allocations) takes about 0.4 s of one core, and the operating system reclaims the memory
/// at exit anyway. Only for values whose drop has no effect besides freeing memory.
pub fn keep_until_exit<T>(value: T) {
    std::mem::forget(value);
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

/// What `reach`, `graph`, `exposure` and `paths` work on.
pub struct Queried {
    /// The tree under the paths (no lints, no analysis), or the part of it in the view.
    pub project: calint::project::Project,
    /// The reachability groups of the configuration.
    pub groups: Vec<calint::config::GroupDef>,
    /// The Calico release the policy set is compiled for (the config's, or `--calico-version`).
    pub target: calint::validate::CalicoVersion,
    /// Per-query solver limit: `--solver-timeout`, else the config's `limits`, else 2000.
    pub timeout_ms: u32,
    /// The tree's groups ([`calint::analysis::groups::discover`]), found once when first asked.
    discovered: std::sync::OnceLock<Vec<calint::analysis::groups::Group>>,
}

impl Queried {
    /// Resolve a configured group name or a group expression; `None` when it is unknown
    /// (reported on stderr; the exit code is [`EXIT_ERROR`]).
    pub fn resolve(&self, name: &str) -> Option<calint::analysis::groups::Group> {
        let discovered = self.discovered();
        calint::analysis::groups::resolve_named_in(&self.project, discovered, &self.groups, name)
            .map_err(|e| eprintln!("error: {e}"))
            .ok()
    }

    /// Every workload and network set of the tree, and the world (see
    /// [`calint::analysis::groups::discover`]).
    pub fn discovered(&self) -> &[calint::analysis::groups::Group] {
        self.discovered
            .get_or_init(|| calint::analysis::groups::discover(&self.project))
    }

    /// The two ends of a question (`--from`, `--to`), resolved in that order: the first
    /// unknown group is the error (as `check` reports assertions).
    pub fn endpoints(
        &self,
        from: &str,
        to: &str,
    ) -> Option<(
        calint::analysis::groups::Group,
        calint::analysis::groups::Group,
    )> {
        let from = self.resolve(from)?;
        Some((from, self.resolve(to)?))
    }

    /// Every group the configuration defines, in its order (see [`Queried::resolve`]).
    pub fn configured_groups(&self) -> Option<Vec<calint::analysis::groups::Group>> {
        (self.groups.iter())
            .map(|def| self.resolve(&def.name.value))
            .collect()
    }

    /// The policy set the queries are answered against: the workload view, compiled for the
    /// configured Calico release.
    pub fn policy_set(&self) -> calint::analysis::ir::PolicySet {
        calint::analysis::ir::PolicySet::for_version(&self.project, self.target)
            .into_workload_view()
    }
}

/// What every query command (`reach`, `graph`, `exposure`, `paths`) takes besides its own
/// flags: the view, the solver limit and the configuration flags.
#[derive(clap::Args)]
pub struct QueryArgs {
    /// The view (`.calint.yaml` `views:`) to answer for; required when views are configured.
    #[arg(long, value_name = "NAME")]
    view: Option<String>,
    /// Per-query solver limit in milliseconds' worth of Z3 work (a deterministic resource
    /// limit; wall time only as a 10x safety net) [default: 2000, or the config's
    /// `limits.solver-timeout-ms`].
    #[arg(long, value_name = "MS")]
    solver_timeout: Option<u32>,
    #[command(flatten)]
    settings: settings::ConfigFileArgs,
}

impl QueryArgs {
    /// [`load_for_queries`] with these flags; `None` when it failed (reported on stderr; the
    /// exit code is [`EXIT_ERROR`]).
    pub fn load(&self, paths: Vec<std::path::PathBuf>) -> Option<Queried> {
        let (view, timeout) = (self.view.as_deref(), self.solver_timeout);
        load_for_queries(paths, view, &self.settings, timeout).ok()
    }
}

/// Load what the query commands work on, with the same configuration `check` uses
/// (`.calint.yaml` or `--config`/`--no-config`, its `exclude`, `limits`, `calico-version` and
/// `tiers`, and the flags on top).
pub fn load_for_queries(
    paths: Vec<std::path::PathBuf>,
    view: Option<&str>,
    settings: &settings::ConfigFileArgs,
    solver_timeout: Option<u32>,
) -> Result<Queried, u8> {
    use calint::check::options::{CommandFlags, check_options, solver_timeout_ms};
    let effective = settings.resolve(&paths, ColorChoice::Never)?;
    let timeout_ms = solver_timeout_ms(&effective, solver_timeout);
    let opts = check_options(
        &effective,
        &CommandFlags {
            paths,
            no_analysis: true,
            ..CommandFlags::default()
        },
    );
    let project = calint::check::load_project(&opts).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_ERROR
    })?;
    let config = effective.config;
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
    project.external_tiers = opts.external_tiers.clone();
    // Say when the tree has resources the answer leaves out (issue 13 item 8).
    if let Some(note) = calint::analysis::admission::Admission::of(&project).note(&project) {
        eprintln!("note: {note}");
    }
    Ok(Queried {
        project,
        groups: config.group_defs,
        target: opts.validate.target,
        timeout_ms,
        discovered: std::sync::OnceLock::new(),
    })
}
