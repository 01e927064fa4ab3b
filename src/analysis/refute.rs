//! Concrete refutation: before asking Z3 whether a rule is unsatisfiable (CAL110), shadowed
//! in its policy (CAL201) or decided before it is reached (CAL202), build a few concrete
//! packets the rule matches and run them through the tier/policy/rule chain in plain Rust
//! (the semantics of [`super::concrete`]). One packet that the rule decides refutes all
//! three at once, and no query is needed; only when no candidate works does the solver
//! decide. Sound because the packet is a real one (it satisfies every domain fact of the
//! encoding) and the evaluation is the reference one; the candidates are heuristics, so a
//! miss only costs the query it would have saved.

use super::concrete::{Packet, Side, policy_selects, rule_matches};
use super::context::{Context, Precedents};
use super::ir::{self, CompiledPolicy, CompiledRule, Entity, PortMatch};
use crate::model::net::IpFamily;
use crate::model::resource::{Action, Direction};
use crate::model::selector::Expr;
use std::collections::BTreeMap;

/// Conjunctions kept when expanding a selector to disjunctive normal form.
const MAX_TERMS: usize = 16;

/// A literal: a leaf of a selector, possibly negated.
type Literal<'e> = (&'e Expr, bool);

/// The selector (negated when `neg`) in disjunctive normal form, at most [`MAX_TERMS`]
/// conjunctions (a selector with more loses some: the search is a heuristic).
fn dnf(e: &Expr, neg: bool, depth: usize) -> Vec<Vec<Literal<'_>>> {
    if depth > 64 {
        return Vec::new();
    }
    match (e, neg) {
        (Expr::All | Expr::Global, false) => vec![Vec::new()],
        (Expr::All | Expr::Global, true) => Vec::new(),
        (Expr::Not(inner), _) => dnf(inner, !neg, depth + 1),
        (Expr::And(items), false) | (Expr::Or(items), true) => {
            let mut acc: Vec<Vec<Literal<'_>>> = vec![Vec::new()];
            for i in items {
                let terms = dnf(i, neg, depth + 1);
                let mut next = Vec::new();
                'outer: for a in &acc {
                    for t in &terms {
                        if next.len() >= MAX_TERMS {
                            break 'outer;
                        }
                        let mut c = a.clone();
                        c.extend(t.iter().copied());
                        next.push(c);
                    }
                }
                acc = next;
            }
            acc
        }
        (Expr::Or(items), false) | (Expr::And(items), true) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(dnf(i, neg, depth + 1));
                out.truncate(MAX_TERMS);
            }
            out
        }
        (leaf, neg) => vec![vec![(leaf, neg)]],
    }
}

fn key_of(e: &Expr) -> Option<&str> {
    match e {
        Expr::Has(k)
        | Expr::Eq(k, _)
        | Expr::Ne(k, _)
        | Expr::In(k, _)
        | Expr::NotIn(k, _)
        | Expr::Contains(k, _)
        | Expr::StartsWith(k, _)
        | Expr::EndsWith(k, _) => Some(k),
        _ => None,
    }
}

/// Values worth trying for a key, given its literals: absent, the values and needles they
/// mention, and combinations of the needles.
fn candidates(lits: &[Literal<'_>]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None];
    let (mut pre, mut mid, mut suf) = (String::new(), String::new(), String::new());
    for (e, neg) in lits {
        match e {
            Expr::Eq(_, v) | Expr::Ne(_, v) => out.push(Some(v.clone())),
            Expr::In(_, vs) | Expr::NotIn(_, vs) => out.extend(vs.iter().cloned().map(Some)),
            Expr::StartsWith(_, n) if !neg && n.len() > pre.len() => pre = n.clone(),
            Expr::EndsWith(_, n) if !neg && n.len() > suf.len() => suf = n.clone(),
            Expr::Contains(_, n) if !neg => mid.push_str(n),
            _ => {}
        }
    }
    out.push(Some(format!("{pre}{mid}{suf}")));
    out.push(Some(format!("{pre}-x-{mid}-x-{suf}")));
    out.push(Some(format!("{pre}calint{suf}")));
    out.push(Some("calint".to_string()));
    out
}

/// Labels satisfying `e` (found by trying a few values per key), or `None`.
pub(crate) fn labels_for(e: &Expr) -> Option<BTreeMap<String, String>> {
    for conj in dnf(e, false, 0) {
        let mut by_key: BTreeMap<&str, Vec<Literal<'_>>> = BTreeMap::new();
        for lit in &conj {
            if let Some(k) = key_of(lit.0) {
                by_key.entry(k).or_default().push(*lit);
            }
        }
        let mut labels = BTreeMap::new();
        let mut ok = true;
        for (k, lits) in &by_key {
            let holds = |v: &Option<String>| {
                let m: BTreeMap<String, String> =
                    v.iter().map(|v| ((*k).to_string(), v.clone())).collect();
                lits.iter().all(|(e, neg)| e.eval(&m) != *neg)
            };
            match candidates(lits).into_iter().find(|v| holds(v)) {
                Some(Some(v)) => {
                    labels.insert((*k).to_string(), v);
                }
                Some(None) => {}
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && e.eval(&labels) {
            return Some(labels);
        }
    }
    None
}

/// Labels Calico derives from one another agree (the solver's domain facts): the namespace
/// name is `projectcalico.org/namespace`, `pcns.projectcalico.org/name` and
/// `pcns.kubernetes.io/metadata.name` at once; the service account label, when present, is
/// `pcsa.projectcalico.org/name`. Callers re-check their selector afterwards: labels found for
/// a selector that names two different namespaces become consistent and stop satisfying it.
pub(crate) fn derive_labels(labels: &mut BTreeMap<String, String>) {
    let namespace_keys = [
        ir::NAMESPACE_LABEL,
        "pcns.projectcalico.org/name",
        ir::K8S_NAMESPACE_NAME_LABEL,
    ];
    if let Some(v) = namespace_keys.iter().find_map(|k| labels.get(*k).cloned()) {
        for k in namespace_keys {
            labels.insert(k.to_string(), v.clone());
        }
    }
    if let Some(v) = labels.get(ir::SERVICE_ACCOUNT_LABEL).cloned() {
        labels.insert("pcsa.projectcalico.org/name".to_string(), v);
    }
}

/// Addresses to try for one side: inside its nets (first and last), or a few addresses
/// that few rules mention.
fn addresses(e: &Entity, family: IpFamily) -> Vec<u128> {
    let mut out: Vec<u128> = Vec::new();
    for c in e.nets.iter().filter(|c| c.family == family) {
        out.push(c.first());
        out.push(c.last());
    }
    if e.nets.is_empty() {
        out.extend(match family {
            IpFamily::V4 => vec![0xC633_64E1, 0x0A63_F00D, 0x6440_0001],
            IpFamily::V6 => vec![0x2001_0db8_0000_0000_0000_0000_0000_c0de],
        });
    }
    out.retain(|a| !e.not_nets.iter().any(|c| c.contains_addr(family, *a)));
    out.truncate(4);
    out
}

fn ports(e: &Entity, default: u16) -> Option<Vec<u16>> {
    if e.ports
        .iter()
        .chain(&e.not_ports)
        .any(|p| matches!(p, PortMatch::Named(_)))
    {
        return None;
    }
    let mut out: Vec<u16> = Vec::new();
    for p in &e.ports {
        if let PortMatch::Range(lo, hi) = p {
            out.push(*hi);
            out.push(*lo);
        }
    }
    if e.ports.is_empty() {
        out.extend([default, 1, 65535]);
    }
    out.retain(|port| {
        !e.not_ports
            .iter()
            .any(|p| matches!(p, PortMatch::Range(lo, hi) if lo <= port && port <= hi))
    });
    out.truncate(3);
    Some(out)
}

/// The side's labels: an endpoint satisfying `selectors` (and not `not_selector`), or a
/// non-Calico address when nothing requires an endpoint.
fn side_labels(
    selectors: &[&Expr],
    not_selector: Option<&Expr>,
    must_be_entity: bool,
) -> Option<(bool, BTreeMap<String, String>)> {
    if selectors.is_empty() && !must_be_entity {
        return Some((false, BTreeMap::new()));
    }
    let mut all: Vec<Expr> = selectors.iter().map(|e| (*e).clone()).collect();
    if let Some(n) = not_selector {
        all.push(Expr::Not(Box::new(n.clone())));
    }
    let all = Expr::And(all);
    let mut labels = labels_for(&all)?;
    derive_labels(&mut labels);
    all.eval(&labels).then_some((true, labels))
}

/// Candidate packets rule `r` of policy `p` matches at endpoints `p` selects.
fn packets(
    p: &CompiledPolicy,
    r: &CompiledRule,
    d: Direction,
    policy_labels: Option<&BTreeMap<String, String>>,
) -> Vec<Packet> {
    if r.source.service.is_some() || r.destination.service.is_some() {
        return Vec::new();
    }
    let (local_e, peer_e) = match d {
        Direction::Ingress => (&r.destination, &r.source),
        Direction::Egress => (&r.source, &r.destination),
    };
    let local_labels = match policy_labels {
        Some(l) if local_e.selector.is_none() && local_e.not_selector.is_none() => l.clone(),
        _ => {
            let mut local_sel: Vec<&Expr> = vec![&p.selector];
            local_sel.extend(local_e.selector.as_ref());
            match side_labels(&local_sel, local_e.not_selector.as_ref(), true) {
                Some((_, l)) => l,
                None => return Vec::new(),
            }
        }
    };
    let peer_sel: Vec<&Expr> = peer_e.selector.iter().collect();
    let Some((peer_entity, peer_labels)) =
        side_labels(&peer_sel, peer_e.not_selector.as_ref(), false)
    else {
        return Vec::new();
    };
    let family = if r.v4 { IpFamily::V4 } else { IpFamily::V6 };
    if !r.v4 && !r.v6 {
        return Vec::new();
    }
    let protocol = match (&r.icmp, r.protocol, r.not_protocol) {
        (Some(_), _, _) => {
            if family == IpFamily::V4 {
                1
            } else {
                58
            }
        }
        (None, Some(p), _) => p,
        (None, None, Some(6)) => 17,
        (None, None, _) => 6,
    };
    let (Some(src_ports), Some(dst_ports)) =
        (ports(&r.source, 40_000), ports(&r.destination, 44_321))
    else {
        return Vec::new();
    };
    let http_method = r
        .http
        .as_ref()
        .and_then(|h| h.methods.iter().find(|m| *m != "*").cloned())
        .unwrap_or_else(|| "GET".to_string());
    let http_path = r
        .http
        .as_ref()
        .and_then(|h| h.exact_paths.first().or(h.prefix_paths.first()).cloned())
        .unwrap_or_else(|| "/".to_string());
    let (local_addrs, peer_addrs) = (addresses(local_e, family), addresses(peer_e, family));
    let mut out = Vec::new();
    for &peer_ip in &peer_addrs {
        for &local_ip in local_addrs.iter().filter(|a| **a != peer_ip).take(1) {
            for &dst_port in &dst_ports {
                let local = Side {
                    is_entity: true,
                    labels: local_labels.clone(),
                    ip: local_ip,
                    ..Side::default()
                };
                let peer = Side {
                    is_entity: peer_entity,
                    labels: peer_labels.clone(),
                    ip: peer_ip,
                    ..Side::default()
                };
                let (mut src, mut dst) = match d {
                    Direction::Ingress => (peer, local),
                    Direction::Egress => (local, peer),
                };
                src.port = src_ports.first().copied().unwrap_or(40_000);
                dst.port = dst_port;
                out.push(Packet {
                    v6: family == IpFamily::V6,
                    protocol,
                    icmp_type: r.icmp.as_ref().and_then(|m| m.icmp_type).unwrap_or(8),
                    icmp_code: r.icmp.as_ref().and_then(|m| m.code).unwrap_or(0),
                    src,
                    dst,
                    http_method: http_method.clone(),
                    http_path: http_path.clone(),
                });
            }
        }
    }
    out.truncate(8);
    out
}

/// Candidate packets rule `r` of policy `p` matches at endpoints `p` selects (heuristic:
/// possibly none; callers check what they need of each packet with the concrete evaluator).
pub(crate) fn rule_packets(p: &CompiledPolicy, r: &CompiledRule, d: Direction) -> Vec<Packet> {
    packets(p, r, d, None)
}

/// The rule says nothing more about the local endpoint than its policy.
fn local_is_fixed(r: &CompiledRule, d: Direction) -> bool {
    let local = match d {
        Direction::Ingress => &r.destination,
        Direction::Egress => &r.source,
    };
    local.selector.is_none() && local.not_selector.is_none()
}

/// One local endpoint of a policy (labels satisfying its selector), shared by the candidate
/// packets of every rule that does not constrain the local endpoint further, with the
/// precedents narrowed to the policies that select it (the others cannot decide its
/// packets): built once per policy and direction.
pub(crate) struct LocalEndpoint {
    labels: Option<BTreeMap<String, String>>,
    pre: Precedents,
}

impl LocalEndpoint {
    pub(crate) fn new(
        cx: &Context<'_>,
        p: &CompiledPolicy,
        d: Direction,
        pre: &Precedents,
    ) -> Self {
        let labels = side_labels(&[&p.selector], None, true).map(|(_, l)| l);
        let memo = std::cell::RefCell::new(std::collections::HashMap::new());
        let namespace = (labels.as_ref())
            .and_then(|l| l.get(ir::NAMESPACE_LABEL))
            .map(String::as_str);
        let selects = |q: ir::PolicyId| {
            cx.policy(q).is_some_and(|qp| {
                qp.applies(d)
                    && labels
                        .as_ref()
                        .is_some_and(|l| cx.selects_memo(q, (l, namespace), &mut memo.borrow_mut()))
            })
        };
        let narrowed = Precedents {
            tiers: pre
                .tiers
                .iter()
                .map(|(name, peers, pass)| {
                    let peers = peers.iter().copied().filter(|&q| selects(q)).collect();
                    (name.clone(), peers, *pass)
                })
                .collect(),
            policies: pre
                .policies
                .iter()
                .copied()
                .filter(|&q| selects(q))
                .collect(),
        };
        LocalEndpoint {
            labels,
            pre: narrowed,
        }
    }
}

/// The first terminal rule of `q` matching `pkt`, if `q` applies to it.
fn first_terminal<'p>(
    q: &'p CompiledPolicy,
    d: Direction,
    pkt: &Packet,
) -> Option<&'p CompiledRule> {
    q.rules(d)
        .iter()
        .filter(|r| r.is_terminal())
        .find(|r| rule_matches(r, pkt))
}

/// Evaluation reaches policy `pi` for `pkt`: no earlier tier or same-tier policy decides it.
fn reaches(cx: &Context<'_>, d: Direction, pre: &Precedents, pkt: &Packet) -> bool {
    for (_, peers, default_pass) in &pre.tiers {
        let mut applied = false;
        let mut outcome = None;
        for q in peers.iter().filter_map(|&q| cx.policy(q)) {
            if !policy_selects(q, d, pkt) {
                continue;
            }
            applied = true;
            if let Some(r) = first_terminal(q, d, pkt) {
                outcome = Some(r.action);
                break;
            }
        }
        match outcome {
            Some(Action::Pass) => {}
            Some(_) => return false,
            None if applied && !default_pass => return false,
            None => {}
        }
    }
    pre.policies
        .iter()
        .filter_map(|&q| cx.policy(q))
        .all(|q| !policy_selects(q, d, pkt) || first_terminal(q, d, pkt).is_none())
}

/// A packet rule `r` of policy `p` (index `pi`) matches and decides: within the policy's
/// scope, past every earlier terminal rule of the policy and, unless the policy is staged,
/// past every earlier tier and policy. Its existence refutes CAL110, CAL201 and CAL202.
pub(crate) fn decided_by_rule(
    cx: &Context<'_>,
    p: &CompiledPolicy,
    r: &CompiledRule,
    d: Direction,
    (pre, local): (&Precedents, &LocalEndpoint),
) -> bool {
    let fixed = local_is_fixed(r, d);
    let pre = match (&local.labels, fixed) {
        (Some(_), true) => &local.pre,
        _ => pre,
    };
    let labels = local.labels.as_ref().filter(|_| fixed);
    packets(p, r, d, labels).iter().any(|pkt| {
        policy_selects(p, d, pkt)
            && rule_matches(r, pkt)
            && p.rules(d)
                .iter()
                .take_while(|e| e.index < r.index)
                .filter(|e| e.is_terminal())
                .all(|e| !rule_matches(e, pkt))
            && (p.staged || reaches(cx, d, pre, pkt))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::selector::Selector;

    #[test]
    fn labels_satisfy_the_selector() {
        for s in [
            "app == 'a' && version in {'v1', 'v2'}",
            "app starts with 'app1-' && !has(canary)",
            "team starts with 't2' && role in {'db', 'cache'} && app ends with '-worker'",
            "!(a == 'x' || b != 'y') && version contains 'rc'",
            "has(env) && env not in {'prod'}",
            "all()",
        ] {
            let sel = Selector::parse(s).expect("parses");
            let e = sel.expr();
            let labels = labels_for(e).unwrap_or_else(|| panic!("no labels for {s}"));
            assert!(e.eval(&labels), "{s}: {labels:?}");
        }
        let contradiction = Selector::parse("a == 'x' && a == 'y'").expect("parses");
        assert!(labels_for(contradiction.expr()).is_none());
    }
}
