//! The ports of a rule, grouped by protocol as Calico's `unpack…` functions group them, in the
//! AdminNetworkPolicy (`v1alpha1`) and ClusterNetworkPolicy (`v1alpha2`) shapes.

use super::*;

/// The ports of a rule grouped by protocol as Calico's `unpack…` functions group them:
/// `None` = no port constraint at all (one rule without protocol).
pub(super) type PortGroups = Option<Vec<(Protocol, Option<Vec<Spanned<Port>>>)>>;

pub(super) fn ports(
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
            ptr,
            format!(
                "`{}` must have {min} to {} entries (found {count})",
                flavor.ports_key, flavor.max_ports
            ),
        );
        return None;
    }
    let entries = r.list(node, ptr, |r, n, p| {
        if flavor.kind == Kind::ClusterNetworkPolicy {
            cnp_port(r, n, p)
        } else {
            anp_port(r, n, p)
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

pub(super) enum PortEntry {
    Port(Protocol, Option<Spanned<Port>>),
    Anything,
    Unconvertible(Unconvertible),
}

pub(super) fn port_number(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Option<Spanned<u16>> {
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

pub(super) fn protocol_name(r: &mut Reader, f: &Fields<'_>) -> Option<Protocol> {
    let Some(p) = r.opt_string(f, "protocol") else {
        // The CRD defaults `protocol` to TCP (and Calico's `ensureProtocol` too).
        return (!f.has("protocol")).then(|| Protocol::Name("TCP".into()));
    };
    match p.value.as_str() {
        "TCP" | "UDP" | "SCTP" => Some(Protocol::Name(p.value)),
        other => {
            r.report(
                p.span,
                f.ptr.child("protocol"),
                format!("unsupported protocol `{other}` (expected TCP, UDP or SCTP)"),
            );
            None
        }
    }
}

/// A v1alpha1 port: exactly one of `portNumber`, `portRange`, `namedPort`.
/// A list entry that must hold exactly one of `keys` (a null entry is reported); `what` names
/// the entry for unknown-field and for exactly-one messages.
fn one_of_entry<'n>(
    r: &mut Reader,
    node: &'n Node,
    ptr: Lazy<'n>,
    what: (&str, &str),
    keys: &[&str],
) -> Option<Fields<'n>> {
    let f = r
        .fields(node, ptr, what.0, keys)
        .or_else(|| null_entry(r, node, ptr))?;
    exactly_one(r, &f, node, ptr, what.1, keys).then_some(f)
}

/// One port number as the one-port range Calico makes of it.
fn single_port(protocol: Protocol, port: Spanned<u16>) -> PortEntry {
    let value = Port::Range {
        min: port.value,
        max: port.value,
    };
    PortEntry::Port(protocol, Some(Spanned::new(value, port.span)))
}

pub(super) fn anp_port(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Option<PortEntry> {
    let keys = ["portNumber", "portRange", "namedPort"];
    let f = one_of_entry(r, node, ptr, ("port", "a port"), &keys)?;
    if let Some((n, p)) = f.get("portNumber") {
        let pf = r.fields(n, p, "portNumber", &["protocol", "port"])?;
        let protocol = protocol_name(r, &pf)?;
        let Some((pn, pp)) = pf.get("port") else {
            r.report(n.span, p, "`port` is required in `portNumber`");
            return None;
        };
        return Some(single_port(protocol, port_number(r, pn, pp)?));
    }
    if let Some((n, p)) = f.get("portRange") {
        let pf = r.fields(n, p, "portRange", &["protocol", "start", "end"])?;
        let protocol = protocol_name(r, &pf)?;
        let (Some((sn, sp)), Some((en, ep))) = (pf.get("start"), pf.get("end")) else {
            r.report(n.span, p, "`start` and `end` are required in `portRange`");
            return None;
        };
        let (start, end) = (port_number(r, sn, sp)?, port_number(r, en, ep)?);
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
    r.string(n, p)?;
    Some(PortEntry::Anything)
}

/// A v1alpha2 protocol entry: exactly one of `tcp`, `udp`, `sctp`, `destinationNamedPort`.
pub(super) fn cnp_port(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Option<PortEntry> {
    let keys = ["tcp", "udp", "sctp", "destinationNamedPort"];
    let f = one_of_entry(r, node, ptr, ("protocol", "a protocol entry"), &keys)?;
    if let Some((n, p)) = f.get("destinationNamedPort") {
        let name = r.string(n, p)?;
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
    let pf = r.fields(n, p, "protocol match", &["destinationPort"])?;
    let Some((dn, dp)) = pf.get("destinationPort") else {
        r.report(n.span, p, "`destinationPort` is required");
        return None;
    };
    let df = r.fields(dn, dp, "destinationPort", &["number", "range"])?;
    if !exactly_one(r, &df, dn, dp, "destinationPort", &["number", "range"]) {
        return None;
    }
    let protocol = Protocol::Name(proto.into());
    if let Some((nn, np)) = df.get("number") {
        return Some(single_port(protocol, port_number(r, nn, np)?));
    }
    let (rn, rp) = df.get("range")?;
    let rf = r.fields(rn, rp, "port range", &["start", "end"])?;
    let (Some((sn, sp)), Some((en, ep))) = (rf.get("start"), rf.get("end")) else {
        r.report(rn.span, rp, "`start` and `end` are required in `range`");
        return None;
    };
    let (start, end) = (port_number(r, sn, sp)?, port_number(r, en, ep)?);
    if start.value >= end.value {
        r.report(
            rn.span,
            rp,
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
