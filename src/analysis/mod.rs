//! Semantic analysis of the policy set: which rules can never match, which are shadowed
//! (inside their policy or by policies evaluated earlier), and which pairs of rules conflict
//! with an order decided only by policy names.
//!
//! Policies are compiled to the IR ([`ir`]); Z3 sits behind [`solver`]; [`concrete`] is the
//! plain-Rust reference evaluator. Reachability questions are asked about [`groups`]
//! ([`reach`], [`graph`], [`exposure`], [`paths`]). Queries run in parallel (one Z3 context and
//! one reused solver per chunk of policies, `chain`); results are collected in policy order,
//! and witnesses are re-derived in a fresh context so output never depends on the thread count.
//! This file holds only the entry points and re-exports: no sub-module imports it.
//!
//! Layer 5: uses `project` and below; never `config`, `lints` or `check` (its questions come as
//! plain specs, `analysis::spec`).

pub mod admission;
pub mod anomaly;
mod budget;
mod chain;
pub mod classes;
pub mod cluster_policy;
pub mod concrete;
mod context;
pub mod decided_pair;
pub mod example_names;
pub mod exposure;
pub mod fields;
pub mod flow;
pub mod graph;
pub mod groups;
pub mod ir;
mod lazy_session;
mod options;
pub mod order;
mod overlap;
pub mod pair_key;
pub mod pair_rules;
pub mod paths;
pub mod pieces;
mod policy_queries;
pub mod prefilter;
pub mod reach;
mod refute;
pub mod region;
mod results;
pub mod rule_part;
pub mod solver;
pub mod spec;
mod views;
pub mod witness;

use crate::project::Project;
use budget::Deadline;
use ir::PolicySet;

pub use options::{AnalysisOptions, DEFAULT_ANALYSIS_BUDGET_MS, DEFAULT_SOLVER_TIMEOUT_MS};
pub use results::{
    Analysis, BudgetExceeded, Conflict, Decider, PolicyId, RuleId, Shadowed, ShadowedByPolicy,
    UnsatRule, UnsatSelector,
};

/// Run the whole analysis over the project's valid policies.
pub fn analyze(project: &Project, opts: &AnalysisOptions) -> Analysis {
    analyze_set(PolicySet::for_version(project, opts.target), opts)
}

/// [`analyze`], reporting one unit of progress per policy analyzed (stage `analysis`).
pub fn analyze_with(
    project: &Project,
    opts: &AnalysisOptions,
    progress: &dyn crate::progress::Progress,
) -> Analysis {
    analyze_set_with(PolicySet::for_version(project, opts.target), opts, progress)
}

/// Run the whole analysis over a compiled policy set (sorted, see [`PolicySet::finish`]):
/// each of Felix's per-endpoint policy lists in use (§4.8) is analysed as its own chain and
/// the results are merged ([`views`]).
pub fn analyze_set(set: PolicySet, opts: &AnalysisOptions) -> Analysis {
    analyze_set_with(set, opts, &crate::progress::NoProgress)
}

/// [`analyze_set`], reporting progress.
pub fn analyze_set_with(
    set: PolicySet,
    opts: &AnalysisOptions,
    progress: &dyn crate::progress::Progress,
) -> Analysis {
    progress.stage("analysis", set.policies.len());
    let deadline = Deadline::new(opts.budget_ms);
    views::analyze_views(set, opts, deadline, progress)
}
