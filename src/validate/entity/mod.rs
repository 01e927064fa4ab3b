//! EntityRule checks (spec §2.2, §2.3, §2.6, §2.9; checklist E1–E5, R5, R9, R10, R12): selectors,
//! nets, ports, services and serviceAccounts of a rule's `source` / `destination`.

use super::selectors::{Place, check_selector};
use super::util::{cover, is_subdomain_fmt, ptr, ptr_i, quote};
use super::{Cx, Diagnostic};
use crate::model::net::{Cidr, IpFamily, parse_cidr};
use crate::model::port::{Port, is_valid_port_name};
use crate::model::{EntityRule, NetField, Rule, ServiceMatch};
use crate::pointer::{Lazy, Pointer};
use crate::source::{Span, Spanned};

/// CRD `MaxItems` of `nets` / `notNets` (v3.33+).
pub const MAX_NETS: usize = 256;
/// CRD `MaxItems` of `ports` / `notPorts` (v3.33+).
pub const MAX_PORTS: usize = 50;
/// CRD `MaxLength` of `services.name` / `services.namespace` (v3.33+).
pub const MAX_SERVICE_NAME: usize = 253;

/// Checks of one `source` / `destination` (whose JSON Pointer is `base`).
pub fn check_entity(cx: &mut Cx, ent: &EntityRule, base: Lazy<'_>) {
    let selectors = [
        (ent.selector.as_ref(), "selector", Place::EntitySelector),
        (
            ent.not_selector.as_deref(),
            "notSelector",
            Place::EntityNotSelector,
        ),
        (
            ent.namespace_selector.as_deref(),
            "namespaceSelector",
            Place::EntityNamespaceSelector,
        ),
    ];
    for (field, name, place) in selectors {
        if let Some(f) = field {
            check_selector(cx, f, base.child(name), name, place);
        }
    }

    for (ports, name) in [(&ent.ports, "ports"), (&ent.not_ports, "notPorts")] {
        let list_ptr = base.child(name);
        for (i, p) in ports.iter().enumerate() {
            check_port(cx, p, list_ptr.index(i));
        }
        if cx.size_limits() && ports.len() > MAX_PORTS {
            cx.report(
                cover(ports).unwrap_or_default(),
                list_ptr,
                format!(
                    "too many entries in `{name}`: {} (at most {MAX_PORTS} since Calico v3.33)",
                    ports.len()
                ),
            );
        }
    }

    // `nets` became a set in v3.32, `notNets` in v3.33.
    for (nets, name, set_since) in [
        (&ent.nets, "nets", (3, 32)),
        (&ent.not_nets, "notNets", (3, 33)),
    ] {
        let pointer = base.child(name);
        check_net_list_limit(cx, nets, pointer, name);
        cx.check_set(
            nets.iter().map(|n| (n.raw.value.as_str(), n.raw.span)),
            pointer,
            name,
            set_since,
        );
    }

    if let Some(sa) = &ent.service_accounts {
        let sa_ptr = base.child("serviceAccounts");
        if let Some(f) = &sa.selector {
            check_selector(
                cx,
                f,
                sa_ptr.child("selector"),
                "serviceAccounts.selector",
                Place::ServiceAccounts,
            );
        }
        cx.check_set(
            sa.names.iter().map(|n| (n.value.as_str(), n.span)),
            sa_ptr.child("names"),
            "serviceAccounts.names",
            (3, 32),
        );
    }

    if let Some(svc) = &ent.services {
        check_services(cx, ent, svc, base);
    }
}

/// R5: a port is 1-65535 (ranges too), or a valid IANA port name.
fn check_port(cx: &mut Cx, p: &Spanned<Port>, pointer: Lazy<'_>) {
    match &p.value {
        Port::Range { min, max } => {
            if *min > *max {
                cx.report(
                    p.span,
                    pointer,
                    format!(
                        "invalid port range `{min}:{max}`: minimum port number ({min}) is greater than maximum port number ({max})"
                    ),
                );
            } else if *min == 0 {
                let what = if min == max {
                    "port `0`".to_string()
                } else {
                    format!("port range `{min}:{max}`")
                };
                cx.report(
                    p.span,
                    pointer,
                    format!(
                        "invalid {what}: port range invalid, port number must be between 1 and 65535"
                    ),
                );
            }
        }
        Port::Named(name) => {
            if is_valid_port_name(name) {
                return;
            }
            let mut v = Diagnostic::new(
                p.span,
                pointer,
                format!(
                    "invalid port name {}: {}",
                    quote(name),
                    port_name_problem(name)
                ),
            );
            if let Some(help) = port_name_help(name) {
                v = v.with_help(help);
            }
            cx.push(v);
        }
    }
}

/// Why `name` is not an IANA service name (Kubernetes `IsValidPortName`).
pub fn port_name_problem(name: &str) -> &'static str {
    if name.len() > 15 {
        "port names are at most 15 characters"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        "port names may only contain lower-case letters, digits and `-`"
    } else if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        "port names must contain at least one letter"
    } else {
        "port names must not start or end with `-` or contain `--`"
    }
}

pub fn port_name_help(name: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((a, b)) = name.split_once('-') {
        if digits(a) && digits(b) {
            return Some(format!("use `{a}:{b}` for a range"));
        }
    }
    if digits(name) {
        return None;
    }
    let candidate: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect();
    (candidate != name && is_valid_port_name(&candidate)).then(|| {
        format!(
            "write {} (the name must match the port name declared by the pod or HostEndpoint)",
            quote(&candidate)
        )
    })
}

/// E5 for one nets list: at most 256 entries (v3.33+).
fn check_net_list_limit(cx: &mut Cx, nets: &[NetField], pointer: Lazy<'_>, name: &str) {
    if !cx.size_limits() {
        return;
    }
    if nets.len() > MAX_NETS {
        let spans: Vec<Spanned<()>> = nets.iter().map(|n| Spanned::new((), n.raw.span)).collect();
        cx.report(
            cover(&spans).unwrap_or_default(),
            pointer,
            format!(
                "too many entries in `{name}`: {} (at most {MAX_NETS} since Calico v3.33)",
                nets.len()
            ),
        );
    }
}

/// R9 / R10: strict CIDRs, one IP family per rule, consistent with `ipVersion`, no catch-all in
/// `notNets` (v3.29+ patch releases and v3.31+).
pub fn check_rule_nets(cx: &mut Cx, rule: &Rule) {
    let base = &rule.pointer;
    let ip_version = rule
        .ip_version
        .as_ref()
        .filter(|v| v.value == 4 || v.value == 6);
    let lists = [
        (&rule.source.nets, ("source", "nets"), false),
        (&rule.source.not_nets, ("source", "notNets"), true),
        (&rule.destination.nets, ("destination", "nets"), false),
        (&rule.destination.not_nets, ("destination", "notNets"), true),
    ];
    // The first CIDR, its span, where it is (side, field, index; written out only if
    // reported) and its text.
    type Place<'a> = (&'a str, &'a str, usize);
    let mut first: Option<(Cidr, Span, Place<'_>, &str)> = None;
    let mut mixed_reported = false;
    let mut version_reported = false;
    let at = Lazy::from(base);
    for (nets, (side, field), negated) in lists {
        let side_at = at.child(side);
        let list_at = side_at.child(field);
        for (i, n) in nets.iter().enumerate() {
            let pointer = list_at.index(i);
            // Rules parse CIDR-only, whatever the lowering stored.
            let cidr = match parse_cidr(&n.raw.value) {
                Ok(c) => c,
                Err(e) => {
                    cx.report(n.raw.span, pointer, e.0);
                    continue;
                }
            };
            if cidr.has_host_bits() && !cx.is_k8s() {
                let network = cidr.network();
                cx.push(
                    Diagnostic::new(
                        n.raw.span,
                        pointer,
                        format!(
                            "invalid CIDR {}: host bits are set (Calico requires a network address; did you mean `{network}`?)",
                            quote(&n.raw.value)
                        ),
                    )
                    .with_help(format!("write `{network}`")),
                );
            }
            if negated && cx.at_least(3, 29) && is_catch_all(&cidr, &n.raw.value) {
                cx.push(
                    Diagnostic::new(
                        n.raw.span,
                        pointer,
                        format!(
                            "catch-all CIDR in negation creates logical contradiction (matches no traffic): {} excludes every address",
                            quote(&n.raw.value)
                        ),
                    )
                    .with_help("remove it from `notNets`; to match nothing, remove the rule"),
                );
            }
            match &first {
                None => first = Some((cidr, n.raw.span, (side, field, i), n.raw.value.as_str())),
                Some((f, span, (fside, ffield, fi), fval))
                    if f.family != cidr.family && !mixed_reported =>
                {
                    mixed_reported = true;
                    let fptr = base.child(fside).child(ffield).index(*fi);
                    let v = Diagnostic::new(
                        n.raw.span,
                        pointer,
                        format!(
                            "rule contains both IPv4 and IPv6 CIDRs ({} is IPv{}, {} is IPv{})",
                            quote(&n.raw.value),
                            cidr.family.version(),
                            quote(fval),
                            f.family.version()
                        ),
                    )
                    .with_help("split the rule into one rule per IP family")
                    .with_related(cx.related(
                        format!("IPv{} CIDR here", f.family.version()),
                        *span,
                        fptr.as_str(),
                    ));
                    cx.push(v);
                }
                Some(_) => {}
            }
            if let Some(ipv) = ip_version {
                if i64::from(cidr.family.version()) != ipv.value && !version_reported {
                    version_reported = true;
                    let v = Diagnostic::new(
                        n.raw.span,
                        pointer,
                        format!(
                            "rule IP version doesn't match CIDR version: {} is IPv{} but ipVersion is {}",
                            quote(&n.raw.value),
                            cidr.family.version(),
                            ipv.value
                        ),
                    )
                    .with_related(cx.related("ipVersion set here", ipv.span, ptr(base, "ipVersion")));
                    cx.push(v);
                }
            }
        }
    }
}

/// Calico's catch-all test: the literal `0.0.0.0/0`, or any IPv6 spelling of `::/0`.
fn is_catch_all(cidr: &Cidr, raw: &str) -> bool {
    match cidr.family {
        IpFamily::V4 => raw == "0.0.0.0/0",
        IpFamily::V6 => cidr.prefix == 0,
    }
}

/// R12: a destination Service match excludes destination ports / notPorts.
pub fn check_service_ports(cx: &mut Cx, rule: &Rule) {
    let dst = &rule.destination;
    let Some(svc) = &dst.services else {
        return;
    };
    let base = rule.pointer.child("destination");
    let first = dst
        .ports
        .first()
        .map(|p| (p.span, base.child("ports").index(0)))
        .or_else(|| {
            dst.not_ports
                .first()
                .map(|p| (p.span, base.child("notPorts").index(0)))
        });
    if let Some((span, pointer)) = first {
        let v = Diagnostic::new(span, pointer, "ports and notPorts cannot be specified with services")
            .with_help("a destination Service match already matches the Service's ports; remove `ports` / `notPorts`")
            .with_related(cx.related("services match here", svc.span, base.child("services")));
        cx.push(v);
    }
}

/// E4: services need a name, valid names, and exclude other peer criteria.
fn check_services(cx: &mut Cx, ent: &EntityRule, svc: &ServiceMatch, base: Lazy<'_>) {
    let base = &base.pointer();
    let svc_ptr = ptr(base, "services");
    match &svc.name {
        Some(name) if !name.value.is_empty() => {
            check_service_name(cx, name, &ptr(&svc_ptr, "name"), "service name");
        }
        Some(name) => cx.report(
            name.span,
            ptr(&svc_ptr, "name"),
            "services must specify a service name",
        ),
        None => cx.report(
            svc.span,
            svc_ptr.as_str(),
            "services must specify a service name",
        ),
    }
    if let Some(ns) = svc.namespace.as_ref().filter(|n| !n.value.is_empty()) {
        check_service_name(cx, ns, &ptr(&svc_ptr, "namespace"), "service namespace");
    }

    let non_empty = |f: Option<&crate::model::SelectorField>| {
        f.filter(|f| !f.raw.value.is_empty()).map(|f| f.raw.span)
    };
    let mut conflicts: Vec<(Span, Pointer, &str)> = Vec::new();
    if let Some(span) = non_empty(ent.namespace_selector.as_deref()) {
        conflicts.push((
            span,
            ptr(base, "namespaceSelector"),
            "cannot specify NamespaceSelector and Services on the same rule",
        ));
    }
    let selector = non_empty(ent.selector.as_ref())
        .map(|s| (s, "selector"))
        .or_else(|| non_empty(ent.not_selector.as_deref()).map(|s| (s, "notSelector")));
    if let Some((span, field)) = selector {
        conflicts.push((
            span,
            ptr(base, field),
            "cannot specify Selector/NotSelector and Services on the same rule",
        ));
    }
    if let Some(sa) = &ent.service_accounts {
        conflicts.push((
            sa.span,
            ptr(base, "serviceAccounts"),
            "cannot specify ServiceAccounts and Services on the same rule",
        ));
    }
    let net = ent
        .nets
        .first()
        .map(|n| (n.raw.span, ptr_i(&ptr(base, "nets"), 0)))
        .or_else(|| {
            ent.not_nets
                .first()
                .map(|n| (n.raw.span, ptr_i(&ptr(base, "notNets"), 0)))
        });
    if let Some((span, pointer)) = net {
        conflicts.push((
            span,
            pointer,
            "cannot specify Nets/NotNets and Services on the same rule",
        ));
    }
    for (span, pointer, message) in conflicts {
        let v = Diagnostic::new(span, pointer, message)
            .with_help("a Service match identifies the peer by itself; move other criteria to a separate rule")
            .with_related(cx.related("services match here", svc.span, svc_ptr.as_str()));
        cx.push(v);
    }
}

/// `services.name` / `services.namespace`: DNS subdomains (length limited from v3.33).
fn check_service_name(cx: &mut Cx, name: &Spanned<String>, pointer: &str, what: &str) {
    if !is_subdomain_fmt(&name.value) {
        cx.report(
            name.span,
            pointer,
            format!(
                "invalid {what} {}: must consist of lower-case alphanumeric characters, `-` or `.`, and start and end with an alphanumeric character",
                quote(&name.value)
            ),
        );
    }
    if cx.size_limits() && name.value.chars().count() > MAX_SERVICE_NAME {
        cx.report(
            name.span,
            pointer,
            format!(
                "{what} is too long (at most {MAX_SERVICE_NAME} characters since Calico v3.33)"
            ),
        );
    }
}

#[cfg(test)]
mod tests;
