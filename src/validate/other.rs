//! Tier, NetworkSet / GlobalNetworkSet, Profile and HostEndpoint checks (spec §1.7–§1.10).

use super::entity::{port_name_help, port_name_problem};
use super::meta::{MAX_NAME_LEN, check_labels};
use super::policy::{check_order, check_rule_count};
use super::rule::check_rule;
use super::util::{is_subdomain_fmt, ptr, ptr_i, quote};
use super::{Cx, Diagnostic};
use crate::model::net::{parse_ip, parse_ip_or_cidr};
use crate::model::port::is_valid_port_name;
use crate::model::tier::{
    DEFAULT_TIER, KUBE_ADMIN_TIER, KUBE_BASELINE_TIER, LEGACY_ADMIN_TIER, LEGACY_BASELINE_TIER,
};
use crate::model::{Direction, EndpointPort, HostEndpoint, NetworkSet, Profile, Tier};

/// A built-in tier's required order and (when validated) default action.
struct RequiredTier {
    order: u64,
    default_action: Option<&'static str>,
}

/// The built-in tier called `name` at the target version, if any (§1.7): which release's
/// validator checks which tier, and whether it checks the default action too.
fn builtin_tier(cx: &Cx, name: &str) -> Option<RequiredTier> {
    let (v329, v330, v332) = (cx.at_least(3, 29), cx.at_least(3, 30), cx.at_least(3, 32));
    // (tier, checked at this version, its default action checked)
    let checked = [
        (DEFAULT_TIER, v329, v332),
        (KUBE_ADMIN_TIER, v332, true),
        (KUBE_BASELINE_TIER, v332, true),
        (LEGACY_ADMIN_TIER, v329 && !v332, false),
        (LEGACY_BASELINE_TIER, v330 && !v332, false),
    ];
    let (tier, _, action) = checked
        .into_iter()
        .find(|(tier, at, _)| *at && tier.name == name)?;
    Some(RequiredTier {
        order: u64::from(tier.order),
        default_action: action.then(|| tier.default_action()),
    })
}

pub fn check_tier(cx: &mut Cx, tier: &Tier) {
    if let Some(order) = &tier.order {
        check_order(cx, order, "/spec/order");
    }
    if let Some(a) = &tier.default_action {
        if a.value != "Deny" && a.value != "Pass" {
            let mut v = Diagnostic::new(
                a.span,
                "/spec/defaultAction",
                format!(
                    "invalid defaultAction {}: must be `Deny` or `Pass`",
                    quote(&a.value)
                ),
            );
            if let Some(fix) = ["Deny", "Pass"]
                .iter()
                .find(|x| x.eq_ignore_ascii_case(&a.value))
            {
                v = v.with_help(format!("write `{fix}`"));
            }
            cx.push(v);
        }
    }

    let name = cx.res.name();
    let Some(builtin) = builtin_tier(cx, name) else {
        return;
    };
    let name = name.to_string();
    let required = builtin.order;
    let order_ok = tier
        .order
        .as_ref()
        .is_some_and(|o| o.value == required as f64);
    if !order_ok {
        let (span, pointer, found) = match &tier.order {
            Some(o) => (o.span, "/spec/order", format!("order is {}", o.value)),
            None => (tier.spec_span, "/spec", "order is not set".to_string()),
        };
        cx.push(
            Diagnostic::new(
                span,
                pointer,
                format!(
                    "{name} tier order must be {required} (the built-in `{name}` tier; {found})"
                ),
            )
            .with_help(format!("set `order: {required}`")),
        );
    }
    if let Some(required) = builtin.default_action {
        // The CRD defaults an absent defaultAction to Deny before validating.
        let effective = tier
            .default_action
            .as_ref()
            .map_or("Deny", |a| a.value.as_str());
        if effective != required {
            let (span, pointer) = match &tier.default_action {
                Some(a) => (a.span, "/spec/defaultAction"),
                None => (tier.spec_span, "/spec"),
            };
            cx.push(
                Diagnostic::new(
                    span,
                    pointer,
                    format!("The '{name}' tier must have default action '{required}' (defaultAction is `{effective}`)"),
                )
                .with_help(format!("set `defaultAction: {required}`")),
            );
        }
    }
}

/// NetworkSet / GlobalNetworkSet: nets are CIDRs or bare IPs; host bits are allowed.
pub fn check_network_set(cx: &mut Cx, set: &NetworkSet) {
    for (i, n) in set.nets.iter().enumerate() {
        if let Err(e) = parse_ip_or_cidr(&n.raw.value) {
            cx.report(n.raw.span, ptr_i("/spec/nets", i), e.0);
        }
    }
    cx.check_set(
        set.nets.iter().map(|n| (n.raw.value.as_str(), n.raw.span)),
        "/spec/nets".into(),
        "nets",
        (3, 32),
    );
}

pub fn check_profile(cx: &mut Cx, profile: &Profile) {
    check_labels(cx, &profile.labels_to_apply, "/spec/labelsToApply");
    check_rule_count(cx, &profile.ingress, profile.spec_span, Direction::Ingress);
    check_rule_count(cx, &profile.egress, profile.spec_span, Direction::Egress);
    // Profile rules are not direction-checked (services / http placement).
    for rule in profile.ingress.iter().chain(&profile.egress) {
        check_rule(cx, rule);
    }
}

pub fn check_host_endpoint(cx: &mut Cx, hep: &HostEndpoint) {
    match &hep.node {
        Some(node) if !node.value.is_empty() => {
            if !is_subdomain_fmt(&node.value) {
                cx.report(
                    node.span,
                    "/spec/node",
                    format!(
                        "invalid node name {}: must consist of lower-case alphanumeric characters, `-` or `.`, and start and end with an alphanumeric character",
                        quote(&node.value)
                    ),
                );
            }
            if node.value.len() > MAX_NAME_LEN {
                cx.report(
                    node.span,
                    "/spec/node",
                    format!("node name is too long (at most {MAX_NAME_LEN} characters)"),
                );
            }
        }
        Some(node) => cx.report(node.span, "/spec/node", "node must be specified"),
        None => cx.report(hep.spec_span, "/spec", "node must be specified"),
    }

    let interface = hep.interface_name.as_ref().filter(|i| !i.value.is_empty());
    if let Some(i) = interface {
        if !is_valid_interface(&i.value) {
            cx.report(
                i.span,
                "/spec/interfaceName",
                format!(
                    "invalid interfaceName {}: must be `*` or 1-15 characters of letters, digits, `_`, `.` or `-`",
                    quote(&i.value)
                ),
            );
        }
    } else if hep.expected_ips.is_empty() {
        cx.push(
            Diagnostic::new(
                hep.spec_span,
                "/spec",
                "at least one of interfaceName or expectedIPs must be specified",
            )
            .with_help("set `interfaceName` (or `*` for all interfaces) and/or `expectedIPs`"),
        );
    }

    for (i, ip) in hep.expected_ips.iter().enumerate() {
        let value = ip.raw.value.as_str();
        if parse_ip(value).is_some() {
            continue;
        }
        let mut v = Diagnostic::new(
            ip.raw.span,
            ptr_i("/spec/expectedIPs", i),
            format!("invalid IP address {} in expectedIPs", quote(value)),
        );
        if let Some((addr, _)) = value.split_once('/').filter(|(a, _)| parse_ip(a).is_some()) {
            v = v.with_help(format!(
                "expectedIPs takes plain addresses, not CIDRs: write `{addr}`"
            ));
        }
        cx.push(v);
    }

    cx.check_set(
        hep.expected_ips
            .iter()
            .map(|n| (n.raw.value.as_str(), n.raw.span)),
        "/spec/expectedIPs".into(),
        "expectedIPs",
        (3, 32),
    );
    cx.check_set(
        hep.profiles.iter().map(|p| (p.value.as_str(), p.span)),
        "/spec/profiles".into(),
        "profiles",
        (3, 32),
    );

    for (i, profile) in hep.profiles.iter().enumerate() {
        if !is_subdomain_fmt(&profile.value) {
            cx.report(
                profile.span,
                ptr_i("/spec/profiles", i),
                format!(
                    "invalid profile name {}: must consist of lower-case alphanumeric characters, `-` or `.`",
                    quote(&profile.value)
                ),
            );
        }
    }

    for (i, port) in hep.ports.iter().enumerate() {
        check_endpoint_port(cx, port, &ptr_i("/spec/ports", i));
    }
}

/// `*` or `^[a-zA-Z0-9_.-]{1,15}$`.
fn is_valid_interface(s: &str) -> bool {
    s == "*"
        || ((1..=15).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))
}

/// HostEndpoint `spec.ports[]`: IANA name, TCP/UDP/SCTP, port 1-65535.
fn check_endpoint_port(cx: &mut Cx, port: &EndpointPort, base: &str) {
    match &port.name {
        Some(n) if is_valid_port_name(&n.value) => {}
        Some(n) if !n.value.is_empty() => {
            let mut v = Diagnostic::new(
                n.span,
                ptr(base, "name"),
                format!(
                    "invalid port name {}: {}",
                    quote(&n.value),
                    port_name_problem(&n.value)
                ),
            );
            if let Some(help) = port_name_help(&n.value) {
                v = v.with_help(help);
            }
            cx.push(v);
        }
        Some(n) => cx.report(n.span, ptr(base, "name"), "port name must not be empty"),
        None => cx.report(
            port.span,
            base,
            "port `name` must be specified (rules refer to the port by it)",
        ),
    }
    match &port.protocol {
        Some(p) if p.value.supports_ports() => {}
        Some(p) => cx.push(
            Diagnostic::new(
                p.span,
                ptr(base, "protocol"),
                format!(
                    "EndpointPort protocol does not support ports (protocol is `{}`)",
                    p.value
                ),
            )
            .with_help("use TCP, UDP or SCTP"),
        ),
        None => cx.push(
            Diagnostic::new(
                port.span,
                base,
                "EndpointPort protocol does not support ports (protocol is not set)",
            )
            .with_help("add `protocol: TCP` (or UDP / SCTP)"),
        ),
    }
    match &port.port {
        Some(n) if (1..=65535).contains(&n.value) => {}
        Some(n) => cx.report(
            n.span,
            ptr(base, "port"),
            format!(
                "invalid port `{}`: port number must be between 1 and 65535",
                n.value
            ),
        ),
        None => cx.report(port.span, base, "port number must be specified (1-65535)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, Kind, Resource};
    use crate::source::Span;
    use crate::validate::testutil::*;

    fn tier(name: &str, order: Option<f64>, action: Option<&str>) -> Resource {
        resource(
            Kind::Tier,
            name,
            Body::Tier(Tier {
                spec_span: Span::new(90, 200),
                order: order.map(|o| sp_at(o, 100)),
                default_action: action.map(|a| s_at(a, 120)),
            }),
        )
    }

    #[test]
    fn tier_fields() {
        assert_clean(&validate(&tier("security", Some(100.0), Some("Pass"))));
        assert_clean(&validate(&tier("security", None, None)));
        let v = validate(&tier("security", Some(f64::INFINITY), Some("pass")));
        assert_eq!(v.len(), 2);
        find(&v, "order must be a finite number");
        let f = find(&v, "invalid defaultAction `pass`");
        assert_eq!(
            (f.pointer.as_str(), f.help.as_deref()),
            ("/spec/defaultAction", Some("write `Pass`"))
        );
    }

    #[test]
    fn default_tier() {
        assert_clean(&validate(&tier("default", Some(1_000_000.0), None)));
        assert_clean(&validate(&tier("default", Some(1_000_000.0), Some("Deny"))));
        let v = validate(&tier("default", Some(10.0), None));
        let f = find(&v, "default tier order must be 1000000");
        assert_eq!(
            (f.pointer.as_str(), f.span),
            ("/spec/order", Span::new(100, 101))
        );
        let v = validate(&tier("default", None, None));
        assert_pointer(&v, "default tier order must be 1000000", "/spec");
        // defaultAction is checked from v3.32.
        let pass = tier("default", Some(1_000_000.0), Some("Pass"));
        find(
            &validate(&pass),
            "The 'default' tier must have default action 'Deny'",
        );
        assert_clean(&validate_at(&pass, V3_31));
        // Not a built-in before tiers existed (the Tier kind itself is reported).
        let v = validate_at(&tier("default", Some(5.0), None), V3_28);
        assert_none(&v, "tier order");
    }

    #[test]
    fn kube_admin_and_baseline_tiers() {
        assert_clean(&validate(&tier("kube-admin", Some(1000.0), Some("Pass"))));
        assert_clean(&validate(&tier(
            "kube-baseline",
            Some(10_000_000.0),
            Some("Pass"),
        )));
        let v = validate(&tier("kube-admin", Some(1001.0), None));
        assert_eq!(v.len(), 2, "{v:#?}");
        find(&v, "kube-admin tier order must be 1000");
        let f = find(
            &v,
            "The 'kube-admin' tier must have default action 'Pass' (defaultAction is `Deny`)",
        );
        assert_eq!(f.pointer, "/spec");
        find(
            &validate(&tier("kube-baseline", Some(1.0), Some("Pass"))),
            "kube-baseline tier order must be 10000000",
        );
        // Ordinary tiers before v3.32.
        assert_clean(&validate_at(&tier("kube-admin", Some(1.0), None), V3_31));
    }

    #[test]
    fn admin_tiers_before_3_32() {
        find(
            &validate_at(&tier("adminnetworkpolicy", Some(5.0), None), V3_29),
            "adminnetworkpolicy tier order must be 1000",
        );
        assert_clean(&validate_at(
            &tier("adminnetworkpolicy", Some(1000.0), Some("Deny")),
            V3_31,
        ));
        assert_clean(&validate_at(
            &tier("baselineadminnetworkpolicy", Some(5.0), None),
            V3_29,
        ));
        find(
            &validate_at(&tier("baselineadminnetworkpolicy", Some(5.0), None), V3_30),
            "baselineadminnetworkpolicy tier order must be 10000000",
        );
        assert_clean(&validate(&tier("adminnetworkpolicy", Some(5.0), None)));
    }

    #[test]
    fn network_sets_accept_host_bits_and_bare_ips() {
        let set = |kind, nets: Vec<&str>| {
            resource(
                kind,
                "s",
                Body::NetworkSet(NetworkSet {
                    spec_span: Span::new(90, 200),
                    nets: nets.into_iter().map(set_net).collect(),
                }),
            )
        };
        assert_clean(&validate(&set(
            Kind::NetworkSet,
            vec!["10.0.0.1/8", "10.1.2.3", "fd00::1"],
        )));
        let dup = set(Kind::NetworkSet, vec!["10.0.0.0/8", "10.0.0.0/8"]);
        let v = validate(&dup);
        assert_pointer(&v, "duplicate entry `10.0.0.0/8` in `nets`", "/spec/nets/1");
        assert_clean(&validate_at(&dup, V3_31));
        let v = validate(&set(
            Kind::GlobalNetworkSet,
            vec!["10.0.0.0/8", "10.0.0.300", "1.2.3.4/40"],
        ));
        assert_eq!(v.len(), 2);
        assert_pointer(
            &v,
            "invalid IP address or CIDR `10.0.0.300`",
            "/spec/nets/1",
        );
        assert_pointer(&v, "prefix length", "/spec/nets/2");
    }

    #[test]
    fn profiles() {
        let mut bad_rule = rule_at("Deny", "/spec/egress/0");
        bad_rule.protocol = Some(proto("tcp"));
        let mut http_rule = rule_at("Allow", "/spec/egress/1");
        http_rule.http = Some(Default::default());
        let profile = Profile {
            spec_span: Span::new(90, 200),
            ingress: vec![],
            egress: vec![bad_rule, http_rule],
            labels_to_apply: vec![(s("ok"), s("v")), (s("bad/key/x"), s("v"))],
        };
        let v = validate(&resource(Kind::Profile, "p", Body::Profile(profile)));
        assert_eq!(v.len(), 2, "{v:#?}");
        assert_pointer(&v, "invalid protocol `tcp`", "/spec/egress/0/protocol");
        assert_pointer(
            &v,
            "invalid label key `bad/key/x`",
            "/spec/labelsToApply/bad~1key~1x",
        );

        let many = Profile {
            ingress: (0..1025).map(|_| rule("Allow")).collect(),
            ..Default::default()
        };
        let res = resource(Kind::Profile, "p", Body::Profile(many));
        find(&validate(&res), "too many ingress rules: 1025");
        assert_clean(&validate_at(&res, V3_32));
    }

    fn hep(f: impl FnOnce(&mut HostEndpoint)) -> Resource {
        let mut h = HostEndpoint {
            spec_span: Span::new(90, 400),
            node: Some(s("node-1")),
            interface_name: Some(s("eth0")),
            ..Default::default()
        };
        f(&mut h);
        resource(Kind::HostEndpoint, "h", Body::HostEndpoint(h))
    }

    fn endpoint_port(
        name: Option<&str>,
        protocol: Option<&str>,
        port: Option<i64>,
    ) -> EndpointPort {
        EndpointPort {
            span: Span::new(300, 350),
            name: name.map(s),
            protocol: protocol.map(proto),
            port: port.map(sp),
        }
    }

    #[test]
    fn host_endpoint_node_and_interface() {
        assert_clean(&validate(&hep(|_| {})));
        assert_clean(&validate(&hep(|h| h.interface_name = Some(s("*")))));
        let v = validate(&hep(|h| h.node = None));
        assert_pointer(&v, "node must be specified", "/spec");
        find(
            &validate(&hep(|h| h.node = Some(s("Node_1")))),
            "invalid node name",
        );
        let v = validate(&hep(|h| {
            h.interface_name = Some(s("a-very-long-interface"))
        }));
        assert_pointer(&v, "invalid interfaceName", "/spec/interfaceName");
        let v = validate(&hep(|h| h.interface_name = None));
        let f = find(
            &v,
            "at least one of interfaceName or expectedIPs must be specified",
        );
        assert_eq!((f.pointer.as_str(), f.span), ("/spec", Span::new(90, 400)));
        assert_clean(&validate(&hep(|h| {
            h.interface_name = Some(s(""));
            h.expected_ips = vec![set_net("10.0.0.1")];
        })));
    }

    #[test]
    fn host_endpoint_expected_ips_and_profiles() {
        let v = validate(&hep(|h| {
            h.expected_ips = vec![set_net("10.0.0.1"), set_net("10.0.0.1/32"), set_net("nope")];
            h.profiles = vec![s("kns.default"), s("Bad_Profile")];
        }));
        assert_eq!(v.len(), 3, "{v:#?}");
        let f = find(&v, "invalid IP address `10.0.0.1/32`");
        assert_eq!(
            (f.pointer.as_str(), f.help.as_deref()),
            (
                "/spec/expectedIPs/1",
                Some("expectedIPs takes plain addresses, not CIDRs: write `10.0.0.1`")
            )
        );
        find(&v, "invalid IP address `nope`");
        assert_pointer(&v, "invalid profile name", "/spec/profiles/1");
        let dups = hep(|h| {
            h.expected_ips = vec![set_net("10.0.0.1"), set_net("10.0.0.1")];
            h.profiles = vec![s("a"), s("a")];
        });
        let v = validate(&dups);
        assert_eq!(v.len(), 2, "{v:#?}");
        assert_pointer(&v, "in `expectedIPs`", "/spec/expectedIPs/1");
        assert_pointer(&v, "in `profiles`", "/spec/profiles/1");
        assert_clean(&validate_at(&dups, V3_31));
    }

    #[test]
    fn host_endpoint_ports() {
        assert_clean(&validate(&hep(|h| {
            h.ports = vec![endpoint_port(Some("metrics"), Some("TCP"), Some(9090))]
        })));
        let v = validate(&hep(|h| {
            h.ports = vec![
                endpoint_port(Some("Metrics"), Some("ICMP"), Some(0)),
                endpoint_port(None, None, None),
            ]
        }));
        assert_eq!(v.len(), 6, "{v:#?}");
        assert_pointer(&v, "invalid port name `Metrics`", "/spec/ports/0/name");
        assert_pointer(&v, "(protocol is `ICMP`)", "/spec/ports/0/protocol");
        assert_pointer(&v, "invalid port `0`", "/spec/ports/0/port");
        assert_pointer(&v, "port `name` must be specified", "/spec/ports/1");
        assert_pointer(&v, "(protocol is not set)", "/spec/ports/1");
        assert_pointer(&v, "port number must be specified", "/spec/ports/1");
    }
}
