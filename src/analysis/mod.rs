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
pub mod classes;
pub mod cluster_policy;
pub mod concrete;
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
use concrete::Packet;
use ir::{CompiledPolicy, CompiledRule, PolicySet};
use lazy_session::LazySession;
use prefilter::Restrictions;
use rayon::prelude::*;
use rule_part::RulePart;
use solver::Formula as Bool;
use solver::{Answer, Session, Universe};
use std::time::{Duration, Instant};

pub(crate) use policy_queries::conflict_formula;
use policy_queries::{analyze_policy, skipped};
pub use results::{
    Analysis, BudgetExceeded, Conflict, Decider, RuleId, Shadowed, ShadowedByPolicy, UnsatRule,
    UnsatSelector,
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

/// When the budget runs out, if there is one.
#[derive(Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    fn new(budget_ms: Option<u64>) -> Deadline {
        // A budget too large to represent is no budget.
        Deadline(budget_ms.and_then(|ms| {
            // Never below a minute: a small work budget (tests use 10 ms' worth) must be
            // stopped by the deterministic work count, not by the clock.
            let safety = ms
                .saturating_mul(solver::WALL_CLOCK_SAFETY_FACTOR)
                .max(solver::WALL_CLOCK_SAFETY_FLOOR_MS);
            Instant::now().checked_add(Duration::from_millis(safety))
        }))
    }

    pub(crate) fn passed(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
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

pub(crate) struct Context<'a> {
    set: &'a PolicySet,
    restrictions: Vec<Restrictions>,
    /// Policies whose selector pins the namespace label, by namespace; and the rest. Two
    /// policies pinned to different namespaces never share an endpoint, so candidates for
    /// overlap are looked up here instead of scanning every policy.
    by_namespace: std::collections::HashMap<String, Vec<usize>>,
    unpinned: Vec<usize>,
}

/// Earlier tiers (name, overlapping policies, default Pass) and earlier same-tier policies
/// that may decide a packet before policy `pi` is reached in direction `d`.
pub(crate) struct Precedents {
    tiers: Vec<(String, Vec<usize>, bool)>,
    policies: Vec<usize>,
}

const DIRECTIONS: [Direction; 2] = [Direction::Ingress, Direction::Egress];

impl<'a> Context<'a> {
    pub(crate) fn new(set: &'a PolicySet) -> Context<'a> {
        let restrictions: Vec<Restrictions> = set
            .policies
            .iter()
            .map(|p| Restrictions::of(&p.selector))
            .collect();
        let mut by_namespace: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        let mut unpinned = Vec::new();
        for (i, r) in restrictions.iter().enumerate() {
            match r.single_value(ir::NAMESPACE_LABEL) {
                Some(ns) => by_namespace.entry(ns.to_string()).or_default().push(i),
                None => unpinned.push(i),
            }
        }
        Context {
            set,
            restrictions,
            by_namespace,
            unpinned,
        }
    }

    /// Policies that may share an endpoint with `p` (a superset, sorted).
    fn candidates(&self, p: usize) -> Vec<usize> {
        let pinned = self
            .restrictions
            .get(p)
            .and_then(|r| r.single_value(ir::NAMESPACE_LABEL));
        let mut out = match pinned {
            Some(ns) => {
                let mut v = self.by_namespace.get(ns).cloned().unwrap_or_default();
                v.extend_from_slice(&self.unpinned);
                v
            }
            None => (0..self.set.policies.len()).collect(),
        };
        out.sort_unstable();
        out.retain(|&q| self.may_overlap(p, q));
        out
    }

    pub(crate) fn precedents(&self, pi: usize, d: Direction) -> Precedents {
        self.precedents_among(pi, d, &self.candidates(pi))
    }

    /// [`Context::precedents`] given `candidates`, the policies that may share an endpoint
    /// with `pi` (computed once per policy).
    fn precedents_among(&self, pi: usize, d: Direction, candidates: &[usize]) -> Precedents {
        let tier = self.policy(pi).map(|p| p.tier.as_str()).unwrap_or_default();
        let tier_pos = self
            .set
            .tiers
            .iter()
            .position(|t| t.name == tier)
            .unwrap_or(0);
        let tiers = self
            .set
            .tiers
            .iter()
            .take(tier_pos)
            .filter_map(|t| {
                let peers = self.tier_peers(candidates, &t.name, d);
                (!peers.is_empty()).then(|| (t.name.clone(), peers, t.default_pass))
            })
            .collect();
        let policies = self
            .tier_peers(candidates, tier, d)
            .into_iter()
            .filter(|&q| q < pi)
            .collect();
        Precedents { tiers, policies }
    }

    fn policy(&self, i: usize) -> Option<&CompiledPolicy> {
        self.set.policies.get(i)
    }

    fn may_overlap(&self, a: usize, b: usize) -> bool {
        match (self.restrictions.get(a), self.restrictions.get(b)) {
            (Some(x), Some(y)) => x.may_overlap(y),
            _ => false,
        }
    }

    /// Enforced policies of tier `tier` among `candidates` that apply in `d`, in order.
    fn tier_peers(&self, candidates: &[usize], tier: &str, d: Direction) -> Vec<usize> {
        candidates
            .iter()
            .copied()
            .filter(|&q| {
                self.policy(q)
                    .is_some_and(|qp| qp.tier == tier && !qp.staged && qp.applies(d))
            })
            .collect()
    }
}

fn rule_of(set: &PolicySet, id: RuleId) -> Option<&CompiledRule> {
    set.policies
        .get(id.policy)?
        .rules(id.direction)
        .get(id.rule)
}

/// The deterministic work budget: policy `i` is analyzed only while policies `0..i` spent
/// less than `total` resource units. Workers record what each policy spent; a worker skips
/// a policy once the policies before it that are already done spent the budget (the
/// policy would be dropped anyway, see [`analyze_set`]).
struct WorkBudget {
    total: Option<u64>,
    /// Work of each policy plus one; zero while not done.
    spent: Vec<std::sync::atomic::AtomicU64>,
}

impl WorkBudget {
    fn new(total: Option<u64>, policies: usize) -> WorkBudget {
        WorkBudget {
            total,
            spent: (0..policies)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }

    fn spent_before(&self, pi: usize) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        let mut sum = 0u64;
        for w in self.spent.iter().take(pi) {
            sum = sum.saturating_add(
                w.load(std::sync::atomic::Ordering::Relaxed)
                    .saturating_sub(1),
            );
            if sum >= total {
                return true;
            }
        }
        sum >= total
    }

    fn charge(&self, pi: usize, work: u64) {
        if let Some(w) = self.spent.get(pi) {
            w.store(work.saturating_add(1), std::sync::atomic::Ordering::Relaxed);
        }
    }
}

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
    let indexes: Vec<usize> = (0..set.policies.len()).collect();
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
    let mut incomplete: std::collections::BTreeMap<usize, usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.incomplete())
        .map(|(pi, r)| (pi, r.skipped))
        .collect();
    // Policies with an undecided query: which of their rules are dead is not known, so the
    // pairwise pass (which compares only live rules) leaves them alone.
    let uncertain: std::collections::HashSet<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.undecided > 0)
        .map(|(pi, _)| pi)
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
            let witness = witness::conflict_witness(&cx, &universe, winner, loser, timeout)?;
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
    uncertain: &std::collections::HashSet<usize>,
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

pub(crate) fn rule_by_id(set: &PolicySet, id: RuleId) -> Option<&CompiledRule> {
    rule_of(set, id)
}
