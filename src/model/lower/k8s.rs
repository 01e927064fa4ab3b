//! Lowering of Kubernetes kinds: `networking.k8s.io/v1` NetworkPolicy (and Calico's
//! StagedKubernetesNetworkPolicy) converted exactly as Calico converts them (spec §1.11), and
//! the labels of Namespaces and workloads for reachability.

use super::reader::{Fields, Reader, child};
use crate::load::tree::{Node, ScalarValue};
use crate::model::net::parse_cidr;
use crate::model::port::{Port, Protocol, port_from_int, port_from_str};
use crate::model::resource::*;
use crate::pointer::{Lazy, Pointer};
use crate::source::Spanned;

pub(super) const ORCHESTRATOR_TERM: &str = "projectcalico.org/orchestrator == 'k8s'";

/// Most (peer, port) pairs the conversion of one Kubernetes policy may produce. Calico makes
/// one rule per peer and protocol, each with all the rule's ports, so a 300 KB policy with
/// 5,000 peers and 5,000 ports would become 25 million port entries (a gigabyte); past this
/// bound the rule is reported and the policy is not analyzed.
pub const MAX_CONVERTED_PORT_ENTRIES: usize = 100_000;

fn quote(v: &str) -> String {
    if v.contains('\'') {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

/// Translate a Kubernetes LabelSelector into Calico selector terms (sorted matchLabels, then
/// matchExpressions in order). Returns `None` when the selector is malformed (reported).
pub(super) fn label_selector_terms(
    r: &mut Reader,
    node: &Node,
    ptr: Lazy<'_>,
) -> Option<Vec<String>> {
    let f = r.fields(
        node,
        ptr,
        "label selector",
        &["matchLabels", "matchExpressions"],
    )?;
    let mut labels = r.string_map(&f, "matchLabels");
    labels.sort_by(|a, b| a.0.value.cmp(&b.0.value));
    let mut terms: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{} == {}", k.value, quote(&v.value)))
        .collect();
    let mut ok = true;
    let exprs = r.opt_list(&f, "matchExpressions", |r, n, p| {
        let e = r.fields(n, p, "match expression", &["key", "operator", "values"])?;
        let key = r.opt_string(&e, "key")?;
        let op = r.opt_string(&e, "operator")?;
        let values = r.string_list(&e, "values");
        let set = values
            .iter()
            .map(|v| quote(&v.value))
            .collect::<Vec<_>>()
            .join(", ");
        match op.value.as_str() {
            "In" => Some(format!("{} in {{ {set} }}", key.value)),
            "NotIn" => Some(format!("{} not in {{ {set} }}", key.value)),
            "Exists" => Some(format!("has({})", key.value)),
            "DoesNotExist" => Some(format!("! has({})", key.value)),
            other => {
                r.report(
                    op.span,
                    p.child("operator"),
                    format!(
                        "unknown operator `{other}` (expected In, NotIn, Exists or DoesNotExist)"
                    ),
                );
                None
            }
        }
    });
    let expr_count = f
        .get("matchExpressions")
        .and_then(|(n, _)| n.as_seq().map(<[Node]>::len))
        .unwrap_or(0);
    if exprs.len() != expr_count {
        ok = false;
    }
    terms.extend(exprs);
    ok.then_some(terms)
}

pub(super) fn join_terms(prefix: Option<&str>, terms: &[String]) -> String {
    prefix
        .into_iter()
        .map(str::to_string)
        .chain(terms.iter().cloned())
        .collect::<Vec<_>>()
        .join(" && ")
}

/// A Kubernetes NetworkPolicy (or StagedKubernetesNetworkPolicy) as the Calico policy it
/// becomes: tier `default`, order 1000, one Allow rule per (peer × protocol).
pub fn network_policy(r: &mut Reader, kind: Kind, spec: &Node, ptr: Lazy<'_>) -> Policy {
    let staged = kind == Kind::StagedKubernetesNetworkPolicy;
    let mut known = vec!["podSelector", "policyTypes", "ingress", "egress"];
    if staged {
        known.push("stagedAction");
    }
    let mut policy = Policy {
        spec_span: spec.span,
        order: Some(Spanned::new(1000.0, spec.span)),
        ..Policy::default()
    };
    let Some(f) = r.fields(spec, ptr, &format!("{} spec", kind.name()), &known) else {
        return policy;
    };
    if staged {
        policy.staged_action = r.opt_string(&f, "stagedAction");
    }
    let selector = match f.get("podSelector") {
        Some((node, p)) => label_selector_terms(r, node, p)
            .map(|terms| Spanned::new(join_terms(Some(ORCHESTRATOR_TERM), &terms), node.span)),
        None => Some(Spanned::new(ORCHESTRATOR_TERM.to_string(), spec.span)),
    };
    // A malformed podSelector selects nothing rather than everything (fail closed).
    policy.selector =
        Some(r.selector(selector.unwrap_or_else(|| Spanned::new("!all()".to_string(), spec.span))));

    let ingress = f.get("ingress");
    let egress = f.get("egress");
    policy.ingress_span = ingress.as_ref().map(|(n, _)| n.span);
    policy.egress_span = egress.as_ref().map(|(n, _)| n.span);
    if let Some((node, p)) = &ingress {
        policy.ingress = r
            .list(node, p, |r, n, p| {
                Some(k8s_rule(r, n, p, Direction::Ingress))
            })
            .into_iter()
            .flatten()
            .collect();
    }
    if let Some((node, p)) = &egress {
        policy.egress = r
            .list(node, p, |r, n, p| {
                Some(k8s_rule(r, n, p, Direction::Egress))
            })
            .into_iter()
            .flatten()
            .collect();
    }

    policy.k8s_policy_types_written = f.has("policyTypes");
    let types = match f.get("policyTypes") {
        Some((node, p)) => Spanned::new(r.list(node, p, |r, n, p| r.string(n, p)), node.span),
        None => {
            // The Kubernetes API server defaults policyTypes (Ingress, plus Egress when egress
            // rules exist); nothing defaults it for the staged kind, so Calico uses Ingress.
            let mut t = vec![Spanned::new("Ingress".to_string(), spec.span)];
            let has_egress = egress
                .as_ref()
                .is_some_and(|(n, _)| n.as_seq().is_some_and(|s| !s.is_empty()));
            if !staged && has_egress {
                t.push(Spanned::new("Egress".to_string(), spec.span));
            }
            Spanned::new(t, spec.span)
        }
    };
    policy.types = Some(types);
    policy
}

/// A Calico-side peer: the entity fields one Kubernetes peer becomes.
fn peer(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Option<EntityRule> {
    let f = r.fields(
        node,
        ptr,
        "network policy peer",
        &["podSelector", "namespaceSelector", "ipBlock"],
    )?;
    let mut entity = EntityRule {
        span: Some(node.span),
        ..EntityRule::default()
    };
    if let Some((ib, p)) = f.get("ipBlock") {
        let b = r.fields(ib, p, "ipBlock", &["cidr", "except"])?;
        let cidr = r.opt_string(&b, "cidr")?;
        // Calico normalises ipBlock CIDRs to their network address.
        let parsed = parse_cidr(&cidr.value).map(|c| c.network());
        entity.nets.push(NetField { raw: cidr, parsed });
        for raw in r.string_list(&b, "except") {
            let parsed = parse_cidr(&raw.value).map(|c| c.network());
            entity.not_nets.push(NetField { raw, parsed });
        }
        return Some(entity);
    }
    let pod_terms = match f.get("podSelector") {
        Some((n, p)) => Some((label_selector_terms(r, n, p)?, n.span)),
        None => None,
    };
    let pod_span = pod_terms.as_ref().map_or(node.span, |(_, s)| *s);
    let pod_terms = pod_terms.map(|(t, _)| t).unwrap_or_default();
    entity.selector = Some(r.selector(Spanned::new(
        join_terms(Some(ORCHESTRATOR_TERM), &pod_terms),
        pod_span,
    )));
    if let Some((n, p)) = f.get("namespaceSelector") {
        let terms = label_selector_terms(r, n, p)?;
        let text = if terms.is_empty() {
            "all()".to_string()
        } else {
            join_terms(None, &terms)
        };
        entity.namespace_selector = Some(Box::new(r.selector(Spanned::new(text, n.span))));
    } else if f.has("namespaceSelector") {
        entity.namespace_selector = Some(Box::new(r.selector(Spanned::new(
            "all()".to_string(),
            f.key_span("namespaceSelector").unwrap_or(node.span),
        ))));
    }
    Some(entity)
}

struct PortGroup {
    protocol: Spanned<Protocol>,
    /// Pointer and span of the group's first port entry.
    first: (Pointer, crate::source::Span),
    ports: Vec<Spanned<Port>>,
    /// A port entry without `port`: every port of the protocol.
    all_ports: bool,
}

fn k8s_ports(r: &mut Reader, f: &Fields<'_>) -> Vec<PortGroup> {
    let mut groups: Vec<PortGroup> = Vec::new();
    let entries = r.opt_list(f, "ports", |r, n, p| {
        let pf = r.fields(
            n,
            p,
            "network policy port",
            &["protocol", "port", "endPort"],
        )?;
        let protocol = match r.protocol(&pf, "protocol") {
            Some(proto) => proto,
            None if pf.has("protocol") => return None,
            None => Spanned::new(Protocol::Name("TCP".into()), n.span),
        };
        let port = match pf.get("port") {
            Some((pn, pp)) => {
                let decoded = match pn.as_scalar().map(|s| s.typed()) {
                    Some(ScalarValue::Int(i)) => port_from_int(i),
                    Some(ScalarValue::Str(s)) => port_from_str(s),
                    _ => Err(format!(
                        "expected a port number or name, found {}",
                        pn.describe()
                    )),
                };
                match decoded {
                    Ok(port) => Some(Spanned::new(port, pn.span)),
                    Err(msg) => {
                        r.report(pn.span, pp, msg);
                        return None;
                    }
                }
            }
            None => None,
        };
        let end = r.opt_int(&pf, "endPort");
        let port = match (port, end) {
            (
                Some(Spanned {
                    value: Port::Range { min, .. },
                    span,
                }),
                Some(end),
            ) => match u16::try_from(end.value) {
                Ok(max) if max >= min => {
                    Some(Spanned::new(Port::Range { min, max }, span.cover(end.span)))
                }
                _ => {
                    r.report(
                        end.span,
                        p.child("endPort"),
                        format!(
                            "endPort {} must be between port ({min}) and 65535",
                            end.value
                        ),
                    );
                    return None;
                }
            },
            (port, _) => port,
        };
        Some((protocol, port, p.pointer(), n.span))
    });
    for (protocol, port, entry_ptr, entry_span) in entries {
        let group = match groups
            .iter_mut()
            .position(|g| g.protocol.value == protocol.value)
        {
            Some(i) => groups.get_mut(i),
            None => {
                groups.push(PortGroup {
                    protocol,
                    first: (entry_ptr, entry_span),
                    ports: Vec::new(),
                    all_ports: false,
                });
                groups.last_mut()
            }
        };
        if let Some(group) = group {
            match port {
                Some(p) => group.ports.push(p),
                None => group.all_ports = true,
            }
        }
    }
    groups
}

/// One Kubernetes rule → Calico Allow rules (one per peer × protocol).
fn k8s_rule(r: &mut Reader, node: &Node, ptr: Lazy<'_>, direction: Direction) -> Vec<Rule> {
    let peers_key = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let Some(f) = r.fields(node, ptr, "network policy rule", &[peers_key, "ports"]) else {
        return Vec::new();
    };
    // Each peer with its pointer and span (the rule itself when there is no peer list).
    let peers: Vec<(Pointer, crate::source::Span, Option<EntityRule>)> = match f.get(peers_key) {
        Some((n, p)) => r.list(n, p, |r, n, p| {
            let converted = peer(r, n, p);
            Some((p.pointer(), n.span, converted))
        }),
        None => vec![(ptr.pointer(), node.span, Some(EntityRule::default()))],
    };
    let groups = k8s_ports(r, &f);
    let per_peer: usize = groups
        .iter()
        .map(|g| if g.all_ports { 1 } else { g.ports.len().max(1) })
        .sum::<usize>()
        .max(1);
    r.converted = r
        .converted
        .saturating_add(peers.len().saturating_mul(per_peer));
    if r.converted > MAX_CONVERTED_PORT_ENTRIES {
        r.report(
            node.span,
            ptr,
            format!(
                "converting this policy as Calico does makes more than \
                 {MAX_CONVERTED_PORT_ENTRIES} (peer, port) entries ({} peers × {per_peer} \
                 ports in this rule); calint does not analyze it",
                peers.len()
            ),
        );
        return Vec::new();
    }
    let action = Spanned::new("Allow".to_string(), node.span);
    let mut rules = Vec::new();
    let several_peers = peers.len() > 1;
    let several_protocols = groups.len() > 1;
    for (peer_ptr, peer_span, peer) in &peers {
        // A peer that failed to convert drops that rule (Calico fails closed per rule).
        let Some(peer) = peer else { continue };
        // Which piece of the Kubernetes rule a converted rule is, when there are several.
        let piece = |g: Option<&PortGroup>| -> Option<RulePiece> {
            if !several_peers && !several_protocols {
                return None;
            }
            let proto = g
                .filter(|_| several_protocols)
                .map(|g| g.protocol.value.to_string());
            let (pointer, span, mut label) = match g {
                Some(g) if !several_peers => (
                    g.first.0.clone(),
                    g.first.1,
                    format!("the {} part", proto.clone().unwrap_or_default()),
                ),
                _ => (peer_ptr.clone(), *peer_span, format!("peer {peer_ptr}")),
            };
            let peer_label = label.clone();
            if several_peers {
                if let Some(p) = &proto {
                    label.push_str(&format!(" on {p}"));
                }
            }
            Some(RulePiece {
                pointer,
                span,
                label,
                peer_label,
            })
        };
        let make = |protocol: Option<Spanned<Protocol>>,
                    ports: Vec<Spanned<Port>>,
                    piece: Option<RulePiece>| {
            let mut rule = Rule {
                span: node.span,
                pointer: ptr.pointer(),
                action: Some(action.clone()),
                protocol,
                piece: piece.map(Box::new),
                ..Rule::default()
            };
            let (peer_side, port_side) = match direction {
                Direction::Ingress => (&mut rule.source, ports),
                Direction::Egress => (&mut rule.destination, ports),
            };
            *peer_side = peer.clone();
            rule.destination.ports = port_side;
            rule
        };
        if groups.is_empty() {
            rules.push(make(None, Vec::new(), piece(None)));
        }
        for g in &groups {
            let ports = if g.all_ports {
                Vec::new()
            } else {
                g.ports.clone()
            };
            rules.push(make(Some(g.protocol.clone()), ports, piece(Some(g))));
        }
    }
    rules
}

/// Namespace: only its labels matter (they are in `ObjectMeta`).
pub fn namespace() -> Body {
    Body::Namespace
}

/// Pod-template facts of a workload; lenient (calint is not a Kubernetes validator).
pub fn workload(
    r: &mut Reader,
    kind: Kind,
    root: &Fields<'_>,
    meta_labels: &[(Spanned<String>, Spanned<String>)],
) -> Workload {
    let mut workload = Workload::default();
    let pod_spec: Option<(&Node, Pointer)>;
    if kind == Kind::Pod {
        workload.pod_labels = meta_labels.to_vec();
        pod_spec = root.get("spec").map(|(n, p)| (n, p.pointer()));
    } else {
        // Workloads are few: their pointers are written out as they are read.
        let mut node = root.get("spec").map(|(n, p)| (n, p.pointer()));
        if kind == Kind::CronJob {
            node = node
                .and_then(|(n, p)| n.get("jobTemplate").map(|j| (j, child(&p, "jobTemplate"))))
                .and_then(|(n, p)| n.get("spec").map(|s| (s, child(&p, "spec"))));
        }
        let template =
            node.and_then(|(n, p)| n.get("template").map(|t| (t, child(&p, "template"))));
        if let Some((t, p)) = &template {
            if let Some(tf) = r.fields(t, p, "pod template", &[]) {
                if let Some((m, mp)) = tf.get("metadata") {
                    if let Some(mf) = r.fields(m, mp, "pod template metadata", &[]) {
                        workload.pod_labels = r.string_map(&mf, "labels");
                    }
                }
            }
        }
        pod_spec = template.and_then(|(t, p)| t.get("spec").map(|s| (s, child(&p, "spec"))));
    }
    if let Some((spec, p)) = pod_spec {
        if let Some(sf) = r.fields(spec, &p, "pod spec", &[]) {
            workload.service_account = r
                .opt_string(&sf, "serviceAccountName")
                .or_else(|| r.opt_string(&sf, "serviceAccount"));
            let containers = r.opt_list(&sf, "containers", |r, n, p| {
                let cf = r.fields(n, p, "container", &[])?;
                Some(r.opt_list(&cf, "ports", |r, n, p| {
                    let pf = r.fields(n, p, "container port", &[])?;
                    Some(EndpointPort {
                        span: n.span,
                        name: r.opt_string(&pf, "name"),
                        protocol: r.protocol(&pf, "protocol"),
                        port: r.opt_int(&pf, "containerPort"),
                    })
                }))
            });
            workload.ports = containers.into_iter().flatten().collect();
        }
    }
    workload
}
