//! Semantic analysis of the policy set: which rules can never match, which are shadowed
//! (inside their policy or by policies evaluated earlier), and which pairs of rules conflict
//! with an order decided only by policy names.
//!
//! Policies are compiled to the IR ([`ir`]); Z3 sits behind [`solver`]; [`concrete`] is the
//! plain-Rust reference evaluator. Queries run in parallel (one Z3 context and one reused
//! solver per rayon worker); results are collected in policy order, and witnesses are
//! re-derived in a fresh context so output never depends on the thread count.

pub mod concrete;
pub mod ir;
pub mod order;
pub mod prefilter;
pub mod solver;
pub mod witness;

use crate::model::resource::{Action, Direction};
use crate::project::Project;
use concrete::Packet;
use ir::{CompiledPolicy, CompiledRule, PolicySet};
use prefilter::Restrictions;
use rayon::prelude::*;
use solver::{Answer, Session, Universe};
use z3::ast::Bool;

pub const DEFAULT_SOLVER_TIMEOUT_MS: u32 = 2000;

#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    pub solver_timeout_ms: u32,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            solver_timeout_ms: DEFAULT_SOLVER_TIMEOUT_MS,
        }
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
    /// Names of a minimal set of contradictory parts (`source.selector`, `protocol`, ...).
    pub parts: Vec<String>,
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
    pub solver_calls: usize,
    /// Queries that hit the timeout (never turned into findings).
    pub undecided: usize,
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
}

pub(crate) struct Context<'a> {
    set: &'a PolicySet,
    restrictions: Vec<Restrictions>,
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
        Context {
            set,
            restrictions: set
                .policies
                .iter()
                .map(|p| Restrictions::of(&p.selector))
                .collect(),
        }
    }

    pub(crate) fn precedents(&self, pi: usize, d: Direction) -> Precedents {
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
                let peers = self.tier_peers(&t.name, d, pi);
                (!peers.is_empty()).then(|| (t.name.clone(), peers, t.default_pass))
            })
            .collect();
        let policies = self
            .tier_peers(tier, d, pi)
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

    /// Enforced policies of tier `tier` that apply in `d` and may overlap policy `p`, in order.
    fn tier_peers(&self, tier: &str, d: Direction, p: usize) -> Vec<usize> {
        (0..self.set.policies.len())
            .filter(|&q| {
                self.policy(q)
                    .is_some_and(|qp| qp.tier == tier && !qp.staged && qp.applies(d))
                    && self.may_overlap(p, q)
            })
            .collect()
    }
}

fn rule_of<'a>(set: &'a PolicySet, id: RuleId) -> Option<&'a CompiledRule> {
    set.policies
        .get(id.policy)?
        .rules(id.direction)
        .get(id.rule)
}

fn analyze_policy(s: &mut Session<'_>, cx: &Context<'_>, pi: usize) -> PolicyResults {
    let mut out = PolicyResults::default();
    let Some(p) = cx.policy(pi) else { return out };
    let (calls0, und0) = (s.calls, s.undecided);

    // CAL111: can the policy select any endpoint at all?
    let any_endpoint = {
        let local = s.enc.selects_any(p);
        s.sat(&local)
    };
    if any_endpoint == Answer::Known(None) {
        out.unsat_selector = Some(UnsatSelector {
            policy: pi,
            parts: vec!["selector".into()],
        });
    }
    if any_endpoint != Answer::Known(None) {
        for d in DIRECTIONS {
            if !p.applies(d) {
                continue;
            }
            analyze_direction(s, cx, pi, p, d, &mut out);
        }
    }
    out.calls = s.calls - calls0;
    out.undecided = s.undecided - und0;
    out
}

fn analyze_direction(
    s: &mut Session<'_>,
    cx: &Context<'_>,
    pi: usize,
    p: &CompiledPolicy,
    d: Direction,
    out: &mut PolicyResults,
) {
    let scope = s.enc.selects(p, d);
    let rules = p.rules(d);
    let pre = cx.precedents(pi, d);
    let (earlier_tiers, earlier_policies) = (&pre.tiers, &pre.policies);

    for r in rules {
        let id = RuleId {
            policy: pi,
            direction: d,
            rule: r.index,
        };
        // CAL110: the rule itself (within the policy's scope).
        let named = s.enc.rule_parts(r);
        let mut parts: Vec<Bool> = vec![scope.clone()];
        parts.extend(named.iter().map(|(_, b)| b.clone()));
        match s.unsat_core(&Bool::from_bool(true), &parts) {
            Answer::Known(Some(core)) => {
                let mut names: Vec<String> = core
                    .iter()
                    .map(|&i| match i {
                        0 => "policy selector".to_string(),
                        i => named.get(i - 1).map(|(n, _)| n.clone()).unwrap_or_default(),
                    })
                    .collect();
                names.sort();
                out.unsat_rules.push(UnsatRule {
                    rule: id,
                    parts: names,
                });
                continue;
            }
            Answer::Undecided => continue,
            Answer::Known(None) => {}
        }
        let matched = Bool::and(&[scope.clone(), s.enc.rule(r)]);

        // CAL201: covered by earlier terminal rules of the same policy.
        let earlier: Vec<&CompiledRule> = rules
            .iter()
            .take(r.index)
            .filter(|e| e.is_terminal())
            .collect();
        if !earlier.is_empty() {
            let negs: Vec<Bool> = earlier.iter().map(|e| s.enc.rule(e).not()).collect();
            match s.unsat_core(&matched, &negs) {
                Answer::Known(Some(core)) => {
                    let mut cover: Vec<usize> = core
                        .iter()
                        .filter_map(|&i| earlier.get(i).map(|e| e.index))
                        .collect();
                    cover.sort_unstable();
                    out.shadowed.push(Shadowed { rule: id, cover });
                    continue;
                }
                Answer::Undecided => continue,
                Answer::Known(None) => {}
            }
        }

        // CAL202: decided before the rule is reached (staged policies are never reached).
        if p.staged || (earlier_tiers.is_empty() && earlier_policies.is_empty()) {
            continue;
        }
        let mut deciders = Vec::new();
        let mut conds = Vec::new();
        for (name, peers, default_pass) in earlier_tiers {
            let pols: Vec<&CompiledPolicy> = peers.iter().filter_map(|&q| cx.policy(q)).collect();
            deciders.push(Decider::Tier(name.clone()));
            conds.push(s.enc.tier_continues(&pols, d, *default_pass));
        }
        for &q in earlier_policies {
            if let Some(qp) = cx.policy(q) {
                deciders.push(Decider::Policy(q));
                conds.push(Bool::or(&[
                    s.enc.selects(qp, d).not(),
                    s.enc.no_terminal_match(qp, d, None),
                ]));
            }
        }
        for e in &earlier {
            deciders.push(Decider::Rule(e.index));
            conds.push(s.enc.rule(e).not());
        }
        if let Answer::Known(Some(core)) = s.unsat_core(&matched, &conds) {
            let mut chosen: Vec<Decider> = core
                .iter()
                .filter_map(|&i| deciders.get(i).cloned())
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

    // CAL203 candidates: later same-tier policies whose order ties with this one.
    if p.staged {
        return;
    }
    for q in (pi + 1)..cx.set.policies.len() {
        let Some(qp) = cx.policy(q) else { continue };
        if qp.staged
            || !qp.applies(d)
            || !order::ordered_by_name_only(p, qp)
            || !cx.may_overlap(pi, q)
        {
            continue;
        }
        for r1 in rules.iter().filter(|r| r.is_terminal()) {
            for r2 in qp.rules(d).iter().filter(|r| r.is_terminal()) {
                let conflicting = (r1.action == Action::Allow) != (r2.action == Action::Allow);
                if !conflicting || disjoint_protocols(r1, r2) {
                    continue;
                }
                let f = conflict_formula(s, cx, pi, r1, q, r2, d, &pre);
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
    let (Some(a), Some(b)) = (cx.policy(p1), cx.policy(p2)) else {
        return Bool::from_bool(false);
    };
    let mut c = vec![
        s.enc.selects(a, d),
        s.enc.selects(b, d),
        s.enc.rule(r1),
        s.enc.rule(r2),
        s.enc.no_terminal_match(a, d, Some(r1.index)),
        s.enc.no_terminal_match(b, d, Some(r2.index)),
    ];
    for (_, peers, default_pass) in &pre.tiers {
        let pols: Vec<&CompiledPolicy> = peers.iter().filter_map(|&q| cx.policy(q)).collect();
        c.push(s.enc.tier_continues(&pols, d, *default_pass));
    }
    for qp in pre.policies.iter().filter_map(|&q| cx.policy(q)) {
        c.push(Bool::or(&[
            s.enc.selects(qp, d).not(),
            s.enc.no_terminal_match(qp, d, None),
        ]));
    }
    Bool::and(&c)
}

/// Run the whole analysis over the project's valid policies.
pub fn analyze(project: &Project, opts: &AnalysisOptions) -> Analysis {
    analyze_set(PolicySet::from_project(project), opts)
}

/// Run the whole analysis over a compiled policy set (sorted, see [`PolicySet::finish`]).
pub fn analyze_set(set: PolicySet, opts: &AnalysisOptions) -> Analysis {
    let universe = Universe::new(&set);
    let cx = Context::new(&set);
    let timeout = opts.solver_timeout_ms;
    let results: Vec<PolicyResults> = (0..set.policies.len())
        .into_par_iter()
        .map_init(
            || Session::new(&universe, timeout),
            |s, pi| analyze_policy(s, &cx, pi),
        )
        .collect();

    let mut analysis = Analysis::default();
    let mut conflict_pairs = Vec::new();
    for r in results {
        analysis.unsat_selectors.extend(r.unsat_selector);
        analysis.unsat_rules.extend(r.unsat_rules);
        analysis.shadowed.extend(r.shadowed);
        analysis.shadowed_by_policy.extend(r.shadowed_by_policy);
        conflict_pairs.extend(r.conflicts);
        analysis.solver_calls += r.calls;
        analysis.undecided += r.undecided;
    }
    // Witnesses come from a fresh Z3 context per conflict, so they do not depend on which
    // queries a worker answered before.
    analysis.conflicts = conflict_pairs
        .par_iter()
        .filter_map(|&(winner, loser)| {
            let witness = witness::conflict_witness(&cx, &universe, winner, loser, timeout)?;
            Some(Conflict {
                winner,
                loser,
                witness,
            })
        })
        .collect();
    analysis.set = set;
    analysis
}

pub(crate) fn rule_by_id(set: &PolicySet, id: RuleId) -> Option<&CompiledRule> {
    rule_of(set, id)
}
