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

mod files;
pub mod options;
pub mod render;
pub mod views;

pub use crate::load::exclude::AnchoredExcludes;
use files::{FileOutcome, append_source, assemble, process_bytes};
pub use files::{
    LoadError, display_name, load_discovered, load_files, load_project, load_project_with,
    paths_without_objects,
};
pub use views::ViewSpec;

use crate::analysis::ir::PolicySet;
use crate::analysis::spec::AssertionOutcome;
use crate::analysis::{AnalysisOptions, analyze_with};
use crate::finding::Finding;
use crate::lints::{self, LintContext, LintSettings};
use crate::load::read;
use crate::load::yaml::ParseLimits;
use crate::model::selector::{
    DEFAULT_MAX_SELECTOR_BYTES, DEFAULT_MAX_SELECTOR_TERMS, SelectorLimits,
};
use crate::progress::{NoProgress, Progress};
use crate::project::Project;
use crate::source::SourceFile;
use crate::validate::ValidateOptions;
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
        None => {
            let id = crate::source::FileId(0);
            process_bytes(id, name.to_string(), path, bytes.to_vec(), opts)
        }
    };
    let project = assemble(vec![outcome], Vec::new(), opts, &NoProgress);
    run_pipeline(project, opts, &NoProgress)
}

/// [`check_bytes`] for text.
pub fn check_text(name: &str, text: &str, opts: &CheckOptions) -> (Project, Vec<Finding>) {
    check_bytes(name, text.as_bytes(), opts)
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
        let set = PolicySet::for_version(&project, opts.validate.target).into_workload_view();
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
    use crate::analysis::groups::resolve_named;
    use crate::analysis::reach::{ReachOptions, reach};
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
        assert_eq!(
            project
                .sources
                .get(crate::source::FileId(0))
                .map(|s| s.text.len()),
            Some(0)
        );
    }
}
