//! How the reports write protocols and destination ports: "80,443,8000-8080", "TCP 443",
//! "TCP 80,443; UDP 53; ICMP". Presentation only: the analysis and `diff` carry protocols and
//! port ranges as data, and every format that shows them writes them here.

use crate::analysis::reach::AllowedProtocol;
use crate::model::port::FlowProtocol;

/// "80,443,8000-8080".
pub fn format_ports(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One protocol and port range of a flow answer (`exposure`, `paths`): "TCP 443",
/// "TCP 8000-8080", "TCP any port", "ICMP", "other protocols".
pub(super) fn port_text(protocol: FlowProtocol, ports: Option<(u16, u16)>) -> String {
    let name = protocol.label();
    match ports {
        Some((0, 65535)) => format!("{name} any port"),
        Some(r) => format!("{name} {}", format_ports(&[r])),
        None => name,
    }
}

/// "TCP 80,443; UDP 53; ICMP" (empty when nothing is allowed).
pub fn ports_text(allowed: &[AllowedProtocol]) -> String {
    allowed
        .iter()
        .map(|(p, ports)| {
            let name = p.label();
            match ports {
                Some(r) => format!("{name} {}", format_ports(r)),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// "TCP 5432; UDP 53; ICMP", "any" when every protocol and port is allowed, "" for nothing.
pub fn allowed_label(allowed: &[AllowedProtocol]) -> String {
    let everything = allowed.len() == crate::analysis::reach::NAMED_PROTOCOLS.len() + 1
        && allowed
            .iter()
            .all(|(_, ports)| ports.as_ref().is_none_or(|r| r.as_slice() == [(0, 65535)]));
    if everything {
        return "any".to_string();
    }
    allowed
        .iter()
        .map(|(p, ports)| {
            let name = p.label();
            match ports {
                Some(r) if r.as_slice() == [(0, 65535)] => format!("{name} any port"),
                Some(r) => format!("{name} {}", format_ports(r)),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
