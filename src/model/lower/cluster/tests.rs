use crate::load::yaml::{ParseLimits, parse};
use crate::model::lower::{Lowered, lower_file};
use crate::model::port::{Port, Protocol};
use crate::model::resource::*;

fn lower(text: &str) -> (Resource, Vec<String>) {
    let parsed = parse(text, &ParseLimits::default());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let mut out = Lowered::default();
    lower_file(crate::source::FileId(0), &parsed.documents, &mut out);
    assert_eq!(out.resources.len(), 1, "{:?}", out.unknown_kinds);
    let problems = out
        .problems
        .iter()
        .map(|p| format!("{} {}", p.violation.pointer, p.violation.message))
        .collect();
    (out.resources.remove(0), problems)
}

fn anp(spec: &str) -> String {
    format!(
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: a}}\nspec:\n{spec}"
    )
}

fn cnp(spec: &str) -> String {
    format!(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: c}}\nspec:\n{spec}"
    )
}

fn sel(f: Option<&SelectorField>) -> &str {
    f.map_or("<none>", |f| f.raw.value.as_str())
}

#[test]
fn admin_network_policy_converts_as_calico_does() {
    let (res, problems) = lower(&anp(r#"
  priority: 7
  subject:
    namespaces: {matchLabels: {team: a}}
  ingress:
    - name: deny-b
      action: Pass
      from:
        - namespaces: {matchLabels: {team: b}}
        - pods:
            namespaceSelector: {}
            podSelector: {matchLabels: {app: x}}
      ports:
        - portNumber: {port: 80}
        - portRange: {protocol: UDP, start: 53, end: 54}
        - portNumber: {protocol: TCP, port: 443}
  egress:
    - action: Allow
      to:
        - networks: [10.1.2.3/8]
"#));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(res.kind, Kind::AdminNetworkPolicy);
    let p = res.policy().expect("a policy");
    assert_eq!(p.order.as_ref().map(|o| o.value), Some(7.0));
    assert_eq!(
        p.cluster_tier.as_ref().map(|t| t.value),
        Some(ClusterTier::Admin)
    );
    assert!(p.tier.is_none(), "the tier name depends on the version");
    assert_eq!(sel(p.namespace_selector.as_ref()), "team == 'a'");
    assert_eq!(
        sel(p.selector.as_ref()),
        "projectcalico.org/orchestrator == 'k8s'"
    );
    // Protocols sorted (TCP, UDP), then peers: 2 × 2 rules, all Pass.
    assert_eq!(p.ingress.len(), 4);
    let r0 = &p.ingress[0];
    assert_eq!(r0.action(), Some(Action::Pass));
    assert_eq!(
        r0.protocol.as_ref().map(|p| p.value.clone()),
        Some(Protocol::Name("TCP".into()))
    );
    let ports: Vec<Port> = r0
        .destination
        .ports
        .iter()
        .map(|p| p.value.clone())
        .collect();
    assert_eq!(
        ports,
        [
            Port::Range { min: 80, max: 80 },
            Port::Range { min: 443, max: 443 }
        ]
    );
    assert_eq!(sel(r0.source.namespace_selector.as_deref()), "team == 'b'");
    assert_eq!(sel(r0.source.selector.as_ref()), "<none>");
    assert_eq!(
        sel(p.ingress[1].source.namespace_selector.as_deref()),
        "all()"
    );
    assert_eq!(
        sel(p.ingress[1].source.selector.as_ref()),
        "projectcalico.org/orchestrator == 'k8s' && app == 'x'"
    );
    assert_eq!(
        p.ingress[2].protocol.as_ref().map(|p| p.value.clone()),
        Some(Protocol::Name("UDP".into()))
    );
    assert!(p.ingress.iter().all(|r| r.pointer == "/spec/ingress/0"));
    // Networks are normalised to their network address.
    let e = &p.egress[0];
    assert_eq!(e.action(), Some(Action::Allow));
    assert_eq!(
        e.destination.nets[0]
            .parsed
            .as_ref()
            .map(|c| c.to_string())
            .ok(),
        Some("10.0.0.0/8".into())
    );
    assert!(e.protocol.is_none());
    let types: Vec<&str> = p
        .types
        .as_ref()
        .map(|t| t.value.iter().map(|s| s.value.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["Ingress", "Egress"]);
}

#[test]
fn unconvertible_rules_fail_closed() {
    let (res, problems) = lower(&anp(r#"
  priority: 1
  subject: {namespaces: {}}
  egress:
    - action: Deny
      to: [{nodes: {matchLabels: {a: b}}}]
    - action: Allow
      to: [{nodes: {matchLabels: {a: b}}}]
    - action: Pass
      to: [{namespaces: {}}]
      ports: [{portRange: {start: 90, end: 80}}]
    - action: Allow
      to: [{namespaces: {}}]
      ports: [{namedPort: http}]
"#));
    assert!(problems.is_empty(), "{problems:?}");
    let p = res.policy().expect("a policy");
    // Deny → deny-all, Allow → dropped, Pass → deny-all; a v1alpha1 named port matches
    // every port of every protocol.
    let actions: Vec<_> = p
        .egress
        .iter()
        .map(|r| (r.pointer.as_str(), r.action()))
        .collect();
    assert_eq!(
        actions,
        [
            ("/spec/egress/0", Some(Action::Deny)),
            ("/spec/egress/2", Some(Action::Deny)),
            ("/spec/egress/3", Some(Action::Allow)),
        ]
    );
    assert!(
        p.egress[0].destination.selector.is_none()
            && p.egress[0].destination.namespace_selector.is_none()
    );
    assert!(p.egress[2].protocol.is_none() && p.egress[2].destination.ports.is_empty());
    let unconverted: Vec<_> = p
        .unconverted
        .iter()
        .map(|u| (u.pointer.as_str(), u.action))
        .collect();
    assert_eq!(
        unconverted,
        [
            ("/spec/egress/0", Action::Deny),
            ("/spec/egress/1", Action::Allow),
            ("/spec/egress/2", Action::Pass),
        ]
    );
    assert!(p.unconverted[0].reason.contains("`nodes`"));
}

#[test]
fn null_entries_are_reported() {
    let (_, problems) = lower(&anp(
        "  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n    - null\n    - {action: Deny, from: [null], ports: [null]}\n",
    ));
    for p in [
        "/spec/ingress/0 ",
        "/spec/ingress/1/from/0 ",
        "/spec/ingress/1/ports/0 ",
    ] {
        assert!(
            problems
                .iter()
                .any(|q| q.starts_with(p) && q.ends_with("found null")),
            "{p}: {problems:?}"
        );
    }
}

#[test]
fn an_empty_port_list_is_no_port_constraint() {
    let (res, problems) = lower(&anp(
        "  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n    - {action: Deny, from: [{namespaces: {}}], ports: []}\n",
    ));
    assert!(problems.is_empty(), "{problems:?}");
    let p = res.policy().expect("a policy");
    assert_eq!(p.ingress.len(), 1);
    assert!(p.ingress[0].protocol.is_none() && p.ingress[0].destination.ports.is_empty());
}

#[test]
fn crd_rules_are_checked() {
    let (_, problems) = lower(&anp(r#"
  priority: 1001
  subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}
  ingress:
    - action: Accept
      from: []
    - action: Deny
      from: [{pods: {podSelector: {}}}]
    - action: Deny
      from: [{networks: [10.0.0.0/8]}]
  egress:
    - action: Allow
      to: [{networks: ["10.0.0.0/8", "::ffff:10.0.0.1/128"]}]
    - action: Allow
      to: [{networks: [10.0.0.0/8]}]
      ports: [{namedPort: http}]
    - action: Deny
      to: [{namespaces: {}}]
      ports: [{portNumber: {port: 0}}, {portNumber: {port: 1, protocol: ICMP}}]
"#));
    let expected = [
        "/spec/priority priority 1001 is out of range (0 to 1000)",
        "/spec/subject subject must set exactly one of namespaces, pods (found namespaces and pods)",
        "/spec/ingress/0/action unsupported action `Accept` in a AdminNetworkPolicy (expected Allow, Deny, Pass)",
        "/spec/ingress/0/from `from` must have 1 to 100 peers (found 0)",
        "/spec/ingress/1/from/0/pods `namespaceSelector` is required in `pods`",
        "/spec/ingress/2/from/0/networks unknown field `networks` in peer",
        "/spec/egress/0/to/0/networks/1 `::ffff:10.0.0.1/128` is not an IPv4 or IPv6 CIDR of at most 43 characters",
        "/spec/egress/1 networks/nodes peers cannot be used with named ports (they have none)",
        "/spec/egress/2/ports/0/portNumber/port port 0 is out of range (1 to 65535)",
        "/spec/egress/2/ports/1/portNumber/protocol unsupported protocol `ICMP` (expected TCP, UDP or SCTP)",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p == e),
            "missing {e:?} in {problems:#?}"
        );
    }
}

#[test]
fn baseline_admin_network_policy_has_order_1000_and_no_pass() {
    let text = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {pods: {namespaceSelector: {}, podSelector: {}}}\n  ingress:\n    - {action: Pass, from: [{namespaces: {}}]}\n    - {action: Deny, from: [{namespaces: {}}]}\n";
    let (res, problems) = lower(text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("unsupported action `Pass`"));
    let p = res.policy().expect("a policy");
    assert_eq!(p.order.as_ref().map(|o| o.value), Some(1000.0));
    assert_eq!(
        p.cluster_tier.as_ref().map(|t| t.value),
        Some(ClusterTier::Baseline)
    );
    assert_eq!(p.ingress.len(), 1);
}

#[test]
fn cluster_network_policy_converts_as_calico_does() {
    let (res, problems) = lower(&cnp(r#"
  tier: Baseline
  priority: 3
  subject: {pods: {podSelector: {matchLabels: {app: web}}}}
  ingress:
    - action: Accept
      from: [{pods: {podSelector: {}}}]
      protocols:
        - tcp: {destinationPort: {number: 80}}
        - udp: {destinationPort: {range: {start: 5000, end: 5010}}}
  egress:
    - action: Pass
      to: [{namespaces: {}}]
      protocols: [{destinationNamedPort: http}]
"#));
    assert!(problems.is_empty(), "{problems:?}");
    let p = res.policy().expect("a policy");
    assert_eq!(
        p.cluster_tier.as_ref().map(|t| t.value),
        Some(ClusterTier::Baseline)
    );
    assert_eq!(p.order.as_ref().map(|o| o.value), Some(3.0));
    assert_eq!(sel(p.namespace_selector.as_ref()), "all()");
    assert_eq!(
        sel(p.selector.as_ref()),
        "projectcalico.org/orchestrator == 'k8s' && app == 'web'"
    );
    assert_eq!(p.ingress.len(), 2);
    assert_eq!(p.ingress[0].action(), Some(Action::Allow));
    assert_eq!(
        p.ingress[1].destination.ports[0].value,
        Port::Range {
            min: 5000,
            max: 5010
        }
    );
    // Named ports are not converted: the Pass rule becomes deny-all.
    assert_eq!(p.egress.len(), 1);
    assert_eq!(p.egress[0].action(), Some(Action::Deny));
    assert_eq!(p.unconverted.len(), 1);

    let (_, problems) = lower(&cnp(r#"
  tier: Middle
  subject: {namespaces: {}}
  ingress:
    - action: Allow
      from: [{namespaces: {}}]
      protocols: [{tcp: {destinationPort: {range: {start: 9, end: 9}}}}]
"#));
    let expected = [
        "/spec `priority` is required (0 to 1000)",
        "/spec/tier unsupported tier `Middle` (expected Admin or Baseline)",
        "/spec/ingress/0/action unsupported action `Allow` in a ClusterNetworkPolicy (expected Accept, Deny, Pass)",
        "/spec/ingress/0/protocols/0/tcp/destinationPort/range port range 9-9: the start port must be less than the end port",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p == e),
            "missing {e:?} in {problems:#?}"
        );
    }
}
