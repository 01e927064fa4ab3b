//! Witness packets described in domain terms: the text and JSON of the concrete examples that
//! make a finding tangible (CAL202, CAL203, `reach`, `diff`). The packets are solved
//! elsewhere (a conflict's by `policy_queries::conflict_witness`, in a fresh Z3 context so it
//! is the same whatever the thread count); this module only reads them.

use super::concrete::{Packet, Side};
use crate::model::net::IpFamily;
use crate::model::resource::Direction;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

fn ip(family: IpFamily, addr: u128) -> String {
    match family {
        IpFamily::V4 => Ipv4Addr::from(addr as u32).to_string(),
        IpFamily::V6 => Ipv6Addr::from(addr).to_string(),
    }
}

fn labels(side: &Side) -> String {
    let parts: Vec<String> = side
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// A protocol number as messages name it (the one table is `model::port::PROTOCOL_NAMES`).
pub use crate::model::port::protocol_name;

fn side(s: &Side, family: IpFamily, with_port: bool) -> String {
    let mut out = if s.is_entity {
        format!("endpoint {} at {}", labels(s), ip(family, s.ip))
    } else {
        format!("non-Calico address {}", ip(family, s.ip))
    };
    if with_port {
        let _ = write!(out, " port {}", s.port);
    }
    out
}

/// One line: "TCP from endpoint {app=web} at 10.0.0.1 port 1024 to endpoint {...} port 5432".
pub fn describe(p: &Packet, d: Direction) -> String {
    let fam = p.family();
    let ports = matches!(p.protocol, 6 | 17 | 132);
    let mut out = format!(
        "{} {} from {} to {}",
        if p.v6 { "IPv6" } else { "IPv4" },
        protocol_name(p.protocol),
        side(&p.src, fam, ports),
        side(&p.dst, fam, ports)
    );
    if matches!(p.protocol, 1 | 58) {
        let _ = write!(out, " (ICMP type {} code {})", p.icmp_type, p.icmp_code);
    }
    let _ = write!(
        out,
        ", evaluated at the {} endpoint",
        match d {
            Direction::Ingress => "destination",
            Direction::Egress => "source",
        }
    );
    out
}

/// The witness as JSON for `--format json`.
pub fn to_json(p: &Packet, d: Direction) -> serde_json::Value {
    let fam = p.family();
    let side = |s: &Side| {
        serde_json::json!({
            "kind": if s.is_entity { "endpoint" } else { "address" },
            "labels": s.labels,
            "ip": ip(fam, s.ip),
            "port": s.port,
            "named_ports": s.named_ports.iter().map(|(n, (pr, po))| (n.clone(), format!("{}/{}", protocol_name(*pr), po))).collect::<std::collections::BTreeMap<_, _>>(),
        })
    };
    serde_json::json!({
        "direction": d.as_str(),
        "ip_version": if p.v6 { 6 } else { 4 },
        "protocol": protocol_name(p.protocol),
        "source": side(&p.src),
        "destination": side(&p.dst),
    })
}
