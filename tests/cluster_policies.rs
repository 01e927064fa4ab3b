//! AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy end to end: the
//! fixture trees under `fixtures/cluster-policies/` (one that fires, a near miss, version
//! gating, CRD violations) with snapshots, and `reach` through their tiers (Deny, Pass, the
//! baseline tier after `default`) on in-memory trees.

use calint::analysis::groups::resolve;
use calint::analysis::ir::PolicySet;
use calint::analysis::reach::{ReachOptions, ReachResult, Verdict, reach};
use calint::check::{CheckOptions, check, check_text};
use calint::model::port::FlowProtocol::Number;
use calint::project::Project;
use calint::report;
use calint::validate::{CalicoVersion, ValidateOptions};
use std::path::Path;

fn version(minor: u32) -> CalicoVersion {
    CalicoVersion { major: 3, minor }
}

fn options(minor: u32) -> CheckOptions {
    CheckOptions {
        validate: ValidateOptions {
            target: version(minor),
        },
        ..CheckOptions::default()
    }
}

/// Check one fixture tree at Calico v3.`minor`: (human report, codes).
fn fixture(name: &str, minor: u32) -> (String, Vec<&'static str>) {
    let opts = CheckOptions {
        paths: vec![Path::new("fixtures/cluster-policies").join(name)],
        ..options(minor)
    };
    let (project, findings) = check(&opts).expect("fixture tree loads");
    let human = report::human::render(&project, &findings, false);
    (human, findings.iter().map(|f| f.code).collect())
}

#[test]
fn an_admin_tier_deny_shadows_a_later_kubernetes_rule() {
    let (human, codes) = fixture("cnp-deny-shadows", 33);
    assert_eq!(codes, ["CAL202"], "{human}");
    assert!(
        human.contains("decided earlier by tier `kube-admin`"),
        "{human}"
    );
    insta::assert_snapshot!("cnp_deny_shadows", human);
}

#[test]
fn an_admin_tier_pass_is_a_near_miss() {
    let (human, codes) = fixture("cnp-pass-near-miss", 33);
    assert!(codes.is_empty(), "{human}");
}

#[test]
fn admin_network_policy_is_enforced_only_by_the_releases_that_watch_it() {
    let (human, codes) = fixture("anp-deny-shadows", 31);
    assert_eq!(codes, ["CAL202"], "{human}");
    assert!(
        human.contains("decided earlier by tier `adminnetworkpolicy`"),
        "{human}"
    );
    insta::assert_snapshot!("anp_deny_shadows_v3_31", human);
    // v3.32+ no longer watches AdminNetworkPolicy; v3.28 does not know it yet.
    for minor in [28, 33] {
        let (human, codes) = fixture("anp-deny-shadows", minor);
        assert_eq!(codes, ["CAL002"], "v3.{minor}: {human}");
        assert!(human.contains("/kind"), "{human}");
    }
    let (human, _) = fixture("anp-deny-shadows", 33);
    insta::assert_snapshot!("anp_deny_shadows_v3_33", human);
}

#[test]
fn crd_violations_are_invalid_resources() {
    let (human, codes) = fixture("invalid", 33);
    assert_eq!(codes, ["CAL002"; 5], "{human}");
    insta::assert_snapshot!("invalid", human);
    // The kind is not watched before v3.32: one more CAL002 per object.
    let (human, codes) = fixture("invalid", 31);
    assert_eq!(codes.len(), 8, "{human}");
}

const NAMESPACES_AND_PODS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {team: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: db, labels: {team: db}}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: web, labels: {app: frontend}}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: postgres, namespace: db, labels: {app: postgres}}
spec: {containers: [{name: c, image: postgres}]}
"#;

const ALLOW_WEB_TO_POSTGRES: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: db}
spec:
  podSelector: {matchLabels: {app: postgres}}
  policyTypes: [Ingress]
  ingress:
    - from: [{namespaceSelector: {matchLabels: {team: web}}}]
      ports: [{port: 5432}]
"#;

fn anp(action: &str) -> String {
    format!(
        r#"
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {{name: postgres-guard}}
spec:
  priority: 5
  subject: {{pods: {{namespaceSelector: {{}}, podSelector: {{matchLabels: {{app: postgres}}}}}}}}
  ingress:
    - action: {action}
      from: [{{namespaces: {{matchLabels: {{team: web}}}}}}]
"#
    )
}

const BANP_DENY: &str = r#"
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
    - action: Deny
      from: [{namespaces: {}}]
"#;

fn docs(parts: &[&str]) -> String {
    parts.join("\n---\n")
}

/// `reach` from the web pod to the postgres pod at Calico v3.`minor`.
fn web_to_postgres(text: &str, minor: u32, port: Option<u16>) -> (Project, PolicySet, ReachResult) {
    let (project, findings) = check_text("tree.yaml", text, &options(minor));
    assert!(
        findings.iter().all(|f| f.code != "CAL002"),
        "{:?}",
        findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
    let set = PolicySet::for_version(&project, version(minor));
    let from = resolve(&project, "workload:web/frontend").expect("frontend");
    let to = resolve(&project, "workload:db/postgres").expect("postgres");
    let result = reach(
        &set,
        &from,
        &to,
        &ReachOptions {
            protocol: Some(6),
            port,
            timeout_ms: 10_000,
        },
    );
    (project, set, result)
}

/// The kind of the policy whose rule made the final ingress decision of the example.
fn ingress_decider(set: &PolicySet, result: &ReachResult, example: &str) -> String {
    result
        .decisions
        .iter()
        .filter(|d| d.example == example && d.direction.as_str() == "ingress")
        .filter_map(|d| {
            let (p, _) = d.rule?;
            let p = set.policies.get(p)?;
            Some(format!("{} {} {}", d.action, p.kind.name(), p.tier))
        })
        .next_back()
        .unwrap_or_default()
}

#[test]
fn reach_through_an_admin_network_policy_deny_and_pass() {
    // Deny in the admin tier: denied, whatever the Kubernetes policy allows.
    let text = docs(&[NAMESPACES_AND_PODS, ALLOW_WEB_TO_POSTGRES, &anp("Deny")]);
    let (_, set, r) = web_to_postgres(&text, 31, Some(5432));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert_eq!(
        ingress_decider(&set, &r, "denied"),
        "Deny AdminNetworkPolicy adminnetworkpolicy"
    );
    // Pass: the Kubernetes policy in `default` decides.
    let text = docs(&[NAMESPACES_AND_PODS, ALLOW_WEB_TO_POSTGRES, &anp("Pass")]);
    let (_, set, r) = web_to_postgres(&text, 31, Some(5432));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(
        ingress_decider(&set, &r, "allowed"),
        "Allow NetworkPolicy default"
    );
    // At v3.33 the AdminNetworkPolicy is not enforced (CAL002), so the same tree is allowed.
    let (project, _) = check_text(
        "tree.yaml",
        &docs(&[NAMESPACES_AND_PODS, ALLOW_WEB_TO_POSTGRES, &anp("Deny")]),
        &options(33),
    );
    let set = PolicySet::for_version(&project, version(33));
    assert!(
        set.policies
            .iter()
            .all(|p| p.kind.name() != "AdminNetworkPolicy")
    );
}

#[test]
fn the_baseline_tier_comes_after_default() {
    // Only the baseline policy selects postgres: its Deny decides.
    let text = docs(&[NAMESPACES_AND_PODS, BANP_DENY]);
    let (_, set, r) = web_to_postgres(&text, 31, Some(5432));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert_eq!(
        ingress_decider(&set, &r, "denied"),
        "Deny BaselineAdminNetworkPolicy baselineadminnetworkpolicy"
    );
    // A Kubernetes NetworkPolicy decides first: 5432 is allowed, other ports end at the
    // default tier's end-of-tier deny, never reaching the baseline tier.
    let text = docs(&[NAMESPACES_AND_PODS, ALLOW_WEB_TO_POSTGRES, BANP_DENY]);
    let (_, set, r) = web_to_postgres(&text, 31, Some(5432));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(
        ingress_decider(&set, &r, "allowed"),
        "Allow NetworkPolicy default"
    );
    let (_, _, r) = web_to_postgres(&text, 31, None);
    assert_eq!(r.verdict, Verdict::Partial, "{r:#?}");
    assert_eq!(r.allowed, vec![(Number(6), Some(vec![(5432, 5432)]))]);
}

#[test]
fn reach_through_a_cluster_network_policy() {
    let cnp = |tier: &str, action: &str| {
        format!(
            r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {{name: guard}}
spec:
  tier: {tier}
  priority: 1
  subject: {{namespaces: {{matchLabels: {{team: db}}}}}}
  ingress:
    - action: {action}
      from: [{{pods: {{podSelector: {{matchLabels: {{app: frontend}}}}}}}}]
      protocols: [{{tcp: {{destinationPort: {{range: {{start: 5000, end: 6000}}}}}}}}]
"#
        )
    };
    // Admin Deny overrides the Kubernetes allow.
    let text = docs(&[
        NAMESPACES_AND_PODS,
        ALLOW_WEB_TO_POSTGRES,
        &cnp("Admin", "Deny"),
    ]);
    let (_, set, r) = web_to_postgres(&text, 33, Some(5432));
    assert_eq!(r.verdict, Verdict::Denied, "{r:#?}");
    assert_eq!(
        ingress_decider(&set, &r, "denied"),
        "Deny ClusterNetworkPolicy kube-admin"
    );
    // Baseline Deny comes after the Kubernetes allow.
    let text = docs(&[
        NAMESPACES_AND_PODS,
        ALLOW_WEB_TO_POSTGRES,
        &cnp("Baseline", "Deny"),
    ]);
    let (_, _, r) = web_to_postgres(&text, 33, Some(5432));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    // Baseline Accept without a Kubernetes policy: only its ports are allowed... and
    // everything else falls through the Pass tier to the namespace profile (allowed).
    let text = docs(&[NAMESPACES_AND_PODS, &cnp("Baseline", "Accept")]);
    let (_, set, r) = web_to_postgres(&text, 33, Some(5432));
    assert_eq!(r.verdict, Verdict::Allowed, "{r:#?}");
    assert_eq!(
        ingress_decider(&set, &r, "allowed"),
        "Allow ClusterNetworkPolicy kube-baseline"
    );
}

#[test]
fn policy_set_places_the_policies_in_their_tiers() {
    let text = docs(&[&anp("Deny"), BANP_DENY, ALLOW_WEB_TO_POSTGRES]);
    let (project, _) = check_text("tree.yaml", &text, &options(31));
    let set = PolicySet::for_version(&project, version(31));
    let tiers: Vec<(&str, Option<f64>, bool)> = set
        .tiers
        .iter()
        .map(|t| (t.name.as_str(), t.order, t.default_pass))
        .filter(|(n, _, _)| !n.starts_with("kube-"))
        .collect();
    assert_eq!(
        tiers,
        [
            ("adminnetworkpolicy", Some(1000.0), true),
            ("default", Some(1_000_000.0), false),
            ("baselineadminnetworkpolicy", Some(10_000_000.0), true),
        ]
    );
    let placed: Vec<(&str, &str, Option<f64>)> = set
        .policies
        .iter()
        .map(|p| (p.kind.name(), p.tier.as_str(), p.order))
        .collect();
    assert_eq!(
        placed,
        [
            ("AdminNetworkPolicy", "adminnetworkpolicy", Some(5.0)),
            ("NetworkPolicy", "default", Some(1000.0)),
            (
                "BaselineAdminNetworkPolicy",
                "baselineadminnetworkpolicy",
                Some(1000.0)
            ),
        ]
    );
    // The baseline subject `namespaces: {}` is every pod (Calico adds the orchestrator term to
    // exclude host endpoints; its `all()` namespace selector becomes
    // `has(projectcalico.org/namespace)`, which every pod carries).
    let banp = &set.policies[2];
    assert!(
        banp.selector
            .to_string()
            .contains("projectcalico.org/orchestrator == \"k8s\""),
        "{}",
        banp.selector
    );
    assert!(banp.ingress_applies && !banp.egress_applies);
}

#[test]
fn reach_to_networks_peers() {
    let cnp = r#"
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-exfiltration}
spec:
  tier: Admin
  priority: 0
  subject: {pods: {namespaceSelector: {matchLabels: {team: db}}, podSelector: {}}}
  egress:
    - action: Deny
      to: [{networks: [192.0.2.7/24]}]
"#;
    let text = docs(&[NAMESPACES_AND_PODS, cnp]);
    let (project, _) = check_text("tree.yaml", &text, &options(33));
    let set = PolicySet::for_version(&project, version(33));
    let from = resolve(&project, "workload:db/postgres").expect("postgres");
    let opts = ReachOptions {
        protocol: Some(6),
        port: Some(443),
        timeout_ms: 10_000,
    };
    // The network is normalised to 192.0.2.0/24, as Calico's conversion does.
    let inside = resolve(&project, "net:192.0.2.200/32").expect("a net group");
    assert_eq!(reach(&set, &from, &inside, &opts).verdict, Verdict::Denied);
    let outside = resolve(&project, "net:198.51.100.1/32").expect("a net group");
    assert_eq!(
        reach(&set, &from, &outside, &opts).verdict,
        Verdict::Allowed
    );
    // The web pods are not in the subject.
    let web = resolve(&project, "workload:web/frontend").expect("frontend");
    assert_eq!(reach(&set, &web, &inside, &opts).verdict, Verdict::Allowed);
}
