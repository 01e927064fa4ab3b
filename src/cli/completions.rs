//! `calint completions SHELL`.

use super::{Cli, EXIT_CLEAN};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> u8 {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "calint", &mut out);
    super::print(&String::from_utf8_lossy(&out));
    EXIT_CLEAN
}
