//! `calint check`.

use super::progress::Bar;
use super::settings::{SettingsArgs, describe_origin};
use super::{ColorChoice, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print, write_file};
use calint::check::{AnchoredExcludes, CheckOptions, check_with};
use calint::progress::NoProgress;
use calint::project::Project;
use calint::report::{self, RenderOptions};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Source snippets with the offending span underlined.
    Human,
    /// A stable JSON document (version 1).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands: annotations on the pull request.
    Github,
    /// A Markdown summary, for CI job pages ($GITHUB_STEP_SUMMARY).
    Markdown,
}

impl From<Format> for report::Format {
    fn from(f: Format) -> report::Format {
        match f {
            Format::Human => report::Format::Human,
            Format::Json => report::Format::Json,
            Format::Sarif => report::Format::Sarif,
            Format::Github => report::Format::Github,
            Format::Markdown => report::Format::Markdown,
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
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a report in FORMAT to FILE, from the same run (repeatable), e.g.
    /// `--report sarif=calint.sarif`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    reports: Vec<(Format, PathBuf)>,
    /// Colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print only the findings: no summary line, no progress bar.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    quiet: bool,
    /// Print the configuration used, counts and the time of each stage to stderr.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Base URL of the rule pages in SARIF `helpUri` (`<URL><CODE>.md`).
    #[arg(long, value_name = "URL", default_value = report::sarif::DEFAULT_HELP_BASE)]
    sarif_help_base: String,
    /// Base URL that turns file paths into links in the markdown format
    /// (e.g. https://github.com/OWNER/REPO/blob/SHA/).
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
    /// Per-query solver timeout in milliseconds; a query that times out is counted as
    /// undecided and never becomes a finding [default: 2000, or the config's].
    #[arg(long, value_name = "MS")]
    solver_timeout: Option<u32>,
    /// Skip the semantic (Z3) analysis: validation lints only.
    #[arg(long)]
    no_analysis: bool,
    /// Show the evidence behind semantic findings (full witness packets).
    #[arg(long)]
    explain: bool,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .filter(|(_, f)| !f.is_empty())
        .ok_or_else(|| format!("`{s}` is not FORMAT=FILE (e.g. sarif=calint.sarif)"))?;
    let format = Format::from_str(format, true)
        .map_err(|_| format!("unknown format `{format}` (human, json, sarif, github, markdown)"))?;
    Ok((format, PathBuf::from(file)))
}

pub fn run(args: CheckArgs) -> u8 {
    let effective = match args.settings.resolve(&args.paths, args.color) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let opts = CheckOptions {
        paths: args.paths.clone(),
        excludes: effective.cli_exclude.clone(),
        anchored_excludes: effective
            .config
            .base_dir()
            .filter(|_| !effective.config_exclude.is_empty())
            .map(|base| AnchoredExcludes {
                base: base.to_path_buf(),
                patterns: effective.config_exclude.clone(),
            }),
        validate: calint::validate::ValidateOptions {
            target: effective.calico_version.0,
        },
        lints: calint::lints::LintSettings {
            explain: args.explain,
            ..effective.lint_settings()
        },
        reachability: calint::check::ReachabilityConfig::from_config(&effective.config),
        analysis: (!args.no_analysis).then_some(calint::analysis::AnalysisOptions {
            solver_timeout_ms: args
                .solver_timeout
                .unwrap_or(calint::analysis::DEFAULT_SOLVER_TIMEOUT_MS),
            ..calint::analysis::AnalysisOptions::default()
        }),
        ..CheckOptions::default()
    };

    let mut opts = opts;
    apply_limits(
        &mut opts,
        &effective.config.limits,
        args.solver_timeout.is_some(),
    );

    // Machine formats on stdout stay clean of terminal decoration.
    let machine = matches!(args.format, Format::Json | Format::Sarif | Format::Github);
    let bar = if args.quiet || machine {
        None
    } else {
        Bar::start()
    };
    let result = match &bar {
        Some(bar) => check_with(&opts, bar),
        None => check_with(&opts, &NoProgress),
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    let (project, findings) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };

    let started = Instant::now();
    let render = |format: Format, to_terminal: bool| {
        let options = RenderOptions {
            color: if to_terminal {
                args.color.enabled()
            } else {
                args.color == ColorChoice::Always
            },
            quiet: args.quiet,
            sarif_help_base: args.sarif_help_base.clone(),
            link_base: args.link_base.clone(),
        };
        report::render(format.into(), &project, &findings, &options)
    };
    let main = render(args.format, args.output.is_none());
    match &args.output {
        Some(path) => {
            if let Err(code) = write_file(path, &main) {
                return code;
            }
        }
        None => print(&main),
    }
    for (format, path) in &args.reports {
        if let Err(code) = write_file(path, &render(*format, false)) {
            return code;
        }
    }
    if args.verbose {
        let cwd = std::env::current_dir().ok();
        eprint!(
            "{}",
            verbose_report(
                &project,
                findings.len(),
                &describe_origin(&effective.config.origin, cwd.as_deref()),
                started.elapsed()
            )
        );
    }

    if findings.iter().any(|f| f.severity >= effective.fail_on.0) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

fn verbose_report(project: &Project, findings: usize, config: &str, render: Duration) -> String {
    let mut out = format!("calint: configuration: {config}\n");
    out.push_str(&format!(
        "calint: {} files, {} resources ({} policies), {} findings, {} suppressed\n",
        project.stats.files,
        project.resources.len(),
        project.policies().count(),
        findings,
        project.stats.suppressed
    ));
    let ms = |d: Duration| format!("{:>9.3} ms", d.as_secs_f64() * 1000.0);
    for (stage, time) in &project.timings {
        out.push_str(&format!("calint: {stage:<18}{}\n", ms(*time)));
    }
    out.push_str(&format!("calint: {:<18}{}\n", "render", ms(render)));
    out
}

/// The configuration's `limits:`; a `--solver-timeout` on the command line wins.
pub fn apply_limits(opts: &mut CheckOptions, l: &calint::config::Limits, cli_timeout: bool) {
    if let Some(v) = l.max_file_size {
        opts.max_file_size = v;
    }
    if let Some(v) = l.max_yaml_depth {
        opts.parse_limits.max_depth = v;
    }
    if let Some(v) = l.max_alias_nodes {
        opts.parse_limits.max_alias_nodes = v;
    }
    if let Some(v) = l.max_yaml_nodes {
        opts.parse_limits.max_nodes = v;
    }
    if let Some(v) = l.max_problems_per_file {
        opts.max_problems_per_file = v;
    }
    if let Some(v) = l.max_selector_bytes {
        opts.selector_limits.max_bytes = v;
    }
    if let Some(v) = l.max_selector_terms {
        opts.selector_limits.max_terms = v;
    }
    if let Some(a) = opts.analysis.as_mut() {
        if let (Some(v), false) = (l.solver_timeout_ms, cli_timeout) {
            a.solver_timeout_ms = v;
        }
        if let Some(v) = l.analysis_budget_ms {
            a.budget_ms = (v > 0).then_some(v);
        }
    }
}
