//! Lowering of the cluster-scoped policies of the Kubernetes network-policy API
//! (`policy.networking.k8s.io`): AdminNetworkPolicy and BaselineAdminNetworkPolicy
//! (`v1alpha1`, enforced by Calico v3.29/v3.30–v3.31) and ClusterNetworkPolicy (`v1alpha2`,
//! Calico v3.32+), converted into the GlobalNetworkPolicy Calico makes of them.
//!
//! Sources (read, not copied):
//! - conversion: `calico@release-v3.31:libcalico-go/lib/backend/k8s/conversion/conversion.go`
//!   (`K8sAdminNetworkPolicyToCalico`, `K8sBaselineAdminNetworkPolicyToCalico`,
//!   `combinePortsWithANPIngressPeers`, `combinePortsWithANPEgressPeers`, `unpackANPPorts`,
//!   `k8sAdminPolicyPortToCalicoFields`) and
//!   `calico:libcalico-go/lib/backend/k8s/conversion/clusternetworkpolicy.go`
//!   (`K8sClusterNetworkPolicyToCalico`, `unpackCNPProtocols`, `k8sCNPPortToCalicoFields`);
//! - schema: the upstream CRDs as Calico ships them,
//!   `calico@release-v3.31:libcalico-go/config/crd/policy.networking.k8s.io_{adminnetworkpolicies,baselineadminnetworkpolicies}.yaml`
//!   and `calico:libcalico-go/config/crd/policy.networking.k8s.io_clusternetworkpolicies.yaml`
//!   (copies of kubernetes-sigs/network-policy-api
//!   `config/crd/standard/policy.networking.k8s.io_{adminnetworkpolicies,baselineadminnetworkpolicies,clusternetworkpolicies}.yaml`;
//!   the Go types are `apis/v1alpha1/*_types.go` and `apis/v1alpha2/clusternetworkpolicy_types.go`).
//!
//! What the conversion does, and this module with it:
//! - the subject becomes the policy's `namespaceSelector` + `selector`: `namespaces` selects
//!   every pod (`projectcalico.org/orchestrator == 'k8s'`, so host endpoints are excluded) of
//!   the matching namespaces; `pods` ANDs both selectors (an empty namespace selector is
//!   `all()`);
//! - `priority` becomes `order` (BaselineAdminNetworkPolicy: always 1000);
//! - each rule becomes one Calico rule per (protocol, peer), protocols sorted by name, each
//!   with all the rule's ports of that protocol; no ports = one rule without protocol;
//! - peers: `namespaces` (namespace selector only), `pods` (both selectors), `networks`
//!   (egress; CIDRs normalised to their network address); anything else (`nodes`, an empty
//!   peer) makes the whole rule fail to convert;
//! - a rule that fails to convert "fails closed": a Deny or Pass rule becomes one `Deny` rule
//!   matching everything, an Allow/Accept rule is dropped (`k8sANPHandleFailedRules`,
//!   `k8sClusterNetPolHandleFailedRules`). Such rules are listed in
//!   [`Policy::unconverted`] for CAL104;
//! - `types` lists the directions that have rules after conversion (`calculateANPPolicyTypes`).
//!
//! The CRD's OpenAPI and CEL rules (enums, ranges, list sizes, exactly-one-of) are checked
//! here, on the raw nodes, as the API server checks them before anything else: a violation
//! is a lowering problem (CAL002) and the policy is not analysed.

use super::k8s::{ORCHESTRATOR_TERM, join_terms, label_selector_terms};
use super::reader::{Fields, Reader};
use crate::load::tree::Node;
use crate::model::net::parse_cidr;
use crate::model::port::{Port, Protocol};
use crate::model::resource::*;
use crate::pointer::Lazy;
use crate::source::Spanned;
use peers::*;
use ports::*;

mod peers;
mod ports;
#[cfg(test)]
mod tests;

/// The three resource flavours differ in field names, actions and limits.
#[derive(Clone, Copy)]
struct Flavor {
    kind: Kind,
    /// Actions as written → Calico action.
    actions: &'static [(&'static str, Action)],
    max_rules: usize,
    max_peers: usize,
    /// Key of the port list: `ports` (v1alpha1) or `protocols` (v1alpha2).
    ports_key: &'static str,
    max_ports: usize,
    egress_peers: &'static [&'static str],
}

const ANP: Flavor = Flavor {
    kind: Kind::AdminNetworkPolicy,
    actions: &[
        ("Allow", Action::Allow),
        ("Deny", Action::Deny),
        ("Pass", Action::Pass),
    ],
    max_rules: 100,
    max_peers: 100,
    ports_key: "ports",
    max_ports: 100,
    egress_peers: &["namespaces", "pods", "networks", "nodes"],
};

const BANP: Flavor = Flavor {
    kind: Kind::BaselineAdminNetworkPolicy,
    actions: &[("Allow", Action::Allow), ("Deny", Action::Deny)],
    ..ANP
};

const CNP: Flavor = Flavor {
    kind: Kind::ClusterNetworkPolicy,
    actions: &[
        ("Accept", Action::Allow),
        ("Deny", Action::Deny),
        ("Pass", Action::Pass),
    ],
    max_rules: 25,
    max_peers: 25,
    ports_key: "protocols",
    max_ports: 25,
    egress_peers: &["namespaces", "pods", "networks"],
};

const INGRESS_PEERS: &[&str] = &["namespaces", "pods"];
/// CRD `maxItems` of a `networks` peer.
const MAX_NETWORKS: usize = 25;
/// The order Calico gives every BaselineAdminNetworkPolicy.
const BANP_ORDER: f64 = 1000.0;

/// The Calico policy a cluster-scoped Kubernetes policy becomes.
pub fn cluster_policy(r: &mut Reader, kind: Kind, spec: &Node, ptr: Lazy<'_>) -> Policy {
    let flavor = match kind {
        Kind::BaselineAdminNetworkPolicy => BANP,
        Kind::ClusterNetworkPolicy => CNP,
        _ => ANP,
    };
    let mut known = vec!["subject", "ingress", "egress"];
    if kind != Kind::BaselineAdminNetworkPolicy {
        known.push("priority");
    }
    if kind == Kind::ClusterNetworkPolicy {
        known.push("tier");
    }
    let mut policy = Policy {
        spec_span: spec.span,
        ..Policy::default()
    };
    let Some(f) = r.fields(spec, ptr, &format!("{} spec", kind.name()), &known) else {
        return policy;
    };

    policy.cluster_tier = match kind {
        Kind::AdminNetworkPolicy => Some(Spanned::new(ClusterTier::Admin, spec.span)),
        Kind::BaselineAdminNetworkPolicy => Some(Spanned::new(ClusterTier::Baseline, spec.span)),
        _ => cnp_tier(r, &f, spec, ptr),
    };
    policy.order = if kind == Kind::BaselineAdminNetworkPolicy {
        Some(Spanned::new(BANP_ORDER, spec.span))
    } else {
        priority(r, &f, spec, ptr)
    };
    let problems_before = r.problems.len();
    subject(r, kind, &f, spec, ptr, &mut policy);
    let mut incomplete = policy.selector.is_none() || policy.namespace_selector.is_none();

    for direction in [Direction::Ingress, Direction::Egress] {
        let Some((node, p)) = f.get(direction.as_str()) else {
            continue;
        };
        let rules = r.list(node, p, |r, n, p| {
            rule(r, flavor, n, p, direction, &mut policy.unconverted)
        });
        if let Some(seq) = node.as_seq().filter(|s| s.len() > flavor.max_rules) {
            r.report(
                node.span,
                p,
                format!(
                    "at most {} {} rules are allowed (found {})",
                    flavor.max_rules,
                    direction.as_str(),
                    seq.len()
                ),
            );
        }
        if rules.len() != node.as_seq().map_or(0, <[Node]>::len) {
            incomplete = true;
        }
        let rules: Vec<Rule> = rules.into_iter().flatten().collect();
        match direction {
            Direction::Ingress => {
                policy.ingress = rules;
                policy.ingress_span = Some(node.span);
            }
            Direction::Egress => {
                policy.egress = rules;
                policy.egress_span = Some(node.span);
            }
        }
    }
    // Fail safe: a part that could not be read must never leave a policy that looks valid
    // (an absent subject would select every endpoint, a lost rule would change the verdicts).
    if incomplete && r.problems.len() == problems_before {
        r.report(spec.span, ptr, "this policy could not be read completely");
    }
    // Types: the directions with rules after conversion; both tiers default to Pass, so a
    // direction without rules has nothing to enforce.
    let mut types = Vec::new();
    for (d, rules) in [
        (Direction::Ingress, &policy.ingress),
        (Direction::Egress, &policy.egress),
    ] {
        if !rules.is_empty() {
            types.push(Spanned::new(d.type_name().to_string(), spec.span));
        }
    }
    policy.types = Some(Spanned::new(types, spec.span));
    policy
}

fn cnp_tier(
    r: &mut Reader,
    f: &Fields<'_>,
    spec: &Node,
    ptr: Lazy<'_>,
) -> Option<Spanned<ClusterTier>> {
    let Some(t) = r.opt_string(f, "tier") else {
        if !f.has("tier") {
            r.report(spec.span, ptr, "`tier` is required (Admin or Baseline)");
        }
        return None;
    };
    match t.value.as_str() {
        "Admin" => Some(Spanned::new(ClusterTier::Admin, t.span)),
        "Baseline" => Some(Spanned::new(ClusterTier::Baseline, t.span)),
        other => {
            r.report(
                t.span,
                ptr.child("tier"),
                format!("unsupported tier `{other}` (expected Admin or Baseline)"),
            );
            None
        }
    }
}

/// `priority`: required, an integer from 0 to 1000.
fn priority(r: &mut Reader, f: &Fields<'_>, spec: &Node, ptr: Lazy<'_>) -> Option<Spanned<f64>> {
    let Some(p) = r.opt_int(f, "priority") else {
        if !f.has("priority") {
            r.report(spec.span, ptr, "`priority` is required (0 to 1000)");
        }
        return None;
    };
    if !(0..=1000).contains(&p.value) {
        r.report(
            p.span,
            ptr.child("priority"),
            format!("priority {} is out of range (0 to 1000)", p.value),
        );
        return None;
    }
    Some(Spanned::new(p.value as f64, p.span))
}

/// `subject`: exactly one of `namespaces` or `pods`.
fn subject(
    r: &mut Reader,
    kind: Kind,
    f: &Fields<'_>,
    spec: &Node,
    ptr: Lazy<'_>,
    policy: &mut Policy,
) {
    let Some((node, p)) = f.get("subject") else {
        r.report(spec.span, ptr, "`subject` is required");
        return;
    };
    let Some(sf) = r.fields(node, p, "subject", &["namespaces", "pods"]) else {
        return;
    };
    if !exactly_one(r, &sf, node, p, "subject", &["namespaces", "pods"]) {
        return;
    }
    if let Some((n, np)) = sf.get("namespaces") {
        let Some(ns) = namespace_selector_text(r, n, np) else {
            return;
        };
        policy.namespace_selector = Some(r.selector(Spanned::new(ns, n.span)));
        policy.selector = Some(r.selector(Spanned::new(ORCHESTRATOR_TERM.to_string(), n.span)));
    } else if let Some((n, pp)) = sf.get("pods") {
        let Some((ns, pods)) = pods_selectors(r, n, pp, kind != Kind::ClusterNetworkPolicy) else {
            return;
        };
        policy.namespace_selector = Some(r.selector(ns));
        policy.selector = Some(r.selector(pods));
    }
}

/// One rule → its Calico rules (see the module docs). `None`-free: a rule that is malformed
/// (reported) yields nothing.
fn rule(
    r: &mut Reader,
    flavor: Flavor,
    node: &Node,
    ptr: Lazy<'_>,
    direction: Direction,
    unconverted: &mut Vec<UnconvertedRule>,
) -> Option<Vec<Rule>> {
    let peers_key = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let f = r
        .fields(
            node,
            ptr,
            &format!("{} rule", direction.as_str()),
            &["name", "action", peers_key, flavor.ports_key],
        )
        .or_else(|| null_entry(r, node, ptr))?;
    if let Some(name) = r.opt_string(&f, "name") {
        if name.value.chars().count() > 100 {
            r.report(
                name.span,
                ptr.child("name"),
                "rule names are at most 100 characters",
            );
        }
    }
    let action = match r.opt_string(&f, "action") {
        Some(a) => match flavor.actions.iter().find(|(w, _)| *w == a.value) {
            Some((_, calico)) => Some(Spanned::new(*calico, a.span)),
            None => {
                let allowed: Vec<&str> = flavor.actions.iter().map(|(w, _)| *w).collect();
                r.report(
                    a.span,
                    ptr.child("action"),
                    format!(
                        "unsupported action `{}` in a {} (expected {})",
                        a.value,
                        flavor.kind.name(),
                        allowed.join(", ")
                    ),
                );
                None
            }
        },
        None => {
            if !f.has("action") {
                r.report(node.span, ptr, "`action` is required");
            }
            None
        }
    };
    let Some((pn, pp)) = f.get(peers_key) else {
        r.report(node.span, ptr, format!("`{peers_key}` is required"));
        return None;
    };
    let peer_count = pn.as_seq().map_or(0, <[Node]>::len);
    let peers = r.list(pn, pp, |r, n, p| peer(r, flavor, n, p, direction));
    if pn.as_seq().is_some() && !(1..=flavor.max_peers).contains(&peer_count) {
        r.report(
            pn.span,
            pp,
            format!(
                "`{peers_key}` must have 1 to {} peers (found {peer_count})",
                flavor.max_peers
            ),
        );
        return None;
    }
    let port_groups = ports(r, flavor, &f);
    // CEL (v1alpha1): named ports cannot be used with `networks` or `nodes` peers.
    if flavor.kind != Kind::ClusterNetworkPolicy {
        let named = f
            .get("ports")
            .and_then(|(n, _)| n.as_seq())
            .is_some_and(|s| s.iter().any(|p| p.get("namedPort").is_some()));
        let node_or_net = pn.as_seq().is_some_and(|s| {
            s.iter()
                .any(|p| p.get("networks").is_some() || p.get("nodes").is_some())
        });
        if named && node_or_net {
            r.report(
                node.span,
                ptr,
                "networks/nodes peers cannot be used with named ports (they have none)",
            );
            return None;
        }
    }
    let (Some(action), Some(port_groups)) = (action, port_groups) else {
        return None;
    };
    if peers.len() != peer_count {
        return None; // a malformed peer was reported
    }
    let failure = match &port_groups {
        Err(why) => Some(why),
        Ok(_) => peers.iter().find_map(|p| p.as_ref().err()),
    };
    if let Some(why) = failure {
        let reason = match why {
            Unconvertible::Peer(kind) => format!("Calico does not convert `{kind}` peers"),
            Unconvertible::Other(s) => s.clone(),
        };
        unconverted.push(UnconvertedRule {
            span: action.span,
            pointer: ptr.pointer(),
            action: action.value,
            reason,
        });
        // Fail closed: Deny and Pass become "deny everything"; Allow is dropped.
        return Some(match action.value {
            Action::Deny | Action::Pass => vec![Rule {
                span: node.span,
                pointer: ptr.pointer(),
                action: Some(Spanned::new("Deny".to_string(), action.span)),
                ..Rule::default()
            }],
            _ => Vec::new(),
        });
    }
    let groups = match port_groups {
        Ok(Some(g)) => g.into_iter().map(|(p, ports)| (Some(p), ports)).collect(),
        _ => vec![(None, None)],
    };
    let mut rules = Vec::new();
    for (protocol, ports) in groups {
        for peer in peers.iter().filter_map(|p| p.as_ref().ok()) {
            let mut rule = Rule {
                span: node.span,
                pointer: ptr.pointer(),
                action: Some(Spanned::new(action.value.as_str().to_string(), action.span)),
                protocol: protocol.clone().map(|p| Spanned::new(p, node.span)),
                ..Rule::default()
            };
            match direction {
                Direction::Ingress => rule.source = peer.clone(),
                Direction::Egress => rule.destination = peer.clone(),
            }
            rule.destination.ports = ports.clone().unwrap_or_default();
            rules.push(rule);
        }
    }
    Some(rules)
}
