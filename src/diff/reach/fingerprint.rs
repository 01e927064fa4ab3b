//! Which pairs of groups a diff must solve: fingerprints of what a pair's verdicts can depend
//! on, per side. Per group, its definition and the meaning of every policy that may select it
//! (for its egress and its ingress); per pair, the same keeping only the rules that may match
//! the pair's packets ([`PairRelevance`]). A pair whose fingerprints are equal on both sides
//! cannot have changed. `diff` also reads [`policy_meaning`] to follow renamed policies.

use crate::analysis::groups::Group;
use crate::analysis::ir::{CompiledPolicy, NAMESPACE_LABEL, PolicySet};
use crate::analysis::prefilter::Restrictions;
use crate::model::resource::Direction;
use crate::model::selector::Expr;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

/// What a policy means for the verdicts of endpoints it selects: everything but its name,
/// resource index and rule positions (its place in evaluation order is kept by the caller).
pub(crate) fn policy_meaning(set: &PolicySet, p: &CompiledPolicy) -> u64 {
    let mut h = DefaultHasher::new();
    policy_meaning_in(set, p, Direction::Ingress).hash(&mut h);
    policy_meaning_in(set, p, Direction::Egress).hash(&mut h);
    h.finish()
}

/// [`policy_meaning`] for one direction: a policy that does not apply in `d` means nothing
/// there (Felix skips it), so a change to its other direction changes nothing here.
fn policy_meaning_in(set: &PolicySet, p: &CompiledPolicy, d: Direction) -> u64 {
    let mut h = DefaultHasher::new();
    p.applies(d).hash(&mut h);
    if p.applies(d) {
        p.tier.hash(&mut h);
        set.tier(&p.tier).map(|t| t.default_pass).hash(&mut h);
        p.staged.hash(&mut h);
        format!("{:?}", p.selector).hash(&mut h);
        let rules = p.rules(d);
        rules.len().hash(&mut h);
        for r in rules {
            r.meaning_hash().hash(&mut h);
        }
    }
    h.finish()
}

/// A group's definition without its name and resource index. Address lists are sets: their
/// order follows file order (the world excludes every network set's nets in the order the
/// files were read), and moving a file must not make the group look changed.
fn group_meaning(g: &Group) -> u64 {
    let mut h = DefaultHasher::new();
    let mut members = g.members.clone();
    for m in &mut members {
        m.nets.sort_unstable();
        m.nets.dedup();
        m.not_nets.sort_unstable();
        m.not_nets.dedup();
    }
    format!("{:?}|{}|{}|{:?}", g.kind, g.policed, g.concrete, members).hash(&mut h);
    h.finish()
}

/// Per group on one side: which policies may select it, and two fingerprints, for its
/// egress (as a source) and its ingress (as a destination).
pub(super) type Fingerprints = (Vec<Vec<bool>>, Vec<(u64, u64)>);

pub(super) fn fingerprints(set: &PolicySet, groups: &[&Group]) -> Fingerprints {
    use rayon::prelude::*;
    let meanings: Vec<(u64, u64)> = set
        .policies
        .iter()
        .map(|p| {
            (
                policy_meaning_in(set, p, Direction::Egress),
                policy_meaning_in(set, p, Direction::Ingress),
            )
        })
        .collect();
    // `Group::selectable`, with each policy's restrictions computed once for all groups.
    let restrictions: Vec<Restrictions> = set
        .policies
        .par_iter()
        .map(|p| Restrictions::of(&p.selector))
        .collect();
    let policy_ns: Vec<Option<&str>> = restrictions
        .iter()
        .map(|r| r.single_value(NAMESPACE_LABEL))
        .collect();
    groups
        .par_iter()
        .map(|g| {
            let members = g.entity_restrictions();
            // Namespaces first: a policy of one namespace never selects an endpoint of
            // another (the same answer `may_overlap` gives, without merging label maps).
            let member_ns: Vec<Option<&str>> = members
                .iter()
                .map(|m| m.single_value(NAMESPACE_LABEL))
                .collect();
            let sel: Vec<bool> = restrictions
                .iter()
                .zip(&policy_ns)
                .map(|(pr, pns)| {
                    members
                        .iter()
                        .zip(&member_ns)
                        .any(|(m, mns)| match (pns, mns) {
                            (Some(a), Some(b)) if a != b => false,
                            _ => pr.may_overlap(m),
                        })
                })
                .collect();
            let (mut out, mut inn) = (DefaultHasher::new(), DefaultHasher::new());
            let def = group_meaning(g);
            def.hash(&mut out);
            def.hash(&mut inn);
            // Policies apply only at policed ends (network sets and the world are not
            // Calico endpoints): an unpoliced group's verdicts depend on its definition alone.
            if g.policed {
                for ((e, i), s) in meanings.iter().zip(&sel) {
                    if *s {
                        e.hash(&mut out);
                        i.hash(&mut inn);
                    }
                }
            }
            (sel, (out.finish(), inn.finish()))
        })
        .unzip()
}

/// Per-pair fingerprints on one side: what the verdicts of packets from group `a` to group `b`
/// can depend on. Felix evaluates, at `a`'s egress and `b`'s ingress, the policies that select
/// the endpoint, in order, and within each the rules that match the packet; a rule that matches
/// no packet of the pair is skipped and changes nothing there. So the fingerprint keeps, per
/// policy that may select the end, its place (tier, tier default, selector) and only the rules
/// whose peer may be a member of the other group: a peer selector matches only labelled
/// entities (an address outside every endpoint and set matches no selector, as in
/// `analysis::concrete`), checked with the same sound over-approximation as `graph`'s
/// prefilter; nets, services and `notSelector` are never used to rule a rule out, so the test
/// never drops a rule that could matter.
pub(super) struct PairRelevance<'a> {
    set: &'a PolicySet,
    groups: &'a [&'a Group],
    selectable: &'a [Vec<bool>],
    /// Per group, its entity members' label restrictions, and its definition's hash.
    members: Vec<Vec<Restrictions>>,
    definitions: Vec<u64>,
    /// Per policy and direction: the policy's header hash, and per rule its hash and the
    /// peer selector on the other end (an index into `peers`; `None`: no label constraint).
    policies: Vec<[PolicyDigest; 2]>,
    /// The distinct peer selectors' restrictions: a dense tree repeats a few hundred over
    /// thousands of rules.
    peers: Vec<Restrictions>,
    /// Per group, per distinct peer selector: may it match a member? Filled on first use.
    matches: Vec<OnceLock<Vec<bool>>>,
}

struct PolicyDigest {
    header: u64,
    rules: Vec<(u64, Option<usize>)>,
}

fn direction_slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl<'a> PairRelevance<'a> {
    pub(super) fn new(
        set: &'a PolicySet,
        groups: &'a [&'a Group],
        selectable: &'a [Vec<bool>],
    ) -> Self {
        let members = groups.iter().map(|g| g.entity_restrictions()).collect();
        let definitions = groups.iter().map(|g| group_meaning(g)).collect();
        let mut ids: HashMap<&Expr, usize> = HashMap::new();
        let mut peers: Vec<Restrictions> = Vec::new();
        let mut digest = |p: &'a CompiledPolicy, d: Direction| {
            let mut h = DefaultHasher::new();
            p.applies(d).hash(&mut h);
            p.tier.hash(&mut h);
            set.tier(&p.tier).map(|t| t.default_pass).hash(&mut h);
            p.staged.hash(&mut h);
            format!("{:?}", p.selector).hash(&mut h);
            let rules = p
                .rules(d)
                .iter()
                .map(|r| {
                    // The peer is the source at ingress, the destination at egress.
                    let peer = match d {
                        Direction::Ingress => &r.source,
                        Direction::Egress => &r.destination,
                    };
                    let id = peer.selector.as_ref().map(|e| {
                        *ids.entry(e).or_insert_with(|| {
                            peers.push(Restrictions::of(e));
                            peers.len() - 1
                        })
                    });
                    (r.meaning_hash(), id)
                })
                .collect();
            PolicyDigest {
                header: h.finish(),
                rules,
            }
        };
        let policies = set
            .policies
            .iter()
            .map(|p| [digest(p, Direction::Ingress), digest(p, Direction::Egress)])
            .collect();
        PairRelevance {
            set,
            groups,
            selectable,
            members,
            definitions,
            policies,
            peers,
            matches: groups.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    /// May a rule whose peer selector is `peer` (an index into `peers`) match a member of
    /// group `g`?
    fn may_match(&self, peer: Option<usize>, g: usize) -> bool {
        let Some(peer) = peer else { return true };
        let (Some(labelled), Some(memo)) = (self.members.get(g), self.matches.get(g)) else {
            return true;
        };
        let matches = memo.get_or_init(|| {
            self.peers
                .iter()
                .map(|p| labelled.iter().any(|m| p.may_overlap(m)))
                .collect()
        });
        matches.get(peer).copied().unwrap_or(true)
    }

    pub(super) fn meaning(&self, a: usize, b: usize) -> u64 {
        let mut h = DefaultHasher::new();
        for (end, other, d) in [(a, b, Direction::Egress), (b, a, Direction::Ingress)] {
            let Some(g) = self.groups.get(end) else {
                continue;
            };
            self.definitions.get(end).hash(&mut h);
            if !g.policed {
                continue;
            }
            let Some(sel) = self.selectable.get(end) else {
                continue;
            };
            for (pi, _) in self.set.policies.iter().enumerate() {
                if !sel.get(pi).copied().unwrap_or(true) {
                    continue;
                }
                let Some(digest) = self.policies.get(pi).and_then(|x| x.get(direction_slot(d)))
                else {
                    continue;
                };
                digest.header.hash(&mut h);
                for (rule, peer) in &digest.rules {
                    if self.may_match(*peer, other) {
                        rule.hash(&mut h);
                    }
                }
                // A marker between policies, so rules cannot move from one to the next unseen.
                u8::MAX.hash(&mut h);
            }
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::groups::discover;

    #[test]
    fn group_meaning_ignores_address_order() {
        let net = |a: u128| crate::model::net::Cidr {
            family: crate::model::net::IpFamily::V4,
            addr: a,
            prefix: 32,
        };
        let project = crate::project::Project::default();
        let mut w1 = crate::analysis::groups::world(&project);
        if let Some(m) = w1.members.first_mut() {
            m.not_nets = vec![net(1), net(2)];
        }
        let mut w2 = w1.clone();
        if let Some(m) = w2.members.first_mut() {
            m.not_nets = vec![net(2), net(1)];
        }
        assert_eq!(group_meaning(&w1), group_meaning(&w2));
        if let Some(m) = w2.members.first_mut() {
            m.not_nets = vec![net(3)];
        }
        assert_ne!(group_meaning(&w1), group_meaning(&w2));
    }

    #[test]
    fn selectable_as_group_selectable() {
        let opts = crate::check::CheckOptions {
            analysis: None,
            paths: vec![std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples"
            ))],
            ..crate::check::CheckOptions::default()
        };
        let project = crate::check::load_project(&opts).expect("examples load");
        let set = PolicySet::from_project(&project);
        let groups = discover(&project);
        let refs: Vec<&Group> = groups.iter().collect();
        let (sel, _) = fingerprints(&set, &refs);
        let expected: Vec<Vec<bool>> = groups.iter().map(|g| g.selectable(&set)).collect();
        assert_eq!(sel, expected);
        assert!(sel.iter().flatten().any(|b| *b) && sel.iter().flatten().any(|b| !*b));
    }
}
