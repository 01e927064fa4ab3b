//! The rules that can take part in the verdicts of one pair of groups.
//!
//! Felix evaluates, at the sender's egress and the receiver's ingress, the policies that
//! select the endpoint, and within each the rules that match the packet (spec §4.3). A rule
//! whose peer selector matches no member of the other group matches no packet of the pair, so
//! leaving it out of the pair's verdict formula changes no answer — and in a dense tree it
//! leaves out most rules: a namespace's rules name their peers by labels. The test is sound
//! and never guesses: a peer selector matches only labelled entities (an address outside
//! every endpoint and set matches no selector, as in `analysis::concrete`); it is ruled out
//! only when its label restrictions contradict every member's ([`Restrictions`]) or a member's
//! known labels decide it false. Nets, services and `notSelector` never rule a rule out.

use super::groups::{Group, Identity, labels_decide};
use super::ir::PolicySet;
use super::prefilter::Restrictions;
use crate::model::resource::Direction;
use crate::model::selector::Expr;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Per policy and direction, per rule (by position in the direction's list), its peer
/// selector (`None`: the rule does not constrain the peer's labels), as an index into the
/// distinct peer selectors of the set, each with its label restrictions. Built once per policy
/// set, shared by every pair: a dense tree repeats a few hundred selectors over thousands of
/// rules, and each is tested against a group once ([`PeerGroup`]).
pub struct PeerIndex<'s> {
    rules: Vec<[Vec<Option<usize>>; 2]>,
    selectors: Vec<Peer<'s>>,
}

/// A peer selector with its label restrictions.
type Peer<'s> = (&'s Expr, Restrictions);

fn slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl<'s> PeerIndex<'s> {
    pub fn new(set: &'s PolicySet) -> PeerIndex<'s> {
        PeerIndex::of_policies(set, |_, _| true)
    }

    /// The index for one pair of ends: only the egress rules of the policies `fp` marks (that
    /// may select the sender) and the ingress rules of those `tp` marks, the only rules
    /// [`PairRules::new`] reads for them. A 10,000-policy tree has a hundred thousand peer
    /// selectors; one end is selected by a few hundred policies.
    pub fn for_ends(set: &'s PolicySet, fp: &[bool], tp: &[bool]) -> PeerIndex<'s> {
        PeerIndex::of_policies(set, |pi, d| {
            let marks = match d {
                Direction::Egress => fp,
                Direction::Ingress => tp,
            };
            marks.get(pi).copied().unwrap_or(false)
        })
    }

    /// The index of the rules of direction `d` of policy `pi` for which `wanted(pi, d)`; the
    /// others are left out (and must not be asked for).
    fn of_policies(set: &'s PolicySet, wanted: impl Fn(usize, Direction) -> bool) -> PeerIndex<'s> {
        let mut ids: HashMap<&'s Expr, usize> = HashMap::new();
        let mut selectors: Vec<Peer<'s>> = Vec::new();
        let mut peers = |p: &'s super::ir::CompiledPolicy, d: Direction| -> Vec<Option<usize>> {
            p.rules(d)
                .iter()
                .map(|r| {
                    // The peer is the source at ingress, the destination at egress.
                    let peer = match d {
                        Direction::Ingress => &r.source,
                        Direction::Egress => &r.destination,
                    };
                    let e = peer.selector.as_ref()?;
                    Some(*ids.entry(e).or_insert_with(|| {
                        selectors.push((e, Restrictions::of(e)));
                        selectors.len() - 1
                    }))
                })
                .collect()
        };
        let mut peers_if = |pi: usize, p, d| {
            if wanted(pi, d) {
                peers(p, d)
            } else {
                Vec::new()
            }
        };
        let rules = (set.policies.iter().enumerate())
            .map(|(pi, p)| {
                [
                    peers_if(pi, p, Direction::Ingress),
                    peers_if(pi, p, Direction::Egress),
                ]
            })
            .collect();
        PeerIndex { rules, selectors }
    }

    /// The rules of direction `d` that may match a packet whose peer is a member of `peer`,
    /// for the policies `selected` marks (the others are not evaluated for the pair).
    pub fn rules_for(&self, d: Direction, selected: &[bool], peer: &PeerGroup<'_>) -> RuleMask {
        let matches = peer.matches.get_or_init(|| {
            self.selectors
                .iter()
                .map(|(e, rs)| peer.may_match(e, rs))
                .collect()
        });
        let per_policy = self
            .rules
            .iter()
            .enumerate()
            .map(|(pi, by_direction)| {
                if !selected.get(pi).copied().unwrap_or(false) {
                    return Vec::new();
                }
                by_direction
                    .get(slot(d))
                    .map(|rules| {
                        rules
                            .iter()
                            .map(|r| r.is_none_or(|id| matches.get(id).copied().unwrap_or(true)))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        RuleMask(per_policy)
    }
}

/// A group as the peer of rules: its labelled members with their restrictions, computed once.
pub struct PeerGroup<'g> {
    members: Vec<(&'g Identity, Restrictions)>,
    /// Per distinct peer selector of the [`PeerIndex`] it is used with (one index per
    /// group: the policy set's), whether it may match a member; filled on first use.
    matches: OnceLock<Vec<bool>>,
}

impl<'g> PeerGroup<'g> {
    pub fn new(g: &'g Group) -> PeerGroup<'g> {
        PeerGroup {
            members: g
                .members
                .iter()
                .filter(|m| m.identity.entity)
                .map(|m| (&m.identity, Restrictions::of(&m.identity.as_expr())))
                .collect(),
            matches: OnceLock::new(),
        }
    }

    /// May a peer selector `e` (with restrictions `rs`) match some member?
    fn may_match(&self, e: &Expr, rs: &Restrictions) -> bool {
        self.members
            .iter()
            .any(|(id, mr)| rs.may_overlap(mr) && labels_decide(id, e) != Some(false))
    }
}

/// Per policy (index in the set), per rule position in one direction: may the rule match a
/// packet of the pair? Policies not evaluated for the pair have no entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RuleMask(Vec<Vec<bool>>);

impl RuleMask {
    /// Does rule `position` of policy `pi` take part?
    pub fn keeps(&self, pi: usize, position: usize) -> bool {
        self.0
            .get(pi)
            .and_then(|rules| rules.get(position))
            .copied()
            .unwrap_or(false)
    }

    /// How many rules take part.
    pub fn len(&self) -> usize {
        self.0.iter().flatten().filter(|k| **k).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The rules of one pair: egress rules of the policies selecting the sender that may match a
/// packet to the receiver, and ingress rules of the policies selecting the receiver that may
/// match a packet from the sender.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PairRules {
    pub egress: RuleMask,
    pub ingress: RuleMask,
}

impl PairRules {
    pub fn new(
        index: &PeerIndex<'_>,
        (from, fp): (&PeerGroup<'_>, &[bool]),
        (to, tp): (&PeerGroup<'_>, &[bool]),
    ) -> PairRules {
        PairRules {
            egress: index.rules_for(Direction::Egress, fp, to),
            ingress: index.rules_for(Direction::Ingress, tp, from),
        }
    }

    pub fn of(&self, d: Direction) -> &RuleMask {
        match d {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::groups::{GroupKind, Member};
    use std::collections::BTreeMap;

    fn workload(labels: &[(&str, &str)]) -> Group {
        Group {
            name: "w".into(),
            kind: GroupKind::Workload,
            policed: true,
            concrete: true,
            members: vec![Member {
                identity: Identity {
                    entity: true,
                    fixed: labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                    closed: true,
                    open_prefixes: Vec::new(),
                    closed_prefixes: Vec::new(),
                    selector: None,
                },
                nets: Vec::new(),
                not_nets: Vec::new(),
                named_ports: None,
            }],
            resource: None,
        }
    }

    fn may(g: &Group, selector: &str) -> bool {
        let s = crate::model::selector::Selector::parse(selector).expect("selector parses");
        let e = s.expr();
        PeerGroup::new(g).may_match(e, &Restrictions::of(e))
    }

    #[test]
    fn a_peer_selector_is_ruled_out_only_when_no_member_can_match() {
        let g = workload(&[("app", "db"), ("tier", "data")]);
        assert!(may(&g, "app == 'db'"));
        assert!(!may(&g, "app == 'web'"));
        // Known labels decide what restrictions cannot: `starts with`, and absent keys.
        assert!(!may(&g, "app starts with 'we'"));
        assert!(may(&g, "app starts with 'd'"));
        assert!(!may(&g, "has(env)"));
        assert!(may(&g, "!has(env)"));
        // Not an entity: no selector matches.
        let mut world = workload(&[]);
        world.members[0].identity.entity = false;
        assert!(!may(&world, "all()"));
    }
}
