//! Reachability between groups of endpoints: "can A reach B, on what, and which rule
//! decides?" (spec §4.1: a flow needs the sender's egress and the receiver's ingress).
//! The groups themselves (what they are, how they are found) are [`super::groups`].

use super::concrete::{self, Outcome, Packet};
use super::flow::PORT_PROTOCOLS;
pub use super::flow::{AllowedProtocol, NAMED_PROTOCOLS, Verdict};
use super::groups::Group;
use super::ir::PolicySet;
use super::pair_rules::{PairRules, PeerGroup, PeerIndex};
use crate::model::port::FlowProtocol;
use crate::model::resource::{Action, Direction};
use crate::model::selector::Expr;

/// The answer to "can `from` reach `to`?".
#[derive(Clone, Debug, PartialEq)]
pub struct ReachResult {
    pub verdict: Verdict,
    /// Allowed protocols with their destination ports (`None`: no ports for the protocol).
    pub allowed: Vec<AllowedProtocol>,
    pub allowed_example: Option<Packet>,
    pub denied_example: Option<Packet>,
    pub decisions: Vec<Decision>,
    /// Queries that timed out (the verdict may then be incomplete).
    pub undecided: usize,
    /// The protocol asked about (`None`: every protocol), and whether it was assumed (TCP
    /// for a `--port` without `--protocol`).
    pub protocol: Option<u8>,
    pub protocol_assumed: bool,
    /// The destination port asked about.
    pub port: Option<u16>,
}

/// A rule (or implicit behaviour) that decided an example packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub direction: Direction,
    /// `Allow`, `Deny`, `Pass`, `end-of-tier-deny` or `no-policy-allow`.
    pub action: String,
    /// (policy index in the set, rule index) for rule decisions.
    pub rule: Option<(usize, usize)>,
    /// The tier, for end-of-tier decisions.
    pub tier: Option<String>,
    /// Which example packet it explains.
    pub example: &'static str,
}

/// The rules that decided `pkt` in direction `d`: Pass rules on the way, then the final
/// decision.
pub fn decisions_for(
    set: &PolicySet,
    d: Direction,
    pkt: &Packet,
    example: &'static str,
) -> Vec<Decision> {
    let mut passes = Vec::new();
    let outcome = concrete::evaluate(set, d, pkt, |(pi, ri)| {
        if let Some(r) = set.policies.get(pi).and_then(|p| p.rules(d).get(ri)) {
            if r.action == Action::Pass && concrete::rule_matches(r, pkt) {
                passes.push((pi, ri));
            }
        }
    });
    let mut out: Vec<Decision> = passes
        .into_iter()
        .map(|r| Decision {
            direction: d,
            action: "Pass".into(),
            rule: Some(r),
            tier: None,
            example,
        })
        .collect();
    out.push(match outcome {
        Outcome::Rule {
            action,
            policy,
            rule,
        } => Decision {
            direction: d,
            action: action.as_str().into(),
            rule: Some((policy, rule)),
            tier: None,
            example,
        },
        Outcome::EndOfTierDeny { tier } => Decision {
            direction: d,
            action: "end-of-tier-deny".into(),
            rule: None,
            tier: Some(tier),
            example,
        },
        Outcome::Profiles => Decision {
            direction: d,
            action: "no-policy-allow".into(),
            rule: None,
            tier: None,
            example,
        },
    });
    out
}

/// Options of one reachability query.
#[derive(Clone, Copy, Debug)]
pub struct ReachOptions {
    pub protocol: Option<u8>,
    pub port: Option<u16>,
    pub timeout_ms: u32,
}

/// Port boundaries where some rule's verdict can change.
pub fn port_classes(set: &PolicySet, groups: &[&Group], within: (u16, u16)) -> Vec<(u16, u16)> {
    port_classes_among(set, &|_, _, _| true, groups, within)
}

/// [`port_classes`] from the rules `keep` accepts (by policy index, direction and position):
/// enough when only those rules take part in the verdict.
fn port_classes_among(
    set: &PolicySet,
    keep: &dyn Fn(usize, Direction, usize) -> bool,
    groups: &[&Group],
    within: (u16, u16),
) -> Vec<(u16, u16)> {
    let mut cuts: std::collections::BTreeSet<u32> =
        [u32::from(within.0), u32::from(within.1) + 1].into();
    let mut add = |lo: u16, hi: u16| {
        cuts.insert(u32::from(lo));
        cuts.insert(u32::from(hi) + 1);
    };
    for (pi, p) in set.policies.iter().enumerate() {
        let rules = [Direction::Ingress, Direction::Egress]
            .into_iter()
            .flat_map(|d| {
                p.rules(d)
                    .iter()
                    .enumerate()
                    .filter(move |(position, _)| keep(pi, d, *position))
                    .map(|(_, r)| r)
            });
        for r in rules {
            for pm in [&r.source, &r.destination]
                .iter()
                .flat_map(|e| e.ports.iter().chain(&e.not_ports))
            {
                if let super::ir::PortMatch::Range(lo, hi) = pm {
                    add(*lo, *hi);
                }
            }
        }
    }
    for g in groups {
        for m in &g.members {
            for (_, port) in m.named_ports.iter().flat_map(|p| p.values()) {
                add(*port, *port);
            }
        }
    }
    let cuts: Vec<u32> = cuts
        .into_iter()
        .filter(|c| *c >= u32::from(within.0) && *c <= u32::from(within.1) + 1)
        .collect();
    cuts.windows(2)
        .filter_map(|w| match w {
            [a, b] if b > a => Some((u16::try_from(*a).ok()?, u16::try_from(b - 1).ok()?)),
            _ => None,
        })
        .collect()
}

/// The ranges of a sorted list, with touching and overlapping ones joined.
pub(super) fn merge(ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(last.1) + 1 >= u32::from(lo) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Rules in a verdict formula beyond which `reach` takes a decided pair's examples from the
/// box engine rather than from the solver (see [`reach`]).
const SOLVER_EXAMPLES_UP_TO_RULES: usize = 1_000;

/// The rules of the pair's whole verdict formula: the egress rules of the policies that may
/// select the sender, and the ingress rules of those that may select the receiver.
fn verdict_rules(
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
) -> usize {
    let count = |policed: bool, d: Direction, candidates: &[bool]| {
        if !policed {
            return 0;
        }
        set.policies
            .iter()
            .zip(candidates)
            .filter(|(_, may)| **may)
            .map(|(p, _)| p.rules(d).len())
            .sum()
    };
    count(from.policed, Direction::Egress, fp) + count(to.policed, Direction::Ingress, tp)
}

/// Answer "can `from` reach `to`?" over every packet matching the options.
pub fn reach(set: &PolicySet, from: &Group, to: &Group, opts: &ReachOptions) -> ReachResult {
    use super::solver::{Answer, FlowQuestion, ProtocolClass, Universe, in_fresh_context};
    let extra: Vec<&Expr> = [from, to]
        .iter()
        .flat_map(|g| {
            g.members
                .iter()
                .filter_map(|m| m.identity.selector.as_ref())
        })
        .collect();
    // The vocabulary and the rules that can take part are independent: built side by side.
    // The peer selectors indexed are those of the rules of the policies that may select an
    // end, in the direction they apply to it.
    let (universe, ((from_policies, to_policies), rules)) = rayon::join(
        || Universe::with_extra(set, &extra),
        || {
            let (fp, tp) = rayon::join(
                || from.selectable_narrowed(set),
                || to.selectable_narrowed(set),
            );
            let peers = PeerIndex::for_ends(set, &fp, &tp);
            let rules = PairRules::new(
                &peers,
                (&PeerGroup::new(from), &fp),
                (&PeerGroup::new(to), &tp),
            );
            ((fp, tp), rules)
        },
    );
    // A port without a protocol means TCP.
    let protocol = match (opts.protocol, opts.port) {
        (Some(p), _) => Some(p),
        (None, Some(_)) => Some(6),
        (None, None) => None,
    };
    let ports = opts.port.map(|p| (p, p));
    let base = match protocol {
        Some(p) => ProtocolClass::Is(p),
        None => ProtocolClass::Any,
    };
    let (fp, tp) = (&from_policies[..], &to_policies[..]);
    // A pair whose verdict formula is large and whose labels decide it takes its examples
    // from the box engine: Z3 needs minutes for a model of thousands of rules. Smaller ones
    // keep the solver's examples, whatever the engine could do, so they read as they always
    // have (the choice depends on the tree only, never on time).
    let walks = super::decided_pair::WalkCache::new();
    let engine_examples = (verdict_rules(set, (from, fp), (to, tp)) > SOLVER_EXAMPLES_UP_TO_RULES)
        .then(|| {
            let ends = ((from, fp), (to, tp));
            super::decided_pair::examples(
                set,
                ends.0,
                ends.1,
                &rules,
                protocol,
                ports,
                Some(&walks),
            )
        })
        .flatten();
    // A fresh context, its session created on first use: a pair the box engine answers asks
    // Z3 nothing, and a session over a large tree's vocabulary takes tens of milliseconds to
    // create (the Z3 context and the domain facts).
    in_fresh_context(|| {
        let mut lazy = super::lazy_session::LazySession::new(&universe, set, opts.timeout_ms);
        let mut undecided = 0;
        let mut ask = |s: &mut super::solver::Session<'_>, protocol, dst_ports, allowed| {
            let q = FlowQuestion {
                protocol,
                dst_ports,
                allowed,
                // Witnesses from the whole verdict formula: the same models, and so the
                // same examples, as before pair rules existed.
                ..FlowQuestion::allowed_between((from, fp), (to, tp), None)
            };
            match s.flow(&q) {
                Answer::Known(x) => x,
                Answer::Undecided => {
                    undecided += 1;
                    None
                }
            }
        };
        let (allowed_example, denied_example) = match &engine_examples {
            Some(found) => (found.allowed.clone(), found.denied.clone()),
            None => {
                let s = lazy.get();
                (ask(s, base, ports, true), ask(s, base, ports, false))
            }
        };
        // Examples read better as IPv4 TCP (or UDP) when such a packet exists.
        let nicer = |s: &mut super::solver::Session<'_>,
                     found: &Option<Packet>,
                     allowed: bool|
         -> Option<Packet> {
            found.as_ref()?;
            let preferred: Vec<ProtocolClass<'_>> = match base {
                ProtocolClass::Any => vec![ProtocolClass::Is(6), ProtocolClass::Is(17), base],
                other => vec![other],
            };
            preferred
                .into_iter()
                .find_map(|protocol| {
                    let q = FlowQuestion {
                        protocol,
                        dst_ports: ports,
                        allowed,
                        ipv4_only: true,
                        // Witnesses from the whole verdict formula: the same models, and so the
                        // same examples, as before pair rules existed.
                        ..FlowQuestion::allowed_between((from, fp), (to, tp), None)
                    };
                    match s.flow_example(&q) {
                        super::solver::Answer::Known(Some(p)) => Some(p),
                        _ => None,
                    }
                })
                .or_else(|| found.clone())
        };
        let (allowed_example, denied_example) = match engine_examples {
            // Already read as `nicer` would.
            Some(_) => (allowed_example, denied_example),
            None => (
                nicer(lazy.get(), &allowed_example, true),
                nicer(lazy.get(), &denied_example, false),
            ),
        };
        let allowed_example = allowed_example.map(|p| with_known_labels(p, from, to));
        let denied_example = denied_example.map(|p| with_known_labels(p, from, to));
        let verdict = match (&allowed_example, &denied_example) {
            (Some(_), None) => Verdict::Allowed,
            (None, _) => Verdict::Denied,
            (Some(_), Some(_)) => Verdict::Partial,
        };
        let allowed = if allowed_example.is_none() {
            Vec::new()
        } else if let Some(region) =
            super::decided_pair::region(set, (from, fp), (to, tp), &rules, &walks)
        {
            // Labels decide the pair: its allowed region without the solver.
            region.allowed(protocol, ports)
        } else {
            let (list, und) = (lazy.get())
                .in_scope(|s| allowed_list(s, set, (from, fp), (to, tp), &rules, protocol, ports));
            undecided += und;
            list
        };
        let mut decisions = Vec::new();
        for (example, name) in [(&allowed_example, "allowed"), (&denied_example, "denied")] {
            let Some(pkt) = example else { continue };
            if from.policed {
                decisions.extend(decisions_for(set, Direction::Egress, pkt, name));
            }
            if to.policed {
                decisions.extend(decisions_for(set, Direction::Ingress, pkt, name));
            }
        }
        ReachResult {
            verdict,
            allowed,
            allowed_example,
            denied_example,
            decisions,
            undecided,
            protocol,
            protocol_assumed: opts.protocol.is_none() && opts.port.is_some(),
            port: opts.port,
        }
    })
}

/// One pair of groups: the verdict for packets from `from` to `to` (each with the policies
/// that may select it, and the rules of those that may match the pair's packets) and, unless
/// denied, the allowed protocols and ports; with the number of undecided queries. `None` when
/// even the verdict is undecided. `graph` and `diff` ask this for every pair they solve, each
/// in its own pair scope.
pub(crate) fn pair_summary(
    s: &mut super::lazy_session::LazySession<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    walks: &super::decided_pair::WalkCache,
) -> (Option<(Verdict, Vec<AllowedProtocol>)>, usize) {
    match super::decided_pair::region(set, (from, fp), (to, tp), rules, walks) {
        Some(region) => {
            let verdict = region.verdict();
            let allowed = match verdict {
                Verdict::Denied => Vec::new(),
                _ => region.allowed(None, None),
            };
            (Some((verdict, allowed)), 0)
        }
        None => pair_summary_solved(s.get(), set, (from, fp), (to, tp), rules),
    }
}

/// [`pair_summary`] asked of the solver, also when the labels decide the pair (the
/// differential test holds the two ways together).
pub fn pair_summary_solved(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
) -> (Option<(Verdict, Vec<AllowedProtocol>)>, usize) {
    s.in_scope(|s| pair_summary_in_scope(s, set, (from, fp), (to, tp), rules))
}

fn pair_summary_in_scope(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
) -> (Option<(Verdict, Vec<AllowedProtocol>)>, usize) {
    use super::solver::{Answer, FlowQuestion};
    let mut q = FlowQuestion::allowed_between((from, fp), (to, tp), Some(rules));
    let verdict = match s.flow(&q) {
        Answer::Known(Some(_)) => {
            q.allowed = false;
            match s.flow(&q) {
                Answer::Known(None) => Verdict::Allowed,
                _ => Verdict::Partial,
            }
        }
        Answer::Known(None) => return (Some((Verdict::Denied, Vec::new())), 0),
        Answer::Undecided => return (None, 1),
    };
    let (allowed, und) = allowed_list(s, set, (from, fp), (to, tp), rules, None, None);
    (Some((verdict, allowed)), und)
}

/// Protocols (and destination port ranges for TCP/UDP/SCTP) on which some packet from
/// `from` to `to` is allowed; [`FlowProtocol::Other`] stands for every protocol without a name.
pub fn allowed_list(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    protocol: Option<u8>,
    ports: Option<(u16, u16)>,
) -> (Vec<AllowedProtocol>, usize) {
    use super::solver::{Answer, FlowQuestion, ProtocolClass};
    let mut undecided = 0;
    // Some allowed packet (`None`: undecided).
    let try_ask = |s: &mut super::solver::Session<'_>, protocol, dst_ports| {
        let q = FlowQuestion {
            protocol,
            dst_ports,
            ..FlowQuestion::allowed_between((from, fp), (to, tp), Some(rules))
        };
        match s.flow(&q) {
            Answer::Known(x) => Some(x.is_some()),
            Answer::Undecided => None,
        }
    };
    let ask = |s: &mut super::solver::Session<'_>, protocol, dst_ports, undecided: &mut usize| {
        try_ask(s, protocol, dst_ports).unwrap_or_else(|| {
            *undecided += 1;
            false
        })
    };
    let mut allowed = Vec::new();
    let protocols: Vec<u8> = match protocol {
        Some(p) => vec![p],
        None => NAMED_PROTOCOLS.to_vec(),
    };
    for p in protocols {
        if PORT_PROTOCOLS.contains(&p) {
            // Only the rules in the verdict cut the port range into classes.
            let in_verdict = |pi: usize, d: Direction, position: usize| match d {
                Direction::Egress => from.policed && rules.egress.keeps(pi, position),
                Direction::Ingress => to.policed && rules.ingress.keeps(pi, position),
            };
            let classes =
                port_classes_among(set, &in_verdict, &[from, to], ports.unwrap_or((0, 65535)));
            let (open, und) = open_port_classes(s, set, (from, fp), (to, tp), rules, p, &classes);
            undecided += und;
            if !open.is_empty() {
                allowed.push((FlowProtocol::Number(p), Some(merge(open))));
            }
        } else if ask(s, ProtocolClass::Is(p), None, &mut undecided) {
            allowed.push((FlowProtocol::Number(p), None));
        }
    }
    if protocol.is_none()
        && ask(
            s,
            ProtocolClass::Other(&NAMED_PROTOCOLS),
            None,
            &mut undecided,
        )
    {
        allowed.push((FlowProtocol::Other, None));
    }
    (allowed, undecided)
}

/// The classes of `classes` (port ranges on which every rule of the verdict decides alike) on
/// which some packet of protocol `p` from `from` to `to` is allowed, with the number of
/// undecided queries.
///
/// Guided by witnesses: the solver is asked for an allowed packet on a port of a class not yet
/// known to be open; the witness opens its class, and the same packet on every other unknown
/// class is run through the concrete evaluator, which opens every class it is allowed on (a
/// real packet of the pair, so no guess). When no allowed packet is left on the unknown
/// classes, they are closed, proven by the solver. A pair whose verdict depends on ports alone
/// then costs two queries per protocol, whatever the number of classes.
fn open_port_classes(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    p: u8,
    classes: &[(u16, u16)],
) -> (Vec<(u16, u16)>, usize) {
    use super::solver::{Answer, FlowQuestion, ProtocolClass};
    let mut unknown: Vec<(u16, u16)> = classes.to_vec();
    let mut open: Vec<(u16, u16)> = Vec::new();
    while !unknown.is_empty() {
        let q = FlowQuestion {
            protocol: ProtocolClass::Is(p),
            ..FlowQuestion::allowed_between((from, fp), (to, tp), Some(rules))
        };
        let witness = match s.flow_on_ports(&q, &unknown) {
            Answer::Known(Some(w)) => w,
            Answer::Known(None) => break,
            Answer::Undecided => return (merge_sorted(open), 1),
        };
        let port = witness.dst.port;
        let before = unknown.len();
        let allowed_at = |policed: bool, d: Direction, candidates: &[bool]| {
            if policed {
                concrete::allows_on_classes(set, d, &witness, candidates, &unknown)
            } else {
                vec![true; unknown.len()]
            }
        };
        let egress = allowed_at(from.policed, Direction::Egress, fp);
        let ingress = allowed_at(to.policed, Direction::Ingress, tp);
        let mut still = Vec::with_capacity(unknown.len());
        for (i, &(lo, hi)) in unknown.iter().enumerate() {
            let concretely =
                egress.get(i).copied().unwrap_or(false) && ingress.get(i).copied().unwrap_or(false);
            if (lo..=hi).contains(&port) || concretely {
                open.push((lo, hi));
            } else {
                still.push((lo, hi));
            }
        }
        unknown = still;
        if unknown.len() == before {
            // The witness's port is in no unknown class: the solver and the classes disagree.
            // Never loop: what is left is undecided.
            return (merge_sorted(open), 1);
        }
    }
    (merge_sorted(open), 0)
}

fn merge_sorted(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    ranges
}

/// A packet from `from` to `to` under `set` (of `protocol`, to `port`, when given) that is
/// allowed (or, with `allowed` false, denied), from the box engine without the solver: `None`
/// when the labels do not decide the pair or no such packet exists. Read as `reach` shows
/// examples (every known label), checked by the concrete evaluator in debug builds.
pub fn engine_example(
    set: &PolicySet,
    ((from, fp), (to, tp)): super::graph::PairEnds<'_>,
    rules: &PairRules,
    (protocol, port): (Option<u8>, Option<u16>),
    allowed: bool,
) -> Option<Packet> {
    // A port without a protocol means TCP, as in `reach`.
    let protocol = protocol.or(port.map(|_| 6));
    let found = super::decided_pair::examples(
        set,
        (from, fp),
        (to, tp),
        rules,
        protocol,
        port.map(|p| (p, p)),
        None,
    )?;
    let packet = if allowed { found.allowed } else { found.denied };
    packet.map(|p| with_known_labels(p, from, to))
}

/// Show every label known for single-member groups (the solver only models the labels some
/// selector mentions).
fn with_known_labels(mut p: Packet, from: &Group, to: &Group) -> Packet {
    for (side, g) in [(&mut p.src, from), (&mut p.dst, to)] {
        if let [m] = g.members.as_slice() {
            // Fixed labels are facts even for symbolic members (a namespace's labels).
            if m.identity.entity {
                for (k, v) in &m.identity.fixed {
                    side.labels.insert(k.clone(), v.clone());
                }
            }
        }
    }
    p
}
