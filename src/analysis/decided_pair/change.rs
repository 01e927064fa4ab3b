//! Whether a change between two policy sets can alter what a decided pair allows, answered by
//! walking only the packets the change touches (for `diff`, before it solves a pair twice).
//!
//! Seen from one policed end and one direction, a side is its applying tiers in order, each a
//! flat first-match list of terminal rules and an end (Deny, or Pass for a tier whose default
//! is Pass). When both sides have as many applying tiers with the same ends, pair the rules of
//! each tier by their meaning (a longest common subsequence, `similar`'s Myers diff): a packet
//! that no removed, added or edited rule matches meets, on both sides, the same matching rules
//! in the same order, so the same one decides it. The verdicts can then differ only on packets
//! some changed rule matches. [`ChangeScreen::unchanged`] walks exactly those packets on both
//! sides, with only the rules that may meet them (a per-rule hull test, done once per end), and
//! compares the verdicts piece by piece. It answers `true` only when that proves the pair's
//! verdict for every packet equal on both sides; anything it cannot decide this way (an end the
//! labels do not decide, tiers that differ, a service or HTTP match, a walk over its budget)
//! answers `false`, and the caller solves the pair. Budgets count steps, never time.

use super::{Pair, decided_member, everything, selects_end};
use crate::analysis::groups::{Group, Member};
use crate::analysis::ir::{CompiledRule, PolicySet, PortMatch};
use crate::analysis::region::{Box7, Entry, FIELDS, Field, Step, TierEntries, Values, walk};
use crate::model::net::IpFamily;
use crate::model::resource::{Action, Direction};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Steps the walks of one pair may take before the screen gives up (and the pair is solved).
const PAIR_BUDGET: u64 = 2_000_000;

/// One side of a change: its policy set, its groups (the same names, in the same order, on
/// both sides) and, per group, the policies that may select it (a sound over-approximation,
/// such as `Group::selectable`).
pub struct ScreenSide<'a> {
    pub set: &'a PolicySet,
    pub groups: &'a [&'a Group],
    pub selectable: &'a [Vec<bool>],
}

/// A rule of one side: (policy index, position in the direction's list).
type RuleAt = (usize, usize);

/// What changed at one end in one direction: per side, the rules removed (base) or added
/// (head), and the applying tiers with the rules that may meet the packets those match.
struct EndChange {
    changed: [Vec<RuleAt>; 2],
    relevant: [Vec<(Vec<RuleAt>, Step)>; 2],
}

/// Screens pairs of groups for a change that cannot alter them; see the module doc.
pub struct ChangeScreen<'a> {
    sides: [ScreenSide<'a>; 2],
    /// Per side, per policy: the meaning hashes of its ingress and egress rules.
    meanings: [Vec<[Vec<u64>; 2]>; 2],
    /// Per side, tier name → position in evaluation order.
    tier_index: [HashMap<&'a str, usize>; 2],
    /// Per group and direction (ingress, egress), filled on first use; `None`: not screened.
    ends: Vec<[OnceLock<Option<EndChange>>; 2]>,
}

fn slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

fn step_of(r: &CompiledRule) -> Step {
    match r.action {
        Action::Allow => Step::Allow,
        Action::Pass => Step::Pass,
        _ => Step::Deny,
    }
}

impl<'a> ChangeScreen<'a> {
    pub fn new(base: ScreenSide<'a>, head: ScreenSide<'a>) -> ChangeScreen<'a> {
        let meanings = |s: &ScreenSide<'_>| -> Vec<[Vec<u64>; 2]> {
            use rayon::prelude::*;
            s.set
                .policies
                .par_iter()
                .map(|p| {
                    [Direction::Ingress, Direction::Egress]
                        .map(|d| p.rules(d).iter().map(CompiledRule::meaning_hash).collect())
                })
                .collect()
        };
        let tiers = |s: &ScreenSide<'a>| -> HashMap<&'a str, usize> {
            let set: &'a PolicySet = s.set;
            (set.tiers.iter().enumerate())
                .map(|(i, t)| (t.name.as_str(), i))
                .collect()
        };
        let n = base.groups.len().max(head.groups.len());
        ChangeScreen {
            meanings: [meanings(&base), meanings(&head)],
            tier_index: [tiers(&base), tiers(&head)],
            ends: (0..n).map(|_| [OnceLock::new(), OnceLock::new()]).collect(),
            sides: [base, head],
        }
    }

    /// True only when no packet from group `a` to group `b` can be decided differently on the
    /// two sides (so the pair's verdict and allowed ports are the same).
    pub fn unchanged(&self, a: usize, b: usize) -> bool {
        self.prove_unchanged(a, b).unwrap_or(false)
    }

    fn prove_unchanged(&self, a: usize, b: usize) -> Option<bool> {
        let (src, dst) = (self.member(a)?, self.member(b)?);
        let mut budget = PAIR_BUDGET;
        for (end, d) in [(a, Direction::Egress), (b, Direction::Ingress)] {
            if !self.sides[0].groups.get(end)?.policed {
                // Not a Calico endpoint on either side (the groups are equal): allowed alike.
                continue;
            }
            let change = self.end(end, d)?;
            if change.changed.iter().all(Vec::is_empty) {
                continue;
            }
            for fam in [IpFamily::V4, IpFamily::V6] {
                let pair = Pair { fam, src, dst };
                if !self.same_in_family(&pair, d, change, &mut budget)? {
                    return Some(false);
                }
            }
        }
        Some(true)
    }

    /// The member of group `i` whose labels decide every selector, when the group is the same
    /// (one such member, same flags) on both sides.
    fn member(&self, i: usize) -> Option<&'a Member> {
        let (gb, gh) = (*self.sides[0].groups.get(i)?, *self.sides[1].groups.get(i)?);
        let same = gb.policed == gh.policed && gb.kind == gh.kind && gb.members == gh.members;
        if !same {
            return None;
        }
        decided_member(gb)
    }

    fn end(&self, g: usize, d: Direction) -> Option<&EndChange> {
        self.ends
            .get(g)?
            .get(slot(d))?
            .get_or_init(|| self.end_change(g, d))
            .as_ref()
    }

    /// The applying tiers at group `g`'s end in direction `d` on side `s`: each with its
    /// terminal rules in evaluation order, and its end. `None`: the labels do not decide
    /// which policies select the end.
    fn tiers(&self, s: usize, g: usize, d: Direction) -> Option<Vec<(Vec<RuleAt>, Step)>> {
        let side = &self.sides[s];
        let local = decided_member(side.groups.get(g)?)?;
        let candidates = side.selectable.get(g)?;
        let mut by_tier: Vec<Option<Vec<RuleAt>>> = vec![None; side.set.tiers.len()];
        for (pi, p) in side.set.policies.iter().enumerate() {
            if !selects_end(p, candidates, pi, local, d)? {
                continue;
            }
            let tier = *self.tier_index[s].get(p.tier.as_str())?;
            let rules = by_tier.get_mut(tier)?.get_or_insert_with(Vec::new);
            for (position, r) in p.rules(d).iter().enumerate() {
                if r.is_terminal() {
                    rules.push((pi, position));
                }
            }
        }
        Some(
            by_tier
                .into_iter()
                .zip(&side.set.tiers)
                .filter_map(|(rules, tier)| {
                    let end = if tier.default_pass {
                        Step::Pass
                    } else {
                        Step::Deny
                    };
                    Some((rules?, end))
                })
                .collect(),
        )
    }

    fn meaning(&self, s: usize, d: Direction, (pi, position): RuleAt) -> u64 {
        self.meanings[s]
            .get(pi)
            .and_then(|m| m[slot(d)].get(position))
            .copied()
            .unwrap_or(0)
    }

    fn rule(&self, s: usize, d: Direction, (pi, position): RuleAt) -> Option<&'a CompiledRule> {
        let set: &'a PolicySet = self.sides[s].set;
        set.policies.get(pi)?.rules(d).get(position)
    }

    /// What changed at group `g`'s end in direction `d`; `None` when the screen cannot tell
    /// (the labels do not decide the selecting policies, or the applying tiers differ).
    fn end_change(&self, g: usize, d: Direction) -> Option<EndChange> {
        let before = self.tiers(0, g, d)?;
        let after = self.tiers(1, g, d)?;
        if before.len() != after.len() || before.iter().zip(&after).any(|(x, y)| x.1 != y.1) {
            return None;
        }
        let mut changed: [Vec<RuleAt>; 2] = [Vec::new(), Vec::new()];
        for ((rb, _), (rh, _)) in before.iter().zip(&after) {
            let hb: Vec<u64> = rb.iter().map(|&r| self.meaning(0, d, r)).collect();
            let hh: Vec<u64> = rh.iter().map(|&r| self.meaning(1, d, r)).collect();
            for op in similar::capture_diff_slices(similar::Algorithm::Myers, &hb, &hh) {
                let (tag, old, new) = op.as_tag_tuple();
                if tag == similar::DiffTag::Equal {
                    continue;
                }
                changed[0].extend(old.filter_map(|i| rb.get(i).copied()));
                changed[1].extend(new.filter_map(|i| rh.get(i).copied()));
            }
        }
        // Every packet a changed rule may match, over-approximated per family.
        let touched: Vec<(IpFamily, Box7)> = (0..2)
            .flat_map(|s| changed[s].iter().map(move |&r| (s, r)))
            .filter_map(|(s, r)| self.rule(s, d, r))
            .flat_map(hulls)
            .collect();
        let mut relevant = [before, after];
        for (s, tiers) in relevant.iter_mut().enumerate() {
            for (rules, _) in tiers.iter_mut() {
                rules.retain(|&r| {
                    self.rule(s, d, r).is_some_and(|rule| {
                        hulls(rule).iter().any(|(fam, h)| {
                            touched.iter().any(|(f, t)| {
                                f == fam && (0..FIELDS).all(|i| h.0[i].meets(&t.0[i]))
                            })
                        })
                    })
                });
            }
        }
        Some(EndChange { changed, relevant })
    }

    /// Whether every packet of `pair`'s family that a changed rule matches is decided alike
    /// on both sides in direction `d`; `None`: not decided by the labels, or over budget.
    fn same_in_family(
        &self,
        pair: &Pair<'_>,
        d: Direction,
        change: &EndChange,
        budget: &mut u64,
    ) -> Option<bool> {
        let space = pair.space();
        if space.is_empty() {
            return Some(true);
        }
        let mut touched: Vec<Box7> = Vec::new();
        for (s, rules) in change.changed.iter().enumerate() {
            for &r in rules {
                let rule = self.rule(s, d, r)?;
                if !pair.takes_part(rule)? {
                    continue;
                }
                for mut b in pair.rule(rule)? {
                    for f in 0..FIELDS {
                        b.0[f] = b.0[f].intersect(&space.0[f]);
                    }
                    if !b.is_empty() {
                        touched.push(b);
                    }
                }
            }
        }
        if touched.is_empty() {
            return Some(true);
        }
        let before = self.entries(pair, 0, d, change)?;
        let after = self.entries(pair, 1, d, change)?;
        for region in touched {
            let mut pieces: Vec<(Box7, bool)> = Vec::new();
            walk(&before, region, budget, &mut |p, ok| pieces.push((p, ok))).ok()?;
            for (piece, ok) in pieces {
                let mut differs = false;
                walk(&after, piece, budget, &mut |_, ok_after| {
                    differs |= ok_after != ok
                })
                .ok()?;
                if differs {
                    return Some(false);
                }
            }
        }
        Some(true)
    }

    /// Side `s`'s relevant rules at this end as the walk's entries for `pair`; `None`: a rule
    /// the labels do not decide.
    fn entries(
        &self,
        pair: &Pair<'_>,
        s: usize,
        d: Direction,
        change: &EndChange,
    ) -> Option<Vec<TierEntries>> {
        let mut out = Vec::new();
        for (rules, end) in &change.relevant[s] {
            let mut entries = Vec::new();
            for &r in rules {
                let rule = self.rule(s, d, r)?;
                if !pair.takes_part(rule)? {
                    continue;
                }
                let step = step_of(rule);
                entries.extend(
                    pair.rule(rule)?
                        .into_iter()
                        .map(|when| Entry { when, step }),
                );
            }
            out.push(TierEntries { entries, end: *end });
        }
        Some(out)
    }
}

/// Per family the rule is rendered for, a box holding every packet it may match whatever the
/// two ends are: its protocol, ICMP type and code, nets and numeric destination and source
/// ports; selectors, `not` fields, services and named ports are left out (they only narrow).
fn hulls(r: &CompiledRule) -> Vec<(IpFamily, Box7)> {
    let mut out = Vec::new();
    for (fam, rendered) in [(IpFamily::V4, r.v4), (IpFamily::V6, r.v6)] {
        if !rendered {
            continue;
        }
        let mut b = everything();
        if let Some(p) = r.protocol {
            b.narrow(Field::Protocol, &Values::single(u128::from(p)));
        }
        if let Some(m) = &r.icmp {
            if let Some(t) = m.icmp_type {
                b.narrow(Field::IcmpType, &Values::single(u128::from(t)));
            }
            if let Some(c) = m.code {
                b.narrow(Field::IcmpCode, &Values::single(u128::from(c)));
            }
        }
        for (e, ip, port) in [
            (&r.source, Field::SrcIp, Field::SrcPort),
            (&r.destination, Field::DstIp, Field::DstPort),
        ] {
            let nets: Vec<(u128, u128)> = e
                .nets
                .iter()
                .filter(|c| c.family == fam)
                .map(|c| (c.first(), c.last()))
                .collect();
            if !e.nets.is_empty() {
                b.narrow(ip, &Values::from_ranges(nets));
            }
            let numeric: Option<Vec<(u128, u128)>> = e
                .ports
                .iter()
                .map(|p| match p {
                    PortMatch::Range(lo, hi) => Some((u128::from(*lo), u128::from(*hi))),
                    PortMatch::Named(_) => None,
                })
                .collect();
            if let Some(ranges) = numeric.filter(|_| !e.ports.is_empty()) {
                b.narrow(port, &Values::from_ranges(ranges));
            }
        }
        if !b.is_empty() {
            out.push((fam, b));
        }
    }
    out
}
