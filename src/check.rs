//! The `check` pipeline: discover → read → parse → lower → validate → lint.
//!
//! Files are processed in parallel (rayon) but every result is placed by the file's position in
//! the sorted file list, so output is identical whatever the thread count.

use crate::analysis::{AnalysisOptions, analyze};
use crate::finding::Finding;
use crate::lints::{self, LintSettings};
use crate::load::tree::{ParseProblem, ParsedFile};
use crate::load::walk::{self, WalkOptions};
use crate::load::yaml::{self, ParseLimits};
use crate::model::lower::{Lowered, lower_file};
use crate::progress::{NoProgress, Progress};
use crate::project::{FileProblem, Project};
use crate::source::{SourceFile, SourceMap, Span};
use crate::validate::{ValidateOptions, validate_resource};
use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Default largest file calint reads (10 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    /// Gitignore-style globs matched relative to each path (the command line's `--exclude`).
    pub excludes: Vec<String>,
    /// Gitignore-style globs matched relative to a base directory (the config file's `exclude`).
    pub anchored_excludes: Option<AnchoredExcludes>,
    pub validate: ValidateOptions,
    pub lints: LintSettings,
    pub max_file_size: u64,
    pub parse_limits: ParseLimits,
    /// Run the semantic (Z3) analysis; `None` skips it.
    pub analysis: Option<AnalysisOptions>,
    /// Reachability groups and assertions from the configuration file (CAL301).
    pub reachability: Option<ReachabilityConfig>,
}

/// The configuration's `groups:` and `assertions:`, with the file they were written in.
#[derive(Clone, Debug, Default)]
pub struct ReachabilityConfig {
    /// Display name, path and text of the configuration file.
    pub file: (String, PathBuf, String),
    pub groups: Vec<crate::config::GroupDef>,
    pub assertions: Vec<crate::config::AssertionDef>,
}

impl ReachabilityConfig {
    pub fn from_config(c: &crate::config::Config) -> Option<ReachabilityConfig> {
        let file = c.file.clone()?;
        (!c.group_defs.is_empty() || !c.assertion_defs.is_empty()).then(|| ReachabilityConfig {
            file,
            groups: c.group_defs.clone(),
            assertions: c.assertion_defs.clone(),
        })
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            paths: vec![PathBuf::from(".")],
            excludes: Vec::new(),
            anchored_excludes: None,
            validate: ValidateOptions::default(),
            lints: LintSettings::default(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            parse_limits: ParseLimits::default(),
            analysis: Some(AnalysisOptions::default()),
            reachability: None,
        }
    }
}

/// Exclude patterns anchored at one directory, as `.calint.yaml` writes them: `deploy/old/**`
/// means the same files whichever PATH calint is given.
#[derive(Clone, Debug)]
pub struct AnchoredExcludes {
    /// Absolute, normalized directory the patterns are relative to.
    pub base: PathBuf,
    pub patterns: Vec<String>,
}

impl AnchoredExcludes {
    /// Drop the files the patterns match (a pattern matching a parent directory excludes
    /// everything below it, as in `.gitignore`). Files outside `base`, and files named as a
    /// root on the command line (as the walker does for `--exclude`), are kept.
    fn filter(
        &self,
        files: &mut Vec<PathBuf>,
        roots: &[PathBuf],
        cwd: Option<&Path>,
    ) -> Result<(), LoadError> {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(&self.base);
        for p in &self.patterns {
            builder
                .add_line(None, p)
                .map_err(|e| LoadError(format!("invalid exclude pattern `{p}`: {e}")))?;
        }
        let matcher = builder
            .build()
            .map_err(|e| LoadError(format!("invalid exclude patterns: {e}")))?;
        let cwd = cwd.unwrap_or(Path::new("/"));
        files.retain(|f| {
            if roots.contains(f) {
                return true;
            }
            let abs = crate::config::absolute(f, cwd);
            match abs.strip_prefix(&self.base) {
                Ok(rel) => !matcher.matched_path_or_any_parents(rel, false).is_ignore(),
                Err(_) => true,
            }
        });
        Ok(())
    }
}

/// A problem with the paths the user gave (exit code 2).
#[derive(Debug)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Load, parse, lower and validate every file under `opts.paths`.
pub fn load_project(opts: &CheckOptions) -> Result<Project, LoadError> {
    load_project_with(opts, &NoProgress)
}

/// [`load_project`], reporting progress and recording stage timings in `Project::timings`.
pub fn load_project_with(
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<Project, LoadError> {
    let mut timings = Vec::new();
    let started = Instant::now();
    progress.stage("discover", 0);
    let walk_opts = WalkOptions {
        excludes: opts.excludes.clone(),
        follow_symlinks: false,
    };
    let mut discovered =
        walk::discover(&opts.paths, &walk_opts).map_err(|e| LoadError(e.to_string()))?;
    let cwd = std::env::current_dir().ok();
    if let Some(anchored) = &opts.anchored_excludes {
        anchored.filter(&mut discovered.files, &opts.paths, cwd.as_deref())?;
    }
    timings.push(("discover".to_string(), started.elapsed()));

    // Read, parse and lower each file independently, in parallel; collect in file order.
    let started = Instant::now();
    progress.stage("parse", discovered.files.len());
    let outcomes: Vec<FileOutcome> = discovered
        .files
        .par_iter()
        .enumerate()
        .map(|(id, path)| {
            let outcome = process_file(id, path, cwd.as_deref(), opts);
            progress.advance(1);
            outcome
        })
        .collect();

    let mut sources = SourceMap::default();
    let mut file_problems = Vec::new();
    let mut lowered = Lowered::default();
    for outcome in outcomes {
        let id = sources.add(outcome.source);
        file_problems.extend(
            outcome
                .problems
                .into_iter()
                .map(|problem| FileProblem { file: id, problem }),
        );
        lowered.resources.extend(outcome.lowered.resources);
        lowered.problems.extend(outcome.lowered.problems);
        for (k, n) in outcome.lowered.unknown_kinds {
            *lowered.unknown_kinds.entry(k).or_default() += n;
        }
    }
    // Walk problems (unreadable directories, symlink loops) become file-level findings too.
    for wp in discovered.problems {
        let name = display_name(&wp.path, cwd.as_deref());
        let id = sources.add(SourceFile::new(name, wp.path.clone(), String::new()));
        file_problems.push(FileProblem {
            file: id,
            problem: ParseProblem {
                span: Span::default(),
                message: wp.message,
                related: None,
            },
        });
    }

    let mut project = Project::from_lowered(sources, file_problems, lowered);
    project.stats.helm_templates_skipped = discovered.helm_templates_skipped;
    timings.push(("parse and lower".to_string(), started.elapsed()));
    let started = Instant::now();
    progress.stage("validate", project.resources.len());
    project.violations = project
        .resources
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, r)| {
            let violations = validate_resource(r, &opts.validate);
            progress.advance(1);
            violations.into_iter().map(move |v| (i, v))
        })
        .collect();
    timings.push(("validate".to_string(), started.elapsed()));
    project.timings = timings;
    Ok(project)
}

/// Load the tree and run every enabled lint.
pub fn check(opts: &CheckOptions) -> Result<(Project, Vec<Finding>), LoadError> {
    check_with(opts, &NoProgress)
}

/// [`check`], reporting progress; `Project::timings` gets every stage and lint, and
/// `Project::stats.suppressed` the number of suppressed findings.
pub fn check_with(
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<(Project, Vec<Finding>), LoadError> {
    let mut project = load_project_with(opts, progress)?;
    if let Some(a) = &opts.analysis {
        let started = Instant::now();
        let a = AnalysisOptions {
            target: opts.validate.target,
            ..*a
        };
        project.analysis = Some(analyze(&project, &a));
        project
            .timings
            .push(("analysis".to_string(), started.elapsed()));
    }
    if let Some(rc) = &opts.reachability {
        let started = Instant::now();
        evaluate_assertions(&mut project, rc, opts);
        project
            .timings
            .push(("assertions".to_string(), started.elapsed()));
    }
    let started = Instant::now();
    let run = lints::run_all(&project, &opts.lints, progress);
    project.stats.suppressed = run.suppressed;
    project
        .timings
        .push(("lint".to_string(), started.elapsed()));
    project.timings.extend(
        run.timings
            .into_iter()
            .map(|(code, t)| (format!("lint {code}"), t)),
    );
    Ok((project, run.findings))
}

/// Evaluate every configured assertion with `reach` (CAL301 reports the failures).
fn evaluate_assertions(project: &mut Project, rc: &ReachabilityConfig, opts: &CheckOptions) {
    use crate::analysis::ir::PolicySet;
    use crate::analysis::reach::{ReachOptions, reach, resolve_named};
    use crate::project::AssertionOutcome;
    let (name, path, text) = rc.file.clone();
    let file = project.sources.add(SourceFile::new(name, path, text));
    let set = PolicySet::for_version(project, opts.validate.target);
    let timeout_ms = opts
        .analysis
        .as_ref()
        .map_or(crate::analysis::DEFAULT_SOLVER_TIMEOUT_MS, |a| {
            a.solver_timeout_ms
        });
    let mut outcomes = Vec::new();
    for def in &rc.assertions {
        let result = (|| {
            let from = resolve_named(project, &rc.groups, &def.from.value)?;
            let to = resolve_named(project, &rc.groups, &def.to.value)?;
            let protocol = match &def.protocol {
                Some(p) => {
                    let proto = crate::model::port::Protocol::from_str(&p.value);
                    if !proto.is_valid() {
                        return Err(format!("unknown protocol `{}`", p.value));
                    }
                    proto.number()
                }
                None => None,
            };
            let options = ReachOptions {
                protocol,
                port: def.port.as_ref().map(|p| p.value),
                timeout_ms,
            };
            Ok(reach(&set, &from, &to, &options))
        })();
        outcomes.push(AssertionOutcome {
            file,
            def: def.clone(),
            result,
        });
    }
    project.assertions = outcomes;
    project.assertion_set = Some(set);
}

struct FileOutcome {
    source: SourceFile,
    problems: Vec<ParseProblem>,
    lowered: Lowered,
}

/// Path as users should see it: relative to the working directory when under it, no `./`.
pub fn display_name(path: &Path, cwd: Option<&Path>) -> String {
    let rel = cwd
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let rel = rel.strip_prefix(".").unwrap_or(rel);
    let name = rel.to_string_lossy().replace('\\', "/");
    if name.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        name
    }
}

/// A file "looks like a manifest" when it mentions `apiVersion`: only then are its parse
/// problems worth reporting (other YAML in a GitOps repo is not ours to lint).
fn looks_like_manifest(text: &str) -> bool {
    text.contains("apiVersion")
}

fn process_file(id: usize, path: &Path, cwd: Option<&Path>, opts: &CheckOptions) -> FileOutcome {
    let name = display_name(path, cwd);
    let problem = |message: String| ParseProblem {
        span: Span::default(),
        message,
        related: None,
    };
    let empty = |name: String, problems: Vec<ParseProblem>| FileOutcome {
        source: SourceFile::new(name, path.to_path_buf(), String::new()),
        problems,
        lowered: Lowered::default(),
    };

    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > opts.max_file_size => {
            return empty(
                name,
                vec![problem(format!(
                    "file is {} bytes, larger than the {}-byte limit; it was not analyzed",
                    meta.len(),
                    opts.max_file_size
                ))],
            );
        }
        Ok(_) => {}
        Err(e) => return empty(name, vec![problem(format!("cannot read file: {e}"))]),
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return empty(name, vec![problem(format!("cannot read file: {e}"))]),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let offset = e.utf8_error().valid_up_to();
            let problems = if looks_like_manifest(&lossy) {
                vec![ParseProblem {
                    span: Span::new(offset, offset),
                    message: format!("file is not valid UTF-8 (invalid byte at offset {offset})"),
                    related: None,
                }]
            } else {
                Vec::new()
            };
            // Keep the valid prefix as the file text so the location can be shown.
            let prefix = String::from_utf8_lossy(e.as_bytes().get(..offset).unwrap_or_default())
                .into_owned();
            return FileOutcome {
                source: SourceFile::new(name, path.to_path_buf(), prefix),
                problems,
                lowered: Lowered::default(),
            };
        }
    };
    let ParsedFile {
        documents,
        problems,
    } = yaml::parse(&text, &opts.parse_limits);
    let problems = if looks_like_manifest(&text) {
        problems
    } else {
        Vec::new()
    };
    let mut lowered = Lowered::default();
    lower_file(id, &documents, &mut lowered);
    FileOutcome {
        source: SourceFile::new(name, path.to_path_buf(), text),
        problems,
        lowered,
    }
}
