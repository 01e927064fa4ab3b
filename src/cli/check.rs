//! `calint check`.

use super::progress::Bar;
use super::settings::{SettingsArgs, describe_origin};
use super::{ColorChoice, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print, write_file};
use calint::check::check_with;
use calint::check::options::{CommandFlags, check_options};
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
    /// One line per finding: `file:line:col: CODE severity: message (name)`.
    Concise,
}

impl From<Format> for report::Format {
    fn from(f: Format) -> report::Format {
        match f {
            Format::Human => report::Format::Human,
            Format::Json => report::Format::Json,
            Format::Sarif => report::Format::Sarif,
            Format::Github => report::Format::Github,
            Format::Markdown => report::Format::Markdown,
            Format::Concise => report::Format::Concise,
        }
    }
}

#[derive(Args)]
pub struct CheckArgs {
    /// Files or directories to lint; `-` reads one stream from standard input (`<stdin>` in
    /// locations), e.g. `kustomize build overlays/prod | calint check -`.
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
    /// Absolute URI of the working directory for SARIF `originalUriBaseIds` (`%SRCROOT%`),
    /// e.g. `file:///home/runner/work/repo/repo/deploy/` when calint runs in a subdirectory.
    #[arg(long, value_name = "URI")]
    sarif_srcroot: Option<String>,
    /// Annotate (github format) only findings on the lines this unified diff adds or changes
    /// (`git diff -U0 --relative BASE...HEAD`); the others are counted.
    #[arg(long, value_name = "DIFF_FILE")]
    changed_lines: Option<PathBuf>,
    /// Base URL that turns file paths into links in the markdown format
    /// (e.g. https://github.com/OWNER/REPO/blob/SHA/).
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
    /// Per-query solver limit in milliseconds' worth of Z3 work: a deterministic resource
    /// limit (the same on every machine and thread count; wall time only stops a query at
    /// 10x as a safety net). A query that hits it is counted as undecided and never becomes
    /// a finding [default: 2000, or the config's].
    #[arg(long, value_name = "MS")]
    solver_timeout: Option<u32>,
    /// Skip the semantic (Z3) analysis: validation lints only.
    #[arg(long)]
    no_analysis: bool,
    /// Show the evidence behind semantic findings (full witness packets).
    #[arg(long)]
    explain: bool,
    /// Exit with 2 when a PATH holds no Kubernetes resources (otherwise a warning on stderr).
    #[arg(long)]
    strict_paths: bool,
    /// Print the number of findings per code instead of the findings.
    #[arg(long)]
    statistics: bool,
    /// Report only findings not recorded in this baseline file [default: the config's
    /// `baseline:`]; count the others and list entries that no longer occur.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record every current finding in FILE (a baseline for `--baseline`), then report as if
    /// it were the baseline.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    write_baseline: Option<PathBuf>,
    /// Build each top-level Kustomize root (kustomize or kubectl) and Helm chart (helm) found
    /// on PATH and check the output, each root as its own view [default: the config's
    /// `render:`]. Without the tools: a note, and the sources are checked as they are.
    #[arg(long)]
    render: bool,
    /// Apply the mechanical fixes (host bits of CIDRs, port-range syntax, misspelled field
    /// names with a unique suggestion, duplicate set entries, explicit policy `types`) in
    /// place, then report what is left. Files with YAML errors are never touched.
    #[arg(long, conflicts_with = "diff")]
    fix: bool,
    /// Print the edits `--fix` would make as a unified diff instead of the report; write
    /// nothing. Exit 1 when there is something to fix.
    #[arg(long)]
    diff: bool,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .filter(|(_, f)| !f.is_empty())
        .ok_or_else(|| format!("`{s}` is not FORMAT=FILE (e.g. sarif=calint.sarif)"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        format!("unknown format `{format}` (human, json, sarif, github, markdown, concise)")
    })?;
    Ok((format, PathBuf::from(file)))
}

pub fn run(args: CheckArgs) -> u8 {
    let effective = match args.settings.resolve(&args.paths, args.color) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let mut opts = check_options(
        &effective,
        &CommandFlags {
            paths: args.paths.clone(),
            solver_timeout_ms: args.solver_timeout,
            no_analysis: args.no_analysis,
            explain: args.explain,
            render: args.render,
        },
    );
    if opts.paths.iter().any(|p| calint::check::is_stdin(p)) {
        match read_stdin(opts.max_file_size) {
            Ok(bytes) => opts.stdin = Some(bytes),
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return EXIT_ERROR;
            }
        }
    }

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
    let (mut project, mut findings) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if args.fix || args.diff {
        if opts.paths.iter().any(|p| calint::check::is_stdin(p)) && args.fix {
            eprintln!("error: --fix cannot write to standard input (use --diff)");
            return EXIT_ERROR;
        }
        let plan = calint::fix::plan(&project, &findings);
        for r in &plan.refused {
            eprintln!(
                "calint: not fixing {}: {}",
                calint::source::printable(&r.name),
                r.reason
            );
        }
        if args.diff {
            print(&plan.diff());
            return if plan.files.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            };
        }
        match plan.write(&project) {
            Ok(n) => {
                let fixed: usize = plan.files.iter().map(|f| f.applied.len()).sum();
                eprintln!("calint: fixed {fixed} findings in {n} files");
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
        // Report what is left.
        match check_with(&opts, &NoProgress) {
            Ok(r) => (project, findings) = r,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    }
    let findings = match apply_baseline(&args, &effective, &mut project, findings) {
        Ok(f) => f,
        Err(code) => return code,
    };

    // Before the report, so it is seen even when the report is long.
    for note in &project.stats.notes {
        eprintln!("note: {}", calint::source::printable(note));
    }
    let empty = calint::check::paths_without_objects(&project, &opts.paths);
    for path in &empty {
        eprintln!(
            "warning: {}: no Kubernetes resources found (is the path right?)",
            path.display()
        );
    }

    let changed = match &args.changed_lines {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(diff) => Some(report::changed::ChangedLines::from_unified_diff(&diff)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return EXIT_ERROR;
            }
        },
        None => None,
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
            sarif_srcroot: args.sarif_srcroot.clone(),
            changed: changed.clone(),
        };
        report::render(format.into(), &project, &findings, &options)
    };
    let main = if args.statistics {
        report::concise::statistics(&findings)
    } else {
        render(args.format, args.output.is_none())
    };
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
    if let Some(hint) = adoption_hint(&args, &effective, findings.len()) {
        eprintln!("{hint}");
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

    let code = if args.strict_paths && !empty.is_empty() {
        EXIT_ERROR
    } else if effective.fails(&findings) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    super::keep_until_exit((project, findings));
    code
}

/// Standard input, at most one byte past `max` (so the size limit still reports it).
fn read_stdin(max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Findings below which a tree is not "legacy" enough to suggest a baseline.
const ADOPTION_HINT_FINDINGS: usize = 100;

/// For a first run on an existing tree with many findings (human report, no baseline in use):
/// how to adopt calint without fixing everything first. On stderr, after the report.
fn adoption_hint(
    args: &CheckArgs,
    effective: &calint::config::Effective,
    findings: usize,
) -> Option<String> {
    let baseline_in_use = args.baseline.is_some()
        || args.write_baseline.is_some()
        || effective.config.baseline.is_some();
    (findings >= ADOPTION_HINT_FINDINGS
        && args.format == Format::Human
        && !args.quiet
        && !args.statistics
        && !baseline_in_use)
        .then(|| {
            format!(
                "note: {findings} findings. To adopt calint on an existing tree, record them once \
                 (`calint check --write-baseline calint-baseline.json ...`, then `baseline: \
                 calint-baseline.json` in .calint.yaml) and fail only on new ones; \
                 `--statistics` counts them per lint"
            )
        })
}

/// `--write-baseline`, then `--baseline` (or the config's `baseline:`): the findings to report.
fn apply_baseline(
    args: &CheckArgs,
    effective: &calint::config::Effective,
    project: &mut Project,
    findings: Vec<calint::finding::Finding>,
) -> Result<Vec<calint::finding::Finding>, u8> {
    use calint::report::baseline::Baseline;
    let cwd = std::env::current_dir().unwrap_or_default();
    let dir_of = |file: &std::path::Path| {
        let abs = calint::config::absolute(file, &cwd);
        abs.parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    let (baseline, file) = if let Some(file) = &args.write_baseline {
        let b = Baseline::from_findings(project, &findings, &dir_of(file), &cwd);
        write_file(file, &b.to_json())?;
        eprintln!(
            "calint: wrote {} baseline entries to {}",
            b.findings.len(),
            file.display()
        );
        (b, file.clone())
    } else {
        let configured = effective
            .config
            .baseline
            .as_ref()
            .and_then(|b| Some(effective.config.base_dir()?.join(&b.value)));
        let Some(file) = args.baseline.clone().or(configured) else {
            return Ok(findings);
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            eprintln!("error: cannot read the baseline {}: {e}", file.display());
            EXIT_ERROR
        })?;
        let b = Baseline::parse(&text).map_err(|e| {
            eprintln!("error: {}: {e}", file.display());
            EXIT_ERROR
        })?;
        (b, file)
    };
    let applied = baseline.apply(project, findings, &dir_of(&file), &cwd);
    project.stats.baselined = applied.baselined;
    project.stats.baseline_stale = applied.stale.len();
    if !applied.stale.is_empty() && !args.quiet {
        eprintln!(
            "calint: {} entries of {} no longer occur (fixed); `--write-baseline {}` drops them:",
            applied.stale.len(),
            file.display(),
            file.display()
        );
        for e in &applied.stale {
            let resource = e
                .resource
                .as_deref()
                .map(|r| format!(" {r}:"))
                .unwrap_or_default();
            let line = format!("  {} {}:{resource} {}", e.code, e.file, e.message);
            eprintln!("{}", calint::source::printable(&line));
        }
    }
    Ok(applied.new)
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
