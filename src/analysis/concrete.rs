//! The concrete evaluator: one packet at one endpoint through the whole tier/policy/rule
//! chain, in plain Rust (spec §4.3). It is the reference the Z3 verdicts are tested against,
//! and the engine reachability uses for endpoints whose labels are known.
//!
//! Modelling choices, shared with the Z3 encoding (`analysis::solver`):
//! - each address belongs to at most one labeled entity (workload, host endpoint or network
//!   set); an address that belongs to none is "not an entity" and matches no selector;
//! - `http` criteria are evaluated as application layer policy does (Dikastes): TCP only, any
//!   method when `*` is listed, path prefixes on segment boundaries;
//! - `icmp` matches ICMP packets of the rule's family only; `notICMP` matches every packet
//!   that is not an ICMP packet with that type/code.

use super::classes::Chain;
use super::ir::{CompiledPolicy, CompiledRule, Entity, Http, Icmp, PolicySet, PortMatch};
use crate::model::net::IpFamily;
use crate::model::resource::{Action, Direction};
use std::collections::{BTreeMap, BTreeSet};

/// One side of a packet: the endpoint, network set or outside address that sent or
/// receives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Side {
    /// Whether the address belongs to a labeled Calico entity.
    pub is_entity: bool,
    pub labels: BTreeMap<String, String>,
    /// Address; IPv4 addresses use the low 32 bits.
    pub ip: u128,
    pub port: u16,
    /// Named ports the entity declares: name → (protocol, port).
    pub named_ports: BTreeMap<String, (u8, u16)>,
    /// Kubernetes services (`namespace/name`) whose endpoints include this side.
    pub services: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Packet {
    pub v6: bool,
    pub protocol: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub src: Side,
    pub dst: Side,
    pub http_method: String,
    pub http_path: String,
}

impl Packet {
    pub fn family(&self) -> IpFamily {
        if self.v6 { IpFamily::V6 } else { IpFamily::V4 }
    }

    /// The endpoint whose policy is evaluated in this direction.
    pub fn local(&self, d: Direction) -> &Side {
        match d {
            Direction::Ingress => &self.dst,
            Direction::Egress => &self.src,
        }
    }
}

fn port_matches(pm: &PortMatch, side: &Side, protocol: u8) -> bool {
    match pm {
        PortMatch::Range(lo, hi) => *lo <= side.port && side.port <= *hi,
        PortMatch::Named(name) => {
            side.is_entity
                && side
                    .named_ports
                    .get(name)
                    .is_some_and(|(proto, port)| *proto == protocol && *port == side.port)
        }
    }
}

/// The entity's ports and notPorts admit the side's port.
fn ports_match(e: &Entity, side: &Side, protocol: u8) -> bool {
    (e.ports.is_empty() || e.ports.iter().any(|p| port_matches(p, side, protocol)))
        && !e.not_ports.iter().any(|p| port_matches(p, side, protocol))
}

/// [`rule_matches`] but for the destination entity's ports and notPorts.
fn rule_matches_but_dst_ports(rule: &CompiledRule, pkt: &Packet) -> bool {
    (if pkt.v6 { rule.v6 } else { rule.v4 })
        && rule.protocol.is_none_or(|p| p == pkt.protocol)
        && rule.not_protocol.is_none_or(|p| p != pkt.protocol)
        && rule.icmp.as_ref().is_none_or(|m| icmp_matches(m, pkt))
        && rule.not_icmp.as_ref().is_none_or(|m| !icmp_matches(m, pkt))
        && rule.http.as_ref().is_none_or(|h| http_matches(h, pkt))
        && entity_matches(&rule.source, &pkt.src, pkt)
        && entity_matches_but_ports(&rule.destination, &pkt.dst, pkt)
}

pub fn entity_matches(e: &Entity, side: &Side, pkt: &Packet) -> bool {
    entity_matches_but_ports(e, side, pkt) && ports_match(e, side, pkt.protocol)
}

fn entity_matches_but_ports(e: &Entity, side: &Side, pkt: &Packet) -> bool {
    let fam = pkt.family();
    if let Some(sel) = &e.selector {
        if !(side.is_entity && sel.eval(&side.labels)) {
            return false;
        }
    }
    if let Some(sel) = &e.not_selector {
        if side.is_entity && sel.eval(&side.labels) {
            return false;
        }
    }
    if !e.nets.is_empty() && !e.nets.iter().any(|c| c.contains_addr(fam, side.ip)) {
        return false;
    }
    if e.not_nets.iter().any(|c| c.contains_addr(fam, side.ip)) {
        return false;
    }
    if let Some(svc) = &e.service {
        if !side.services.contains(svc) {
            return false;
        }
    }
    true
}

fn icmp_protocol(v6: bool) -> u8 {
    if v6 { 58 } else { 1 }
}

fn icmp_matches(m: &Icmp, pkt: &Packet) -> bool {
    pkt.protocol == icmp_protocol(pkt.v6)
        && m.icmp_type.is_none_or(|t| t == pkt.icmp_type)
        && m.code.is_none_or(|c| c == pkt.icmp_code)
}

/// Segment-boundary prefix match, as Dikastes does it.
pub fn path_prefix_matches(prefix: &str, path: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && (prefix.ends_with('/') || path.as_bytes().get(prefix.len()) == Some(&b'/')))
}

fn http_matches(h: &Http, pkt: &Packet) -> bool {
    pkt.protocol == 6
        && (h.methods.is_empty() || h.methods.iter().any(|m| m == "*" || *m == pkt.http_method))
        && ((h.exact_paths.is_empty() && h.prefix_paths.is_empty())
            || h.exact_paths.contains(&pkt.http_path)
            || h.prefix_paths
                .iter()
                .any(|p| path_prefix_matches(p, &pkt.http_path)))
}

/// Whether `rule` matches `pkt` (independently of which endpoint's policy it is in).
pub fn rule_matches(rule: &CompiledRule, pkt: &Packet) -> bool {
    rule_matches_but_dst_ports(rule, pkt) && ports_match(&rule.destination, &pkt.dst, pkt.protocol)
}

/// Whether a policy applies to the packet's local endpoint in direction `d`.
pub fn policy_selects(p: &CompiledPolicy, d: Direction, pkt: &Packet) -> bool {
    let local = pkt.local(d);
    p.applies(d) && local.is_entity && p.selector.eval(&local.labels)
}

/// Where evaluation of one direction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An Allow or Deny rule decided: (policy index in the set, rule index).
    Rule {
        action: Action,
        policy: usize,
        rule: usize,
    },
    /// A tier applied, nothing decided, and its default action is Deny.
    EndOfTierDeny { tier: String },
    /// No tier decided: the endpoint's profiles decide (allow for Kubernetes pods).
    Profiles,
}

impl Outcome {
    pub fn allowed(&self) -> bool {
        matches!(
            self,
            Outcome::Rule {
                action: Action::Allow,
                ..
            } | Outcome::Profiles
        )
    }
}

/// One step of an evaluation trace: a rule that was reached (evaluated) for the packet.
pub type Reached = (usize, usize);

/// Evaluate direction `d` for `pkt` as a workload endpoint sees it (the normal list, §4.8);
/// `visit` is called for every (policy, rule) reached, in order, before its match is tested.
pub fn evaluate(
    set: &PolicySet,
    d: Direction,
    pkt: &Packet,
    visit: impl FnMut(Reached),
) -> Outcome {
    evaluate_chain(set, Chain::Normal, d, pkt, visit)
}

/// Evaluate direction `d` for `pkt` through one of Felix's per-endpoint lists (§4.8): only
/// the policies of that list take part, and the untracked and pre-DNAT lists end every tier
/// with Pass. [`Outcome::Profiles`] then means "the list did not decide".
pub fn evaluate_chain(
    set: &PolicySet,
    chain: Chain,
    d: Direction,
    pkt: &Packet,
    visit: impl FnMut(Reached),
) -> Outcome {
    evaluate_among(set, chain, d, pkt, None, visit)
}

/// Whether direction `d` allows `pkt`, evaluating only the policies `candidates` marks: the
/// same answer as [`evaluate`] when every policy that selects the packet's local endpoint is
/// among them (as [`crate::analysis::reach::Group::selectable_narrowed`] guarantees for the
/// group's members), at the cost of the candidates only.
pub fn allows_among(set: &PolicySet, d: Direction, pkt: &Packet, candidates: &[bool]) -> bool {
    evaluate_among(set, Chain::Normal, d, pkt, Some(candidates), |_| {}).allowed()
}

/// [`allows_among`] for `pkt` with its destination port set to the first port of each of
/// `classes` (sorted, disjoint ranges), in one sweep: the parts of each rule that do not depend
/// on the destination port are evaluated once, and each rule then decides the classes its
/// destination ports cover that no earlier rule decided. The answers are those of
/// [`allows_among`] on each probe (a test holds the two together).
pub fn allows_on_classes(
    set: &PolicySet,
    d: Direction,
    pkt: &Packet,
    candidates: &[bool],
    classes: &[(u16, u16)],
) -> Vec<bool> {
    /// What evaluation has found for one class so far.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Passed,
        Decided(bool),
    }
    let mut state = vec![State::Open; classes.len()];
    let mut probe = pkt.dst.clone();
    for tier in &set.tiers {
        let applying: Vec<&CompiledPolicy> = set
            .policies
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                candidates.get(*i).copied().unwrap_or(false)
                    && p.tier == tier.name
                    && !p.staged
                    && Chain::Normal.includes(p.class)
                    && policy_selects(p, d, pkt)
            })
            .map(|(_, p)| p)
            .collect();
        if applying.is_empty() {
            continue;
        }
        for rule in applying.iter().flat_map(|p| p.rules(d)) {
            if rule.action == Action::Log || !rule_matches_but_dst_ports(rule, pkt) {
                continue;
            }
            let decided = match rule.action {
                Action::Pass => State::Passed,
                action => State::Decided(action == Action::Allow),
            };
            let dst = &rule.destination;
            // Only the classes the rule's port ranges cover need a look, when it has ranges
            // only (named ports and notPorts: every class).
            let ranges: Option<Vec<(u16, u16)>> = if dst.ports.is_empty() {
                dst.not_ports.is_empty().then(|| vec![(0, u16::MAX)])
            } else if dst.not_ports.is_empty() {
                dst.ports
                    .iter()
                    .map(|pm| match pm {
                        PortMatch::Range(lo, hi) => Some((*lo, *hi)),
                        PortMatch::Named(_) => None,
                    })
                    .collect()
            } else {
                None
            };
            let span: Vec<std::ops::Range<usize>> = match &ranges {
                Some(ranges) => ranges
                    .iter()
                    .map(|&(lo, hi)| {
                        classes.partition_point(|c| c.0 < lo)
                            ..classes.partition_point(|c| c.0 <= hi)
                    })
                    .collect(),
                None => std::iter::once(0..classes.len()).collect(),
            };
            for ci in span.into_iter().flatten() {
                let (Some(st), Some(&(lo, _))) = (state.get_mut(ci), classes.get(ci)) else {
                    continue;
                };
                if *st != State::Open {
                    continue;
                }
                probe.port = lo;
                if ports_match(dst, &probe, pkt.protocol) {
                    *st = decided;
                }
            }
        }
        let deny_rest = !tier.default_pass;
        for st in &mut state {
            *st = match *st {
                State::Passed => State::Open,
                State::Open if deny_rest => State::Decided(false),
                other => other,
            };
        }
    }
    state
        .into_iter()
        .map(|st| !matches!(st, State::Decided(false)))
        .collect()
}

fn evaluate_among(
    set: &PolicySet,
    chain: Chain,
    d: Direction,
    pkt: &Packet,
    candidates: Option<&[bool]>,
    mut visit: impl FnMut(Reached),
) -> Outcome {
    for tier in &set.tiers {
        let applying: Vec<usize> = set
            .policies
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                candidates.is_none_or(|c| c.get(*i).copied().unwrap_or(false))
                    && p.tier == tier.name
                    && !p.staged
                    && chain.includes(p.class)
                    && policy_selects(p, d, pkt)
            })
            .map(|(i, _)| i)
            .collect();
        if applying.is_empty() {
            continue;
        }
        let mut passed = false;
        'policies: for &pi in &applying {
            let Some(policy) = set.policies.get(pi) else {
                continue;
            };
            for rule in policy.rules(d) {
                visit((pi, rule.index));
                if !rule_matches(rule, pkt) {
                    continue;
                }
                match rule.action {
                    Action::Log => {}
                    Action::Pass => {
                        passed = true;
                        break 'policies;
                    }
                    action => {
                        return Outcome::Rule {
                            action,
                            policy: pi,
                            rule: rule.index,
                        };
                    }
                }
            }
        }
        if passed || tier.default_pass || chain.forced_pass() {
            continue;
        }
        return Outcome::EndOfTierDeny {
            tier: tier.name.clone(),
        };
    }
    Outcome::Profiles
}
