//! A loaded tree: sources, parse results, typed resources and validation results: the input
//! of the analysis and of every lint (through `lints::LintContext`).
//!
//! Layer 4: uses `validate` and below; `analysis` and everything above read it. A `Project`
//! holds loaded input only; what the pipeline computes over it (analysis, assertion answers,
//! posture facts) lives in the check's run (`check::Run`), never here.
//!
//! A resource is addressed by its [`ResourceId`] (its place in `resources`), never by a bare
//! index, so it is not mixed up with a compiled policy's `analysis::ir::PolicyId`.

use crate::diagnostic::Diagnostic;
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
    pub problem: Diagnostic,
}

/// A resource of a [`Project`]: its index in `Project::resources`, in tree order. A newtype,
/// so a resource is never addressed with an index of another list (the compiled policy set's
/// policies are in evaluation order, not tree order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId(pub usize);

#[derive(Debug, Default)]
pub struct Project {
    pub sources: SourceMap,
    pub file_problems: Vec<FileProblem>,
    pub resources: Vec<Resource>,
    pub lower_problems: Vec<LowerProblem>,
    /// Validation results, by resource.
    pub violations: Vec<(ResourceId, Diagnostic)>,
    pub stats: Stats,
    /// Tiers defined outside the tree, declared in the configuration (`tiers:`): analysed
    /// in their real place instead of as undefined tiers.
    pub external_tiers: Vec<crate::model::tier::CompiledTier>,
    /// The tree's Kustomize layout (kustomizations, patches, top-level roots).
    pub kustomize: crate::load::kustomize::Layout,
    /// Wall time of each pipeline stage and lint, in run order, for `--verbose`. Never part of
    /// a report (it would break byte-identical output).
    pub timings: Vec<(String, Duration)>,
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
    /// `check::paths_without_objects`, the layer above).
    pub object_files: std::collections::BTreeSet<FileId>,
    /// Findings a baseline matched (not reported; see `report::baseline`).
    pub baselined: usize,
    /// Baseline entries no finding matched any more.
    pub baseline_stale: usize,
    /// Semantic analysis counts of the run (with views, every view added up); `None` when the
    /// analysis did not run.
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
            external_tiers: Vec::new(),
            kustomize: Default::default(),
            timings: Vec::new(),
        }
    }

    /// The resource `id` names, if any.
    pub fn resource(&self, id: ResourceId) -> Option<&Resource> {
        self.resources.get(id.0)
    }

    /// Every resource with its id, in tree order.
    pub fn resources_with_ids(&self) -> impl Iterator<Item = (ResourceId, &Resource)> {
        (0..).map(ResourceId).zip(&self.resources)
    }

    pub fn policies(&self) -> impl Iterator<Item = (ResourceId, &Resource)> {
        self.resources_with_ids()
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
