//! The questions asked about one policy, on one worker's solver session: its selector
//! (CAL111), then per direction and rule, in one solver frame, whether the rule can match
//! (CAL110), is covered by earlier rules of the policy (CAL201) or decided by earlier
//! policies and tiers (CAL202), and which rules of later same-order policies it conflicts
//! with (CAL203), and a conflict's witness packet (solved in a fresh session, so it does not
//! depend on the thread count). Concrete refutation (`refute`) settles what it can before Z3
//! is asked.

use super::budget::{Deadline, WorkBudget};
use super::context::{Context, Precedents};
use super::ir::{CompiledPolicy, CompiledRule, PolicyId, RuleId};
use super::lazy_session::LazySession;
use super::results::{Decider, Shadowed, ShadowedByPolicy, UnsatRule, UnsatSelector};
use super::rule_part::RulePart;
use super::solver::Formula as Bool;
use super::solver::{Answer, Session, Universe};
use super::{order, overlap, refute};
use crate::analysis::concrete::Packet;
use crate::model::resource::Direction;

const DIRECTIONS: [Direction; 2] = [Direction::Ingress, Direction::Egress];

/// Per-policy results, computed on one worker.
#[derive(Default)]
pub(super) struct PolicyResults {
    pub(super) unsat_selector: Option<UnsatSelector>,
    pub(super) unsat_rules: Vec<UnsatRule>,
    pub(super) shadowed: Vec<Shadowed>,
    pub(super) shadowed_by_policy: Vec<ShadowedByPolicy>,
    pub(super) conflicts: Vec<(RuleId, RuleId)>,
    pub(super) calls: usize,
    pub(super) undecided: usize,
    /// Queries skipped because the budget ran out (counted in `undecided` too).
    pub(super) skipped: usize,
    /// Z3 resource units spent.
    pub(super) work: u64,
}

impl PolicyResults {
    /// The policy was not fully analyzed.
    pub(super) fn incomplete(&self) -> bool {
        self.skipped > 0
    }
}

pub(super) fn analyze_policy(
    s: &mut LazySession<'_>,
    cx: &Context<'_>,
    pi: PolicyId,
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
pub(super) fn skipped(p: &CompiledPolicy) -> PolicyResults {
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

pub(super) fn analyze_direction(
    lazy: &mut LazySession<'_>,
    cx: &Context<'_>,
    (pi, candidates): (PolicyId, &[PolicyId]),
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
pub(super) fn analyze_conflicts(
    lazy: &mut LazySession<'_>,
    cx: &Context<'_>,
    (pi, candidates): (PolicyId, &[PolicyId]),
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
        let Some(qp) = cx.policy(q) else { continue };
        if qp.staged || !qp.applies(d) || !order::ordered_by_name_only(p, qp) {
            continue;
        }
        // The clock is read only before real work: most candidates are not tied with this
        // policy, and reading it for each was 8% of `check`'s CPU at 10,000 policies.
        if deadline.passed() {
            out.skipped += 1;
            break;
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
pub(super) fn analyze_rule(
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
            // Guard 0 is the policy's scope; guard i the encoder's part i - 1.
            let mut parts: Vec<RulePart> = core
                .iter()
                .filter_map(|&i| match i {
                    0 => Some(RulePart::PolicySelector),
                    i => named.get(i - 1).map(|&(part, _)| part),
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
pub(super) fn reach_parts(
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

pub(super) fn disjoint_protocols(a: &CompiledRule, b: &CompiledRule) -> bool {
    matches!((a.protocol, b.protocol), (Some(x), Some(y)) if x != y)
}

/// A packet matched by both rules of a conflict, reaching both.
pub(super) fn conflict_witness(
    cx: &Context<'_>,
    universe: &Universe,
    winner: RuleId,
    loser: RuleId,
    timeout_ms: u32,
) -> Option<Packet> {
    super::solver::with_fresh_session(universe, cx.set, timeout_ms, |s| {
        let r1 = cx.set.rule(winner)?;
        let r2 = cx.set.rule(loser)?;
        let pre = cx.precedents(winner.policy, winner.direction);
        let f = conflict_formula(
            s,
            cx,
            winner.policy,
            r1,
            loser.policy,
            r2,
            winner.direction,
            &pre,
        );
        match s.plausible_witness(&f) {
            Answer::Known(Some(p)) => Some(p),
            _ => None,
        }
    })
}

/// Both policies apply, evaluation reaches the first of them, and `r1`/`r2` are the first
/// terminal matches of their policies.
#[allow(clippy::too_many_arguments)]
pub(super) fn conflict_formula(
    s: &Session<'_>,
    cx: &Context<'_>,
    p1: PolicyId,
    r1: &CompiledRule,
    p2: PolicyId,
    r2: &CompiledRule,
    d: Direction,
    pre: &Precedents,
) -> Bool {
    if cx.policy(p1).is_none() || cx.policy(p2).is_none() {
        return Bool::from_bool(false);
    }
    let id = |policy: PolicyId, r: &CompiledRule| RuleId {
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
