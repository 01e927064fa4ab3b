//! `calint selector 'EXPR' [--labels JSON] [--format json]`.

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print};
use calint::model::selector::Selector;
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args)]
pub struct SelectorArgs {
    /// The selector expression.
    expression: String,
    /// A JSON object of labels to evaluate the selector against, e.g. '{"app":"web"}'.
    #[arg(long)]
    labels: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: SelectorArgs) -> u8 {
    let labels: Option<BTreeMap<String, String>> =
        match args.labels.as_deref().map(serde_json::from_str) {
            None => None,
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                eprintln!("error: --labels must be a JSON object of string values: {e}");
                return EXIT_ERROR;
            }
        };
    match Selector::parse(&args.expression) {
        Err(err) => {
            match args.format {
                Format::Json => print(&format!(
                    "{}\n",
                    serde_json::json!({"valid": false, "error": {"message": err.message, "offset": err.offset}})
                )),
                Format::Human => print(&format!(
                    "invalid selector: {}\n{}\n",
                    err.message,
                    err.display_with_caret(&args.expression)
                )),
            }
            EXIT_ERROR
        }
        Ok(sel) => {
            let matched = labels.as_ref().map(|l| sel.matches(l));
            match args.format {
                Format::Json => {
                    let mut v = serde_json::json!({"valid": true, "normalized": sel.canonical()});
                    if let (Some(m), Some(obj)) = (matched, v.as_object_mut()) {
                        obj.insert("matches".into(), serde_json::Value::Bool(m));
                    }
                    print(&format!("{v}\n"));
                }
                Format::Human => {
                    let mut out = format!("valid selector\nnormalized: {}\n", sel.canonical());
                    if let Some(m) = matched {
                        out.push_str(if m { "matches: yes\n" } else { "matches: no\n" });
                    }
                    print(&out);
                }
            }
            if matched == Some(false) {
                EXIT_FINDINGS
            } else {
                EXIT_CLEAN
            }
        }
    }
}
