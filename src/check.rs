//! The `check` pipeline: discover → read → parse → lower → validate → lint.
//!
//! Files are processed in parallel (rayon) but every result is placed by the file's position in
//! the sorted file list, so output is identical whatever the thread count.
//!
//! # Limits
//!
//! calint reads whatever a pull request contains, so every resource it spends on input is
//! bounded. Each bound is a field of [`CheckOptions`] with a documented default; hitting one is
//! a finding with a location, never a crash or silence, and the rest of the tree is still
//! analyzed.
//!
//! | bound | option | default | when hit |
//! |---|---|---|---|
//! | file size | [`CheckOptions::max_file_size`] | [`DEFAULT_MAX_FILE_SIZE`] (10 MiB) | CAL001 at the file; it is not read |
//! | YAML nesting | [`ParseLimits::max_depth`] | [`yaml::DEFAULT_MAX_DEPTH`] (128) | CAL001 at the first too-deep collection; that subtree is dropped |
//! | alias expansion | [`ParseLimits::max_alias_nodes`] | [`yaml::DEFAULT_MAX_ALIAS_NODES`] (10,000 nodes per document) | CAL001 at the first alias past the budget; it stays unexpanded |
//! | YAML nodes per file | [`ParseLimits::max_nodes`] | [`yaml::DEFAULT_MAX_NODES`] (2,000,000) | CAL001 where the limit is crossed; the rest of the file is ignored (bounds memory: ~200 bytes per node) |
//! | problems per file | [`CheckOptions::max_problems_per_file`] | [`DEFAULT_MAX_PROBLEMS_PER_FILE`] (1000) | one CAL001 at the first problem not reported, with the count |
//! | selector size | [`SelectorLimits::max_bytes`], [`SelectorLimits::max_terms`] | [`DEFAULT_MAX_SELECTOR_BYTES`] (16 KiB), [`DEFAULT_MAX_SELECTOR_TERMS`] (1024) | CAL002 at the selector; it is not parsed (too long) or not analyzed |
//! | solver work per query (deterministic Z3 resource limit) | [`AnalysisOptions::solver_timeout_ms`] | [`crate::analysis::DEFAULT_SOLVER_TIMEOUT_MS`] | the query is counted as undecided in the summary; no finding |
//! | semantic analysis work (deterministic, charged in policy order) | [`AnalysisOptions::budget_ms`] | [`crate::analysis::DEFAULT_ANALYSIS_BUDGET_MS`] | CAL007 at the first policy not fully analyzed; skipped queries are counted as undecided |
//!
//! Files that are not regular files (named pipes, devices) are reported and not read; so are
//! files that cannot be read or that disappear between discovery and reading. The human report
//! shows at most [`crate::source::SNIPPET_MAX_LINES`] lines of
//! [`crate::source::SNIPPET_MAX_LINE_BYTES`] bytes per label, so a finding on a huge line or
//! over a huge resource cannot print megabytes.
//!
//! Layer 10: uses everything below it; `diff`, `report` and the binary use it.

pub mod options;
pub mod render;
pub mod views;

pub use crate::load::exclude::AnchoredExcludes;
pub use views::ViewSpec;

use crate::analysis::ir::PolicySet;
use crate::analysis::spec::AssertionOutcome;
use crate::analysis::{AnalysisOptions, analyze_with};
use crate::diagnostic::Diagnostic;
use crate::finding::Finding;
use crate::lints::{self, LintContext, LintSettings};
use crate::load::read;
use crate::load::walk::{self, Discovered, WalkOptions};
use crate::load::yaml::ParseLimits;
use crate::model::lower::{Lowered, lower_file_with};
use crate::model::selector::{
    DEFAULT_MAX_SELECTOR_BYTES, DEFAULT_MAX_SELECTOR_TERMS, SelectorLimits,
};
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

/// Default of [`CheckOptions::max_problems_per_file`].
pub const DEFAULT_MAX_PROBLEMS_PER_FILE: usize = 1000;

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    /// Gitignore-style globs matched relative to each path (the command line's `--exclude`).
    pub excludes: Vec<String>,
    /// Gitignore-style globs matched relative to a base directory (the config file's `exclude`).
    pub anchored_excludes: Option<AnchoredExcludes>,
    pub validate: ValidateOptions,
    pub lints: LintSettings,
    /// Largest file read, in bytes: a larger file is reported (CAL001) and not read.
    pub max_file_size: u64,
    /// YAML nesting depth and alias-expansion budget (see [`ParseLimits`]).
    pub parse_limits: ParseLimits,
    /// Selector size bounds: a selector beyond them is reported (CAL002) and not analyzed.
    pub selector_limits: SelectorLimits,
    /// Most parse, lowering and validation problems reported for one file (the first ones by
    /// position); past it one CAL001 says how many more there are. A 6 MB file of duplicate
    /// keys would otherwise make a million findings and half a gigabyte of report.
    pub max_problems_per_file: usize,
    /// Follow symbolic links found under directory roots. Links whose target lies outside
    /// the root they were found under are never followed, and are reported.
    pub follow_symlinks: bool,
    /// Run the semantic (Z3) analysis; `None` skips it.
    pub analysis: Option<AnalysisOptions>,
    /// Reachability groups and assertions from the configuration file (CAL301).
    pub reachability: Option<ReachabilityConfig>,
    /// Tiers defined outside the tree (the configuration's `tiers:`), see
    /// [`Project::external_tiers`].
    pub external_tiers: Vec<crate::model::tier::CompiledTier>,
    /// The bytes of standard input, checked as one file named [`STDIN_NAME`] when `paths`
    /// holds `-` (the CLI reads it; the library never touches the process's stdin).
    pub stdin: Option<Vec<u8>>,
    /// Views (`.calint.yaml` `views:`): each analysed as its own cluster (see [`views`]).
    pub views: Vec<ViewSpec>,
    /// Build each top-level Kustomize root and Helm chart with the tools on PATH and analyse
    /// the output, one view per root (see [`render`]).
    pub render: bool,
}

/// How standard input is named in locations.
pub const STDIN_NAME: &str = "<stdin>";

/// The path that means "standard input" on the command line.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
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
            selector_limits: SelectorLimits {
                max_bytes: DEFAULT_MAX_SELECTOR_BYTES,
                max_terms: DEFAULT_MAX_SELECTOR_TERMS,
            },
            max_problems_per_file: DEFAULT_MAX_PROBLEMS_PER_FILE,
            follow_symlinks: false,
            analysis: Some(AnalysisOptions::default()),
            reachability: None,
            external_tiers: Vec::new(),
            stdin: None,
            views: Vec::new(),
            render: false,
        }
    }
}

/// The configuration's `groups:` and `assertions:`, with the file they were written in.
#[derive(Clone, Debug, Default)]
pub struct ReachabilityConfig {
    /// Display name, path and text of the configuration file.
    pub file: (String, PathBuf, String),
    pub groups: Vec<crate::config::GroupDef>,
    pub assertions: Vec<crate::config::AssertionDef>,
    /// `public:`, `isolation:` and `no-path` assertions.
    pub posture: crate::config::posture::PostureConfig,
}

impl ReachabilityConfig {
    pub fn from_config(c: &crate::config::Config) -> Option<ReachabilityConfig> {
        let file = c.file.clone()?;
        (!c.group_defs.is_empty()
            || !c.assertion_defs.is_empty()
            || c.posture != crate::config::posture::PostureConfig::default())
        .then(|| ReachabilityConfig {
            file,
            groups: c.group_defs.clone(),
            assertions: c.assertion_defs.clone(),
            posture: c.posture.clone(),
        })
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
    let started = Instant::now();
    progress.stage("discover", 0);
    let walk_opts = WalkOptions {
        excludes: opts.excludes.clone(),
        follow_symlinks: opts.follow_symlinks,
    };
    let roots: Vec<PathBuf> = opts
        .paths
        .iter()
        .filter(|p| !is_stdin(p))
        .cloned()
        .collect();
    let mut discovered =
        walk::discover(&roots, &walk_opts).map_err(|e| LoadError(e.to_string()))?;
    let cwd = std::env::current_dir().ok();
    if let Some(anchored) = &opts.anchored_excludes {
        anchored
            .filter(&mut discovered.files, &roots, cwd.as_deref())
            .map_err(LoadError)?;
    }
    // Files a kustomization lists as patches are not resources: read as such they would be
    // duplicates of what they patch and policies without a selector.
    let layout = crate::load::kustomize::Layout::from_files(
        &discovered.files,
        cwd.as_deref().unwrap_or(Path::new("/")),
    );
    let patches = layout.patch_files();
    let before = discovered.files.len();
    if !patches.is_empty() {
        let cwd = cwd.clone().unwrap_or_default();
        discovered
            .files
            .retain(|f| !patches.contains(&crate::load::kustomize::absolute(f, &cwd)));
    }
    let patches_skipped = before - discovered.files.len();
    let discover_time = started.elapsed();
    let mut project = load_discovered_with(discovered, opts, progress);
    project.stats.kustomize_patches_skipped = patches_skipped;
    project.kustomize = layout;
    project
        .timings
        .insert(0, ("discover".to_string(), discover_time));
    Ok(project)
}

/// Read, parse, lower and validate discovered files. A file that cannot be read (it vanished
/// since discovery, permissions, not a regular file, too large) is a file problem, not an error.
pub fn load_discovered(discovered: Discovered, opts: &CheckOptions) -> Project {
    load_discovered_with(discovered, opts, &NoProgress)
}

fn load_discovered_with(
    discovered: Discovered,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Project {
    let cwd = std::env::current_dir().ok();
    let started = Instant::now();
    progress.stage("load", discovered.files.len());
    // Read, parse and lower each file independently, in parallel; collect in file order.
    let outcomes: Vec<FileOutcome> = discovered
        .files
        .par_iter()
        .enumerate()
        .map(|(id, path)| {
            let name = display_name(path, cwd.as_deref());
            let outcome = match read::read_file(path, opts.max_file_size) {
                Ok(bytes) => process_bytes(id, name, path, bytes, opts),
                Err(message) => FileOutcome::unread(name, path, message),
            };
            progress.advance(1);
            outcome
        })
        .collect();
    let mut outcomes = outcomes;
    if opts.paths.iter().any(|p| is_stdin(p)) {
        let bytes = opts.stdin.clone().unwrap_or_default();
        let path = Path::new(STDIN_NAME);
        outcomes.push(
            match read::too_large(bytes.len() as u64, opts.max_file_size) {
                Some(message) => FileOutcome::unread(STDIN_NAME.to_string(), path, message),
                None => process_bytes(outcomes.len(), STDIN_NAME.to_string(), path, bytes, opts),
            },
        );
    }
    let walk_problems = discovered
        .problems
        .into_iter()
        .map(|wp| {
            let name = display_name(&wp.path, cwd.as_deref());
            FileOutcome::unread(name, &wp.path, wp.message)
        })
        .collect();
    let parse_time = started.elapsed();
    let started = Instant::now();
    let mut project = assemble(outcomes, walk_problems, opts, progress);
    project.stats.helm_templates_skipped = discovered.helm_templates_skipped;
    project.timings = vec![
        ("parse and lower".to_string(), parse_time),
        ("validate".to_string(), started.elapsed()),
    ];
    project
}

/// Check one file's contents held in memory, as if it were a file named `name` (which is
/// only used in locations; nothing is read from disk). The same limits apply as to files.
pub fn check_bytes(name: &str, bytes: &[u8], opts: &CheckOptions) -> (Project, Vec<Finding>) {
    run_bytes(name, bytes, opts).into_parts()
}

/// [`check_bytes`], keeping what the pipeline computed (the analysis, assertion answers).
pub fn run_bytes(name: &str, bytes: &[u8], opts: &CheckOptions) -> Run {
    let path = Path::new(name);
    let outcome = match read::too_large(bytes.len() as u64, opts.max_file_size) {
        Some(message) => FileOutcome::unread(name.to_string(), path, message),
        None => process_bytes(0, name.to_string(), path, bytes.to_vec(), opts),
    };
    let project = assemble(vec![outcome], Vec::new(), opts, &NoProgress);
    run_pipeline(project, opts, &NoProgress)
}

/// [`check_bytes`] for text.
pub fn check_text(name: &str, text: &str, opts: &CheckOptions) -> (Project, Vec<Finding>) {
    check_bytes(name, text.as_bytes(), opts)
}

/// Load files held in memory (a tree read from a git revision): `(display name, bytes)` in
/// the order given, each processed as [`load_discovered`] processes a file read from disk
/// (same limits, same per-file problems).
/// A file that could not be read is `Err(why)` and becomes a file problem, as on disk.
pub fn load_files(files: Vec<(String, Result<Vec<u8>, String>)>, opts: &CheckOptions) -> Project {
    let outcomes: Vec<FileOutcome> = files
        .into_par_iter()
        .enumerate()
        .map(|(id, (name, bytes))| {
            let path = PathBuf::from(&name);
            let too_big = |b: &Vec<u8>| read::too_large(b.len() as u64, opts.max_file_size);
            match bytes {
                Err(message) => FileOutcome::unread(name, &path, message),
                Ok(b) => match too_big(&b) {
                    Some(message) => FileOutcome::unread(name, &path, message),
                    None => process_bytes(id, name, &path, b, opts),
                },
            }
        })
        .collect();
    assemble(outcomes, Vec::new(), opts, &NoProgress)
}

/// Semantic analysis, assertions and lints over a project loaded (and possibly transformed,
/// as `calint diff --staged` promotes staged policies) by the caller.
pub fn analyze_and_lint_project(project: Project, opts: &CheckOptions) -> (Project, Vec<Finding>) {
    analyze_and_lint(project, opts, &NoProgress)
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
    let project = load_project_with(opts, progress)?;
    if !opts.views.is_empty() {
        return views::check_views(project, &opts.views, opts, progress);
    }
    if opts.render {
        return Ok(render::check_rendered(project, opts, progress));
    }
    // Each top-level Kustomize root (`overlays/prod`, `overlays/staging`) is its own cluster.
    let roots = views::kustomize_views(&project);
    if roots.len() > 1 {
        return views::check_views(project, &roots, opts, progress);
    }
    Ok(analyze_and_lint(project, opts, progress))
}

/// What one check computed over a loaded project before and while linting: the project, the
/// analysis, the answers to the configuration's assertions, the posture facts and the
/// findings. The project is loaded input only; everything computed lives here.
#[derive(Debug)]
pub struct Run {
    pub project: Project,
    /// Results of the semantic (Z3) analysis, when it ran.
    pub analysis: Option<crate::analysis::Analysis>,
    /// Reachability assertions of the configuration, evaluated.
    pub assertions: Vec<AssertionOutcome>,
    /// The policy set the assertions were evaluated against (for naming deciding rules).
    pub assertion_set: Option<crate::analysis::ir::PolicySet>,
    /// Posture facts (CAL310, CAL311, `no-path` assertions), when computed.
    pub posture: Option<crate::posture::PostureOutcome>,
    pub findings: Vec<Finding>,
}

impl Run {
    /// What the lints read.
    pub fn lint_context(&self) -> LintContext<'_> {
        LintContext {
            project: &self.project,
            analysis: self.analysis.as_ref(),
            assertions: &self.assertions,
            assertion_set: self.assertion_set.as_ref(),
            posture: self.posture.as_ref(),
        }
    }

    /// The project (with the analysis counts in its statistics) and the findings.
    pub fn into_parts(self) -> (Project, Vec<Finding>) {
        (self.project, self.findings)
    }
}

/// Semantic analysis, assertions and every enabled lint over a loaded project.
fn analyze_and_lint(
    project: Project,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> (Project, Vec<Finding>) {
    run_pipeline(project, opts, progress).into_parts()
}

/// Analysis, assertions, posture facts and every enabled lint over a loaded project, keeping
/// what was computed (`check` keeps only the project and the findings).
pub fn run_pipeline(mut project: Project, opts: &CheckOptions, progress: &dyn Progress) -> Run {
    let mut analysis = None;
    if let Some(a) = &opts.analysis {
        let started = Instant::now();
        let a = AnalysisOptions {
            target: opts.validate.target,
            ..*a
        };
        let done = analyze_with(&project, &a, progress);
        project.stats.analysis_totals = Some(crate::project::AnalysisTotals {
            policies: done.set.policies.len(),
            solver_calls: done.solver_calls,
            undecided: done.undecided,
        });
        analysis = Some(done);
        project
            .timings
            .push(("analysis".to_string(), started.elapsed()));
    }
    let timeout_ms = opts
        .analysis
        .as_ref()
        .map_or(crate::analysis::DEFAULT_SOLVER_TIMEOUT_MS, |a| {
            a.solver_timeout_ms
        });
    let rc = opts.reachability.as_ref();
    // The configuration file, as one more source: assertion and posture findings point into it.
    let config_file = rc.map(|rc| {
        let (name, path, text) = rc.file.clone();
        project.sources.add(SourceFile::new(name, path, text))
    });
    let (mut assertions, mut assertion_set) = (Vec::new(), None);
    if let (Some(rc), Some(file)) = (rc, config_file) {
        let started = Instant::now();
        let set = PolicySet::for_version(&project, opts.validate.target).workload_view();
        assertions = evaluate_assertions(&project, &set, file, rc, timeout_ms);
        assertion_set = Some(set);
        project
            .timings
            .push(("assertions".to_string(), started.elapsed()));
    }
    let mut posture = None;
    if opts.analysis.is_some() {
        let started = Instant::now();
        let enabled =
            |code: &str| lints::find(code).is_some_and(|l| opts.lints.severity(l.meta()).is_some());
        let config = rc.map(|rc| rc.posture.clone()).unwrap_or_default();
        posture = crate::posture::evaluate(
            &project,
            &crate::posture::PostureInputs {
                config: &config,
                groups: rc.map(|rc| rc.groups.as_slice()).unwrap_or_default(),
                config_file,
                unisolated: enabled("CAL310"),
                // world-exposure is opt-in: it asks the solver about every workload against
                // the world on every port class, which costs minutes on dense trees of a few
                // hundred policies. It runs when the configuration declares what may be public
                // (`public:`) or the rule is turned on explicitly (`rules:` / `--rule
                // CAL311=...`).
                exposure: enabled("CAL311")
                    && (!config.public.is_empty() || opts.lints.overrides.contains_key("CAL311")),
                no_paths: enabled("CAL301") && !config.no_paths.is_empty(),
                target: opts.validate.target,
                timeout_ms,
            },
        );
        project
            .timings
            .push(("posture".to_string(), started.elapsed()));
    }
    let mut run = Run {
        project,
        analysis,
        assertions,
        assertion_set,
        posture,
        findings: Vec::new(),
    };
    let started = Instant::now();
    let linted = lints::run_all(&run.lint_context(), &opts.lints, progress);
    let mut findings = linted.findings;
    crate::fix::attach(&run.project, &mut findings);
    run.findings = findings;
    let project = &mut run.project;
    project.stats.suppressed = linted.suppressed;
    project
        .timings
        .push(("lint".to_string(), started.elapsed()));
    project.timings.extend(
        linted
            .timings
            .into_iter()
            .map(|(code, t)| (format!("lint {code}"), t)),
    );
    run
}

/// Evaluate every configured assertion with `reach` (CAL301 reports the failures).
fn evaluate_assertions(
    project: &Project,
    set: &PolicySet,
    file: crate::source::FileId,
    rc: &ReachabilityConfig,
    timeout_ms: u32,
) -> Vec<AssertionOutcome> {
    use crate::analysis::reach::{ReachOptions, reach, resolve_named};
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
            Ok(reach(set, &from, &to, &options))
        })();
        outcomes.push(AssertionOutcome {
            file,
            def: def.clone(),
            result,
        });
    }
    outcomes
}

/// Parse, lower and validate `bytes` as one more file of `project` (a rendered Kustomize root),
/// named `name` in locations; returns its id.
fn append_source(
    project: &mut Project,
    name: String,
    path: &Path,
    bytes: Vec<u8>,
    opts: &CheckOptions,
) -> usize {
    let id = project.sources.len();
    let outcome = match read::too_large(bytes.len() as u64, opts.max_file_size) {
        Some(message) => FileOutcome::unread(name, path, message),
        None => process_bytes(id, name, path, bytes, opts),
    };
    let id = project.sources.add(outcome.source);
    if !outcome.lowered.resources.is_empty() || !outcome.problems.is_empty() {
        project.stats.object_files.insert(id);
    }
    project.stats.files += 1;
    project.file_problems.extend(
        outcome
            .problems
            .into_iter()
            .map(|problem| FileProblem { file: id, problem }),
    );
    project.lower_problems.extend(outcome.lowered.problems);
    for r in outcome.lowered.resources {
        let i = project.resources.len();
        project.violations.extend(
            validate_resource(&r, &opts.validate)
                .into_iter()
                .map(|v| (i, v)),
        );
        project.resources.push(r);
    }
    id
}

/// Put per-file outcomes (in file order) and walk problems together, then validate.
fn assemble(
    outcomes: Vec<FileOutcome>,
    walk_problems: Vec<FileOutcome>,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Project {
    let mut sources = SourceMap::default();
    let mut file_problems = Vec::new();
    let mut lowered = Lowered::default();
    // Walk problems (symbolic link loops and escapes, unreadable directories) become
    // file-level findings too.
    let mut object_files = std::collections::BTreeSet::new();
    for outcome in outcomes.into_iter().chain(walk_problems) {
        let id = sources.add(outcome.source);
        if !outcome.problems.is_empty()
            || !outcome.lowered.resources.is_empty()
            || !outcome.lowered.problems.is_empty()
            || !outcome.lowered.unknown_kinds.is_empty()
        {
            object_files.insert(id);
        }
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
    let mut project = Project::from_lowered(sources, file_problems, lowered);
    project.external_tiers = opts.external_tiers.clone();
    project.stats.object_files = object_files;
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
    cap_problems(&mut project, opts.max_problems_per_file);
    project
}

/// Keep at most `max` problems per file (parse, lowering and validation together, the first
/// by position) and add one file problem saying how many more there were.
fn cap_problems(project: &mut Project, max: usize) {
    use std::collections::{BTreeMap, HashSet};
    let file_of_violation = |resources: &[crate::model::resource::Resource], i: usize| {
        resources.get(i).map_or(usize::MAX, |r| r.file)
    };
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for fp in &project.file_problems {
        *counts.entry(fp.file).or_default() += 1;
    }
    for lp in &project.lower_problems {
        *counts.entry(lp.file).or_default() += 1;
    }
    for (i, _) in &project.violations {
        *counts
            .entry(file_of_violation(&project.resources, *i))
            .or_default() += 1;
    }
    counts.retain(|_, n| *n > max);
    if counts.is_empty() {
        return;
    }
    // Per file over the limit: (start, list, index) of each problem, in position order.
    let mut dropped: [HashSet<usize>; 3] = Default::default();
    let mut summaries = Vec::new();
    for &file in counts.keys() {
        let mut all: Vec<(Span, u8, usize)> = Vec::new();
        all.extend(
            (project.file_problems.iter().enumerate())
                .filter(|(_, p)| p.file == file)
                .map(|(i, p)| (p.problem.span, 0, i)),
        );
        all.extend(
            (project.lower_problems.iter().enumerate())
                .filter(|(_, p)| p.file == file)
                .map(|(i, p)| (p.violation.span, 1, i)),
        );
        all.extend(
            (project.violations.iter().enumerate())
                .filter(|(_, (r, _))| file_of_violation(&project.resources, *r) == file)
                .map(|(i, (_, v))| (v.span, 2, i)),
        );
        all.sort_by_key(|&(span, list, i)| (span.start, list, i));
        let rest = all.get(max..).unwrap_or_default();
        if let Some(&(first, _, _)) = rest.first() {
            summaries.push(FileProblem {
                file,
                problem: Diagnostic::new(
                    first,
                    "",
                    format!(
                        "more than {max} problems in this file: the {} from here on are not \
                         reported",
                        rest.len()
                    ),
                ),
            });
        }
        for &(_, list, i) in rest {
            if let Some(set) = dropped.get_mut(usize::from(list)) {
                set.insert(i);
            }
        }
    }
    let [d_file, d_lower, d_valid] = dropped;
    retain_unlisted(&mut project.file_problems, &d_file);
    retain_unlisted(&mut project.lower_problems, &d_lower);
    retain_unlisted(&mut project.violations, &d_valid);
    project.file_problems.extend(summaries);
}

/// Drop the elements whose indexes are in `drop`.
fn retain_unlisted<T>(v: &mut Vec<T>, drop: &std::collections::HashSet<usize>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

struct FileOutcome {
    source: SourceFile,
    problems: Vec<Diagnostic>,
    lowered: Lowered,
}

impl FileOutcome {
    /// A file that was not read, with one problem at its start.
    fn unread(name: String, path: &Path, message: String) -> Self {
        FileOutcome {
            source: SourceFile::new(name, path.to_path_buf(), String::new()),
            problems: vec![Diagnostic::new(Span::default(), "", message)],
            lowered: Lowered::default(),
        }
    }
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

/// The roots of `paths` under which no file holds a Kubernetes object (or a problem worth
/// reporting): an empty directory, a typo'd path, a directory of unrelated YAML. `calint check`
/// warns about each (and fails with `--strict-paths`), so a wrong path in CI never passes
/// silently as "no findings".
pub fn paths_without_objects(project: &Project, paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .filter(|root| {
            !project.stats.object_files.iter().any(|&id| {
                project.sources.get(id).is_some_and(|src| {
                    if is_stdin(root) {
                        src.path.as_os_str() == STDIN_NAME
                    } else {
                        src.path.starts_with(root)
                    }
                })
            })
        })
        .cloned()
        .collect()
}

fn process_bytes(
    id: usize,
    name: String,
    path: &Path,
    bytes: Vec<u8>,
    opts: &CheckOptions,
) -> FileOutcome {
    let (text, documents, problems) = match read::parse_bytes(bytes, &opts.parse_limits) {
        Ok(parsed) => parsed,
        Err(undecodable) => {
            return FileOutcome {
                source: SourceFile::new(name, path.to_path_buf(), undecodable.prefix),
                problems: undecodable.problems,
                lowered: Lowered::default(),
            };
        }
    };
    let mut lowered = Lowered::default();
    lower_file_with(id, &documents, &opts.selector_limits, &mut lowered);
    FileOutcome {
        source: SourceFile::new(name, path.to_path_buf(), text),
        problems,
        lowered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_per_file_are_capped() {
        let mut text = String::from(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: n\n",
        );
        for _ in 0..10 {
            text.push_str("  name: n\n");
        }
        text.push_str("spec:\n  nets:\n");
        for i in 0..10 {
            text.push_str(&format!("    - bad-{i}\n"));
        }
        let opts = CheckOptions {
            max_problems_per_file: 5,
            analysis: None,
            ..CheckOptions::default()
        };
        let (project, findings) = check_text("many.yaml", &text, &opts);
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(findings.len(), 6, "{messages:#?}");
        assert_eq!(
            messages
                .iter()
                .filter(|m| m.starts_with("duplicate key"))
                .count(),
            5
        );
        let last = findings
            .last()
            .map(|f| f.message.as_str())
            .unwrap_or_default();
        assert_eq!(
            last,
            "more than 5 problems in this file: the 15 from here on are not reported"
        );
        assert_eq!(project.violations.len(), 0);
        // Under the limit nothing changes.
        let (_, all) = check_text(
            "many.yaml",
            &text,
            &CheckOptions {
                analysis: None,
                ..CheckOptions::default()
            },
        );
        assert_eq!(all.len(), 20);
    }

    #[test]
    fn in_memory_check_applies_the_file_size_limit() {
        let opts = CheckOptions {
            max_file_size: 10,
            analysis: None,
            ..CheckOptions::default()
        };
        let (project, findings) = check_text("big.yaml", "apiVersion: v1\n", &opts);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .contains("larger than the 10-byte limit")
        );
        assert_eq!(project.sources.get(0).map(|s| s.text.len()), Some(0));
    }
}
