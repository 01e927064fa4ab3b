//! A loaded tree: sources, parse results, typed resources and validation results. This is the
//! input every lint reads.

use crate::diagnostic::Diagnostic;
use crate::load::tree::ParseProblem;
use crate::model::lower::{LowerProblem, Lowered};
use crate::model::resource::Resource;
use crate::source::{FileId, SourceMap};
use std::collections::BTreeMap;
use std::time::Duration;

/// A file-level problem (unreadable, too large, syntax error) of a file that looks like a
/// Kubernetes manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct FileProblem {
    pub file: FileId,
    pub problem: ParseProblem,
}

#[derive(Debug, Default)]
pub struct Project {
    pub sources: SourceMap,
    pub file_problems: Vec<FileProblem>,
    pub resources: Vec<Resource>,
    pub lower_problems: Vec<LowerProblem>,
    /// Validation results, by index into `resources`.
    pub violations: Vec<(usize, Diagnostic)>,
    pub stats: Stats,
    /// Results of the semantic (Z3) analysis, when it ran.
    pub analysis: Option<crate::analysis::Analysis>,
    /// Reachability assertions of the configuration, evaluated.
    pub assertions: Vec<AssertionOutcome>,
    /// The policy set the assertions were evaluated against (for naming deciding rules).
    pub assertion_set: Option<crate::analysis::ir::PolicySet>,
    /// Tiers defined outside the tree, declared in the configuration (`tiers:`): analysed
    /// in their real place instead of as undefined tiers.
    pub external_tiers: Vec<crate::analysis::ir::CompiledTier>,
    /// The tree's Kustomize layout (kustomizations, patches, top-level roots).
    pub kustomize: crate::load::kustomize::Layout,
    /// Posture facts (CAL310, CAL311, `no-path` assertions), when computed.
    pub posture: Option<crate::posture::PostureOutcome>,
    /// Wall time of each pipeline stage and lint, in run order, for `--verbose`. Never part of
    /// a report (it would break byte-identical output).
    pub timings: Vec<(String, Duration)>,
}

/// One configured reachability assertion and what `reach` answered.
#[derive(Clone, Debug)]
pub struct AssertionOutcome {
    /// The configuration file (in `Project::sources`).
    pub file: FileId,
    pub def: crate::config::AssertionDef,
    /// The answer, or why the assertion could not be evaluated (unknown group, ...).
    pub result: Result<crate::analysis::reach::ReachResult, String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub files: usize,
    pub helm_templates_skipped: usize,
    /// Objects of kinds calint does not model, by `apiVersion/kind`.
    pub unknown_kinds: BTreeMap<String, usize>,
    /// Findings removed by `calint.io/ignore` annotations (set once lints ran).
    pub suppressed: usize,
    /// Files holding at least one Kubernetes object or a reported problem (see
    /// [`crate::check::paths_without_objects`]).
    pub object_files: std::collections::BTreeSet<FileId>,
    /// Findings a baseline matched (not reported; see `report::baseline`).
    pub baselined: usize,
    /// Baseline entries no finding matched any more.
    pub baseline_stale: usize,
    /// With views, the analysis of every view added up (`Project::analysis` is then `None`).
    pub analysis_totals: Option<AnalysisTotals>,
    /// The views analysed, in configuration order (empty without views).
    pub views: Vec<String>,
    /// Files left out because a `kustomization.yaml` lists them as patches.
    pub kustomize_patches_skipped: usize,
    /// Notes about the run a user must see (a Kustomize root that could not be rendered).
    pub notes: Vec<String>,
}

/// Semantic analysis counts summed over views.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AnalysisTotals {
    pub policies: usize,
    pub solver_calls: usize,
    pub undecided: usize,
}

impl Project {
    pub fn from_lowered(
        sources: SourceMap,
        file_problems: Vec<FileProblem>,
        lowered: Lowered,
    ) -> Self {
        Project {
            stats: Stats {
                files: sources.len(),
                unknown_kinds: lowered.unknown_kinds,
                ..Stats::default()
            },
            sources,
            file_problems,
            resources: lowered.resources,
            lower_problems: lowered.problems,
            violations: Vec::new(),
            analysis: None,
            assertions: Vec::new(),
            assertion_set: None,
            external_tiers: Vec::new(),
            kustomize: Default::default(),
            posture: None,
            timings: Vec::new(),
        }
    }

    pub fn policies(&self) -> impl Iterator<Item = (usize, &Resource)> {
        self.resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind.is_policy())
    }

    /// Resource counts by kind, for summaries and the corpus test.
    pub fn counts_by_kind(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.resources {
            *counts.entry(r.kind.summary_name()).or_default() += 1;
        }
        counts
    }
}
