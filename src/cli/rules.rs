//! `calint rules [CODE]`.

use super::{EXIT_CLEAN, EXIT_ERROR, print};
use calint::lints::{REGISTRY, find};
use clap::Args;

#[derive(Args)]
pub struct RulesArgs {
    /// A code (CAL201) or name (shadowed-rule) to print the documentation of.
    code: Option<String>,
}

pub fn run(args: RulesArgs) -> u8 {
    match args.code {
        None => {
            let mut out = String::new();
            for lint in REGISTRY {
                let m = lint.meta();
                out.push_str(&format!(
                    "{:<7} {:<27} {:<8} {}\n",
                    m.code,
                    m.name,
                    m.default_severity.as_str(),
                    m.summary
                ));
            }
            print(&out);
            EXIT_CLEAN
        }
        Some(code) => match find(&code) {
            Some(lint) => {
                print(lint.meta().doc);
                EXIT_CLEAN
            }
            None => {
                eprintln!("error: no rule `{code}` (run `calint rules` for the list)");
                EXIT_ERROR
            }
        },
    }
}
