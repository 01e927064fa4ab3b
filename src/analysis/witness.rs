//! Witness packets: concrete examples that make a finding tangible, derived in a fresh Z3
//! context so they are the same whatever the thread count, and described in domain terms.

use super::concrete::{Packet, Side};
use super::solver::{Answer, Universe};
use super::{Context, RuleId, conflict_formula, rule_by_id};
use crate::model::net::IpFamily;
use crate::model::resource::Direction;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A packet matched by both rules of a conflict, reaching both.
pub(crate) fn conflict_witness(
    cx: &Context<'_>,
    universe: &Universe,
    winner: RuleId,
    loser: RuleId,
    timeout_ms: u32,
) -> Option<Packet> {
    super::solver::with_fresh_session(universe, cx.set, timeout_ms, |s| {
        let r1 = rule_by_id(cx.set, winner)?;
        let r2 = rule_by_id(cx.set, loser)?;
        let pre = cx.precedents(winner.policy, winner.direction);
        let f = conflict_formula(
            s,
            cx,
            winner.policy,
            r1,
            loser.policy,
            r2,
            winner.direction,
            &pre,
        );
        match s.plausible_witness(&f) {
            Answer::Known(Some(p)) => Some(p),
            _ => None,
        }
    })
}

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
