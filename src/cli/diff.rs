//! `calint diff --base REV|DIR [--head REV|DIR] [PATH...]` and `calint diff --staged [PATH...]`.

use super::settings::SettingsArgs;
use super::{ColorChoice, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, print, write_file};
use calint::check::CheckOptions;
use calint::check::options::{CommandFlags, check_options, solver_timeout_ms};
use calint::diff::reach::Change;
use calint::diff::{DiffOptions, Side, git, staged};
use calint::report;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per change, with the example packet and the deciding rules.
    Human,
    /// A stable JSON document (version 1).
    Json,
    /// A pull-request comment: headline, reachability table, new findings.
    Markdown,
    /// SARIF 2.1.0 with the findings the change adds.
    Sarif,
}

#[derive(Args)]
pub struct DiffArgs {
    /// Files or directories to compare (in both trees).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// The tree before the change: a git revision (branch, tag, commit, `main~1`), read
    /// without a checkout, or a directory.
    #[arg(long, value_name = "REV|DIR", required_unless_present = "staged")]
    base: Option<String>,
    /// The tree after the change: a git revision or a directory [default: the working tree].
    #[arg(long, value_name = "REV|DIR")]
    head: Option<String>,
    /// Compare the working tree as enforced with every staged policy promoted
    /// (`Set` replaces or adds the enforced policy, `Delete` removes it).
    #[arg(long, conflicts_with_all = ["base", "head"])]
    staged: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a report in FORMAT to FILE, from the same run (repeatable), e.g.
    /// `--report json=diff.json`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    reports: Vec<(Format, PathBuf)>,
    /// Base URL that turns file paths of the head tree into links in the markdown format
    /// (e.g. https://github.com/OWNER/REPO/blob/SHA/).
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
    /// Base URL of the rule pages in SARIF `helpUri` (`<URL><CODE>.md`).
    #[arg(long, value_name = "URL", default_value = report::sarif::DEFAULT_HELP_BASE)]
    sarif_help_base: String,
    /// Exit with 1 when the change opens a connection.
    #[arg(long)]
    fail_on_opened: bool,
    #[command(flatten)]
    settings: SettingsArgs,
    /// Per-query solver timeout in milliseconds [default: 2000, or the config's].
    #[arg(long, value_name = "MS")]
    solver_timeout: Option<u32>,
    /// Skip the semantic lints on both sides (reachability is still compared).
    #[arg(long)]
    no_analysis: bool,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .filter(|(_, f)| !f.is_empty())
        .ok_or_else(|| format!("`{s}` is not FORMAT=FILE (e.g. json=diff.json)"))?;
    let format = Format::from_str(format, true)
        .map_err(|_| format!("unknown format `{format}` (human, json, markdown, sarif)"))?;
    Ok((format, PathBuf::from(file)))
}

/// Where a side comes from.
enum Source {
    WorkTree,
    Dir(PathBuf),
    Rev {
        name: String,
        id: String,
        repo: git::Repository,
    },
}

/// A directory, or else a revision of the repository of the working directory (outside any,
/// of the first PATH).
fn source(cwd: &Path, text: &str, paths: &[PathBuf]) -> Result<Source, String> {
    let p = PathBuf::from(text);
    if cwd.join(&p).is_dir() {
        return Ok(Source::Dir(p));
    }
    if text.starts_with('-') {
        return Err(format!("`{text}` is not a revision"));
    }
    let repo = git::Repository::locate(cwd, paths)
        .map_err(|e| format!("`{text}` is neither a directory nor a git revision: {e}"))?;
    let id = repo.resolve(text)?;
    Ok(Source::Rev {
        name: text.to_string(),
        id,
        repo,
    })
}

fn load(
    src: &Source,
    paths: &[PathBuf],
    opts: &CheckOptions,
    cwd: &Path,
    promote: bool,
) -> Result<Side, String> {
    let (label, project) = match src {
        Source::WorkTree => {
            let o = CheckOptions {
                paths: paths.to_vec(),
                ..opts.clone()
            };
            let label = if promote {
                "staged promoted"
            } else {
                "worktree"
            };
            (
                label.to_string(),
                calint::check::load_project(&o).map_err(|e| e.to_string())?,
            )
        }
        Source::Dir(dir) => {
            let o = CheckOptions {
                paths: vec![dir.clone()],
                anchored_excludes: None,
                ..opts.clone()
            };
            (
                calint::check::display_name(dir, Some(cwd)),
                calint::check::load_project(&o).map_err(|e| e.to_string())?,
            )
        }
        Source::Rev { name, id, repo } => {
            let mut excludes = opts.excludes.clone();
            if let Some(a) = &opts.anchored_excludes {
                excludes.extend(a.patterns.iter().cloned());
            }
            let files = repo.read_tree(cwd, id, paths, &excludes, opts.max_file_size)?;
            (name.clone(), calint::check::load_files(files, opts))
        }
    };
    let project = if promote {
        staged::promote(project).0
    } else {
        project
    };
    let (project, findings) = calint::check::analyze_and_lint_project(project, opts);
    Ok(Side::new(label, project, findings, opts.validate.target))
}

pub fn run(args: DiffArgs) -> u8 {
    let effective = match args.settings.resolve(&args.paths, ColorChoice::Never) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let cwd = match std::env::current_dir() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot read the working directory: {e}");
            return EXIT_ERROR;
        }
    };
    let opts = check_options(
        &effective,
        &CommandFlags {
            paths: args.paths.clone(),
            solver_timeout_ms: args.solver_timeout,
            no_analysis: args.no_analysis,
            ..CommandFlags::default()
        },
    );
    let timeout = solver_timeout_ms(&effective, args.solver_timeout);
    let sides = (|| -> Result<(Side, Side), String> {
        if args.staged {
            let base = load(&Source::WorkTree, &args.paths, &opts, &cwd, false)?;
            let head = load(&Source::WorkTree, &args.paths, &opts, &cwd, true)?;
            return Ok((base, head));
        }
        let base_src = source(&cwd, args.base.as_deref().unwrap_or_default(), &args.paths)?;
        let head_src = match &args.head {
            Some(h) => source(&cwd, h, &args.paths)?,
            None => Source::WorkTree,
        };
        let base = load(&base_src, &args.paths, &opts, &cwd, false)?;
        let head = load(&head_src, &args.paths, &opts, &cwd, false)?;
        Ok((base, head))
    })();
    let (base, head) = match sides {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let diff_opts = DiffOptions {
        timeout_ms: timeout,
        group_defs: effective.config.group_defs.clone(),
        staged_as_enforced: args.staged,
    };
    let diff = match calint::diff::diff(&base, &head, &diff_opts) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let render = |format: Format| match format {
        Format::Human => report::diff::human(&base, &head, &diff),
        Format::Json => report::diff::json(&base, &head, &diff),
        Format::Markdown => report::diff::markdown(&base, &head, &diff, args.link_base.as_deref()),
        Format::Sarif => report::diff::sarif(&head, &diff, &args.sarif_help_base),
    };
    let text = render(args.format);
    match &args.output {
        Some(path) => {
            if let Err(code) = write_file(path, &text) {
                return code;
            }
        }
        None => print(&text),
    }
    for (format, path) in &args.reports {
        if let Err(code) = write_file(path, &render(*format)) {
            return code;
        }
    }
    let failing = diff
        .findings_added
        .iter()
        .filter_map(|&i| head.findings.get(i))
        .any(|f| {
            // `--fail-on never` (None): added findings never fail the diff.
            effective.fail_on.0.is_some_and(|level| f.severity >= level)
        });
    let code = if failing || (args.fail_on_opened && diff.count(Change::Opened) > 0) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    super::keep_until_exit((base, head, diff));
    code
}
