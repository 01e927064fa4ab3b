//! Pairs of groups that ask the solver the same question.
//!
//! For a discovered workload (one member whose labels are all known), every policy selector
//! and every peer selector is decided by its labels. The verdicts of a pair of such groups then
//! depend only on which rules take part, in which tiers, and on what the members say besides
//! their labels (addresses, named ports): the labels themselves only decide selectors, and once
//! those are decided the rest of the question is the same. [`PairKey`] is exactly that
//! description, so two pairs with equal keys have equal verdicts and allowed ports, and
//! `graph` solves each key once. A pair with anything undecided (a selector group, several
//! members, a selector its labels do not decide) has no key and is solved on its own.

use super::groups::{Group, Member, labels_decide};
use super::ir::{Entity, PolicySet};
use super::pair_rules::PairRules;
use crate::model::net::Cidr;
use crate::model::resource::Direction;
use std::collections::BTreeMap;

/// What a pair's verdicts depend on, when everything its labels decide is decided.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PairKey {
    from: EndKey,
    to: EndKey,
    /// The sender's egress and the receiver's ingress (`None`: the end is not policed).
    egress: Option<Vec<TierKey>>,
    ingress: Option<Vec<TierKey>>,
}

/// An end of the pair without its labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct EndKey {
    policed: bool,
    entity: bool,
    nets: Vec<Cidr>,
    not_nets: Vec<Cidr>,
    named_ports: Option<BTreeMap<String, (u8, u16)>>,
}

/// A tier in which some policy selects the end: its place, its default, and the rules that
/// may match (policy index, position in the direction's list), in evaluation order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct TierKey {
    tier: usize,
    default_pass: bool,
    rules: Vec<(usize, usize)>,
}

/// The single member of a group whose labels decide every selector, if it has one.
fn decided_member(g: &Group) -> Option<&Member> {
    match g.members.as_slice() {
        [m] if !m.identity.entity || m.identity.selector.is_none() => Some(m),
        _ => None,
    }
}

/// Does the entity part of a rule match the member, as far as labels go? `None`: undecided.
fn entity_decided(e: &Entity, m: &Member) -> Option<bool> {
    let id = &m.identity;
    let selected = match &e.selector {
        None => true,
        Some(_) if !id.entity => false,
        Some(sel) => labels_decide(id, sel)?,
    };
    let excluded = match &e.not_selector {
        Some(sel) if id.entity => labels_decide(id, sel)?,
        _ => false,
    };
    Some(selected && !excluded)
}

/// The enforced policies of each tier, in evaluation order: built once for all pairs.
pub struct TierPolicies(Vec<(usize, bool, Vec<usize>)>);

impl TierPolicies {
    pub fn new(set: &PolicySet) -> TierPolicies {
        TierPolicies(
            set.tiers
                .iter()
                .enumerate()
                .map(|(ti, tier)| {
                    let policies = set
                        .policies
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.tier == tier.name && !p.staged)
                        .map(|(pi, _)| pi)
                        .collect();
                    (ti, tier.default_pass, policies)
                })
                .collect(),
        )
    }
}

impl PairKey {
    /// The key of the pair (`from`, `to`), whose ends may be selected by the policies `fp` /
    /// `tp` mark and whose rules `rules` keeps; `None` when something is undecided.
    pub fn of(
        set: &PolicySet,
        tiers: &TierPolicies,
        (from, fp): (&Group, &[bool]),
        (to, tp): (&Group, &[bool]),
        rules: &PairRules,
    ) -> Option<PairKey> {
        let (a, b) = (decided_member(from)?, decided_member(to)?);
        let end = |g: &Group, m: &Member| EndKey {
            policed: g.policed,
            entity: m.identity.entity,
            nets: m.nets.clone(),
            not_nets: m.not_nets.clone(),
            named_ports: m.named_ports.clone(),
        };
        let chain = |d: Direction, local: &Member, keep: &[bool]| -> Option<Vec<TierKey>> {
            let mask = rules.of(d);
            let mut out = Vec::new();
            for (ti, default_pass, policies) in &tiers.0 {
                let mut applies = false;
                let mut taking_part = Vec::new();
                for &pi in policies {
                    let Some(p) = set.policies.get(pi) else {
                        continue;
                    };
                    if !p.applies(d) || !keep.get(pi).copied().unwrap_or(false) {
                        continue;
                    }
                    let selects =
                        local.identity.entity && labels_decide(&local.identity, &p.selector)?;
                    if !selects {
                        continue;
                    }
                    applies = true;
                    for (position, r) in p.rules(d).iter().enumerate() {
                        if !r.is_terminal() || !mask.keeps(pi, position) {
                            continue;
                        }
                        if entity_decided(&r.source, a)? && entity_decided(&r.destination, b)? {
                            taking_part.push((pi, position));
                        }
                    }
                }
                if applies {
                    out.push(TierKey {
                        tier: *ti,
                        default_pass: *default_pass,
                        rules: taking_part,
                    });
                }
            }
            Some(out)
        };
        let egress = if from.policed {
            Some(chain(Direction::Egress, a, fp)?)
        } else {
            None
        };
        let ingress = if to.policed {
            Some(chain(Direction::Ingress, b, tp)?)
        } else {
            None
        };
        Some(PairKey {
            from: end(from, a),
            to: end(to, b),
            egress,
            ingress,
        })
    }
}
