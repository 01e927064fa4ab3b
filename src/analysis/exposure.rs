//! Exposure: the open questions a security review asks of every workload, answered with the
//! reachability machinery of [`super::reach`]: can the world reach it, can a pod of another
//! namespace, can a pod that does not exist yet (any labels, any namespace), can it reach the
//! world — on which protocols and ports, and which rules decide. Also whether any policy
//! selects the workload at all in each direction (isolation coverage).

use super::concrete::{self, Packet, Side};
use super::groups::{Group, GroupKind, ORCHESTRATOR_LABEL, world};
use super::ir::{NAMESPACE_LABEL, PolicySet};
use super::reach::{
    AllowedProtocol, Decision, NAMED_PROTOCOLS, Verdict, decisions_for, merge, port_classes,
};
use super::solver::{Answer, FlowQuestion, ProtocolClass, Universe, with_fresh_session};
use crate::model::port::FlowProtocol;
use crate::model::resource::Direction;
use crate::model::selector::{Expr, Selector};
use crate::project::Project;
use rayon::prelude::*;

/// Most port ranges of one protocol whose deciding rules are looked up one by one; the
/// rest are reported with the decisions found so far (a cap on solver work per answer).
const MAX_RANGES_EXPLAINED: usize = 16;

/// One answer: what is allowed, and the rules that decide it.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub verdict: Verdict,
    pub allowed: Vec<AllowedProtocol>,
    /// Per allowed protocol (and port range, for TCP/UDP/SCTP): the decisions of one
    /// example packet in it.
    pub by_port: Vec<PortDecision>,
    /// The decisions of one denied packet, when some packet is denied.
    pub denied_by: Vec<Decision>,
    /// Solver queries that timed out.
    pub undecided: usize,
}

/// The deciding rules of one allowed protocol / port range.
#[derive(Clone, Debug, PartialEq)]
pub struct PortDecision {
    pub protocol: FlowProtocol,
    pub ports: Option<(u16, u16)>,
    pub decisions: Vec<Decision>,
}

impl Flow {
    /// Every distinct decision that allows some packet, in port order.
    pub fn decided_by(&self) -> Vec<&Decision> {
        let mut out: Vec<&Decision> = Vec::new();
        for d in self.by_port.iter().flat_map(|p| &p.decisions) {
            if !out.iter().any(|o| same_rule(o, d)) {
                out.push(d);
            }
        }
        if out.is_empty() {
            out.extend(&self.denied_by);
        }
        out
    }
}

fn same_rule(a: &Decision, b: &Decision) -> bool {
    a.direction == b.direction && a.action == b.action && a.rule == b.rule && a.tier == b.tier
}

/// Whether any policy selects the group in a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policied {
    /// Some policy selects the endpoint (exact: its labels are known).
    Yes,
    /// No policy selects it: everything is allowed in that direction.
    No,
    /// A symbolic group: some policy may select some of its members.
    Maybe,
}

/// The exposure of one group.
#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    /// Index into the groups given to [`exposure`].
    pub group: usize,
    pub ingress_policied: Policied,
    pub egress_policied: Policied,
    pub from_world: Flow,
    /// `None` when the group has no single namespace.
    pub from_other_namespaces: Option<Flow>,
    pub from_any_pod: Flow,
    pub to_world: Flow,
}

/// The symbolic peers exposure asks about, with the namespace they exclude.
pub struct Peers {
    pub world: Group,
    pub any_pod: Group,
}

/// A symbolic peer: every endpoint the selector matches, with labels of anyone's choosing.
/// Its own egress policies are not applied (`policed: false`): a pod created later, or by an
/// attacker, comes with whatever egress its creator gives it, so what matters is what the
/// target's ingress admits. (It also keeps each query small: the egress of a pod with any
/// labels in any namespace involves every policy of the tree.)
fn symbolic(name: &str, selector: &str) -> Option<Group> {
    let sel = Selector::parse(selector).ok()?;
    Some(Group {
        name: name.to_string(),
        kind: GroupKind::Selector,
        policed: false,
        concrete: false,
        members: vec![super::groups::Member {
            identity: super::groups::Identity {
                entity: true,
                fixed: Default::default(),
                closed: false,
                open_prefixes: Vec::new(),
                closed_prefixes: Vec::new(),
                selector: Some(sel.expr().clone()),
            },
            nets: Vec::new(),
            not_nets: Vec::new(),
            named_ports: None,
        }],
        resource: None,
    })
}

/// Any pod that could be created later: any labels, any namespace, any service account.
pub fn any_pod() -> Option<Group> {
    symbolic(
        "any pod",
        &format!("has({NAMESPACE_LABEL}) && {ORCHESTRATOR_LABEL} == 'k8s'"),
    )
}

/// Any pod of a namespace other than `ns`.
pub fn other_namespace_pod(ns: &str) -> Option<Group> {
    // A namespace name is a DNS label (no quote can end the string), checked anyway.
    if ns.contains(['\'', '"']) {
        return None;
    }
    symbolic(
        &format!("any pod outside namespace {ns}"),
        &format!(
            "has({NAMESPACE_LABEL}) && {NAMESPACE_LABEL} != '{ns}' && {ORCHESTRATOR_LABEL} == 'k8s'"
        ),
    )
}

/// The single namespace every member of the group is in, if there is one.
pub fn namespace_of(g: &Group) -> Option<&str> {
    let mut ns = None;
    for m in &g.members {
        let this = m.identity.fixed.get(NAMESPACE_LABEL)?;
        match ns {
            None => ns = Some(this.as_str()),
            Some(prev) if prev == this => {}
            Some(_) => return None,
        }
    }
    ns
}

/// The namespace a compiled policy selector requires (`projectcalico.org/namespace == N`,
/// alone or in a top-level conjunction): every namespaced policy has one, and selects nothing
/// outside it.
fn required_namespace(e: &Expr) -> Option<&str> {
    match e {
        Expr::Eq(k, v) if k == NAMESPACE_LABEL => Some(v),
        Expr::And(items) => items.iter().find_map(required_namespace),
        _ => None,
    }
}

/// The policies of a set by the namespace their selector requires, so that the policies that
/// may select an endpoint of a known namespace are found without reading the others.
pub struct NamespaceScopes<'s> {
    by_namespace: std::collections::HashMap<&'s str, Vec<usize>>,
    anywhere: Vec<usize>,
}

impl<'s> NamespaceScopes<'s> {
    pub fn new(set: &'s PolicySet) -> Self {
        let mut scopes = NamespaceScopes {
            by_namespace: std::collections::HashMap::new(),
            anywhere: Vec::new(),
        };
        for (i, p) in set.policies.iter().enumerate() {
            match required_namespace(&p.selector) {
                Some(ns) => scopes.by_namespace.entry(ns).or_default().push(i),
                None => scopes.anywhere.push(i),
            }
        }
        scopes
    }

    /// The positions of the policies that may select an endpoint whose namespace label is
    /// `ns` (every policy when it is unknown).
    fn candidates(&self, ns: Option<&str>, all: usize) -> Vec<usize> {
        match ns {
            None => (0..all).collect(),
            Some(ns) => {
                let mut found = self.anywhere.clone();
                found.extend(self.by_namespace.get(ns).into_iter().flatten());
                found
            }
        }
    }
}

/// Whether a policy selects the group in direction `d`: exact for a group of one member with
/// closed labels (a discovered workload), else whether one may. `scopes` is the set's
/// [`NamespaceScopes`], built once for many groups.
pub fn policied_in(
    set: &PolicySet,
    scopes: &NamespaceScopes<'_>,
    g: &Group,
    d: Direction,
) -> Policied {
    if let [m] = g.members.as_slice() {
        if m.identity.entity && m.identity.closed && m.identity.selector.is_none() {
            let side = Side {
                is_entity: true,
                labels: m.identity.fixed.clone(),
                ..Side::default()
            };
            let pkt = match d {
                Direction::Ingress => Packet {
                    dst: side,
                    ..Packet::default()
                },
                Direction::Egress => Packet {
                    src: side,
                    ..Packet::default()
                },
            };
            let ns = m.identity.fixed.get(NAMESPACE_LABEL).map(String::as_str);
            let selected = (scopes.candidates(ns, set.policies.len()).into_iter())
                .filter_map(|i| set.policies.get(i))
                .any(|p| !p.staged && concrete::policy_selects(p, d, &pkt));
            return if selected {
                Policied::Yes
            } else {
                Policied::No
            };
        }
    }
    let any = g
        .selectable(set)
        .iter()
        .zip(&set.policies)
        .any(|(may, p)| *may && !p.staged && p.applies(d));
    if any { Policied::Maybe } else { Policied::No }
}

/// The same answer as [`super::reach::allowed_list`] (the protocols, and the port classes of
/// TCP/UDP/SCTP, on which some packet is allowed), found by splitting: a run of classes with
/// no allowed packet is dropped with one query, a run with no denied packet is kept with one
/// more, and only mixed runs are halved. Exposure asks about symbolic peers (any pod), whose
/// egress involves every policy, so one query per class was too slow on large trees.
fn allowed_ports(
    s: &mut super::solver::Session<'_>,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    classes: &[(u16, u16)],
) -> (Vec<AllowedProtocol>, usize) {
    let mut undecided = 0;
    let mut ask = |s: &mut super::solver::Session<'_>,
                   protocol: ProtocolClass<'_>,
                   dst_ports: Option<(u16, u16)>,
                   allowed: bool| {
        let q = FlowQuestion {
            protocol,
            dst_ports,
            allowed,
            ..FlowQuestion::allowed_between((from, fp), (to, tp), None)
        };
        match s.flow(&q) {
            Answer::Known(x) => Some(x.is_some()),
            Answer::Undecided => {
                undecided += 1;
                None
            }
        }
    };
    let mut out = Vec::new();
    for p in NAMED_PROTOCOLS {
        if ask(s, ProtocolClass::Is(p), None, true) != Some(true) {
            continue;
        }
        if [6, 17, 132].contains(&p) {
            let mut open = Vec::new();
            // (classes, whether some packet in them is already known to be allowed)
            let mut stack = vec![(classes, true)];
            while let Some((run, known_some)) = stack.pop() {
                let (Some(first), Some(last)) = (run.first(), run.last()) else {
                    continue;
                };
                let range = (first.0, last.1);
                if !known_some && ask(s, ProtocolClass::Is(p), Some(range), true) != Some(true) {
                    continue;
                }
                // A timeout on "some denied?" is not a proof that all are allowed: split.
                if run.len() == 1 || ask(s, ProtocolClass::Is(p), Some(range), false) == Some(false)
                {
                    open.push(range);
                    continue;
                }
                let (left, right) = run.split_at(run.len() / 2);
                stack.push((right, false));
                stack.push((left, false));
            }
            open.sort_unstable();
            let merged = merge(open);
            if !merged.is_empty() {
                out.push((FlowProtocol::Number(p), Some(merged)));
            }
        } else {
            out.push((FlowProtocol::Number(p), None));
        }
    }
    if ask(s, ProtocolClass::Other(&NAMED_PROTOCOLS), None, true) == Some(true) {
        out.push((FlowProtocol::Other, None));
    }
    (out, undecided)
}

/// Answer one flow question completely, in the given session.
pub(crate) fn flow(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
) -> Flow {
    let mut undecided = 0;
    let mut ask = |s: &mut super::solver::Session<'_>,
                   protocol: ProtocolClass<'_>,
                   dst_ports: Option<(u16, u16)>,
                   allowed: bool| {
        let q = FlowQuestion {
            protocol,
            dst_ports,
            allowed,
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
    let some_allowed = ask(s, ProtocolClass::Any, None, true).is_some();
    let denied = ask(s, ProtocolClass::Any, None, false);
    let verdict = match (some_allowed, denied.is_some()) {
        (true, false) => Verdict::Allowed,
        (false, _) => Verdict::Denied,
        (true, true) => Verdict::Partial,
    };
    let decide = |pkt: &Packet, example: &'static str| {
        let mut out = Vec::new();
        if from.policed {
            out.extend(decisions_for(set, Direction::Egress, pkt, example));
        }
        if to.policed {
            out.extend(decisions_for(set, Direction::Ingress, pkt, example));
        }
        out
    };
    let denied_by = denied
        .as_ref()
        .map(|p| decide(p, "denied"))
        .unwrap_or_default();
    let mut allowed = Vec::new();
    let mut by_port = Vec::new();
    let mut list_undecided = 0;
    if some_allowed {
        let classes = port_classes(set, &[from, to], (0, 65535));
        let (list, und) = allowed_ports(s, (from, fp), (to, tp), &classes);
        list_undecided = und;
        for (p, ports) in &list {
            let class = match p {
                FlowProtocol::Other => ProtocolClass::Other(&NAMED_PROTOCOLS),
                FlowProtocol::Number(n) => ProtocolClass::Is(*n),
            };
            let ranges: Vec<Option<(u16, u16)>> = match ports {
                Some(r) => r
                    .iter()
                    .take(MAX_RANGES_EXPLAINED)
                    .map(|r| Some(*r))
                    .collect(),
                None => vec![None],
            };
            for range in ranges {
                if let Some(pkt) = ask(s, class, range, true) {
                    by_port.push(PortDecision {
                        protocol: *p,
                        ports: range,
                        decisions: decide(&pkt, "allowed"),
                    });
                }
            }
        }
        allowed = list;
    }
    Flow {
        verdict,
        allowed,
        by_port,
        denied_by,
        undecided: undecided + list_undecided,
    }
}

/// The exposure of each of `targets` (indices into `groups`; unpoliced groups — network sets,
/// the world — are skipped: no policy can say anything at their end). Each group is answered
/// in its own fresh solver context, so the examples, hence the deciding rules, do not depend
/// on the thread count.
pub fn exposure(
    project: &Project,
    set: &PolicySet,
    groups: &[Group],
    timeout_ms: u32,
) -> Vec<Exposure> {
    let world = world(project);
    let Some(any) = any_pod() else {
        return Vec::new();
    };
    let targets: Vec<usize> = (0..groups.len())
        .filter(|&i| groups.get(i).is_some_and(|g| g.policed))
        .collect();
    let others: Vec<Option<Group>> = targets
        .iter()
        .map(|&i| {
            groups
                .get(i)
                .and_then(namespace_of)
                .and_then(other_namespace_pod)
        })
        .collect();
    let extra: Vec<&Expr> = groups
        .iter()
        .chain([&any])
        .chain(others.iter().flatten())
        .flat_map(|g| {
            g.members
                .iter()
                .filter_map(|m| m.identity.selector.as_ref())
        })
        .collect();
    let universe = Universe::with_extra(set, &extra);
    let world_sel = world.selectable(set);
    let any_sel = any.selectable(set);
    let scopes = NamespaceScopes::new(set);
    targets
        .par_iter()
        .zip(others.par_iter())
        .filter_map(|(&i, other)| {
            let g = groups.get(i)?;
            let gs = g.selectable(set);
            let other_sel = other.as_ref().map(|o| o.selectable(set));
            let (from_world, from_other, from_any, to_world) =
                with_fresh_session(&universe, set, timeout_ms, |s| {
                    let from_world = flow(s, set, (&world, &world_sel), (g, &gs));
                    let from_other = match (other, &other_sel) {
                        (Some(o), Some(os)) => Some(flow(s, set, (o, os), (g, &gs))),
                        _ => None,
                    };
                    let from_any = flow(s, set, (&any, &any_sel), (g, &gs));
                    let to_world = flow(s, set, (g, &gs), (&world, &world_sel));
                    (from_world, from_other, from_any, to_world)
                });
            Some(Exposure {
                group: i,
                ingress_policied: policied_in(set, &scopes, g, Direction::Ingress),
                egress_policied: policied_in(set, &scopes, g, Direction::Egress),
                from_world,
                from_other_namespaces: from_other,
                from_any_pod: from_any,
                to_world,
            })
        })
        .collect()
}

/// Exposure of one group to the world only (the `world-exposure` lint's question), with
/// the deciding rules of each allowed port range.
pub fn world_ingress(
    project: &Project,
    set: &PolicySet,
    groups: &[Group],
    timeout_ms: u32,
) -> Vec<(usize, Flow)> {
    let world = world(project);
    let universe = super::graph::universe_for(set, groups);
    let world_sel = world.selectable(set);
    (0..groups.len())
        .into_par_iter()
        .filter_map(|i| {
            let g = groups.get(i).filter(|g| g.policed)?;
            let gs = g.selectable(set);
            let f = with_fresh_session(&universe, set, timeout_ms, |s| {
                flow(s, set, (&world, &world_sel), (g, &gs))
            });
            Some((i, f))
        })
        .collect()
}
