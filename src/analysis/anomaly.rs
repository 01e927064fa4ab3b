//! Pairwise rule anomalies inside one policy and direction, after Al-Shaer & Hamed's
//! taxonomy (shadowing and redundancy come from the main pass, [`super::Shadowed`]):
//!
//! * **generalization** — a later rule with a different action contains every packet of an
//!   earlier rule that reaches it: the earlier rule is an exception carved out of the later
//!   one (often intended);
//! * **correlation** — two rules with different actions overlap only partly, and their order
//!   decides the packets in the overlap;
//! * **superseded** — an earlier rule whose packets a later rule with the same action would
//!   decide the same way, with no rule in between deciding differently: deleting the earlier
//!   rule changes nothing (redundancy seen from the other side).
//!
//! Every query is restricted to packets at endpoints the policy selects that reach the
//! earlier rule (no terminal rule before it matches), so overlaps that earlier rules already
//! decide are not reported. Rules already known to be dead are left out.

use super::budget::Deadline;
use super::concrete::{Packet, policy_selects, rule_matches};
use super::ir::{CompiledPolicy, CompiledRule, PolicySet};
use super::ir::{PolicyId, RuleId};
use super::lazy_session::LazySession;
use super::solver::Formula as Bool;
use super::solver::Universe;
use super::{overlap, refute};
use crate::model::resource::Direction;
use rayon::prelude::*;
use std::collections::HashSet;

/// Pairs examined per policy and direction at most (n² grows fast on generated policies);
/// the pairs are taken in a fixed order, so the cut is deterministic.
pub const MAX_PAIRS_PER_DIRECTION: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PairKind {
    Generalization,
    Correlation,
    Superseded,
}

/// Two rules of one policy and direction, `earlier` before `later`.
#[derive(Clone, Debug, PartialEq)]
pub struct RulePair {
    pub kind: PairKind,
    pub earlier: RuleId,
    pub later: RuleId,
}

#[derive(Default)]
pub(crate) struct PairResults {
    pub pairs: Vec<RulePair>,
    pub calls: usize,
    pub undecided: usize,
    /// Pairs not examined (cap or budget).
    pub skipped: usize,
}

fn disjoint_protocols(a: &CompiledRule, b: &CompiledRule) -> bool {
    matches!((a.protocol, b.protocol), (Some(x), Some(y)) if x != y)
}

/// Classify the rule pairs of every policy, `chunk` policies per solver session.
pub(crate) fn rule_pairs(
    set: &PolicySet,
    universe: &Universe,
    dead: &HashSet<RuleId>,
    uncertain: &HashSet<PolicyId>,
    timeout_ms: u32,
    chunk: usize,
    deadline: Deadline,
) -> PairResults {
    let indexes: Vec<PolicyId> = (0..set.policies.len()).map(PolicyId).collect();
    let per_policy: Vec<PairResults> = indexes
        .par_chunks(chunk.max(1))
        .flat_map_iter(|c| {
            // A fresh Z3 context per chunk, as in the main pass: answers and cores do not
            // depend on which thread ran which chunk before.
            super::solver::in_fresh_context(|| {
                let mut s = LazySession::new(universe, set, timeout_ms);
                c.iter()
                    .map(|&pi| {
                        if uncertain.contains(&pi) {
                            PairResults::default()
                        } else {
                            policy_pairs(&mut s, set, pi, dead, deadline)
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut out = PairResults::default();
    for r in per_policy {
        out.pairs.extend(r.pairs);
        out.calls += r.calls;
        out.undecided += r.undecided;
        out.skipped += r.skipped;
    }
    out
}

fn policy_pairs(
    s: &mut LazySession<'_>,
    set: &PolicySet,
    pi: PolicyId,
    dead: &HashSet<RuleId>,
    deadline: Deadline,
) -> PairResults {
    let mut out = PairResults::default();
    let Some(p) = set.policy(pi) else {
        return out;
    };
    let (calls0, und0, _) = s.counters();
    for d in [Direction::Ingress, Direction::Egress] {
        if p.applies(d) {
            direction_pairs(s, p, pi, d, dead, deadline, &mut out);
        }
    }
    let (calls, undecided, _) = s.counters();
    out.calls = calls - calls0;
    out.undecided = undecided - und0 + out.skipped;
    out
}

fn direction_pairs(
    s: &mut LazySession<'_>,
    p: &CompiledPolicy,
    pi: PolicyId,
    d: Direction,
    dead: &HashSet<RuleId>,
    deadline: Deadline,
    out: &mut PairResults,
) {
    let id = |r: &CompiledRule| RuleId {
        policy: pi,
        direction: d,
        rule: r.index,
    };
    let rules = p.rules(d);
    let live: Vec<&CompiledRule> = rules
        .iter()
        .filter(|r| r.is_terminal() && !dead.contains(&id(r)))
        .collect();
    if live.len() < 2 {
        return;
    }
    let mut budget = MAX_PAIRS_PER_DIRECTION;
    let cap_cannot_bind = live.len() * (live.len() - 1) / 2 <= MAX_PAIRS_PER_DIRECTION;
    // Concrete candidate packets of each live rule (see `refute`), built on first use.
    let mut candidates: Vec<Option<Vec<Packet>>> = vec![None; rules.len()];
    for (a, ri) in live.iter().enumerate() {
        let later = &live[a + 1..];
        if budget == 0 || deadline.passed() {
            out.skipped += later.len();
            continue;
        }
        // Every later rule disjoint from `ri`: no pair to report, whether or not `ri` is
        // reached (asked only while the pair cap cannot bind, so the cut stays the same).
        if cap_cannot_bind
            && later
                .iter()
                .all(|rj| disjoint_protocols(ri, rj) || !overlap::may_overlap(ri, rj))
        {
            budget = budget.saturating_sub(later.len());
            continue;
        }
        // A packet at the policy's endpoints that matches `ri` and reaches it.
        let reaches_ri = |pkt: &Packet| {
            policy_selects(p, d, pkt)
                && rule_matches(ri, pkt)
                && rules
                    .iter()
                    .take(ri.index)
                    .filter(|e| e.is_terminal())
                    .all(|e| !rule_matches(e, pkt))
        };
        let reaching: Vec<Packet> = packets_of(&mut candidates, p, ri, d)
            .iter()
            .filter(|pkt| reaches_ri(pkt))
            .cloned()
            .collect();
        // The solver frame of `ri` (packets that match it and reach it), opened only when a
        // question is not settled concretely.
        let mut frame: Option<Vec<Bool>> = None;
        let open_frame = |s: &mut LazySession<'_>, frame: &mut Option<Vec<Bool>>| -> Vec<Bool> {
            if let Some(base) = frame {
                return base.clone();
            }
            let s = s.get();
            s.open();
            let scope = s.enc.selects(pi, d);
            let before: Vec<Bool> = rules
                .iter()
                .take(ri.index)
                .filter(|e| e.is_terminal())
                .map(|e| s.enc.rule(id(e)).not())
                .collect();
            let mut base_conds = vec![scope.clone(), s.enc.rule(id(ri))];
            base_conds.extend(before);
            let base = s.guard(&base_conds);
            *frame = Some(base.clone());
            base
        };
        if reaching.is_empty() {
            let base = open_frame(s, &mut frame);
            let s = s.get();
            // No packet reaches `ri` (e.g. the policy selects nothing, which the main pass
            // reports without looking at rules): every "for all its packets" verdict would
            // be vacuous.
            match s.holds(&base) {
                Some(true) => {}
                answer => {
                    if answer.is_none() {
                        out.skipped += later.len();
                    }
                    s.close();
                    continue;
                }
            }
        }
        let mut superseded = false;
        for rj in later {
            if budget == 0 {
                out.skipped += 1;
                continue;
            }
            budget -= 1;
            if disjoint_protocols(ri, rj) {
                continue;
            }
            // No packet matches both: `ri`'s packets all escape `rj` (there are some, see
            // above), and the two rules do not overlap.
            if !overlap::may_overlap(ri, rj) {
                continue;
            }
            if ri.action == rj.action {
                if superseded {
                    continue;
                }
                let between: Vec<&CompiledRule> = rules
                    .iter()
                    .skip(ri.index + 1)
                    .take(rj.index.saturating_sub(ri.index + 1))
                    .filter(|k| k.is_terminal() && k.action != ri.action)
                    .collect();
                // A packet of `ri` that `rj` does not take, or that a rule in between
                // decides differently: deleting `ri` would change its verdict.
                let escapes = reaching.iter().any(|pkt| {
                    !rule_matches(rj, pkt) || between.iter().any(|k| rule_matches(k, pkt))
                });
                if escapes {
                    continue;
                }
                let base = open_frame(s, &mut frame);
                let s = s.get();
                // Deleting `ri` hands its packets to the later rules: pointless when `rj`
                // takes all of them and no rule in between decides differently.
                let mut escape = vec![s.enc.rule(id(rj)).not()];
                escape.extend(between.iter().map(|k| s.enc.rule(id(k))));
                let esc = s.guard(&[Bool::or(&escape)]);
                let with: Vec<Bool> = base.iter().chain(&esc).cloned().collect();
                if s.holds(&with) == Some(false) {
                    superseded = true;
                    out.pairs.push(RulePair {
                        kind: PairKind::Superseded,
                        earlier: id(ri),
                        later: id(rj),
                    });
                }
                continue;
            }
            // Concrete answers first: a packet of `ri` inside `rj` shows the overlap, one
            // outside shows it is partial.
            let inside = reaching.iter().any(|pkt| rule_matches(rj, pkt))
                || packets_of(&mut candidates, p, rj, d)
                    .iter()
                    .any(|pkt| rule_matches(rj, pkt) && reaches_ri(pkt));
            let outside = reaching.iter().any(|pkt| !rule_matches(rj, pkt));
            let kind = if inside && outside {
                PairKind::Correlation
            } else {
                let base = open_frame(s, &mut frame);
                let s = s.get();
                let r_j = s.enc.rule(id(rj));
                let lits = s.guard(&[r_j.clone(), r_j.not()]);
                let (in_j, not_in_j) = (lits[0].clone(), lits[1].clone());
                let with =
                    |extra: &Bool| -> Vec<Bool> { base.iter().chain([extra]).cloned().collect() };
                if !inside && s.holds(&with(&in_j)) != Some(true) {
                    continue; // disjoint (or undecided): order does not matter
                }
                if outside {
                    PairKind::Correlation
                } else {
                    match s.holds(&with(&not_in_j)) {
                        Some(false) => PairKind::Generalization,
                        Some(true) => PairKind::Correlation,
                        None => continue,
                    }
                }
            };
            out.pairs.push(RulePair {
                kind,
                earlier: id(ri),
                later: id(rj),
            });
        }
        if frame.is_some() {
            s.get().close();
        }
    }
}

/// The candidate packets of rule `r` (see [`refute::rule_packets`]), memoized by rule index.
fn packets_of<'c>(
    memo: &'c mut [Option<Vec<Packet>>],
    p: &CompiledPolicy,
    r: &CompiledRule,
    d: Direction,
) -> &'c [Packet] {
    match memo.get_mut(r.index) {
        Some(slot) => slot.get_or_insert_with(|| refute::rule_packets(p, r, d)),
        None => &[],
    }
}
