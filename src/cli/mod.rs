//! Argument parsing and dispatch. Exit codes: 0 clean, 1 findings at or above the failing
//! severity (or a selector that does not match), 2 usage or I/O error.

mod check;
mod graph;
mod reach;
mod rules;
mod selector;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "calint",
    version,
    about = "Static analyzer and linter for Calico network policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint a tree of Calico (and Kubernetes) manifests.
    Check(check::CheckArgs),
    /// Parse a Calico selector, print its normalized form, optionally match it against labels.
    Selector(selector::SelectorArgs),
    /// List the lint codes, or print one rule's documentation.
    Rules(rules::RulesArgs),
    /// Can one group reach another, on what, and which rule decides?
    Reach(reach::ReachArgs),
    /// Draw who can reach whom: every workload, network set and the world.
    Graph(graph::GraphArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
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
        Command::Selector(args) => selector::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Reach(args) => reach::run(args),
        Command::Graph(args) => graph::run(args),
    };
    ExitCode::from(code)
}

/// Print to stdout, ignoring a closed pipe (`calint check | head`).
pub fn print(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
