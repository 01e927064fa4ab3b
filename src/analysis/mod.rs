//! Semantic analysis of the policy set: which rules can never match, which are shadowed
//! (inside their policy or by policies evaluated earlier), and which pairs of rules conflict
//! with an order decided only by policy names.
//!
//! Policies are compiled to the IR ([`ir`]); Z3 sits behind [`solver`]; [`concrete`] is the
//! plain-Rust reference evaluator. Reachability questions are asked about [`groups`]
//! ([`reach`], [`graph`], [`exposure`], [`paths`]). Queries run in parallel (one Z3 context and one reused
//! solver per rayon worker); results are collected in policy order, and witnesses are
//! re-derived in a fresh context so output never depends on the thread count.
//!
//! Layer 5: uses `project` and below; never `config`, `lints` or `check` (its questions come as
//! plain specs, `analysis::spec`).

pub mod admission;
pub mod anomaly;
mod budget;
pub mod classes;
pub mod cluster_policy;
pub mod concrete;
mod context;
pub mod decided_pair;
pub mod example_names;
pub mod exposure;
pub mod fields;
pub mod graph;
pub mod groups;
pub mod ir;
mod lazy_session;
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

use crate::model::resource::Direction;
use crate::project::Project;
use budget::{Deadline, WorkBudget};
use concrete::Packet;
use context::{Context, Precedents};
use ir::{CompiledPolicy, CompiledRule, PolicySet};
use lazy_session::LazySession;
use rayon::prelude::*;
use rule_part::RulePart;
use solver::Formula as Bool;
use solver::{Answer, Session, Universe};

use policy_queries::{analyze_policy, conflict_witness, skipped};
pub use results::{
    Analysis, BudgetExceeded, Conflict, Decider, PolicyId, RuleId, Shadowed, ShadowedByPolicy,
    UnsatRule, UnsatSelector,
};

pub const DEFAULT_SOLVER_TIMEOUT_MS: u32 = 2000;

/// Default of [`AnalysisOptions::budget_ms`]: two minutes' worth of solver work.
pub const DEFAULT_ANALYSIS_BUDGET_MS: u64 = 120_000;

/// Policies analyzed by one solver session before it is replaced by a fresh one.
const SESSION_CHUNK: usize = 32;

#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    /// Per-query solver limit, in milliseconds' worth of deterministic Z3 work (a resource
    /// limit of [`solver::RLIMIT_PER_MS`] units per millisecond; a wall-clock safety net of
    /// [`solver::WALL_CLOCK_SAFETY_FACTOR`] times as long stops what the resource limit
    /// does not). A query that hits it is undecided (never a finding).
    pub solver_timeout_ms: u32,
    /// Work budget of the whole analysis, in the same deterministic units; `None` for no
    /// budget. Policies are charged in evaluation order: a policy is analyzed only while the
    /// policies before it have spent less than the budget, whatever the thread count; the
    /// others are skipped, their queries counted as undecided, and
    /// [`Analysis::budget_exceeded`] says where the analysis stopped (lint CAL007). A
    /// wall-clock safety net of [`solver::WALL_CLOCK_SAFETY_FACTOR`] times the budget stops
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

/// Per-policy results, computed on one worker.
#[derive(Default)]
struct PolicyResults {
    unsat_selector: Option<UnsatSelector>,
    unsat_rules: Vec<UnsatRule>,
    shadowed: Vec<Shadowed>,
    shadowed_by_policy: Vec<ShadowedByPolicy>,
    conflicts: Vec<(RuleId, RuleId)>,
    calls: usize,
    undecided: usize,
    /// Queries skipped because the budget ran out (counted in `undecided` too).
    skipped: usize,
    /// Z3 resource units spent.
    work: u64,
}

impl PolicyResults {
    /// The policy was not fully analyzed.
    fn incomplete(&self) -> bool {
        self.skipped > 0
    }
}

const DIRECTIONS: [Direction; 2] = [Direction::Ingress, Direction::Egress];

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

/// The analysis of one chain (a policy set whose policies all share one list).
fn analyze_chain(
    set: PolicySet,
    opts: &AnalysisOptions,
    deadline: Deadline,
    progress: &dyn crate::progress::Progress,
) -> Analysis {
    let universe = Universe::new(&set);
    let cx = Context::new(&set);
    let timeout = opts.solver_timeout_ms;
    let total_work = opts
        .budget_ms
        .map(|ms| ms.saturating_mul(solver::RLIMIT_PER_MS));
    let budget = WorkBudget::new(total_work, set.policies.len());
    // A Z3 solver reused for thousands of queries slows down as its internal state grows
    // (measured: 10x the policies took 100x the time), so each chunk of policies gets a
    // fresh session; creating one costs a few milliseconds. Each chunk also gets a fresh Z3
    // context, so its answers, cores and resource use do not depend on the thread count.
    let indexes: Vec<PolicyId> = (0..set.policies.len()).map(PolicyId).collect();
    let mut results: Vec<PolicyResults> = indexes
        .par_chunks(SESSION_CHUNK)
        .flat_map_iter(|chunk| {
            solver::in_fresh_context(|| {
                let mut s = LazySession::new(&universe, &set, timeout);
                chunk
                    .iter()
                    .map(|&pi| {
                        let r = analyze_policy(&mut s, &cx, pi, deadline, &budget);
                        progress.advance(1);
                        r
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Charge the work in policy order: once the policies before one spent the budget, it
    // counts as skipped, whether or not a worker happened to analyze it.
    if let Some(total) = total_work {
        let mut sum = 0u64;
        for (pi, r) in results.iter_mut().enumerate() {
            if sum >= total {
                if let Some(p) = set.policies.get(pi) {
                    *r = skipped(p);
                }
            }
            sum = sum.saturating_add(r.work);
        }
    }

    let mut analysis = Analysis::default();
    let mut conflict_pairs = Vec::new();
    // Policies not fully analyzed (budget), with the number of queries skipped for each.
    let mut incomplete: std::collections::BTreeMap<PolicyId, usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.incomplete())
        .map(|(pi, r)| (PolicyId(pi), r.skipped))
        .collect();
    // Policies with an undecided query: which of their rules are dead is not known, so the
    // pairwise pass (which compares only live rules) leaves them alone.
    let uncertain: std::collections::HashSet<PolicyId> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.undecided > 0)
        .map(|(pi, _)| PolicyId(pi))
        .collect();
    for r in results {
        analysis.unsat_selectors.extend(r.unsat_selector);
        analysis.unsat_rules.extend(r.unsat_rules);
        analysis.shadowed.extend(r.shadowed);
        analysis.shadowed_by_policy.extend(r.shadowed_by_policy);
        conflict_pairs.extend(r.conflicts);
        analysis.solver_calls += r.calls;
        analysis.undecided += r.undecided;
    }
    let pairs = anomaly_pass(&set, &universe, &analysis, &uncertain, timeout, deadline);
    analysis.rule_pairs = pairs.pairs;
    analysis.solver_calls += pairs.calls;
    analysis.undecided += pairs.undecided;
    // Witnesses come from a fresh Z3 context per conflict, so they do not depend on which
    // queries a worker answered before.
    // Past the deadline witnesses are not derived, and a conflict without a witness is not
    // reported.
    let witnessed: Vec<Result<Conflict, RuleId>> = conflict_pairs
        .par_iter()
        .filter_map(|&(winner, loser)| {
            if deadline.passed() {
                return Some(Err(winner));
            }
            let witness = conflict_witness(&cx, &universe, winner, loser, timeout)?;
            Some(Ok(Conflict {
                winner,
                loser,
                witness,
            }))
        })
        .collect();
    for w in witnessed {
        match w {
            Ok(c) => analysis.conflicts.push(c),
            Err(winner) => {
                analysis.undecided += 1;
                *incomplete.entry(winner.policy).or_default() += 1;
            }
        }
    }
    analysis.budget_exceeded =
        incomplete
            .first_key_value()
            .map(|(&first_policy, _)| BudgetExceeded {
                budget_ms: opts.budget_ms.unwrap_or_default(),
                first_policy,
                policies: incomplete.len(),
                skipped_queries: incomplete.values().sum(),
            });
    analysis.set = set;
    analysis
}

/// The pairwise anomaly pass over the rules the main pass did not find dead.
fn anomaly_pass(
    set: &PolicySet,
    universe: &Universe,
    found: &Analysis,
    uncertain: &std::collections::HashSet<PolicyId>,
    timeout: u32,
    deadline: Deadline,
) -> anomaly::PairResults {
    let dead: std::collections::HashSet<RuleId> = found
        .unsat_rules
        .iter()
        .map(|u| u.rule)
        .chain(found.shadowed.iter().map(|s| s.rule))
        .chain(
            found
                .shadowed_by_policy
                .iter()
                .filter(|s| views::never_reached_is_known(set, s))
                .map(|s| s.rule),
        )
        .collect();
    anomaly::rule_pairs(
        set,
        universe,
        &dead,
        uncertain,
        timeout,
        SESSION_CHUNK,
        deadline,
    )
}
