//! Semantic analysis of the policy set: which rules can never match, which are shadowed
//! (inside their policy or by policies evaluated earlier), and which pairs of rules conflict
//! with an order decided only by policy names.
//!
//! Policies are compiled to the IR ([`ir`]); Z3 sits behind [`solver`]; [`concrete`] is the
//! plain-Rust reference evaluator. Queries run in parallel (one Z3 context and one reused
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
pub mod example_names;
pub mod exposure;
pub mod fields;
pub mod ir;
mod lazy_session;
pub mod order;
mod overlap;
pub mod paths;
pub mod pieces;
pub mod prefilter;
pub mod reach;
mod refute;
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

/// The analysis budget ran out before every query was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetExceeded {
    pub budget_ms: u64,
    /// The first policy (index in `PolicySet::policies`) not fully analyzed.
    pub first_policy: usize,
    /// How many policies were not fully analyzed.
    pub policies: usize,
    /// Queries skipped (a lower bound; also counted in [`Analysis::undecided`]).
    pub skipped_queries: usize,
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

/// A rule of a compiled policy: (index in `PolicySet::policies`, direction, rule index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId {
    pub policy: usize,
    pub direction: Direction,
    pub rule: usize,
}

/// A policy whose selector can match no endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct UnsatSelector {
    pub policy: usize,
    /// Names of the contradictory parts (`selector`, `namespace`, ...).
    pub parts: Vec<String>,
}

/// A rule no packet can match (at the endpoints its policy selects).
#[derive(Clone, Debug, PartialEq)]
pub struct UnsatRule {
    pub rule: RuleId,
    /// A minimal set of contradictory parts (`source.selector`, `protocol`, ...), sorted by
    /// their printed names.
    pub parts: Vec<RulePart>,
}

/// A rule covered by earlier terminal rules of the same policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadowed {
    pub rule: RuleId,
    /// A minimal covering set of earlier rules (rule indexes in the same policy).
    pub cover: Vec<usize>,
}

/// What decides a packet before a rule is reached.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decider {
    /// An earlier tier (its policies, or its end-of-tier deny).
    Tier(String),
    /// An earlier policy of the same tier (index in the policy set).
    Policy(usize),
    /// An earlier rule of the same policy.
    Rule(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShadowedByPolicy {
    pub rule: RuleId,
    pub deciders: Vec<Decider>,
}

/// Two rules of different policies that overlap with different actions, ordered only by
/// the policies' names.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The rule that wins today (its policy sorts first).
    pub winner: RuleId,
    pub loser: RuleId,
    pub witness: Packet,
}

#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub set: PolicySet,
    pub unsat_selectors: Vec<UnsatSelector>,
    pub unsat_rules: Vec<UnsatRule>,
    pub shadowed: Vec<Shadowed>,
    pub shadowed_by_policy: Vec<ShadowedByPolicy>,
    pub conflicts: Vec<Conflict>,
    /// Generalizations, correlations and superseded rules inside policies ([`anomaly`]).
    pub rule_pairs: Vec<anomaly::RulePair>,
    pub solver_calls: usize,
    /// Queries that hit the timeout (never turned into findings), plus those skipped when
    /// the budget ran out.
    pub undecided: usize,
    /// Set when the analysis budget ran out.
    pub budget_exceeded: Option<BudgetExceeded>,
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

fn analyze_policy(
    s: &mut LazySession<'_>,
    cx: &Context<'_>,
    pi: usize,
    deadline: Deadline,
    budget: &WorkBudget,
) -> PolicyResults {
    let Some(p) = cx.policy(pi) else {
        return PolicyResults::default();
    };
    if deadline.passed() || budget.spent_before(pi) {
        return skipped(p);
    }
    let mut out = PolicyResults::default();
    let (calls0, und0, work0) = s.counters();

    // CAL111: can the policy select any endpoint at all? Labels found concretely settle it.
    let concrete = refute::labels_for(&p.selector).is_some_and(|mut labels| {
        refute::derive_labels(&mut labels);
        p.selector.eval(&labels)
    });
    let any_endpoint = if concrete {
        Answer::Known(Some(Packet::default()))
    } else {
        let s = s.get();
        let local = s.enc.selects_any(pi);
        s.sat(&local)
    };
    if any_endpoint == Answer::Known(None) {
        out.unsat_selector = Some(UnsatSelector {
            policy: pi,
            parts: vec!["selector".into()],
        });
    }
    if any_endpoint != Answer::Known(None) {
        let candidates = cx.candidates(pi);
        for d in DIRECTIONS {
            if !p.applies(d) {
                continue;
            }
            analyze_direction(s, cx, (pi, &candidates), p, d, deadline, &mut out);
        }
    }
    let (calls, undecided, work) = s.counters();
    out.calls = calls - calls0;
    out.undecided = undecided - und0 + out.skipped;
    out.work = work - work0;
    budget.charge(pi, out.work);
    out
}

/// The results of a policy not analyzed: at least one query per rule, and the selector's.
fn skipped(p: &CompiledPolicy) -> PolicyResults {
    let queries = 1 + DIRECTIONS
        .iter()
        .filter(|&&d| p.applies(d))
        .map(|&d| p.rules(d).len())
        .sum::<usize>();
    PolicyResults {
        skipped: queries,
        undecided: queries,
        ..PolicyResults::default()
    }
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

fn analyze_direction(
    lazy: &mut LazySession<'_>,
    cx: &Context<'_>,
    (pi, candidates): (usize, &[usize]),
    p: &CompiledPolicy,
    d: Direction,
    deadline: Deadline,
    out: &mut PolicyResults,
) {
    let rules = p.rules(d);
    let pre = cx.precedents_among(pi, d, candidates);
    let (earlier_tiers, earlier_policies) = (&pre.tiers, &pre.policies);
    // Rules a concrete packet shows to be satisfiable, not shadowed and reached need no
    // query (see `refute`); the solver frame is built only for the others.
    let local = refute::LocalEndpoint::new(cx, p, d, &pre);
    let refuted: Vec<bool> = rules
        .iter()
        .map(|r| refute::decided_by_rule(cx, p, r, d, (&pre, &local)))
        .collect();
    if refuted.iter().all(|&x| x) {
        analyze_conflicts(lazy, cx, (pi, candidates), p, d, deadline, &pre, out);
        return;
    }
    let s = lazy.get();
    let scope = s.enc.selects(pi, d);

    // Reach conditions (earlier tiers and policies), per rule and restricted to the earlier
    // rules that may match the rule's packets ([`overlap`]): the others never match a
    // packet of the rule, so leaving them out changes no answer and no core, and keeps the
    // frame small when hundreds of global policies overlap every policy.
    let check_reach = !p.staged && (!earlier_tiers.is_empty() || !earlier_policies.is_empty());
    for (done, r) in rules.iter().enumerate() {
        if deadline.passed() {
            out.skipped += rules.len() - done;
            break;
        }
        if refuted.get(done).copied().unwrap_or(false) {
            continue;
        }
        let id = RuleId {
            policy: pi,
            direction: d,
            rule: r.index,
        };
        s.open();
        let (reach_deciders, reach_lits) = if check_reach {
            let keep = |e: &CompiledRule| overlap::may_overlap(e, r);
            let (deciders, conds) = reach_parts(s, cx, d, &pre, &keep);
            let lits = s.guard(&conds);
            (deciders, lits)
        } else {
            (Vec::new(), Vec::new())
        };
        analyze_rule(s, p, r, id, &scope, (&reach_deciders, &reach_lits), out);
        s.close();
    }
    analyze_conflicts(lazy, cx, (pi, candidates), p, d, deadline, &pre, out);
}

/// CAL203 candidates: later same-tier policies whose order ties with this one.
#[allow(clippy::too_many_arguments)]
fn analyze_conflicts(
    lazy: &mut LazySession<'_>,
    cx: &Context<'_>,
    (pi, candidates): (usize, &[usize]),
    p: &CompiledPolicy,
    d: Direction,
    deadline: Deadline,
    pre: &Precedents,
    out: &mut PolicyResults,
) {
    let rules = p.rules(d);
    if p.staged {
        return;
    }
    for q in candidates.iter().copied().filter(|&q| q > pi) {
        if deadline.passed() {
            out.skipped += 1;
            break;
        }
        let Some(qp) = cx.policy(q) else { continue };
        if qp.staged || !qp.applies(d) || !order::ordered_by_name_only(p, qp) {
            continue;
        }
        for r1 in rules.iter().filter(|r| r.is_terminal()) {
            for r2 in qp.rules(d).iter().filter(|r| r.is_terminal()) {
                // Any two different verdicts conflict, `Pass` against `Deny` included: the
                // Pass hands the packet to the next tier, which may allow it.
                let conflicting = r1.action != r2.action;
                if !conflicting || disjoint_protocols(r1, r2) {
                    continue;
                }
                let s = lazy.get();
                let f = conflict_formula(s, cx, pi, r1, q, r2, d, pre);
                if let Answer::Known(Some(_)) = s.sat(&f) {
                    out.conflicts.push((
                        RuleId {
                            policy: pi,
                            direction: d,
                            rule: r1.index,
                        },
                        RuleId {
                            policy: q,
                            direction: d,
                            rule: r2.index,
                        },
                    ));
                }
            }
        }
    }
}

/// CAL110, CAL201 and CAL202 for one rule, in one solver frame.
fn analyze_rule(
    s: &mut Session<'_>,
    p: &CompiledPolicy,
    r: &CompiledRule,
    id: RuleId,
    scope: &Bool,
    (reach_deciders, reach_lits): (&[Decider], &[Bool]),
    out: &mut PolicyResults,
) {
    // CAL110: the rule itself, within the policy's scope.
    let named = s.enc.rule_parts(id);
    let mut parts: Vec<Bool> = vec![scope.clone()];
    parts.extend(named.iter().map(|(_, b)| b.clone()));
    let part_lits = s.guard(&parts);
    let earlier: Vec<&CompiledRule> = p
        .rules(id.direction)
        .iter()
        .take(r.index)
        .filter(|e| e.is_terminal())
        .collect();
    let negs: Vec<Bool> = earlier
        .iter()
        .map(|e| {
            s.enc
                .rule(RuleId {
                    rule: e.index,
                    ..id
                })
                .not()
        })
        .collect();
    let earlier_lits = s.guard(&negs);
    // Common case first: some packet matches the rule and reaches it. One call settles
    // CAL110, CAL201 and CAL202 at once; only an unsatisfiable answer needs the detail.
    let everything: Vec<Bool> = part_lits
        .iter()
        .chain(reach_lits)
        .chain(&earlier_lits)
        .cloned()
        .collect();
    match s.holds(&everything) {
        Some(true) | None => return,
        Some(false) => {}
    }
    match s.core(&[], &part_lits) {
        Answer::Known(Some(core)) => {
            // The encoder's labels are read here, once (see `rule_part`).
            let mut parts: Vec<RulePart> = core
                .iter()
                .filter_map(|&i| match i {
                    0 => Some(RulePart::PolicySelector),
                    i => named.get(i - 1).and_then(|(n, _)| {
                        let part = RulePart::from_encoder_name(n);
                        debug_assert!(part.is_some(), "rule part {n:?} unknown to RulePart");
                        part
                    }),
                })
                .collect();
            parts.sort_by_cached_key(ToString::to_string);
            out.unsat_rules.push(UnsatRule { rule: id, parts });
            return;
        }
        Answer::Undecided => return,
        Answer::Known(None) => {}
    }

    // CAL201: covered by earlier terminal rules of the same policy.
    if !earlier.is_empty() {
        match s.core(&part_lits, &earlier_lits) {
            Answer::Known(Some(core)) => {
                let mut cover: Vec<usize> = core
                    .iter()
                    .filter_map(|&i| earlier.get(i).map(|e| e.index))
                    .collect();
                cover.sort_unstable();
                out.shadowed.push(Shadowed { rule: id, cover });
                return;
            }
            Answer::Undecided => return,
            Answer::Known(None) => {}
        }
    }

    // CAL202: decided before the rule is reached.
    if reach_lits.is_empty() {
        return;
    }
    let optional: Vec<Bool> = reach_lits.iter().chain(&earlier_lits).cloned().collect();
    if let Answer::Known(Some(core)) = s.core(&part_lits, &optional) {
        let mut chosen: Vec<Decider> = core
            .iter()
            .filter_map(|&i| match reach_deciders.get(i) {
                Some(d) => Some(d.clone()),
                None => earlier
                    .get(i - reach_deciders.len())
                    .map(|e| Decider::Rule(e.index)),
            })
            .collect();
        chosen.sort();
        if chosen.iter().any(|c| !matches!(c, Decider::Rule(_))) {
            out.shadowed_by_policy.push(ShadowedByPolicy {
                rule: id,
                deciders: chosen,
            });
        }
    }
}

/// What must hold for evaluation to get past earlier tiers and earlier same-tier policies,
/// one named condition each.
fn reach_parts(
    s: &Session<'_>,
    cx: &Context<'_>,
    d: Direction,
    pre: &Precedents,
    keep: &dyn Fn(&CompiledRule) -> bool,
) -> (Vec<Decider>, Vec<Bool>) {
    let mut deciders = Vec::new();
    let mut conds = Vec::new();
    for (name, peers, default_pass) in &pre.tiers {
        deciders.push(Decider::Tier(name.clone()));
        conds.push(s.enc.tier_continues_among(peers, d, *default_pass, keep));
    }
    for &q in &pre.policies {
        if cx.policy(q).is_some() {
            deciders.push(Decider::Policy(q));
            conds.push(Bool::or(&[
                s.enc.selects(q, d).not(),
                s.enc.no_terminal_match_among(q, d, None, keep),
            ]));
        }
    }
    (deciders, conds)
}

fn disjoint_protocols(a: &CompiledRule, b: &CompiledRule) -> bool {
    matches!((a.protocol, b.protocol), (Some(x), Some(y)) if x != y)
}

/// Both policies apply, evaluation reaches the first of them, and `r1`/`r2` are the first
/// terminal matches of their policies.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conflict_formula(
    s: &Session<'_>,
    cx: &Context<'_>,
    p1: usize,
    r1: &CompiledRule,
    p2: usize,
    r2: &CompiledRule,
    d: Direction,
    pre: &Precedents,
) -> Bool {
    if cx.policy(p1).is_none() || cx.policy(p2).is_none() {
        return Bool::from_bool(false);
    }
    let id = |policy: usize, r: &CompiledRule| RuleId {
        policy,
        direction: d,
        rule: r.index,
    };
    // Only rules that may match a packet of both `r1` and `r2` can decide one ([`overlap`]).
    let keep = |e: &CompiledRule| overlap::may_overlap(e, r1) && overlap::may_overlap(e, r2);
    let mut c = vec![
        s.enc.selects(p1, d),
        s.enc.selects(p2, d),
        s.enc.rule(id(p1, r1)),
        s.enc.rule(id(p2, r2)),
        s.enc.no_terminal_match_among(p1, d, Some(r1.index), &keep),
        s.enc.no_terminal_match_among(p2, d, Some(r2.index), &keep),
    ];
    for (_, peers, default_pass) in &pre.tiers {
        c.push(s.enc.tier_continues_among(peers, d, *default_pass, &keep));
    }
    for &q in pre.policies.iter().filter(|&&q| cx.policy(q).is_some()) {
        c.push(Bool::or(&[
            s.enc.selects(q, d).not(),
            s.enc.no_terminal_match_among(q, d, None, &keep),
        ]));
    }
    Bool::and(&c)
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
