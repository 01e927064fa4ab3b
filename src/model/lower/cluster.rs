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
use super::reader::{Fields, Reader, child};
use crate::load::tree::Node;
use crate::model::net::parse_cidr;
use crate::model::port::{Port, Protocol};
use crate::model::resource::*;
use crate::source::Spanned;

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
pub fn cluster_policy(r: &mut Reader, kind: Kind, spec: &Node, ptr: &str) -> Policy {
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
        let rules = r.list(node, &p, |r, n, p| {
            rule(r, flavor, n, p, direction, &mut policy.unconverted)
        });
        if let Some(seq) = node.as_seq().filter(|s| s.len() > flavor.max_rules) {
            r.report(
                node.span,
                &p,
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
    ptr: &str,
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
                &child(ptr, "tier"),
                format!("unsupported tier `{other}` (expected Admin or Baseline)"),
            );
            None
        }
    }
}

/// `priority`: required, an integer from 0 to 1000.
fn priority(r: &mut Reader, f: &Fields<'_>, spec: &Node, ptr: &str) -> Option<Spanned<f64>> {
    let Some(p) = r.opt_int(f, "priority") else {
        if !f.has("priority") {
            r.report(spec.span, ptr, "`priority` is required (0 to 1000)");
        }
        return None;
    };
    if !(0..=1000).contains(&p.value) {
        r.report(
            p.span,
            &child(ptr, "priority"),
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
    ptr: &str,
    policy: &mut Policy,
) {
    let Some((node, p)) = f.get("subject") else {
        r.report(spec.span, ptr, "`subject` is required");
        return;
    };
    let Some(sf) = r.fields(node, &p, "subject", &["namespaces", "pods"]) else {
        return;
    };
    if !exactly_one(r, &sf, node, &p, "subject", &["namespaces", "pods"]) {
        return;
    }
    if let Some((n, np)) = sf.get("namespaces") {
        let Some(ns) = namespace_selector_text(r, n, &np) else {
            return;
        };
        policy.namespace_selector = Some(r.selector(Spanned::new(ns, n.span)));
        policy.selector = Some(r.selector(Spanned::new(ORCHESTRATOR_TERM.to_string(), n.span)));
    } else if let Some((n, pp)) = sf.get("pods") {
        let Some((ns, pods)) = pods_selectors(r, n, &pp, kind != Kind::ClusterNetworkPolicy) else {
            return;
        };
        policy.namespace_selector = Some(r.selector(ns));
        policy.selector = Some(r.selector(pods));
    }
}

/// A `null` list entry (the API server rejects it: entries are objects). `Fields` reads treat
/// null as absent, so without this report the entry would vanish silently.
fn null_entry<T>(r: &mut Reader, node: &Node, ptr: &str) -> Option<T> {
    if node.is_null() {
        r.report(node.span, ptr, "list entries must be objects, found null");
    }
    None
}

/// Exactly one of `keys` is set (CRD `minProperties: 1`, `maxProperties: 1`).
fn exactly_one(
    r: &mut Reader,
    f: &Fields<'_>,
    node: &Node,
    ptr: &str,
    what: &str,
    keys: &[&str],
) -> bool {
    // A null value is an absent one for the API server.
    let set: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    match set.len() {
        1 => true,
        0 => {
            r.report(
                node.span,
                ptr,
                format!("{what} must set exactly one of {}", keys.join(", ")),
            );
            false
        }
        _ => {
            r.report(
                node.span,
                ptr,
                format!(
                    "{what} must set exactly one of {} (found {})",
                    keys.join(", "),
                    set.join(" and ")
                ),
            );
            false
        }
    }
}

/// A Kubernetes label selector used as a namespace selector: empty = `all()`.
fn namespace_selector_text(r: &mut Reader, node: &Node, ptr: &str) -> Option<String> {
    let terms = label_selector_terms(r, node, ptr)?;
    Some(if terms.is_empty() {
        "all()".to_string()
    } else {
        join_terms(None, &terms)
    })
}

/// `pods: {namespaceSelector, podSelector}` → (namespace selector, pod selector) texts.
/// AdminNetworkPolicy and BaselineAdminNetworkPolicy require both selectors;
/// ClusterNetworkPolicy requires `podSelector` (an absent namespace selector is empty).
fn pods_selectors(
    r: &mut Reader,
    node: &Node,
    ptr: &str,
    require_ns: bool,
) -> Option<(Spanned<String>, Spanned<String>)> {
    let f = r.fields(
        node,
        ptr,
        "pods selector",
        &["namespaceSelector", "podSelector"],
    )?;
    let mut missing = Vec::new();
    if require_ns && f.get("namespaceSelector").is_none() {
        missing.push("namespaceSelector");
    }
    if f.get("podSelector").is_none() {
        missing.push("podSelector");
    }
    if !missing.is_empty() {
        let verb = if missing.len() > 1 { "are" } else { "is" };
        r.report(
            node.span,
            ptr,
            format!("`{}` {verb} required in `pods`", missing.join("` and `")),
        );
        return None;
    }
    let ns = match f.get("namespaceSelector") {
        Some((n, p)) => Spanned::new(namespace_selector_text(r, n, &p)?, n.span),
        None => Spanned::new("all()".to_string(), node.span),
    };
    let (pn, pp) = f.get("podSelector")?;
    let terms = label_selector_terms(r, pn, &pp)?;
    let pods = Spanned::new(join_terms(Some(ORCHESTRATOR_TERM), &terms), pn.span);
    Some((ns, pods))
}

/// Why a rule could not be converted (Calico then fails closed).
enum Unconvertible {
    Peer(&'static str),
    Other(String),
}

/// One peer → the entity it becomes; `Err` when Calico's conversion fails on it.
fn peer(
    r: &mut Reader,
    flavor: Flavor,
    node: &Node,
    ptr: &str,
    direction: Direction,
) -> Option<Result<EntityRule, Unconvertible>> {
    let allowed: &[&str] = match direction {
        Direction::Ingress => INGRESS_PEERS,
        Direction::Egress => flavor.egress_peers,
    };
    let f = r
        .fields(node, ptr, "peer", allowed)
        .or_else(|| null_entry(r, node, ptr))?;
    if !exactly_one(r, &f, node, ptr, "a peer", allowed) {
        return None;
    }
    let mut entity = EntityRule {
        span: Some(node.span),
        ..EntityRule::default()
    };
    if let Some((n, p)) = f.get("namespaces") {
        let ns = namespace_selector_text(r, n, &p)?;
        entity.namespace_selector = Some(r.selector(Spanned::new(ns, n.span)));
    } else if let Some((n, p)) = f.get("pods") {
        let (ns, pods) = pods_selectors(r, n, &p, flavor.kind != Kind::ClusterNetworkPolicy)?;
        entity.namespace_selector = Some(r.selector(ns));
        entity.selector = Some(r.selector(pods));
    } else if let Some((n, p)) = f.get("networks") {
        let nets = r.list(n, &p, |r, n, p| r.string(n, &p).map(|s| (s, p)));
        let count = n.as_seq().map_or(0, <[Node]>::len);
        if !(1..=MAX_NETWORKS).contains(&count) {
            r.report(
                n.span,
                &p,
                format!("`networks` must have 1 to {MAX_NETWORKS} entries (found {count})"),
            );
            return None;
        }
        let mut failed = None;
        for (raw, p) in nets {
            // The CRD's own check (CEL): v1alpha1 only tells IPv4 from IPv6 and leaves the rest
            // to the implementation; v1alpha2 requires a CIDR.
            let family_ok = raw.value.contains(':') != raw.value.contains('.');
            if raw.value.len() > 43 || !family_ok {
                r.report(
                    raw.span,
                    &p,
                    format!(
                        "`{}` is not an IPv4 or IPv6 CIDR of at most 43 characters",
                        raw.value
                    ),
                );
                return None;
            }
            match parse_cidr(&raw.value) {
                Ok(c) => entity.nets.push(NetField {
                    raw,
                    parsed: Ok(c.network()),
                }),
                Err(e) if flavor.kind == Kind::ClusterNetworkPolicy => {
                    r.report(raw.span, &p, format!("invalid CIDR: {}", e.0));
                    return None;
                }
                Err(e) => {
                    failed.get_or_insert(format!("`{}` is not a CIDR ({})", raw.value, e.0));
                }
            }
        }
        if let Some(reason) = failed {
            return Some(Err(Unconvertible::Other(reason)));
        }
    } else if f.has("nodes") {
        return Some(Err(Unconvertible::Peer("nodes")));
    }
    Some(Ok(entity))
}

/// The ports of a rule grouped by protocol as Calico's `unpack…` functions group them:
/// `None` = no port constraint at all (one rule without protocol).
type PortGroups = Option<Vec<(Protocol, Option<Vec<Spanned<Port>>>)>>;

fn ports(
    r: &mut Reader,
    flavor: Flavor,
    f: &Fields<'_>,
) -> Option<Result<PortGroups, Unconvertible>> {
    let Some((node, ptr)) = f.get(flavor.ports_key) else {
        return Some(Ok(None));
    };
    let count = node.as_seq().map_or(0, <[Node]>::len);
    let min = usize::from(flavor.kind == Kind::ClusterNetworkPolicy);
    if !(min..=flavor.max_ports).contains(&count) && node.as_seq().is_some() {
        r.report(
            node.span,
            &ptr,
            format!(
                "`{}` must have {min} to {} entries (found {count})",
                flavor.ports_key, flavor.max_ports
            ),
        );
        return None;
    }
    let entries = r.list(node, &ptr, |r, n, p| {
        if flavor.kind == Kind::ClusterNetworkPolicy {
            cnp_port(r, n, &p)
        } else {
            anp_port(r, n, &p)
        }
    });
    if entries.len() != count {
        return None; // a bad entry was reported
    }
    let mut groups: Vec<(Protocol, Option<Vec<Spanned<Port>>>)> = Vec::new();
    for entry in entries {
        match entry {
            PortEntry::Unconvertible(why) => return Some(Err(why)),
            // v1alpha1 named ports are not converted and stand for "every port of every
            // protocol": `k8sAdminPolicyPortToCalicoFields` returns no protocol and no port, and
            // `unpackANPPorts` then keeps only the match-everything entry.
            PortEntry::Anything => return Some(Ok(None)),
            PortEntry::Port(protocol, port) => {
                let i = match groups.iter().position(|(p, _)| *p == protocol) {
                    Some(i) => i,
                    None => {
                        groups.push((protocol, Some(Vec::new())));
                        groups.len() - 1
                    }
                };
                if let Some((_, list)) = groups.get_mut(i) {
                    match (port, list.as_mut()) {
                        // An entry without a port: every port of the protocol, which absorbs
                        // the protocol's other entries.
                        (None, _) => *list = None,
                        (Some(p), Some(l)) => l.push(p),
                        (Some(_), None) => {}
                    }
                }
            }
        }
    }
    if groups.is_empty() {
        // `ports: []` is no port constraint (`unpackANPPorts` treats an empty list as absent).
        return Some(Ok(None));
    }
    // One rule per protocol, in the sorted order of the protocol names.
    groups.sort_by_key(|(p, _)| p.to_string());
    Some(Ok(Some(groups)))
}

enum PortEntry {
    Port(Protocol, Option<Spanned<Port>>),
    Anything,
    Unconvertible(Unconvertible),
}

fn port_number(r: &mut Reader, node: &Node, ptr: &str) -> Option<Spanned<u16>> {
    let n = r.int(node, ptr)?;
    match u16::try_from(n.value) {
        Ok(v) if v >= 1 => Some(Spanned::new(v, n.span)),
        _ => {
            r.report(
                n.span,
                ptr,
                format!("port {} is out of range (1 to 65535)", n.value),
            );
            None
        }
    }
}

fn protocol_name(r: &mut Reader, f: &Fields<'_>) -> Option<Protocol> {
    let Some(p) = r.opt_string(f, "protocol") else {
        // The CRD defaults `protocol` to TCP (and Calico's `ensureProtocol` too).
        return (!f.has("protocol")).then(|| Protocol::Name("TCP".into()));
    };
    match p.value.as_str() {
        "TCP" | "UDP" | "SCTP" => Some(Protocol::Name(p.value)),
        other => {
            r.report(
                p.span,
                &child(&f.ptr, "protocol"),
                format!("unsupported protocol `{other}` (expected TCP, UDP or SCTP)"),
            );
            None
        }
    }
}

/// A v1alpha1 port: exactly one of `portNumber`, `portRange`, `namedPort`.
fn anp_port(r: &mut Reader, node: &Node, ptr: &str) -> Option<PortEntry> {
    let keys = ["portNumber", "portRange", "namedPort"];
    let f = r
        .fields(node, ptr, "port", &keys)
        .or_else(|| null_entry(r, node, ptr))?;
    if !exactly_one(r, &f, node, ptr, "a port", &keys) {
        return None;
    }
    if let Some((n, p)) = f.get("portNumber") {
        let pf = r.fields(n, &p, "portNumber", &["protocol", "port"])?;
        let protocol = protocol_name(r, &pf)?;
        let Some((pn, pp)) = pf.get("port") else {
            r.report(n.span, &p, "`port` is required in `portNumber`");
            return None;
        };
        let port = port_number(r, pn, &pp)?;
        let value = Port::Range {
            min: port.value,
            max: port.value,
        };
        return Some(PortEntry::Port(
            protocol,
            Some(Spanned::new(value, port.span)),
        ));
    }
    if let Some((n, p)) = f.get("portRange") {
        let pf = r.fields(n, &p, "portRange", &["protocol", "start", "end"])?;
        let protocol = protocol_name(r, &pf)?;
        let (Some((sn, sp)), Some((en, ep))) = (pf.get("start"), pf.get("end")) else {
            r.report(n.span, &p, "`start` and `end` are required in `portRange`");
            return None;
        };
        let (start, end) = (port_number(r, sn, &sp)?, port_number(r, en, &ep)?);
        if start.value > end.value {
            // The v1alpha1 CRD does not check the order; Calico's `PortFromRange` fails.
            return Some(PortEntry::Unconvertible(Unconvertible::Other(format!(
                "port range {}-{} has its start after its end",
                start.value, end.value
            ))));
        }
        let value = Port::Range {
            min: start.value,
            max: end.value,
        };
        return Some(PortEntry::Port(protocol, Some(Spanned::new(value, n.span))));
    }
    let (n, p) = f.get("namedPort")?;
    r.string(n, &p)?;
    Some(PortEntry::Anything)
}

/// A v1alpha2 protocol entry: exactly one of `tcp`, `udp`, `sctp`, `destinationNamedPort`.
fn cnp_port(r: &mut Reader, node: &Node, ptr: &str) -> Option<PortEntry> {
    let keys = ["tcp", "udp", "sctp", "destinationNamedPort"];
    let f = r
        .fields(node, ptr, "protocol", &keys)
        .or_else(|| null_entry(r, node, ptr))?;
    if !exactly_one(r, &f, node, ptr, "a protocol entry", &keys) {
        return None;
    }
    if let Some((n, p)) = f.get("destinationNamedPort") {
        let name = r.string(n, &p)?;
        // `k8sCNPPortToCalicoFields`: "named ports are not supported yet" → the rule fails.
        return Some(PortEntry::Unconvertible(Unconvertible::Other(format!(
            "named port `{}` is not supported by Calico",
            name.value
        ))));
    }
    let (proto, (n, p)) = ["TCP", "UDP", "SCTP"]
        .into_iter()
        .zip(["tcp", "udp", "sctp"])
        .find_map(|(proto, key)| f.get(key).map(|v| (proto, v)))?;
    let pf = r.fields(n, &p, "protocol match", &["destinationPort"])?;
    let Some((dn, dp)) = pf.get("destinationPort") else {
        r.report(n.span, &p, "`destinationPort` is required");
        return None;
    };
    let df = r.fields(dn, &dp, "destinationPort", &["number", "range"])?;
    if !exactly_one(r, &df, dn, &dp, "destinationPort", &["number", "range"]) {
        return None;
    }
    let protocol = Protocol::Name(proto.into());
    if let Some((nn, np)) = df.get("number") {
        let port = port_number(r, nn, &np)?;
        let value = Port::Range {
            min: port.value,
            max: port.value,
        };
        return Some(PortEntry::Port(
            protocol,
            Some(Spanned::new(value, port.span)),
        ));
    }
    let (rn, rp) = df.get("range")?;
    let rf = r.fields(rn, &rp, "port range", &["start", "end"])?;
    let (Some((sn, sp)), Some((en, ep))) = (rf.get("start"), rf.get("end")) else {
        r.report(rn.span, &rp, "`start` and `end` are required in `range`");
        return None;
    };
    let (start, end) = (port_number(r, sn, &sp)?, port_number(r, en, &ep)?);
    if start.value >= end.value {
        r.report(
            rn.span,
            &rp,
            format!(
                "port range {}-{}: the start port must be less than the end port",
                start.value, end.value
            ),
        );
        return None;
    }
    let value = Port::Range {
        min: start.value,
        max: end.value,
    };
    Some(PortEntry::Port(
        protocol,
        Some(Spanned::new(value, rn.span)),
    ))
}

/// One rule → its Calico rules (see the module docs). `None`-free: a rule that is malformed
/// (reported) yields nothing.
fn rule(
    r: &mut Reader,
    flavor: Flavor,
    node: &Node,
    ptr: String,
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
            &ptr,
            &format!("{} rule", direction.as_str()),
            &["name", "action", peers_key, flavor.ports_key],
        )
        .or_else(|| null_entry(r, node, &ptr))?;
    if let Some(name) = r.opt_string(&f, "name") {
        if name.value.chars().count() > 100 {
            r.report(
                name.span,
                &child(&ptr, "name"),
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
                    &child(&ptr, "action"),
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
                r.report(node.span, &ptr, "`action` is required");
            }
            None
        }
    };
    let Some((pn, pp)) = f.get(peers_key) else {
        r.report(node.span, &ptr, format!("`{peers_key}` is required"));
        return None;
    };
    let peer_count = pn.as_seq().map_or(0, <[Node]>::len);
    let peers = r.list(pn, &pp, |r, n, p| peer(r, flavor, n, &p, direction));
    if pn.as_seq().is_some() && !(1..=flavor.max_peers).contains(&peer_count) {
        r.report(
            pn.span,
            &pp,
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
                &ptr,
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
            pointer: ptr.clone(),
            action: action.value,
            reason,
        });
        // Fail closed: Deny and Pass become "deny everything"; Allow is dropped.
        return Some(match action.value {
            Action::Deny | Action::Pass => vec![Rule {
                span: node.span,
                pointer: ptr,
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
                pointer: ptr.clone(),
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

#[cfg(test)]
mod tests {
    use crate::load::yaml::{ParseLimits, parse};
    use crate::model::lower::{Lowered, lower_file};
    use crate::model::port::{Port, Protocol};
    use crate::model::resource::*;

    fn lower(text: &str) -> (Resource, Vec<String>) {
        let parsed = parse(text, &ParseLimits::default());
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let mut out = Lowered::default();
        lower_file(0, &parsed.documents, &mut out);
        assert_eq!(out.resources.len(), 1, "{:?}", out.unknown_kinds);
        let problems = out
            .problems
            .iter()
            .map(|p| format!("{} {}", p.violation.pointer, p.violation.message))
            .collect();
        (out.resources.remove(0), problems)
    }

    fn anp(spec: &str) -> String {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: a}}\nspec:\n{spec}"
        )
    }

    fn cnp(spec: &str) -> String {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: c}}\nspec:\n{spec}"
        )
    }

    fn sel(f: &Option<SelectorField>) -> &str {
        f.as_ref().map_or("<none>", |f| f.raw.value.as_str())
    }

    #[test]
    fn admin_network_policy_converts_as_calico_does() {
        let (res, problems) = lower(&anp(r#"
  priority: 7
  subject:
    namespaces: {matchLabels: {team: a}}
  ingress:
    - name: deny-b
      action: Pass
      from:
        - namespaces: {matchLabels: {team: b}}
        - pods:
            namespaceSelector: {}
            podSelector: {matchLabels: {app: x}}
      ports:
        - portNumber: {port: 80}
        - portRange: {protocol: UDP, start: 53, end: 54}
        - portNumber: {protocol: TCP, port: 443}
  egress:
    - action: Allow
      to:
        - networks: [10.1.2.3/8]
"#));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(res.kind, Kind::AdminNetworkPolicy);
        let p = res.policy().expect("a policy");
        assert_eq!(p.order.as_ref().map(|o| o.value), Some(7.0));
        assert_eq!(
            p.cluster_tier.as_ref().map(|t| t.value),
            Some(ClusterTier::Admin)
        );
        assert!(p.tier.is_none(), "the tier name depends on the version");
        assert_eq!(sel(&p.namespace_selector), "team == 'a'");
        assert_eq!(sel(&p.selector), "projectcalico.org/orchestrator == 'k8s'");
        // Protocols sorted (TCP, UDP), then peers: 2 × 2 rules, all Pass.
        assert_eq!(p.ingress.len(), 4);
        let r0 = &p.ingress[0];
        assert_eq!(r0.action(), Some(Action::Pass));
        assert_eq!(
            r0.protocol.as_ref().map(|p| p.value.clone()),
            Some(Protocol::Name("TCP".into()))
        );
        let ports: Vec<Port> = r0
            .destination
            .ports
            .iter()
            .map(|p| p.value.clone())
            .collect();
        assert_eq!(
            ports,
            [
                Port::Range { min: 80, max: 80 },
                Port::Range { min: 443, max: 443 }
            ]
        );
        assert_eq!(sel(&r0.source.namespace_selector), "team == 'b'");
        assert_eq!(sel(&r0.source.selector), "<none>");
        assert_eq!(sel(&p.ingress[1].source.namespace_selector), "all()");
        assert_eq!(
            sel(&p.ingress[1].source.selector),
            "projectcalico.org/orchestrator == 'k8s' && app == 'x'"
        );
        assert_eq!(
            p.ingress[2].protocol.as_ref().map(|p| p.value.clone()),
            Some(Protocol::Name("UDP".into()))
        );
        assert!(p.ingress.iter().all(|r| r.pointer == "/spec/ingress/0"));
        // Networks are normalised to their network address.
        let e = &p.egress[0];
        assert_eq!(e.action(), Some(Action::Allow));
        assert_eq!(
            e.destination.nets[0]
                .parsed
                .as_ref()
                .map(|c| c.to_string())
                .ok(),
            Some("10.0.0.0/8".into())
        );
        assert!(e.protocol.is_none());
        let types: Vec<&str> = p
            .types
            .as_ref()
            .map(|t| t.value.iter().map(|s| s.value.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(types, ["Ingress", "Egress"]);
    }

    #[test]
    fn unconvertible_rules_fail_closed() {
        let (res, problems) = lower(&anp(r#"
  priority: 1
  subject: {namespaces: {}}
  egress:
    - action: Deny
      to: [{nodes: {matchLabels: {a: b}}}]
    - action: Allow
      to: [{nodes: {matchLabels: {a: b}}}]
    - action: Pass
      to: [{namespaces: {}}]
      ports: [{portRange: {start: 90, end: 80}}]
    - action: Allow
      to: [{namespaces: {}}]
      ports: [{namedPort: http}]
"#));
        assert!(problems.is_empty(), "{problems:?}");
        let p = res.policy().expect("a policy");
        // Deny → deny-all, Allow → dropped, Pass → deny-all; a v1alpha1 named port matches
        // every port of every protocol.
        let actions: Vec<_> = p
            .egress
            .iter()
            .map(|r| (r.pointer.as_str(), r.action()))
            .collect();
        assert_eq!(
            actions,
            [
                ("/spec/egress/0", Some(Action::Deny)),
                ("/spec/egress/2", Some(Action::Deny)),
                ("/spec/egress/3", Some(Action::Allow)),
            ]
        );
        assert!(
            p.egress[0].destination.selector.is_none()
                && p.egress[0].destination.namespace_selector.is_none()
        );
        assert!(p.egress[2].protocol.is_none() && p.egress[2].destination.ports.is_empty());
        let unconverted: Vec<_> = p
            .unconverted
            .iter()
            .map(|u| (u.pointer.as_str(), u.action))
            .collect();
        assert_eq!(
            unconverted,
            [
                ("/spec/egress/0", Action::Deny),
                ("/spec/egress/1", Action::Allow),
                ("/spec/egress/2", Action::Pass),
            ]
        );
        assert!(p.unconverted[0].reason.contains("`nodes`"));
    }

    #[test]
    fn null_entries_are_reported() {
        let (_, problems) = lower(&anp(
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n    - null\n    - {action: Deny, from: [null], ports: [null]}\n",
        ));
        for p in [
            "/spec/ingress/0 ",
            "/spec/ingress/1/from/0 ",
            "/spec/ingress/1/ports/0 ",
        ] {
            assert!(
                problems
                    .iter()
                    .any(|q| q.starts_with(p) && q.ends_with("found null")),
                "{p}: {problems:?}"
            );
        }
    }

    #[test]
    fn an_empty_port_list_is_no_port_constraint() {
        let (res, problems) = lower(&anp(
            "  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n    - {action: Deny, from: [{namespaces: {}}], ports: []}\n",
        ));
        assert!(problems.is_empty(), "{problems:?}");
        let p = res.policy().expect("a policy");
        assert_eq!(p.ingress.len(), 1);
        assert!(p.ingress[0].protocol.is_none() && p.ingress[0].destination.ports.is_empty());
    }

    #[test]
    fn crd_rules_are_checked() {
        let (_, problems) = lower(&anp(r#"
  priority: 1001
  subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}
  ingress:
    - action: Accept
      from: []
    - action: Deny
      from: [{pods: {podSelector: {}}}]
    - action: Deny
      from: [{networks: [10.0.0.0/8]}]
  egress:
    - action: Allow
      to: [{networks: ["10.0.0.0/8", "::ffff:10.0.0.1/128"]}]
    - action: Allow
      to: [{networks: [10.0.0.0/8]}]
      ports: [{namedPort: http}]
    - action: Deny
      to: [{namespaces: {}}]
      ports: [{portNumber: {port: 0}}, {portNumber: {port: 1, protocol: ICMP}}]
"#));
        let expected = [
            "/spec/priority priority 1001 is out of range (0 to 1000)",
            "/spec/subject subject must set exactly one of namespaces, pods (found namespaces and pods)",
            "/spec/ingress/0/action unsupported action `Accept` in a AdminNetworkPolicy (expected Allow, Deny, Pass)",
            "/spec/ingress/0/from `from` must have 1 to 100 peers (found 0)",
            "/spec/ingress/1/from/0/pods `namespaceSelector` is required in `pods`",
            "/spec/ingress/2/from/0/networks unknown field `networks` in peer",
            "/spec/egress/0/to/0/networks/1 `::ffff:10.0.0.1/128` is not an IPv4 or IPv6 CIDR of at most 43 characters",
            "/spec/egress/1 networks/nodes peers cannot be used with named ports (they have none)",
            "/spec/egress/2/ports/0/portNumber/port port 0 is out of range (1 to 65535)",
            "/spec/egress/2/ports/1/portNumber/protocol unsupported protocol `ICMP` (expected TCP, UDP or SCTP)",
        ];
        for e in expected {
            assert!(
                problems.iter().any(|p| p == e),
                "missing {e:?} in {problems:#?}"
            );
        }
    }

    #[test]
    fn baseline_admin_network_policy_has_order_1000_and_no_pass() {
        let text = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {pods: {namespaceSelector: {}, podSelector: {}}}\n  ingress:\n    - {action: Pass, from: [{namespaces: {}}]}\n    - {action: Deny, from: [{namespaces: {}}]}\n";
        let (res, problems) = lower(text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("unsupported action `Pass`"));
        let p = res.policy().expect("a policy");
        assert_eq!(p.order.as_ref().map(|o| o.value), Some(1000.0));
        assert_eq!(
            p.cluster_tier.as_ref().map(|t| t.value),
            Some(ClusterTier::Baseline)
        );
        assert_eq!(p.ingress.len(), 1);
    }

    #[test]
    fn cluster_network_policy_converts_as_calico_does() {
        let (res, problems) = lower(&cnp(r#"
  tier: Baseline
  priority: 3
  subject: {pods: {podSelector: {matchLabels: {app: web}}}}
  ingress:
    - action: Accept
      from: [{pods: {podSelector: {}}}]
      protocols:
        - tcp: {destinationPort: {number: 80}}
        - udp: {destinationPort: {range: {start: 5000, end: 5010}}}
  egress:
    - action: Pass
      to: [{namespaces: {}}]
      protocols: [{destinationNamedPort: http}]
"#));
        assert!(problems.is_empty(), "{problems:?}");
        let p = res.policy().expect("a policy");
        assert_eq!(
            p.cluster_tier.as_ref().map(|t| t.value),
            Some(ClusterTier::Baseline)
        );
        assert_eq!(p.order.as_ref().map(|o| o.value), Some(3.0));
        assert_eq!(sel(&p.namespace_selector), "all()");
        assert_eq!(
            sel(&p.selector),
            "projectcalico.org/orchestrator == 'k8s' && app == 'web'"
        );
        assert_eq!(p.ingress.len(), 2);
        assert_eq!(p.ingress[0].action(), Some(Action::Allow));
        assert_eq!(
            p.ingress[1].destination.ports[0].value,
            Port::Range {
                min: 5000,
                max: 5010
            }
        );
        // Named ports are not converted: the Pass rule becomes deny-all.
        assert_eq!(p.egress.len(), 1);
        assert_eq!(p.egress[0].action(), Some(Action::Deny));
        assert_eq!(p.unconverted.len(), 1);

        let (_, problems) = lower(&cnp(r#"
  tier: Middle
  subject: {namespaces: {}}
  ingress:
    - action: Allow
      from: [{namespaces: {}}]
      protocols: [{tcp: {destinationPort: {range: {start: 9, end: 9}}}}]
"#));
        let expected = [
            "/spec `priority` is required (0 to 1000)",
            "/spec/tier unsupported tier `Middle` (expected Admin or Baseline)",
            "/spec/ingress/0/action unsupported action `Allow` in a ClusterNetworkPolicy (expected Accept, Deny, Pass)",
            "/spec/ingress/0/protocols/0/tcp/destinationPort/range port range 9-9: the start port must be less than the end port",
        ];
        for e in expected {
            assert!(
                problems.iter().any(|p| p == e),
                "missing {e:?} in {problems:#?}"
            );
        }
    }
}
