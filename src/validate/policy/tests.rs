use super::*;
use crate::model::{HttpMatch, ServiceMatch};
use crate::validate::Diagnostic;
use crate::validate::testutil::*;

fn policy(kind: Kind, name: &str, p: Policy) -> crate::model::Resource {
    policy_resource(kind, name, p)
}

fn types(values: &[&str]) -> Option<Spanned<Vec<Spanned<String>>>> {
    Some(Spanned::new(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| s_at(v, 300 + 20 * i))
            .collect(),
        Span::new(290, 400),
    ))
}

fn egress_policy(rules: Vec<Rule>) -> Policy {
    Policy {
        spec_span: Span::new(90, 4000),
        egress_span: Some(Span::new(3000, 3900)),
        egress: rules,
        ..Default::default()
    }
}

fn run(kind: Kind, p: Policy) -> Vec<Diagnostic> {
    validate(&policy(kind, "p", p))
}

#[test]
fn tier_field() {
    let p = Policy {
        tier: Some(s_at("security", 200)),
        ..Default::default()
    };
    let v = validate_at(&policy(Kind::NetworkPolicy, "security.p", p.clone()), V3_28);
    let f = find(&v, "`spec.tier` requires Calico v3.29");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/tier", Span::new(200, 208))
    );
    assert_clean(&validate(&policy(Kind::NetworkPolicy, "p", p)));
    let bad = Policy {
        tier: Some(s("Sec.urity")),
        ..Default::default()
    };
    let v = run(Kind::NetworkPolicy, bad);
    assert_eq!(
        find(&v, "invalid tier name `Sec.urity`").help.as_deref(),
        Some("try `sec-urity`")
    );
}

#[test]
fn tier_prefix_naming_only_in_3_29_to_3_31() {
    let p = Policy {
        tier: Some(s("security")),
        ..Default::default()
    };
    let res = policy(Kind::NetworkPolicy, "foo", p.clone());
    for t in [V3_29, V3_30, V3_31] {
        let v = validate_at(&res, t);
        let f = find(&v, "incorrectly formatted for tier `security`");
        assert_eq!(f.pointer, "/metadata/name");
        assert!(
            f.help
                .as_deref()
                .is_some_and(|h| h.contains("`security.foo`"))
        );
        assert_eq!(f.related.len(), 1);
    }
    assert_clean(&validate_at(&res, V3_32));
    assert_clean(&validate_at(&res, V3_33));
    // A name that also breaks the grammar: one finding stating both, one valid fix.
    let bad = policy(Kind::GlobalNetworkPolicy, "Bad_Name", p.clone());
    let v = validate_at(&bad, V3_31);
    let on_name: Vec<_> = v.iter().filter(|x| x.pointer == "/metadata/name").collect();
    assert_eq!(on_name.len(), 1, "{v:#?}");
    assert!(
        on_name[0]
            .message
            .contains("also requires policies outside tier")
    );
    assert_eq!(on_name[0].help.as_deref(), Some("try `security.bad-name`"));
    // Correct prefix, default tier, exempt prefixes.
    assert_clean(&validate_at(
        &policy(Kind::GlobalNetworkPolicy, "security.foo", p.clone()),
        V3_31,
    ));
    find(
        &validate_at(
            &policy(Kind::GlobalNetworkPolicy, "other.foo", p.clone()),
            V3_31,
        ),
        "incorrectly formatted",
    );
    assert_clean(&validate_at(
        &policy(Kind::NetworkPolicy, "knp.default.foo", p),
        V3_31,
    ));
    let default = Policy::default();
    assert_clean(&validate_at(
        &policy(Kind::NetworkPolicy, "foo", default.clone()),
        V3_31,
    ));
    assert_clean(&validate_at(
        &policy(Kind::NetworkPolicy, "default.foo", default.clone()),
        V3_31,
    ));
    find(
        &validate_at(
            &policy(Kind::NetworkPolicy, "foo.bar", default.clone()),
            V3_31,
        ),
        "for tier `default`",
    );
    // Kubernetes policies are exempt.
    assert_clean(&validate_at(
        &policy(Kind::KubernetesNetworkPolicy, "foo.bar", default),
        V3_31,
    ));
}

#[test]
fn order_must_be_finite() {
    let p = Policy {
        order: Some(sp(f64::NAN)),
        ..Default::default()
    };
    assert_eq!(
        find(&run(Kind::NetworkPolicy, p), "finite").pointer,
        "/spec/order"
    );
    let p = Policy {
        order: Some(sp(-12.5)),
        ..Default::default()
    };
    assert_clean(&run(Kind::NetworkPolicy, p));
}

#[test]
fn policy_selectors() {
    let p = Policy {
        selector: Some(sel("global()")),
        service_account_selector: Some(sel("all() && global()")),
        namespace_selector: Some(sel("global()")),
        ..Default::default()
    };
    let v = run(Kind::GlobalNetworkPolicy, p.clone());
    let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/spec/selector",
            "/spec/serviceAccountSelector",
            "/spec/namespaceSelector"
        ]
    );
    // A NetworkPolicy has no namespaceSelector (lowering reports it as unknown).
    assert_eq!(run(Kind::NetworkPolicy, p).len(), 2);
    let ok = Policy {
        selector: Some(sel("app == 'x'")),
        service_account_selector: Some(sel("")),
        namespace_selector: Some(sel("has(x)")),
        ..Default::default()
    };
    assert_clean(&run(Kind::GlobalNetworkPolicy, ok));
    // Kubernetes policies report selector problems at podSelector.
    let k = Policy {
        selector: Some(sel("a == 'b'\n")),
        ..Default::default()
    };
    assert_eq!(
        run(Kind::KubernetesNetworkPolicy, k)[0].pointer,
        "/spec/podSelector"
    );
}

#[test]
fn types_checks() {
    let p = |t: &[&str]| Policy {
        types: types(t),
        ..Default::default()
    };
    assert_clean(&run(Kind::NetworkPolicy, p(&["Ingress", "Egress"])));
    let v = run(Kind::NetworkPolicy, p(&["Ingress", "ingress", "Ingress"]));
    assert_eq!(v.len(), 2, "{v:#?}");
    let f = find(&v, "invalid policy type `ingress`");
    assert_eq!(
        (f.pointer.as_str(), f.help.as_deref()),
        ("/spec/types/1", Some("write `Ingress`"))
    );
    let f = find(&v, "'Ingress' type specified more than once");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/types/2", Span::new(340, 347))
    );
    // Empty list: rejected from v3.32 (CRD MinItems=1).
    let v = run(Kind::GlobalNetworkPolicy, p(&[]));
    let f = find(&v, "must list at least one");
    assert_eq!(f.pointer, "/spec/types");
    assert_clean(&validate_at(
        &policy(Kind::NetworkPolicy, "p", p(&[])),
        V3_31,
    ));
    assert_clean(&run(Kind::KubernetesNetworkPolicy, p(&[])));
    // Kubernetes kinds report at policyTypes.
    let v = run(
        Kind::StagedKubernetesNetworkPolicy,
        p(&["Egress", "Egress"]),
    );
    assert_eq!(v[0].pointer, "/spec/policyTypes/1");
}

#[test]
fn rule_count_limit_from_3_33() {
    let p = with_ingress(
        (0..1025)
            .map(|i| rule_at("Allow", &format!("/spec/ingress/{i}")))
            .collect(),
    );
    let v = run(Kind::NetworkPolicy, p.clone());
    let f = find(&v, "too many ingress rules: 1025");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress", Span::new(100, 3000))
    );
    assert_clean(&validate_at(&policy(Kind::NetworkPolicy, "p", p), V3_32));
    let p = with_ingress((0..1024).map(|_| rule("Allow")).collect());
    assert_clean(&run(Kind::NetworkPolicy, p));
}

#[test]
fn gnp_flags() {
    let flags = |dnt: Option<bool>, pre: Option<bool>, aof: Option<bool>| Policy {
        do_not_track: dnt.map(|b| sp_at(b, 10)),
        pre_dnat: pre.map(|b| sp_at(b, 20)),
        apply_on_forward: aof.map(|b| sp_at(b, 30)),
        ..Default::default()
    };
    let v = run(
        Kind::GlobalNetworkPolicy,
        flags(Some(true), Some(true), Some(true)),
    );
    assert_eq!(v.len(), 1);
    let f = find(&v, "preDNAT and doNotTrack cannot both be true");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/preDNAT", Span::new(20, 21))
    );

    let v = run(
        Kind::GlobalNetworkPolicy,
        flags(Some(true), None, Some(false)),
    );
    let f = find(
        &v,
        "applyOnForward must be true if either preDNAT or doNotTrack is true",
    );
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/applyOnForward", Span::new(30, 31))
    );
    let v = run(
        Kind::StagedGlobalNetworkPolicy,
        flags(None, Some(true), None),
    );
    assert_pointer(&v, "applyOnForward must be true", "/spec/preDNAT");
    assert_clean(&run(
        Kind::GlobalNetworkPolicy,
        flags(Some(true), Some(false), Some(true)),
    ));
    assert_clean(&run(
        Kind::GlobalNetworkPolicy,
        flags(Some(false), Some(false), None),
    ));

    let mut p = egress_policy(vec![rule_at("Allow", "/spec/egress/0")]);
    p.pre_dnat = Some(sp(true));
    p.apply_on_forward = Some(sp(true));
    p.types = types(&["Ingress", "Egress"]);
    let v = run(Kind::GlobalNetworkPolicy, p);
    assert_eq!(v.len(), 2, "{v:#?}");
    let f = find(&v, "preDNAT policy cannot have any egress rules");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/egress", Span::new(3000, 3900))
    );
    assert_pointer(&v, "cannot have 'Egress' type", "/spec/types/1");
}

#[test]
fn performance_hints() {
    let p = Policy {
        performance_hints: vec![
            s("AssumeNeededOnEveryNode"),
            s("assumeneededoneverynode"),
            s("AssumeNeededOnEveryNode"),
        ],
        ..Default::default()
    };
    let v = run(Kind::NetworkPolicy, p);
    assert_eq!(v.len(), 2);
    let f = find(&v, "invalid performance hint");
    assert_eq!(
        (f.pointer.as_str(), f.help.as_deref()),
        (
            "/spec/performanceHints/1",
            Some("write `AssumeNeededOnEveryNode`")
        )
    );
    assert_pointer(&v, "more than once", "/spec/performanceHints/2");
}

#[test]
fn staged_action_values() {
    for ok in ["Set", "Learn", "Ignore", "Delete", ""] {
        let p = Policy {
            staged_action: Some(s(ok)),
            ..Default::default()
        };
        assert_clean(&run(Kind::StagedNetworkPolicy, p));
    }
    let p = Policy {
        staged_action: Some(s("delete")),
        ..Default::default()
    };
    let v = run(Kind::StagedNetworkPolicy, p);
    let f = find(&v, "invalid stagedAction `delete`");
    assert_eq!(
        (f.pointer.as_str(), f.help.as_deref()),
        ("/spec/stagedAction", Some("write `Delete`"))
    );
}

#[test]
fn staged_delete_requires_an_empty_spec() {
    let p = Policy {
        staged_action: Some(s_at("Delete", 50)),
        tier: Some(s("default")),
        selector: Some(sel("")),
        types: types(&["Ingress"]),
        ..Default::default()
    };
    assert_clean(&run(Kind::StagedNetworkPolicy, p.clone()));
    let full = Policy {
        order: Some(sp(10.0)),
        selector: Some(sel("a == 'b'")),
        pre_dnat: Some(sp(false)),
        apply_on_forward: Some(sp(true)),
        ingress: vec![rule("Allow")],
        ingress_span: Some(Span::new(100, 200)),
        ..p
    };
    let v = run(Kind::StagedGlobalNetworkPolicy, full);
    let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/spec/order",
            "/spec/selector",
            "/spec/applyOnForward",
            "/spec/ingress"
        ]
    );
    assert!(
        v[0].message
            .contains("Spec fields, except Tier, should all be zero-value")
    );
    assert_eq!(
        v[0].related[0].pointer.as_deref(),
        Some("/spec/stagedAction")
    );

    // Kubernetes staged: the converted empty podSelector is fine; policyTypes is not.
    let k = Policy {
        staged_action: Some(s("Delete")),
        selector: Some(sel(K8S_EMPTY_POD_SELECTOR)),
        ..Default::default()
    };
    assert_clean(&run(Kind::StagedKubernetesNetworkPolicy, k.clone()));
    let k = Policy {
        k8s_policy_types_written: true,
        selector: Some(sel("projectcalico.org/orchestrator == 'k8s' && a == 'b'")),
        ..k
    };
    let v = run(Kind::StagedKubernetesNetworkPolicy, k);
    let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(pointers, ["/spec/podSelector", "/spec/policyTypes"]);
}

#[test]
fn services_and_http_placement() {
    let svc = |ns: Option<&str>| ServiceMatch {
        span: Span::new(900, 950),
        name: Some(s("web")),
        namespace: ns.map(s),
    };
    // Egress: source services and http rejected; destination services fine.
    let mut r = rule_at("Allow", "/spec/egress/0");
    r.source.services = Some(Box::new(svc(Some("ns"))));
    r.http = Some(Box::new(HttpMatch {
        span: Span::new(960, 990),
        ..Default::default()
    }));
    r.destination.services = Some(Box::new(svc(Some("ns"))));
    let v = run(Kind::NetworkPolicy, egress_policy(vec![r]));
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_pointer(
        &v,
        "not allowed in egress rule source",
        "/spec/egress/0/source/services",
    );

    // Ingress: destination services rejected.
    let mut r = rule("Allow");
    r.destination.services = Some(Box::new(svc(Some("ns"))));
    r.source.services = Some(Box::new(svc(Some("ns"))));
    let v = run(Kind::NetworkPolicy, with_ingress(vec![r]));
    assert_eq!(v.len(), 1);
    find(&v, "not allowed in ingress rule destination");

    // GNP: namespace required where services are allowed.
    let mut r = rule("Allow");
    r.source.services = Some(Box::new(svc(None)));
    let v = run(Kind::GlobalNetworkPolicy, with_ingress(vec![r.clone()]));
    let f = find(&v, "must specify a namespace");
    assert_eq!(
        (f.pointer.as_str(), f.span),
        ("/spec/ingress/0/source/services", Span::new(900, 950))
    );
    assert_clean(&run(Kind::NetworkPolicy, with_ingress(vec![r])));
    let mut r = rule_at("Allow", "/spec/egress/0");
    r.destination.services = Some(Box::new(svc(Some(""))));
    find(
        &run(Kind::StagedGlobalNetworkPolicy, egress_policy(vec![r])),
        "must specify a namespace",
    );
}
