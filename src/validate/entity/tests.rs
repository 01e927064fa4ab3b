use super::*;
use crate::model::{Kind, ServiceAccountMatch};
use crate::validate::testutil::*;

#[test]
fn ports_are_valid() {
    let mut r = rule("Allow");
    r.protocol = Some(proto("TCP"));
    r.destination.ports = vec![
        port(1),
        port(65535),
        port_range(8000, 8080),
        named_port("http"),
        named_port("metrics-1"),
    ];
    assert_clean(&validate_rule(r.clone()));
    r.destination.ports = vec![
        port(0),
        port_range(0, 10),
        named_port("80-90"),
        named_port("HTTP"),
        named_port("http-alternative-1"),
        named_port("my_port"),
        named_port("--a"),
    ];
    let v = validate_rule(r);
    assert_eq!(v.len(), 7, "{v:#?}");
    let f = find(&v, "invalid port `0`");
    assert_eq!(f.pointer, "/spec/ingress/0/destination/ports/0");
    assert!(
        f.message
            .contains("port number must be between 1 and 65535")
    );
    find(&v, "invalid port range `0:10`");
    let f = find(&v, "invalid port name `80-90`");
    assert_eq!(
        (f.pointer.as_str(), f.help.as_deref()),
        (
            "/spec/ingress/0/destination/ports/2",
            Some("use `80:90` for a range")
        )
    );
    assert!(
        find(&v, "`HTTP`")
            .help
            .as_deref()
            .is_some_and(|h| h.starts_with("write `http`"))
    );
    find(&v, "at most 15 characters");
    assert!(
        find(&v, "`my_port`")
            .help
            .as_deref()
            .is_some_and(|h| h.starts_with("write `my-port`"))
    );
    find(&v, "must not start or end with `-`");
}

#[test]
fn port_list_limits() {
    let mut r = rule("Allow");
    r.protocol = Some(proto("TCP"));
    r.source.not_ports = (1..=51).map(port).collect();
    let v = validate_rule(r.clone());
    assert_pointer(
        &v,
        "too many entries in `notPorts`: 51",
        "/spec/ingress/0/source/notPorts",
    );
    assert_clean(&validate_rule_at(r.clone(), V3_32));
    r.source.not_ports.pop();
    assert_clean(&validate_rule(r));
}

#[test]
fn nets_strict_cidrs() {
    let mut r = rule("Allow");
    r.destination.nets = vec![
        net_at("10.0.0.1/8", 40),
        net("10.0.0.1"),
        net("10.0.0.0/33"),
        net("10.1.0.0/16"),
    ];
    let v = validate_rule(r);
    assert_eq!(v.len(), 3, "{v:#?}");
    let f = find(&v, "host bits are set");
    assert_eq!(
        f.message,
        "invalid CIDR `10.0.0.1/8`: host bits are set (Calico requires a network address; did you mean `10.0.0.0/8`?)"
    );
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0/destination/nets/0", Span::new(40, 50))
    );
    assert_eq!(f.help.as_deref(), Some("write `10.0.0.0/8`"));
    assert_pointer(
        &v,
        "missing prefix length",
        "/spec/ingress/0/destination/nets/1",
    );
    find(&v, "prefix length must be 0-32");
}

#[test]
fn kubernetes_ip_blocks_are_normalised_by_the_converter() {
    let mut r = rule("Allow");
    r.source.nets = vec![net("10.0.0.1/8")];
    let res = policy_resource(Kind::KubernetesNetworkPolicy, "p", with_ingress(vec![r]));
    assert_clean(&validate(&res));
}

#[test]
fn nets_one_family_and_ip_version() {
    let mut r = rule("Allow");
    r.source.nets = vec![net("10.0.0.0/8")];
    r.destination.not_nets = vec![net("fd00::/8"), net("fe80::/10")];
    let v = validate_rule(r.clone());
    assert_eq!(v.len(), 1);
    let f = find(&v, "rule contains both IPv4 and IPv6 CIDRs");
    assert_eq!(f.pointer, "/spec/ingress/0/destination/notNets/0");
    assert_eq!(
        f.related[0].pointer.as_deref(),
        Some("/spec/ingress/0/source/nets/0")
    );

    r.destination.not_nets = vec![net("10.1.0.0/16")];
    r.ip_version = Some(sp(6));
    let v = validate_rule(r.clone());
    assert_eq!(v.len(), 1);
    let f = find(&v, "rule IP version doesn't match CIDR version");
    assert_eq!(f.pointer, "/spec/ingress/0/source/nets/0");
    r.ip_version = Some(sp(4));
    assert_clean(&validate_rule(r));
}

#[test]
fn not_nets_catch_all() {
    for bad in ["0.0.0.0/0", "::/0", "::0/0", "0:0:0::/0"] {
        let mut r = rule("Deny");
        r.source.not_nets = vec![net(bad)];
        let v = validate_rule(r.clone());
        let f = find(
            &v,
            "catch-all CIDR in negation creates logical contradiction (matches no traffic)",
        );
        assert_eq!(f.pointer, "/spec/ingress/0/source/notNets/0");
        find(&validate_rule_at(r.clone(), V3_29), "catch-all");
        assert_clean(&validate_rule_at(r, V3_28));
    }
    // Positive nets and non-catch-all notNets are fine.
    let mut r = rule("Deny");
    r.source.nets = vec![net("0.0.0.0/0")];
    r.destination.not_nets = vec![net("0.0.0.0/1")];
    assert_clean(&validate_rule(r));
}

#[test]
fn net_list_limits_and_duplicates() {
    let mut r = rule("Allow");
    r.source.nets = (0..257)
        .map(|i| net(&format!("10.{}.{}.0/24", i / 256, i % 256)))
        .collect();
    let v = validate_rule(r.clone());
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_pointer(
        &v,
        "too many entries in `nets`: 257",
        "/spec/ingress/0/source/nets",
    );
    assert_clean(&validate_rule_at(r, V3_32));

    let mut r = rule("Allow");
    r.destination.not_nets = vec![net("10.0.0.0/8"), net("10.0.0.0/8")];
    let v = validate_rule(r.clone());
    assert_pointer(
        &v,
        "duplicate entry `10.0.0.0/8` in `notNets`",
        "/spec/ingress/0/destination/notNets/1",
    );
    assert_clean(&validate_rule_at(r, V3_32));
    // `nets` is a set from v3.32.
    let mut r = rule("Allow");
    r.source.nets = vec![net("10.0.0.0/8"), net("10.1.0.0/16"), net("10.0.0.0/8")];
    let v = validate_rule_at(r.clone(), V3_32);
    let f = find(
        &v,
        "duplicate entry `10.0.0.0/8` in `nets` (the list is a set since Calico v3.32)",
    );
    assert_eq!(f.pointer, "/spec/ingress/0/source/nets/2");
    assert_clean(&validate_rule_at(r.clone(), V3_31));
    // Not for converted Kubernetes rules.
    let res = policy_resource(Kind::KubernetesNetworkPolicy, "p", with_ingress(vec![r]));
    assert_clean(&validate(&res));
}

#[test]
fn entity_selectors() {
    let mut r = rule("Allow");
    r.source.selector = Some(sel("global()"));
    r.source.not_selector = Some(Box::new(sel("global()")));
    r.source.namespace_selector = Some(Box::new(sel("global() && a == 'b'")));
    r.destination.namespace_selector = Some(Box::new(sel("global()")));
    r.destination.service_accounts = Some(Box::new(ServiceAccountMatch {
        span: Span::new(900, 950),
        names: vec![],
        selector: Some(sel("global()")),
    }));
    let v = validate_rule(r);
    let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/spec/ingress/0/source/selector",
            "/spec/ingress/0/source/namespaceSelector"
        ]
    );

    let mut r = rule("Allow");
    r.destination.service_accounts = Some(Box::new(ServiceAccountMatch {
        span: Span::new(900, 950),
        names: vec![],
        selector: Some(sel("a == 'b'\n")),
    }));
    let v = validate_rule(r);
    assert_pointer(
        &v,
        "newline",
        "/spec/ingress/0/destination/serviceAccounts/selector",
    );
}

#[test]
fn service_account_names_are_a_set() {
    let mut r = rule("Allow");
    r.source.service_accounts = Some(Box::new(ServiceAccountMatch {
        span: Span::new(900, 950),
        names: vec![s("a"), s("b"), s("a")],
        selector: None,
    }));
    let v = validate_rule(r.clone());
    assert_pointer(
        &v,
        "duplicate entry `a`",
        "/spec/ingress/0/source/serviceAccounts/names/2",
    );
    assert_clean(&validate_rule_at(r, V3_31));
}

fn svc(name: Option<&str>) -> Option<Box<ServiceMatch>> {
    Some(Box::new(ServiceMatch {
        span: Span::new(900, 950),
        name: name.map(s),
        namespace: Some(s("ns")),
    }))
}

#[test]
fn services_need_a_valid_name() {
    let mut r = rule("Allow");
    r.source.services = svc(None);
    let v = validate_rule(r.clone());
    let f = find(&v, "services must specify a service name");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0/source/services", Span::new(900, 950))
    );
    r.source.services = svc(Some(""));
    assert_eq!(
        find(&validate_rule(r.clone()), "must specify a service name").pointer,
        "/spec/ingress/0/source/services/name"
    );
    r.source.services = svc(Some("Web_1"));
    assert_eq!(
        find(&validate_rule(r.clone()), "invalid service name `Web_1`").pointer,
        "/spec/ingress/0/source/services/name"
    );
    let long = "a".repeat(254);
    r.source.services = svc(Some(&long));
    find(&validate_rule(r.clone()), "service name is too long");
    assert_clean(&validate_rule_at(r.clone(), V3_32));
    r.source.services = svc(Some("web.frontend"));
    assert_clean(&validate_rule(r));
}

#[test]
fn services_are_exclusive() {
    let mut r = rule("Allow");
    r.source.services = svc(Some("web"));
    r.source.namespace_selector = Some(Box::new(sel("a == 'b'")));
    r.source.not_selector = Some(Box::new(sel("has(x)")));
    r.source.service_accounts = Some(Box::new(ServiceAccountMatch::default()));
    r.source.not_nets = vec![net("10.0.0.0/8")];
    let v = validate_rule(r.clone());
    assert_eq!(v.len(), 4, "{v:#?}");
    assert_pointer(
        &v,
        "NamespaceSelector and Services",
        "/spec/ingress/0/source/namespaceSelector",
    );
    assert_pointer(
        &v,
        "Selector/NotSelector and Services",
        "/spec/ingress/0/source/notSelector",
    );
    assert_pointer(
        &v,
        "ServiceAccounts and Services",
        "/spec/ingress/0/source/serviceAccounts",
    );
    assert_pointer(
        &v,
        "Nets/NotNets and Services",
        "/spec/ingress/0/source/notNets/0",
    );
    // Empty selectors do not conflict; ports on the same side are fine for sources.
    let mut r = rule("Allow");
    r.source.services = svc(Some("web"));
    r.source.selector = Some(sel(""));
    r.protocol = Some(proto("TCP"));
    r.source.ports = vec![port(80)];
    r.destination.ports = vec![port(80)];
    assert_clean(&validate_rule(r));
}

#[test]
fn destination_services_exclude_ports() {
    let mut r = rule_at("Allow", "/spec/egress/0");
    r.protocol = Some(proto("TCP"));
    r.destination.services = svc(Some("web"));
    r.destination.not_ports = vec![port(80)];
    let p = crate::model::Policy {
        egress: vec![r.clone()],
        ..Default::default()
    };
    let v = validate(&policy_resource(Kind::NetworkPolicy, "p", p));
    assert_eq!(v.len(), 1, "{v:#?}");
    let f = find(&v, "ports and notPorts cannot be specified with services");
    assert_eq!(f.pointer, "/spec/egress/0/destination/notPorts/0");
    r.destination.not_ports = vec![];
    let p = crate::model::Policy {
        egress: vec![r],
        ..Default::default()
    };
    assert_clean(&validate(&policy_resource(Kind::NetworkPolicy, "p", p)));
}
