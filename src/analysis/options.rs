//! [`AnalysisOptions`]: what the caller sets for one analysis (the solver limit per query, the
//! work budget of the whole run, the Calico release whose ordering applies) and the defaults.

pub const DEFAULT_SOLVER_TIMEOUT_MS: u32 = 2000;

/// Default of [`AnalysisOptions::budget_ms`]: two minutes' worth of solver work.
pub const DEFAULT_ANALYSIS_BUDGET_MS: u64 = 120_000;

#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    /// Per-query solver limit, in milliseconds' worth of deterministic Z3 work (a resource
    /// limit of [`super::solver::RLIMIT_PER_MS`] units per millisecond; a wall-clock safety net of
    /// [`super::solver::WALL_CLOCK_SAFETY_FACTOR`] times as long stops what the resource limit
    /// does not). A query that hits it is undecided (never a finding).
    pub solver_timeout_ms: u32,
    /// Work budget of the whole analysis, in the same deterministic units; `None` for no
    /// budget. Policies are charged in evaluation order: a policy is analyzed only while the
    /// policies before it have spent less than the budget, whatever the thread count; the
    /// others are skipped, their queries counted as undecided, and
    /// [`super::Analysis::budget_exceeded`] says where the analysis stopped (lint CAL007). A
    /// wall-clock safety net of [`super::solver::WALL_CLOCK_SAFETY_FACTOR`] times the budget stops
    /// an analysis the work budget did not.
    pub budget_ms: Option<u64>,
    /// The Calico release whose ordering rules apply (the equal-order tie-break changed in
    /// v3.32).
    pub target: crate::validate::CalicoVersion,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            solver_timeout_ms: DEFAULT_SOLVER_TIMEOUT_MS,
            target: crate::validate::CalicoVersion::LATEST,
            budget_ms: Some(DEFAULT_ANALYSIS_BUDGET_MS),
        }
    }
}
