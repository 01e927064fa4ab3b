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

use super::ir::{CompiledPolicy, CompiledRule, PolicySet};
use super::solver::Formula as Bool;
use super::solver::{Session, Universe};
use super::{Deadline, RuleId};
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
    uncertain: &HashSet<usize>,
    timeout_ms: u32,
    chunk: usize,
    deadline: Deadline,
) -> PairResults {
    let indexes: Vec<usize> = (0..set.policies.len()).collect();
    let per_policy: Vec<PairResults> = indexes
        .par_chunks(chunk.max(1))
        .flat_map_iter(|c| {
            // A fresh Z3 context per chunk, as in the main pass: answers and cores do not
            // depend on which thread ran which chunk before.
            super::solver::in_fresh_context(|| {
                let mut s = Session::new(universe, set, timeout_ms);
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
    s: &mut Session<'_>,
    set: &PolicySet,
    pi: usize,
    dead: &HashSet<RuleId>,
    deadline: Deadline,
) -> PairResults {
    let mut out = PairResults::default();
    let Some(p) = set.policies.get(pi) else {
        return out;
    };
    let (calls0, und0) = (s.calls, s.undecided);
    for d in [Direction::Ingress, Direction::Egress] {
        if p.applies(d) {
            direction_pairs(s, p, pi, d, dead, deadline, &mut out);
        }
    }
    out.calls = s.calls - calls0;
    out.undecided = s.undecided - und0 + out.skipped;
    out
}

fn direction_pairs(
    s: &mut Session<'_>,
    p: &CompiledPolicy,
    pi: usize,
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
    let scope = s.enc.selects(pi, d);
    for (a, ri) in live.iter().enumerate() {
        let later = &live[a + 1..];
        if budget == 0 || deadline.passed() {
            out.skipped += later.len();
            continue;
        }
        s.open();
        // Packets at the policy's endpoints that match `ri` and reach it.
        let before: Vec<Bool> = rules
            .iter()
            .take(ri.index)
            .filter(|e| e.is_terminal())
            .map(|e| s.enc.rule(id(e)).not())
            .collect();
        let mut base_conds = vec![scope.clone(), s.enc.rule(id(ri))];
        base_conds.extend(before);
        let base = s.guard(&base_conds);
        // No packet reaches `ri` (e.g. the policy selects nothing, which the main pass reports
        // without looking at rules): every "for all its packets" verdict would be vacuous.
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
            let r_j = s.enc.rule(id(rj));
            let lits = s.guard(&[r_j.clone(), r_j.not()]);
            let (in_j, not_in_j) = (lits[0].clone(), lits[1].clone());
            let with =
                |extra: &[Bool]| -> Vec<Bool> { base.iter().chain(extra).cloned().collect() };
            if ri.action == rj.action {
                if superseded {
                    continue;
                }
                // Deleting `ri` hands its packets to the later rules: pointless when `rj`
                // takes all of them and no rule in between decides differently.
                let between: Vec<Bool> = rules
                    .iter()
                    .skip(ri.index + 1)
                    .take(rj.index.saturating_sub(ri.index + 1))
                    .filter(|k| k.is_terminal() && k.action != ri.action)
                    .map(|k| s.enc.rule(id(k)))
                    .collect();
                let mut escape = vec![r_j.not()];
                escape.extend(between);
                let esc = s.guard(&[Bool::or(&escape)]);
                if s.holds(&with(&esc)) == Some(false) {
                    superseded = true;
                    out.pairs.push(RulePair {
                        kind: PairKind::Superseded,
                        earlier: id(ri),
                        later: id(rj),
                    });
                }
                continue;
            }
            if s.holds(&with(&[in_j])) != Some(true) {
                continue; // disjoint (or undecided): order does not matter
            }
            let kind = match s.holds(&with(&[not_in_j])) {
                Some(false) => PairKind::Generalization,
                Some(true) => PairKind::Correlation,
                None => continue,
            };
            out.pairs.push(RulePair {
                kind,
                earlier: id(ri),
                later: id(rj),
            });
        }
        s.close();
    }
}
