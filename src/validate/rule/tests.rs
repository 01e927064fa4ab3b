use super::*;
use crate::model::{HttpMatch, HttpPath};
use crate::source::Span;
use crate::validate::testutil::*;

#[test]
fn action() {
    assert_clean(&validate_rule(rule("Log")));
    let v = validate_rule(rule("allow"));
    let f = find(&v, "invalid action `allow`");
    assert_eq!(f.pointer, "/spec/ingress/0/action");
    assert_eq!(f.span, Span::new(510, 515));
    assert_eq!(
        f.help.as_deref(),
        Some("write `Allow` (actions are case-sensitive)")
    );
    let v = validate_rule(rule("allowfoo"));
    assert_eq!(find(&v, "invalid action").help, None);
    let mut r = rule("Allow");
    r.action = None;
    let v = validate_rule(r);
    let f = find(&v, "rule is missing `action`");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0", Span::new(500, 600))
    );
}

#[test]
fn ip_version() {
    for ok in [4, 6] {
        let mut r = rule("Allow");
        r.ip_version = Some(sp(ok));
        assert_clean(&validate_rule(r));
    }
    for bad in [0, 5, -4] {
        let mut r = rule("Allow");
        r.ip_version = Some(sp(bad));
        let v = validate_rule(r);
        assert_pointer(&v, "invalid ipVersion", "/spec/ingress/0/ipVersion");
    }
}

#[test]
fn protocols() {
    for ok in [
        "TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite", "6", "255",
    ] {
        let mut r = rule("Allow");
        r.protocol = Some(proto(ok));
        r.not_protocol = Some(proto(ok));
        assert_clean(&validate_rule(r));
    }
    let mut r = rule("Allow");
    r.protocol = Some(proto("tcp"));
    r.not_protocol = Some(proto_num(0));
    let v = validate_rule(r);
    assert_eq!(v.len(), 2);
    let f = find(&v, "invalid protocol `tcp`");
    assert_eq!(
        (f.pointer.as_str(), f.help.as_deref()),
        (
            "/spec/ingress/0/protocol",
            Some("write `TCP` (protocol names are case-sensitive)")
        )
    );
    assert_pointer(&v, "invalid notProtocol `0`", "/spec/ingress/0/notProtocol");
    let mut r = rule("Allow");
    r.protocol = Some(proto("icmpv6"));
    assert!(
        find(&validate_rule(r), "invalid protocol")
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`ICMPv6`"))
    );
    let mut r = rule("Allow");
    r.protocol = Some(proto("tcpfoo"));
    assert_eq!(find(&validate_rule(r), "invalid protocol").help, None);
}

#[test]
fn ports_need_a_port_protocol() {
    // Protocol set but not port-capable: every version.
    let mut r = rule("Allow");
    r.protocol = Some(proto("UDPLite"));
    r.destination.ports = vec![port(80)];
    for t in [V3_31, V3_33] {
        let v = validate_rule_at(r.clone(), t);
        let f = find(&v, PROTOCOL_PORTS_MSG);
        assert_eq!(f.pointer, "/spec/ingress/0/protocol");
        assert!(f.help.as_deref().is_some_and(|h| h.contains("UDPLite")));
        assert_eq!(
            f.related[0].pointer.as_deref(),
            Some("/spec/ingress/0/destination/ports/0")
        );
    }
    r.protocol = Some(proto("ICMP"));
    find(&validate_rule(r.clone()), "(protocol is `ICMP`)");
    for ok in ["TCP", "UDP", "SCTP", "6", "17", "132"] {
        r.protocol = Some(proto(ok));
        assert_clean(&validate_rule(r.clone()));
    }
    // No protocol, numeric port: all versions (message differs).
    r.protocol = None;
    r.destination.ports = vec![named_port("http"), port(443)];
    let v = validate_rule_at(r.clone(), V3_32);
    let f = find(&v, PROTOCOL_NUMERIC_PORTS_MSG);
    assert_eq!(f.pointer, "/spec/ingress/0/destination/ports/1");
    let v = validate_rule_at(r.clone(), V3_31);
    assert_eq!(
        find(&v, PROTOCOL_PORTS_MSG).pointer,
        "/spec/ingress/0/destination/ports/0"
    );
    // No protocol, only named ports: fine from v3.32.
    r.destination.ports = vec![];
    r.source.not_ports = vec![named_port("metrics")];
    assert_clean(&validate_rule_at(r.clone(), V3_32));
    let v = validate_rule_at(r, V3_31);
    assert_pointer(
        &v,
        "(protocol is not set)",
        "/spec/ingress/0/source/notPorts/0",
    );
}

#[test]
fn icmp_requires_icmp_protocol() {
    let mut r = rule("Allow");
    r.icmp = Some(Box::new(IcmpMatch {
        span: Span::new(650, 660),
        icmp_type: Some(sp(8)),
        code: None,
    }));
    let v = validate_rule(r.clone());
    let f = find(&v, "ICMP fields require protocol to be ICMP or ICMPv6");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0/icmp", Span::new(650, 660))
    );
    find(
        &validate_rule_at(r.clone(), V3_32),
        "rules that specify ICMP fields must set protocol to ICMP",
    );
    r.protocol = Some(proto("ICMP"));
    assert_clean(&validate_rule_at(r.clone(), V3_28));
    r.protocol = Some(proto("ICMPv6"));
    assert_clean(&validate_rule_at(r.clone(), V3_28));
    r.protocol = Some(proto("TCP"));
    assert_eq!(
        find(&validate_rule(r.clone()), "ICMP fields").pointer,
        "/spec/ingress/0/protocol"
    );
    // Numeric forms only from v3.33.
    for n in [1, 58] {
        r.protocol = Some(proto_num(n));
        assert_clean(&validate_rule_at(r.clone(), V3_33));
        let v = validate_rule_at(r.clone(), V3_32);
        assert!(
            find(&v, "must set protocol to ICMP")
                .help
                .as_deref()
                .is_some_and(|h| h.contains("only accepts the protocol name"))
        );
    }
}

#[test]
fn icmp_and_ip_version() {
    let mut r = rule("Allow");
    r.protocol = Some(proto("ICMP"));
    r.ip_version = Some(sp_at(6, 640));
    let v = validate_rule(r.clone());
    let f = find(&v, "protocol ICMP requires ipVersion 4");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0/ipVersion", Span::new(640, 641))
    );
    r.ip_version = Some(sp(4));
    assert_clean(&validate_rule(r.clone()));
    r.protocol = None;
    r.not_protocol = Some(proto("ICMPv6"));
    // The message names the field that holds the protocol.
    let v = validate_rule(r.clone());
    find(&v, "notProtocol ICMPv6 requires ipVersion 6");
    assert!(
        v.iter().all(|x| !x.message.starts_with("protocol ")),
        "{v:?}"
    );
    // Numeric 58 counts as ICMPv6 only from v3.33.
    r.not_protocol = Some(proto_num(58));
    find(
        &validate_rule_at(r.clone(), V3_33),
        "notProtocol ICMPv6 requires ipVersion 6",
    );
    assert_clean(&validate_rule_at(r.clone(), V3_32));
    r.ip_version = None;
    assert_clean(&validate_rule(r));
}

#[test]
fn icmp_fields() {
    let mut r = rule("Allow");
    r.protocol = Some(proto("ICMP"));
    r.icmp = Some(Box::new(IcmpMatch {
        span: Span::new(650, 660),
        icmp_type: Some(sp(255)),
        code: Some(sp(256)),
    }));
    r.not_icmp = Some(Box::new(IcmpMatch {
        span: Span::new(670, 680),
        icmp_type: None,
        code: Some(sp(0)),
    }));
    let v = validate_rule(r.clone());
    assert_eq!(v.len(), 3, "{v:#?}");
    assert_pointer(&v, "invalid ICMP type `255`", "/spec/ingress/0/icmp/type");
    assert_pointer(&v, "invalid ICMP code `256`", "/spec/ingress/0/icmp/code");
    assert_pointer(
        &v,
        "ICMP code specified without an ICMP type",
        "/spec/ingress/0/notICMP",
    );
    r.icmp = Some(Box::new(IcmpMatch {
        span: Span::new(650, 660),
        icmp_type: Some(sp(254)),
        code: Some(sp(255)),
    }));
    r.not_icmp = Some(Box::new(IcmpMatch {
        span: Span::new(670, 680),
        icmp_type: Some(sp(0)),
        code: Some(sp(0)),
    }));
    assert_clean(&validate_rule(r));
}

fn http(methods: &[&str], paths: Vec<HttpPath>) -> Option<Box<HttpMatch>> {
    Some(Box::new(HttpMatch {
        span: Span::new(800, 900),
        methods: methods.iter().map(|m| s(m)).collect(),
        paths,
    }))
}

fn exact(p: &str) -> HttpPath {
    HttpPath {
        span: Span::new(850, 860),
        exact: Some(s(p)),
        prefix: None,
    }
}

fn prefix(p: &str) -> HttpPath {
    HttpPath {
        span: Span::new(850, 860),
        exact: None,
        prefix: Some(s(p)),
    }
}

#[test]
fn http_rule_level() {
    let mut r = rule("Allow");
    r.http = http(&["GET"], vec![exact("/a"), prefix("/b/")]);
    r.protocol = Some(proto("TCP"));
    assert_clean(&validate_rule(r.clone()));
    r.protocol = None;
    assert_clean(&validate_rule(r.clone()));

    let mut deny = r.clone();
    deny.action = Some(s("Deny"));
    let v = validate_rule(deny);
    assert!(
        v.iter().all(|v| !v.message.contains("Allow")),
        "CAL103 owns this: {v:#?}"
    );

    r.protocol = Some(proto("UDP"));
    let v = validate_rule(r.clone());
    assert_pointer(
        &v,
        "rules with HTTP match must have protocol TCP or unset",
        "/spec/ingress/0/protocol",
    );
    find(
        &validate_rule_at(r.clone(), V3_32),
        "rules that specify HTTP fields must set protocol to TCP or empty",
    );
    r.protocol = Some(proto_num(6));
    assert_clean(&validate_rule_at(r.clone(), V3_33));
    find(
        &validate_rule_at(r, V3_32),
        "must set protocol to TCP or empty",
    );
}

#[test]
fn http_methods_and_paths() {
    let mut r = rule("Allow");
    r.http = http(
        &["GET", "POST", "GET"],
        vec![
            exact("/ok"),
            HttpPath {
                span: Span::new(861, 870),
                exact: Some(s("/a")),
                prefix: Some(s("/b")),
            },
            HttpPath {
                span: Span::new(871, 880),
                exact: Some(s("")),
                prefix: None,
            },
            prefix("api"),
            exact("/x?y=1"),
            exact("/a b"),
        ],
    );
    let v = validate_rule(r);
    assert_eq!(v.len(), 6, "{v:#?}");
    assert_pointer(
        &v,
        "Invalid methods (duplicates): `GET`",
        "/spec/ingress/0/http/methods/2",
    );
    let f = find(&v, "Both 'exact' and 'prefix' are set");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0/http/paths/1", Span::new(861, 870))
    );
    assert_pointer(
        &v,
        "Either 'exact' or 'prefix' must be set",
        "/spec/ingress/0/http/paths/2",
    );
    let f = find(&v, "invalid HTTP path `api`");
    assert_eq!(
        (f.pointer.as_str(), f.help.as_deref()),
        ("/spec/ingress/0/http/paths/3/prefix", Some("write `/api`"))
    );
    let f = find(&v, "invalid HTTP path `/x?y=1`");
    assert_eq!(f.pointer, "/spec/ingress/0/http/paths/4/exact");
    assert!(f.help.as_deref().is_some_and(|h| h.contains("`/x`")));
    find(&v, "invalid HTTP path `/a b`");
}

#[test]
fn http_limits_from_3_32() {
    let many: Vec<String> = (0..21).map(|i| format!("M{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let long = format!("/{}", "a".repeat(1024));
    let mut r = rule("Allow");
    r.http = http(
        &many,
        (0..21).map(|_| exact("/p")).chain([exact(&long)]).collect(),
    );
    let v = validate_rule_at(r.clone(), V3_32);
    assert_pointer(
        &v,
        "too many HTTP methods: 21",
        "/spec/ingress/0/http/methods",
    );
    assert_pointer(&v, "too many HTTP paths: 22", "/spec/ingress/0/http/paths");
    assert_pointer(
        &v,
        "HTTP path is too long: 1025",
        "/spec/ingress/0/http/paths/21/exact",
    );
    assert_clean(&validate_rule_at(r, V3_31));
}

#[test]
fn rule_annotations() {
    let mut r = rule("Allow");
    r.annotations = vec![
        (s("..."), s("x")),
        (s("Team/Owner"), s("y")),
        (s("ok"), s("z")),
    ];
    let v = validate_rule(r);
    // `Team/Owner` is lower-cased before the check; `...` is rejected.
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_pointer(
        &v,
        "invalid annotation key `...`",
        "/spec/ingress/0/metadata/annotations/...",
    );
}
