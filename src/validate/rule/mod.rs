//! Rule checks (spec §2.1–§2.8; checklist R1–R13). Entity-level checks (nets, ports, selectors,
//! services) live in `entity`.

use super::entity::{check_entity, check_rule_nets, check_service_ports};
use super::meta::check_annotations;
use super::util::{char_len, cover, ptr, ptr_i, quote};
use super::{Cx, Diagnostic};
use crate::model::port::{PROTOCOL_NAMES, Port, Protocol};
use crate::model::{Action, IcmpMatch, Rule};
use crate::pointer::{Lazy, Pointer};
use crate::source::Spanned;

/// Calico's message when a rule's ports need a port-capable protocol (≤v3.31, or a set
/// protocol that cannot carry ports).
pub const PROTOCOL_PORTS_MSG: &str =
    "rules that specify ports must set protocol to TCP or UDP or SCTP";

/// v3.32+: numeric ports without a protocol.
pub const PROTOCOL_NUMERIC_PORTS_MSG: &str =
    "rules with numeric port or port range must set protocol to TCP or UDP or SCTP";

/// HTTP match limits (v3.32+ CRD).
pub const MAX_HTTP_METHODS: usize = 20;
pub const MAX_HTTP_PATHS: usize = 20;
pub const MAX_HTTP_PATH_CHARS: usize = 1024;

/// Largest ICMP type / code.
pub const MAX_ICMP_TYPE: i64 = 254;
pub const MAX_ICMP_CODE: i64 = 255;

/// Validate one rule (ingress or egress of any policy kind, or a Profile rule).
pub fn check_rule(cx: &mut Cx, rule: &Rule) {
    check_action(cx, rule);
    check_ip_version(cx, rule);
    check_protocols(cx, rule);
    check_port_protocol(cx, rule);
    check_icmp_protocol(cx, rule);
    check_icmp_ip_version(cx, rule);
    if let Some(icmp) = &rule.icmp {
        check_icmp_fields(cx, icmp, &ptr(&rule.pointer, "icmp"));
    }
    if let Some(icmp) = &rule.not_icmp {
        check_icmp_fields(cx, icmp, &ptr(&rule.pointer, "notICMP"));
    }
    check_rule_nets(cx, rule);
    check_http(cx, rule);
    check_service_ports(cx, rule);
    let at = Lazy::from(&rule.pointer);
    let metadata = at.child("metadata");
    check_annotations(cx, &rule.annotations, metadata.child("annotations"));
    check_entity(cx, &rule.source, at.child("source"));
    check_entity(cx, &rule.destination, at.child("destination"));
}

/// R1: `action` is required and one of Allow, Deny, Log, Pass (case-sensitive).
fn check_action(cx: &mut Cx, rule: &Rule) {
    match &rule.action {
        None => cx.push(
            Diagnostic::new(
                rule.span,
                rule.pointer.as_str(),
                "rule is missing `action` (one of Allow, Deny, Log, Pass)",
            )
            .with_help("add e.g. `action: Allow`"),
        ),
        Some(a) if Action::parse(&a.value).is_none() => {
            let mut v = Diagnostic::new(
                a.span,
                ptr(&rule.pointer, "action"),
                format!(
                    "invalid action {}: must be one of Allow, Deny, Log, Pass",
                    quote(&a.value)
                ),
            );
            if let Some(fix) = ["Allow", "Deny", "Log", "Pass"]
                .iter()
                .find(|x| x.eq_ignore_ascii_case(a.value.trim()))
            {
                v = v.with_help(format!("write `{fix}` (actions are case-sensitive)"));
            }
            cx.push(v);
        }
        Some(_) => {}
    }
}

/// R2: `ipVersion` is 4 or 6.
fn check_ip_version(cx: &mut Cx, rule: &Rule) {
    if let Some(v) = &rule.ip_version {
        if v.value != 4 && v.value != 6 {
            cx.report(
                v.span,
                ptr(&rule.pointer, "ipVersion"),
                format!("invalid ipVersion `{}`: must be 4 or 6", v.value),
            );
        }
    }
}

/// R3: `protocol` / `notProtocol` is a number 1-255 or an exact protocol name.
fn check_protocols(cx: &mut Cx, rule: &Rule) {
    for (field, proto) in [
        ("protocol", &rule.protocol),
        ("notProtocol", &rule.not_protocol),
    ] {
        let Some(p) = proto else {
            continue;
        };
        if p.value.is_valid() {
            continue;
        }
        let pointer = ptr(&rule.pointer, field);
        match &p.value {
            Protocol::Number(n) => cx.report(
                p.span,
                pointer,
                format!("invalid {field} `{n}`: protocol numbers must be between 1 and 255"),
            ),
            Protocol::Name(name) => {
                let mut v = Diagnostic::new(
                    p.span,
                    pointer,
                    format!(
                        "invalid {field} {}: must be one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite, or a number 1-255",
                        quote(name)
                    ),
                );
                if let Some((fix, _)) = PROTOCOL_NAMES
                    .iter()
                    .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
                {
                    v = v.with_help(format!("write `{fix}` (protocol names are case-sensitive)"));
                }
                cx.push(v);
            }
        }
    }
}

/// Where a port list is in a rule: (side, field).
type PortPlace = (&'static str, &'static str);

/// The four port lists of a rule, each with where it is.
fn port_lists(rule: &Rule) -> [(&[Spanned<Port>], PortPlace); 4] {
    [
        (rule.source.ports.as_slice(), ("source", "ports")),
        (rule.source.not_ports.as_slice(), ("source", "notPorts")),
        (rule.destination.ports.as_slice(), ("destination", "ports")),
        (
            rule.destination.not_ports.as_slice(),
            ("destination", "notPorts"),
        ),
    ]
}

/// The pointer of entry `i` of the port list at (side, field) of `rule`.
fn port_pointer(rule: &Rule, (side, field): (&str, &str), i: usize) -> Pointer {
    rule.pointer.child(side).child(field).index(i)
}

/// R4: ports need a port-capable protocol (≤v3.31: always; v3.32+: named ports may go without
/// a protocol).
fn check_port_protocol(cx: &mut Cx, rule: &Rule) {
    let lists = port_lists(rule);
    // Pointers and texts are written only for a problem: nearly every rule has none.
    let first_port = lists
        .iter()
        .find_map(|(ports, place)| ports.first().map(|p| (p, *place)));
    let Some((first, first_place)) = first_port else {
        return;
    };
    let (port_span, port_text) = (first.span, || first.value.to_string());
    let first_pointer = || port_pointer(rule, first_place, 0);
    match &rule.protocol {
        Some(p) => {
            if !p.value.is_valid() || p.value.supports_ports() {
                return;
            }
            let help = if p.value.number() == Some(136) {
                "UDPLite is a valid protocol, but Calico does not allow ports with it; use TCP, UDP or SCTP, or drop the ports"
            } else {
                "use protocol TCP, UDP or SCTP, or drop the ports"
            };
            let v = Diagnostic::new(
                p.span,
                ptr(&rule.pointer, "protocol"),
                format!("{PROTOCOL_PORTS_MSG} (protocol is `{}`)", p.value),
            )
            .with_help(help)
            .with_related(cx.related(
                format!("port `{}` specified here", port_text()),
                port_span,
                first_pointer(),
            ));
            cx.push(v);
        }
        None if cx.at_least(3, 32) => {
            let numeric = lists.iter().find_map(|(ports, place)| {
                ports.iter().enumerate().find_map(|(i, p)| match p.value {
                    Port::Range { .. } => {
                        Some((p.span, port_pointer(rule, *place, i), p.value.to_string()))
                    }
                    Port::Named(_) => None,
                })
            });
            if let Some((span, pointer, text)) = numeric {
                cx.push(
                    Diagnostic::new(
                        span,
                        pointer,
                        format!("{PROTOCOL_NUMERIC_PORTS_MSG} (port `{text}` is used without a protocol)"),
                    )
                    .with_help("add `protocol: TCP` (or UDP / SCTP) to the rule"),
                );
            }
        }
        None => {
            cx.push(
                Diagnostic::new(
                    port_span,
                    first_pointer(),
                    format!("{PROTOCOL_PORTS_MSG} (protocol is not set)"),
                )
                .with_help(format!(
                    "add `protocol: TCP` (or UDP / SCTP) to the rule; Calico {} requires it even for named ports",
                    cx.target
                )),
            );
        }
    }
}

/// ICMP (v4) protocol as the target version's validator recognises it.
fn is_icmp_v4(cx: &Cx, p: &Protocol) -> bool {
    p.is_name("ICMP") || (cx.at_least(3, 33) && *p == Protocol::Number(1))
}

fn is_icmp_v6(cx: &Cx, p: &Protocol) -> bool {
    p.is_name("ICMPv6") || (cx.at_least(3, 33) && *p == Protocol::Number(58))
}

/// R6: `icmp` requires protocol ICMP / ICMPv6 (numbers 1 / 58 accepted from v3.33).
fn check_icmp_protocol(cx: &mut Cx, rule: &Rule) {
    let Some(icmp) = &rule.icmp else {
        return;
    };
    if rule.protocol.as_ref().is_some_and(|p| !p.value.is_valid()) {
        return; // R3 reports the protocol itself.
    }
    let ok = rule
        .protocol
        .as_ref()
        .is_some_and(|p| is_icmp_v4(cx, &p.value) || is_icmp_v6(cx, &p.value));
    if ok {
        return;
    }
    let message = if cx.at_least(3, 33) {
        "ICMP fields require protocol to be ICMP or ICMPv6"
    } else {
        "rules that specify ICMP fields must set protocol to ICMP"
    };
    let help = match rule.protocol.as_ref().map(|p| &p.value) {
        Some(Protocol::Number(1)) => format!(
            "Calico {} only accepts the protocol name here: write `protocol: ICMP`",
            cx.target
        ),
        Some(Protocol::Number(58)) => format!(
            "Calico {} only accepts the protocol name here: write `protocol: ICMPv6`",
            cx.target
        ),
        _ => "add `protocol: ICMP` (or `ICMPv6`) to the rule".to_string(),
    };
    let (span, detail) = match &rule.protocol {
        Some(p) => (p.span, format!(" (protocol is `{}`)", p.value)),
        None => (icmp.span, " (protocol is not set)".to_string()),
    };
    let pointer = if rule.protocol.is_some() {
        ptr(&rule.pointer, "protocol")
    } else {
        ptr(&rule.pointer, "icmp")
    };
    cx.push(Diagnostic::new(span, pointer, format!("{message}{detail}")).with_help(help));
}

/// R7: protocol / notProtocol ICMP ⇒ ipVersion 4; ICMPv6 ⇒ ipVersion 6 (when set).
fn check_icmp_ip_version(cx: &mut Cx, rule: &Rule) {
    let Some(ipv) = &rule.ip_version else {
        return;
    };
    if ipv.value != 4 && ipv.value != 6 {
        return; // R2 reports it.
    }
    let mut reported = false;
    for (field, p) in [
        ("protocol", &rule.protocol),
        ("notProtocol", &rule.not_protocol),
    ] {
        let Some(p) = p else { continue };
        let (needs, name) = if is_icmp_v4(cx, &p.value) {
            (4, "ICMP")
        } else if is_icmp_v6(cx, &p.value) {
            (6, "ICMPv6")
        } else {
            continue;
        };
        if ipv.value != needs && !reported {
            reported = true;
            let v = Diagnostic::new(
                ipv.span,
                ptr(&rule.pointer, "ipVersion"),
                format!(
                    "{field} {name} requires ipVersion {needs} (ipVersion is {})",
                    ipv.value
                ),
            )
            .with_help(match (needs, field) {
                (4, "protocol") => "use protocol ICMPv6 for IPv6, or set `ipVersion: 4`",
                (4, _) => "use notProtocol ICMPv6 for IPv6, or set `ipVersion: 4`",
                (_, "protocol") => "use protocol ICMP for IPv4, or set `ipVersion: 6`",
                _ => "use notProtocol ICMP for IPv4, or set `ipVersion: 6`",
            });
            cx.push(v);
        }
    }
}

/// R8: ICMP type 0-254, code 0-255, code only with a type (`icmp` and `notICMP`).
fn check_icmp_fields(cx: &mut Cx, icmp: &IcmpMatch, base: &str) {
    if let Some(t) = &icmp.icmp_type {
        if !(0..=MAX_ICMP_TYPE).contains(&t.value) {
            cx.report(
                t.span,
                ptr(base, "type"),
                format!(
                    "invalid ICMP type `{}`: must be between 0 and {MAX_ICMP_TYPE}",
                    t.value
                ),
            );
        }
    }
    if let Some(c) = &icmp.code {
        if !(0..=MAX_ICMP_CODE).contains(&c.value) {
            cx.report(
                c.span,
                ptr(base, "code"),
                format!(
                    "invalid ICMP code `{}`: must be between 0 and {MAX_ICMP_CODE}",
                    c.value
                ),
            );
        }
        if icmp.icmp_type.is_none() {
            cx.push(
                Diagnostic::new(c.span, base, "ICMP code specified without an ICMP type")
                    .with_help("add the ICMP `type` the code belongs to"),
            );
        }
    }
}

/// R11: HTTP match rules (Allow only, TCP or no protocol, methods unique, paths well-formed,
/// v3.32+ size limits).
fn check_http(cx: &mut Cx, rule: &Rule) {
    let Some(http) = &rule.http else {
        return;
    };
    let base = ptr(&rule.pointer, "http");
    // HTTP on a non-Allow rule is CAL103 (alp-action), not repeated here.
    if let Some(p) = &rule.protocol {
        let tcp = p.value.is_name("TCP") || (cx.at_least(3, 33) && p.value == Protocol::Number(6));
        if !tcp {
            let message = if cx.at_least(3, 33) {
                "rules with HTTP match must have protocol TCP or unset"
            } else {
                "rules that specify HTTP fields must set protocol to TCP or empty"
            };
            let mut v = Diagnostic::new(
                p.span,
                ptr(&rule.pointer, "protocol"),
                format!("{message} (protocol is `{}`)", p.value),
            );
            if p.value == Protocol::Number(6) {
                v = v.with_help(format!(
                    "Calico {} only accepts the protocol name here: write `protocol: TCP`",
                    cx.target
                ));
            }
            cx.push(v);
        }
    }

    let limits = cx.at_least(3, 32);
    let methods_ptr = base.child("methods");
    if limits && http.methods.len() > MAX_HTTP_METHODS {
        cx.report(
            cover(&http.methods).unwrap_or(http.span),
            methods_ptr.as_str(),
            format!(
                "too many HTTP methods: {} (at most {MAX_HTTP_METHODS} since Calico v3.32)",
                http.methods.len()
            ),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, m) in http.methods.iter().enumerate() {
        if !seen.insert(m.value.as_str()) {
            cx.report(
                m.span,
                ptr_i(&methods_ptr, i),
                format!(
                    "Invalid methods (duplicates): {} is listed more than once",
                    quote(&m.value)
                ),
            );
        }
    }

    let paths_ptr = base.child("paths");
    if limits && http.paths.len() > MAX_HTTP_PATHS {
        let spans: Vec<Spanned<()>> = http
            .paths
            .iter()
            .map(|p| Spanned::new((), p.span))
            .collect();
        cx.report(
            cover(&spans).unwrap_or(http.span),
            paths_ptr.as_str(),
            format!(
                "too many HTTP paths: {} (at most {MAX_HTTP_PATHS} since Calico v3.32)",
                http.paths.len()
            ),
        );
    }
    for (i, path) in http.paths.iter().enumerate() {
        let path_ptr = ptr_i(&paths_ptr, i);
        let exact = path.exact.as_ref().filter(|e| !e.value.is_empty());
        let prefix = path.prefix.as_ref().filter(|e| !e.value.is_empty());
        let (value, field) = match (exact, prefix) {
            (Some(_), Some(_)) => {
                cx.push(
                    Diagnostic::new(
                        path.span,
                        path_ptr,
                        "Invalid path match. Both 'exact' and 'prefix' are set",
                    )
                    .with_help(
                        "keep one of `exact` / `prefix`; use two path entries to match both",
                    ),
                );
                continue;
            }
            (None, None) => {
                cx.report(
                    path.span,
                    path_ptr,
                    "Invalid path match. Either 'exact' or 'prefix' must be set",
                );
                continue;
            }
            (Some(e), None) => (e, "exact"),
            (None, Some(p)) => (p, "prefix"),
        };
        let value_ptr = ptr(&path_ptr, field);
        let text = value.value.as_str();
        if !text.starts_with('/') || text.contains(['?', '#', ' ']) {
            let mut v = Diagnostic::new(
                value.span,
                value_ptr.as_str(),
                format!(
                    "invalid HTTP path {}: must start with `/` and not contain `?`, `#` or a space",
                    quote(text)
                ),
            );
            if let Some(stripped) = text
                .split(['?', '#'])
                .next()
                .filter(|s| s.starts_with('/') && !s.contains(' '))
            {
                if stripped != text {
                    v = v.with_help(format!(
                        "paths are matched without query or fragment; write {}",
                        quote(stripped)
                    ));
                }
            } else if !text.starts_with('/') && !text.contains(['?', '#', ' ']) {
                v = v.with_help(format!("write {}", quote(&format!("/{text}"))));
            }
            cx.push(v);
        }
        let len = char_len(text);
        if limits && len > MAX_HTTP_PATH_CHARS {
            cx.report(
                value.span,
                value_ptr,
                format!(
                    "HTTP path is too long: {len} characters (at most {MAX_HTTP_PATH_CHARS} since Calico v3.32)"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests;
