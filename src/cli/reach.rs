//! `calint reach [PATH...] --from G --to G [--protocol P] [--port N] [--expect allowed|denied]`.

use super::QueryArgs;
use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print};
use calint::analysis::reach::{ReachOptions, Verdict, reach};
use calint::model::port::Protocol;
use calint::report;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args)]
pub struct ReachArgs {
    /// Files or directories holding the policies.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Source group: `[NAMESPACE/]SELECTOR`, `NAMESPACE/WORKLOAD`, `net:CIDR`,
    /// `set:[NAMESPACE/]NAME`, or `world`.
    #[arg(long)]
    from: String,
    /// Destination group (same forms as --from).
    #[arg(long)]
    to: String,
    /// Protocol name or number (TCP, UDP, ICMP, 6, ...).
    #[arg(long)]
    protocol: Option<String>,
    /// Destination port (TCP unless --protocol says otherwise).
    #[arg(long)]
    port: Option<u16>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit with 1 when the verdict is not this one.
    #[arg(long, value_parser = verdict_parser())]
    expect: Option<Verdict>,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn run(args: ReachArgs) -> u8 {
    let protocol = match args.protocol.as_deref().map(Protocol::from_str) {
        None => None,
        Some(p) if p.is_valid() => p.number(),
        Some(p) => {
            eprintln!(
                "error: unknown protocol `{p}` (use TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or 1-255)"
            );
            return EXIT_ERROR;
        }
    };
    let Some(q) = args.query.load(args.paths) else {
        return EXIT_ERROR;
    };
    // The two ends (one pass over the tree) while the policies compile.
    let (ends, set) = rayon::join(|| q.endpoints(&args.from, &args.to), || q.policy_set());
    let Some((from, to)) = ends else {
        return EXIT_ERROR;
    };
    let timeout_ms = q.timeout_ms;
    let project = q.project;
    let options = ReachOptions {
        protocol,
        port: args.port,
        timeout_ms,
    };
    // The examples' namespace names (a pass over every selector) while the solver answers.
    let (result, namer) = rayon::join(
        || reach(&set, &from, &to, &options),
        || report::reach::example_namer(&project, &set, &from, &to),
    );
    let text = match args.format {
        Format::Human => report::reach::render_human(&project, &set, &from, &to, &result, &namer),
        Format::Json => report::reach::render_json(&project, &set, &from, &to, &result, &namer),
    };
    print(&text);
    let code = match args.expect {
        Some(e) if e != result.verdict => EXIT_FINDINGS,
        _ => EXIT_CLEAN,
    };
    super::keep_until_exit((project, set, result, from, to, namer));
    code
}

/// `--expect`: the verdicts as `.calint.yaml` writes them (listed in `--help` and completions).
fn verdict_parser() -> impl clap::builder::TypedValueParser<Value = Verdict> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["allowed", "denied", "partial"])
        .try_map(|s| Verdict::parse(&s).ok_or_else(|| format!("`{s}` is not a verdict")))
}
