//! Reachability changes between two sides: for every ordered pair of groups of either side,
//! did the change open, close or change the allowed connections?
//!
//! Cost control: a pair's verdict depends only on the two groups' definitions and on the
//! policies that may select either group (the same sound prefilter `graph` uses), in
//! evaluation order. Each group gets a fingerprint per side built from exactly that; a pair
//! whose two fingerprints are equal on both sides cannot have changed and is not solved. The
//! other pairs get a verdict and port summary per side (one solver session per worker, as
//! `graph`), and only pairs whose summaries differ get full `reach` answers, a witness packet
//! whose verdict differs (checked with the concrete evaluator on both sides), and the
//! deciding rules of that packet on both sides.

use super::Side;
use crate::analysis::concrete::{self, Packet};
use crate::analysis::graph::pair_summaries;
use crate::analysis::groups::{Group, discover, resolve_named};
use crate::analysis::ir::{CompiledPolicy, NAMESPACE_LABEL, PolicySet};
use crate::analysis::prefilter::Restrictions;
use crate::analysis::reach::{
    AllowedProtocol, Decision, ReachOptions, ReachResult, Verdict, decisions_for, reach,
};
use crate::model::resource::Direction;
use crate::progress::NoProgress;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Denied before; allowed or partly allowed after.
    Opened,
    /// Allowed or partly allowed before; denied after.
    Closed,
    /// Allowed on both sides, but not the same protocols, ports or packets.
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Opened => "opened",
            Change::Closed => "closed",
            Change::Changed => "changed",
        }
    }
}

/// A pair's verdict and allowed protocols/ports on one side.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub verdict: Verdict,
    pub allowed: Vec<AllowedProtocol>,
}

/// One pair whose reachability changed.
#[derive(Clone, Debug)]
pub struct PairChange {
    pub from: String,
    pub to: String,
    pub change: Change,
    pub before: Summary,
    pub after: Summary,
    /// A packet allowed on one side and denied on the other (checked by the concrete
    /// evaluator), when one was found.
    pub example: Option<Packet>,
    /// Rules deciding the example (or, without one, each side's own examples): base, head.
    pub decided_before: Vec<Decision>,
    pub decided_after: Vec<Decision>,
}

/// The reachability part of a diff.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub changes: Vec<PairChange>,
    /// Ordered pairs considered, and how many had to be solved (relevant policies or group
    /// definitions differ).
    pub pairs: usize,
    pub pairs_solved: usize,
    pub groups: usize,
    /// Solver queries that timed out (some changes may be missing).
    pub undecided: usize,
}

/// The groups to compare, by name: each side's definition (the other side's when the group
/// exists on one side only, so a new workload is judged by both policy sets).
fn unify(
    base: &Side,
    head: &Side,
    defs: &[crate::config::GroupDef],
) -> Result<Vec<(Group, Group)>, String> {
    let side_groups = |s: &Side| -> Vec<Result<Group, String>> {
        if defs.is_empty() {
            discover(&s.project).into_iter().map(Ok).collect()
        } else {
            defs.iter()
                .map(|d| resolve_named(&s.project, defs, &d.name.value))
                .collect()
        }
    };
    let (b, h) = (side_groups(base), side_groups(head));
    let mut order: Vec<String> = Vec::new();
    let mut by_name: BTreeMap<String, (Option<Group>, Option<Group>)> = BTreeMap::new();
    let mut errors = Vec::new();
    for (which, list) in [(0, b), (1, h)] {
        for g in list {
            match g {
                Ok(g) => {
                    let slot = by_name.entry(g.name.clone()).or_insert_with(|| {
                        order.push(g.name.clone());
                        (None, None)
                    });
                    if which == 0 {
                        slot.0 = Some(g);
                    } else {
                        slot.1 = Some(g);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    // A configured group that resolves on neither side is an error; on one side only, the
    // other side's definition is used.
    if !defs.is_empty() {
        for d in defs {
            if !by_name.contains_key(&d.name.value) {
                return Err(errors
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| format!("group `{}` cannot be resolved", d.name.value)));
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|n| match by_name.remove(&n)? {
            (Some(b), Some(h)) => Some((b, h)),
            (Some(b), None) => Some((b.clone(), b)),
            (None, Some(h)) => Some((h.clone(), h)),
            (None, None) => None,
        })
        .collect())
}

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
            let mut r = r.clone();
            r.pointer.clear();
            r.index = 0;
            format!("{r:?}").hash(&mut h);
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
type Fingerprints = (Vec<Vec<bool>>, Vec<(u64, u64)>);

fn fingerprints(set: &PolicySet, groups: &[&Group]) -> Fingerprints {
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
            let members: Vec<Restrictions> = g
                .members
                .iter()
                .filter(|m| m.identity.entity)
                .map(|m| Restrictions::of(&m.identity.as_expr()))
                .collect();
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
struct PairRelevance<'a> {
    set: &'a PolicySet,
    groups: &'a [&'a Group],
    selectable: &'a [Vec<bool>],
    /// Per group, its entity members' label restrictions.
    members: Vec<Vec<Restrictions>>,
    /// Per policy and direction: the policy's header hash, and per rule its hash and the
    /// restrictions of the peer selector on the other end (`None`: no label constraint).
    policies: Vec<[PolicyDigest; 2]>,
}

struct PolicyDigest {
    header: u64,
    rules: Vec<(u64, Option<Restrictions>)>,
}

fn direction_slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl<'a> PairRelevance<'a> {
    fn new(set: &'a PolicySet, groups: &'a [&'a Group], selectable: &'a [Vec<bool>]) -> Self {
        let members = groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .filter(|m| m.identity.entity)
                    .map(|m| Restrictions::of(&m.identity.as_expr()))
                    .collect()
            })
            .collect();
        let digest = |p: &CompiledPolicy, d: Direction| {
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
                    let mut r = r.clone();
                    r.pointer.clear();
                    r.index = 0;
                    let mut rh = DefaultHasher::new();
                    format!("{r:?}").hash(&mut rh);
                    (rh.finish(), peer.selector.as_ref().map(Restrictions::of))
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
            policies,
        }
    }

    /// May a rule whose peer selector has restrictions `peer` match a member of group `g`?
    fn may_match(&self, peer: Option<&Restrictions>, g: usize) -> bool {
        let Some(peer) = peer else { return true };
        self.members
            .get(g)
            .is_none_or(|labelled| labelled.iter().any(|m| peer.may_overlap(m)))
    }

    fn meaning(&self, a: usize, b: usize) -> u64 {
        let mut h = DefaultHasher::new();
        for (end, other, d) in [(a, b, Direction::Egress), (b, a, Direction::Ingress)] {
            let Some(g) = self.groups.get(end) else {
                continue;
            };
            group_meaning(g).hash(&mut h);
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
                    if self.may_match(peer.as_ref(), other) {
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

/// Verdict and allowed list of each pair on one side (`graph::pair_summaries`: one solver
/// session per worker, pairs asking the same question solved once).
fn summaries(
    set: &PolicySet,
    groups: &[&Group],
    pairs: &[(usize, usize)],
    timeout_ms: u32,
) -> (Vec<Option<Summary>>, usize) {
    if pairs.is_empty() {
        // Nothing to solve: do not even build the solver's universe.
        return (Vec::new(), 0);
    }
    let universe = crate::analysis::graph::universe_for(set, groups.iter().copied());
    let results = pair_summaries(set, &universe, groups, pairs, timeout_ms, &NoProgress);
    let undecided = results.iter().map(|(_, u)| u).sum();
    let summaries = results
        .into_iter()
        .map(|(s, _)| s.map(|(verdict, allowed)| Summary { verdict, allowed }))
        .collect();
    (summaries, undecided)
}

/// Whether the concrete evaluator allows `pkt` from `from` to `to` under `set`.
fn allows(set: &PolicySet, from: &Group, to: &Group, pkt: &Packet) -> bool {
    let at = |d: Direction| concrete::evaluate(set, d, pkt, |_| {}).allowed();
    (!from.policed || at(Direction::Egress)) && (!to.policed || at(Direction::Ingress))
}

fn decisions(set: &PolicySet, from: &Group, to: &Group, pkt: &Packet) -> Vec<Decision> {
    let mut out = Vec::new();
    if from.policed {
        out.extend(decisions_for(set, Direction::Egress, pkt, "example"));
    }
    if to.policed {
        out.extend(decisions_for(set, Direction::Ingress, pkt, "example"));
    }
    out
}

/// A (protocol, port) allowed on one side only, from the two allowed lists.
fn first_difference(a: &[AllowedProtocol], b: &[AllowedProtocol]) -> Option<(u8, Option<u16>)> {
    let ports_of =
        |l: &[AllowedProtocol], p: u8| l.iter().find(|(q, _)| *q == p).map(|(_, r)| r.clone());
    for (x, y) in [(a, b), (b, a)] {
        for (p, ranges) in x {
            match (ranges, ports_of(y, *p)) {
                (_, None) => {
                    return Some((*p, ranges.as_ref().and_then(|r| r.first()).map(|r| r.0)));
                }
                (Some(rs), Some(Some(other))) => {
                    let inside =
                        |port: u16| other.iter().any(|(lo, hi)| *lo <= port && port <= *hi);
                    for (lo, hi) in rs {
                        // The first port of the range, or the first port after a range of `other`.
                        let mut port = u32::from(*lo);
                        while port <= u32::from(*hi) {
                            let Ok(p16) = u16::try_from(port) else { break };
                            if !inside(p16) {
                                return Some((*p, Some(p16)));
                            }
                            let next = other
                                .iter()
                                .find(|(l, h)| *l <= p16 && p16 <= *h)
                                .map_or(port + 1, |(_, h)| u32::from(*h) + 1);
                            port = next;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Whether `list` allows `protocol` (on `port`, for protocols with ports).
fn lists(list: &[AllowedProtocol], protocol: u8, port: Option<u16>) -> bool {
    list.iter().any(|(p, ranges)| {
        *p == protocol
            && match (ranges, port) {
                (Some(r), Some(port)) => r.iter().any(|(lo, hi)| *lo <= port && port <= *hi),
                _ => true,
            }
    })
}

/// Witness and deciding rules for one changed pair. The cheap way first: a protocol and port
/// allowed on one side only, asked on that side alone; then, when the ports are the same
/// (allowed <-> partial) or no packet was found, full `reach` answers on both sides.
fn explain(
    base: &Side,
    head: &Side,
    (gb_from, gb_to): (&Group, &Group),
    (gh_from, gh_to): (&Group, &Group),
    before: &Summary,
    after: &Summary,
    timeout_ms: u32,
) -> (Option<Packet>, Vec<Decision>, Vec<Decision>, usize) {
    let differs =
        |p: &Packet| allows(&base.set, gb_from, gb_to, p) != allows(&head.set, gh_from, gh_to, p);
    let candidates = |r: &ReachResult| [r.allowed_example.clone(), r.denied_example.clone()];
    let mut undecided = 0;
    let mut example = None;
    if let Some((protocol, port)) = first_difference(&before.allowed, &after.allowed) {
        let o = ReachOptions {
            protocol: Some(protocol).filter(|p| *p != 0),
            port,
            timeout_ms,
        };
        let (set, f, t) = if lists(&after.allowed, protocol, port) {
            (&head.set, gh_from, gh_to)
        } else {
            (&base.set, gb_from, gb_to)
        };
        let r = reach(set, f, t, &o);
        undecided += r.undecided;
        example = candidates(&r).into_iter().flatten().find(|p| differs(p));
    }
    if let Some(p) = &example {
        return (
            example.clone(),
            decisions(&base.set, gb_from, gb_to, p),
            decisions(&head.set, gh_from, gh_to, p),
            undecided,
        );
    }
    let opts = ReachOptions {
        protocol: None,
        port: None,
        timeout_ms,
    };
    let rb = reach(&base.set, gb_from, gb_to, &opts);
    let rh = reach(&head.set, gh_from, gh_to, &opts);
    undecided += rb.undecided + rh.undecided;
    let example = candidates(&rh)
        .into_iter()
        .chain(candidates(&rb))
        .flatten()
        .find(|p| differs(p));
    match &example {
        Some(p) => (
            example.clone(),
            decisions(&base.set, gb_from, gb_to, p),
            decisions(&head.set, gh_from, gh_to, p),
            undecided,
        ),
        None => (None, rb.decisions, rh.decisions, undecided),
    }
}

/// Compare reachability between every ordered pair of groups of either side.
pub fn compare(
    base: &Side,
    head: &Side,
    defs: &[crate::config::GroupDef],
    timeout_ms: u32,
) -> Result<Comparison, String> {
    use rayon::prelude::*;
    let groups = unify(base, head, defs)?;
    let gb: Vec<&Group> = groups.iter().map(|(b, _)| b).collect();
    let gh: Vec<&Group> = groups.iter().map(|(_, h)| h).collect();
    let (sel_b, fp_b) = fingerprints(&base.set, &gb);
    let (sel_h, fp_h) = fingerprints(&head.set, &gh);
    let policed =
        |i: usize| gb.get(i).is_some_and(|g| g.policed) || gh.get(i).is_some_and(|g| g.policed);
    // A flow a -> b is decided by a's egress and b's ingress.
    let same_out = |i: usize| fp_b.get(i).map(|f| f.0) == fp_h.get(i).map(|f| f.0);
    let same_in = |i: usize| fp_b.get(i).map(|f| f.1) == fp_h.get(i).map(|f| f.1);
    let n = groups.len();
    let mut pairs = 0;
    let mut todo = Vec::new();
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            // Flows between two unpoliced ends never cross a Calico endpoint.
            if !(policed(a) || policed(b)) {
                continue;
            }
            pairs += 1;
            if !(same_out(a) && same_in(b)) {
                todo.push((a, b));
            }
        }
    }
    // Finer, per pair: only the rules that may match packets of this pair can change its
    // verdict (a rule no packet from `a` to `b` matches is skipped by Felix), so a pair whose
    // relevant rules are the same on both sides is not solved either.
    let relevant_b = PairRelevance::new(&base.set, &gb, &sel_b);
    let relevant_h = PairRelevance::new(&head.set, &gh, &sel_h);
    todo.retain(|&(a, b)| relevant_b.meaning(a, b) != relevant_h.meaning(a, b));
    let (before, und_b) = summaries(&base.set, &gb, &todo, timeout_ms);
    let (after, und_h) = summaries(&head.set, &gh, &todo, timeout_ms);
    let changed: Vec<(usize, usize, Summary, Summary)> = todo
        .iter()
        .zip(before.into_iter().zip(after))
        .filter_map(|(&(a, b), (sb, sh))| {
            let (sb, sh) = (sb?, sh?);
            (sb != sh).then_some((a, b, sb, sh))
        })
        .collect();
    let explained: Vec<(PairChange, usize)> = changed
        .par_iter()
        .filter_map(|(a, b, sb, sh)| {
            let (bf, bt, hf, ht) = (gb.get(*a)?, gb.get(*b)?, gh.get(*a)?, gh.get(*b)?);
            let change = match (sb.allowed.is_empty(), sh.allowed.is_empty()) {
                (true, false) => Change::Opened,
                (false, true) => Change::Closed,
                _ => Change::Changed,
            };
            let (example, decided_before, decided_after, und) =
                explain(base, head, (bf, bt), (hf, ht), sb, sh, timeout_ms);
            Some((
                PairChange {
                    from: hf.name.clone(),
                    to: ht.name.clone(),
                    change,
                    before: sb.clone(),
                    after: sh.clone(),
                    example,
                    decided_before,
                    decided_after,
                },
                und,
            ))
        })
        .collect();
    let undecided = und_b + und_h + explained.iter().map(|(_, u)| u).sum::<usize>();
    let mut changes: Vec<PairChange> = explained.into_iter().map(|(c, _)| c).collect();
    changes.sort_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
    Ok(Comparison {
        changes,
        pairs,
        pairs_solved: todo.len(),
        groups: n,
        undecided,
    })
}

/// "TCP 80,443; UDP 53; ICMP" (empty when nothing is allowed).
pub fn ports_text(allowed: &[AllowedProtocol]) -> String {
    allowed
        .iter()
        .map(|(p, ports)| {
            let name = if *p == 0 {
                "other protocols".to_string()
            } else {
                crate::analysis::witness::protocol_name(*p)
            };
            match ports {
                Some(r) => format!("{name} {}", crate::analysis::reach::format_ports(r)),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn first_difference_finds_a_port_on_one_side_only() {
        let a: Vec<AllowedProtocol> = vec![(6, Some(vec![(80, 80), (443, 443)]))];
        let b: Vec<AllowedProtocol> = vec![(6, Some(vec![(80, 80)]))];
        assert_eq!(first_difference(&a, &b), Some((6, Some(443))));
        assert_eq!(first_difference(&b, &a), Some((6, Some(443))));
        let c: Vec<AllowedProtocol> = vec![(6, Some(vec![(0, 65535)]))];
        assert_eq!(first_difference(&c, &b), Some((6, Some(0))));
        let d: Vec<AllowedProtocol> = vec![(6, Some(vec![(80, 80)])), (1, None)];
        assert_eq!(first_difference(&d, &b), Some((1, None)));
        assert_eq!(first_difference(&a, &a), None);
    }
}
