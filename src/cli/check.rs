//! `calint check`.

use super::{ColorChoice, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print};
use calint::check::{CheckOptions, check};
use calint::finding::Severity;
use calint::report;
use calint::validate::CalicoVersion;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Info => Severity::Info,
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }
    }
}

#[derive(Args)]
pub struct CheckArgs {
    /// Files or directories to lint.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Exit with 1 when a finding has at least this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    fail_on: FailOn,
    /// Skip paths matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Calico version whose validator to imitate (e.g. 3.31).
    #[arg(long, value_name = "X.Y", value_parser = parse_version)]
    calico_version: Option<CalicoVersion>,
    /// Per-query solver timeout in milliseconds; a query that times out is counted as
    /// undecided and never becomes a finding.
    #[arg(long, value_name = "MS", default_value_t = calint::analysis::DEFAULT_SOLVER_TIMEOUT_MS)]
    solver_timeout: u32,
    /// Skip the semantic (Z3) analysis: validation lints only.
    #[arg(long)]
    no_analysis: bool,
    /// Show the evidence behind semantic findings (full witness packets).
    #[arg(long)]
    explain: bool,
}

fn parse_version(s: &str) -> Result<CalicoVersion, String> {
    CalicoVersion::parse(s).ok_or_else(|| format!("`{s}` is not a version like 3.31"))
}

pub fn run(args: CheckArgs) -> u8 {
    let mut opts = CheckOptions {
        paths: args.paths,
        excludes: args.exclude,
        ..CheckOptions::default()
    };
    if let Some(v) = args.calico_version {
        opts.validate.target = v;
    }
    opts.analysis = (!args.no_analysis).then_some(calint::analysis::AnalysisOptions {
        solver_timeout_ms: args.solver_timeout,
        ..calint::analysis::AnalysisOptions::default()
    });
    opts.lints.explain = args.explain;
    let (project, findings) = match check(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let text = match args.format {
        Format::Human => report::human::render(&project, &findings, args.color.enabled()),
        Format::Json => report::json::render(&project, &findings),
    };
    print(&text);
    let threshold = Severity::from(args.fail_on);
    if findings.iter().any(|f| f.severity >= threshold) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}
