//! How every field of every model type bears on what Calico enforces: either the analysis
//! reads it (and where), or it does not affect enforcement (and why), or the analysis does
//! not model it yet (and what it assumes instead). "A field read but not used is a silent
//! bug": this table is the list to check, and the test below fails to *compile* when a model
//! type gains a field nobody classified (each entry destructures its type exhaustively).

use crate::model::resource::*;

/// What a model field means for the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldUse {
    /// Read by the analysis, at the place named.
    Analysed(&'static str),
    /// Does not change what Calico enforces (locations, bookkeeping, documented no-ops).
    NotEnforced(&'static str),
    /// Could change enforcement but is not modelled; the reason says what is assumed.
    NotModelled(&'static str),
}

/// `classify!(Type { field: use, ... })`: the entries, and a destructuring of `Type` without
/// `..`, so a field added to the type and not to the list is a compile error.
macro_rules! classify {
    ($ty:ident { $($field:ident : $use:expr),* $(,)? }) => {{
        #[allow(dead_code)]
        fn exhaustive(v: &$ty) {
            let $ty { $($field: _),* } = v;
        }
        (stringify!($ty), vec![$((stringify!($field), $use)),*])
    }};
}

use FieldUse::{Analysed as A, NotEnforced as N, NotModelled as M};

const LOCATION: FieldUse = N("a source location for messages");

/// Every model type with its fields' classification.
pub fn model_fields() -> Vec<(&'static str, Vec<(&'static str, FieldUse)>)> {
    vec![
        classify!(Resource {
            kind: A("ir::compile_policy (scoping, global, staged), reach groups, admission"),
            file: LOCATION,
            document: LOCATION,
            base_pointer: LOCATION,
            span: LOCATION,
            api_version: A("Resource::is_storage_form: no types defaulting (ir::applies_to)"),
            kind_span: LOCATION,
            meta: A("see ObjectMeta"),
            body: A("see the body types"),
            lowering_problems: A("admission: a resource with errors steers nothing"),
        }),
        classify!(ObjectMeta {
            span: LOCATION,
            name: A("admission (duplicates), policy tie-break key, reach group names"),
            namespace: A("rule and policy scoping (ir), namespace of workloads and sets"),
            labels: A(
                "Namespaces (pcns. labels), NetworkSets and workloads in reach; on policies and tiers labels select nothing; HostEndpoint labels are not reach facts (host endpoints are covered symbolically, see HostEndpoint)"
            ),
            annotations: N(
                "calint.io/ignore suppressions only; annotations never change enforcement"
            ),
        }),
        classify!(Policy {
            spec_span: LOCATION,
            tier: A("ir::compile_policy, tier order"),
            order: A("policy order (order::policy_cmp)"),
            selector: A("ir::policy_selector (§3.7.2)"),
            namespace_selector: A("ir::policy_selector (GNP, all() rewrite)"),
            service_account_selector: A("ir::policy_selector (§3.7.2)"),
            types: A("Policy::applies_to, ir::applies_to"),
            ingress: A("ir::compile_rule (compiled rule)"),
            egress: A("ir::compile_rule (compiled rule)"),
            ingress_span: LOCATION,
            egress_span: LOCATION,
            do_not_track: A("ir::policy_class -> analysis::classes"),
            pre_dnat: A("ir::policy_class -> analysis::classes"),
            apply_on_forward: A("ir::policy_class -> analysis::classes"),
            performance_hints: N("performanceHints never change which policies apply (spec §4.2)"),
            staged_action: A(
                "ir::compile_policy: Delete is not sent to Felix; Set/Learn/Ignore are staged alike (§4.7)"
            ),
            k8s_policy_types_written: N(
                "validation of staged Delete only; `types` already holds the converted policyTypes"
            ),
            cluster_tier: A(
                "analysis::cluster_policy: the built-in tier of a cluster-scoped policy"
            ),
            unconverted: N(
                "explains rules Calico cannot convert (CAL104); their converted replacement is in ingress/egress"
            ),
        }),
        classify!(Rule {
            span: LOCATION,
            pointer: N("identifies the rule in findings"),
            action: A("ir::compile_rule (compiled rule)"),
            ip_version: A("ir::families"),
            protocol: A("ir::compile_rule, ir::families"),
            not_protocol: A("ir::compile_rule (compiled rule)"),
            icmp: A("ir::icmp (type and code)"),
            not_icmp: A("ir::icmp (type and code)"),
            source: A("ir::entity (compiled entity)"),
            destination: A("ir::entity (compiled entity)"),
            http: A("ir::compile_rule (application layer policy)"),
            annotations: N("rule metadata (§2.8) is informational"),
            piece: N(
                "which converted piece of a Kubernetes rule this is: names findings (analysis::pieces)"
            ),
        }),
        classify!(IcmpMatch {
            span: LOCATION,
            icmp_type: A("ir::icmp (type and code)"),
            code: A("ir::icmp (type and code)"),
        }),
        classify!(EntityRule {
            span: LOCATION,
            nets: A("ir::entity, ir::families"),
            not_nets: A("ir::entity, ir::families"),
            selector: A("ir::entity_selector (§3.7.1)"),
            not_selector: A("ir::entity (compiled entity)"),
            namespace_selector: A("ir::entity_selector (§3.7.1)"),
            ports: A("ir::port_matches (ranges, named ports)"),
            not_ports: A("ir::port_matches (ranges, named ports)"),
            service_accounts: A("ir::entity_selector (§3.7.1)"),
            services: A("ir::entity (service membership atom)"),
        }),
        classify!(ServiceAccountMatch {
            span: LOCATION,
            names: A("ir::entity_selector (names of 63+ characters never match)"),
            selector: A("ir::entity_selector (§3.7.1)"),
        }),
        classify!(ServiceMatch {
            span: LOCATION,
            name: A("ir::entity (compiled entity)"),
            namespace: A("ir::entity (compiled entity)"),
        }),
        classify!(HttpMatch {
            span: LOCATION,
            methods: A("ir::compile_rule (compiled rule)"),
            paths: A("ir::compile_rule (compiled rule)"),
        }),
        classify!(HttpPath {
            span: LOCATION,
            exact: A("ir::compile_rule (compiled rule)"),
            prefix: A("ir::compile_rule (compiled rule)"),
        }),
        classify!(Tier {
            spec_span: LOCATION,
            order: A("PolicySet::for_version, order::tier_cmp"),
            default_action: A("PolicySet::for_version (default_pass)"),
        }),
        classify!(NetworkSet {
            spec_span: LOCATION,
            nets: A("groups::set_group, groups::world"),
        }),
        classify!(Profile {
            spec_span: LOCATION,
            ingress: M(
                "profile rules: the analysis assumes the Kubernetes namespace profile (allow all) after the tiers, §4.6; user Profiles apply to non-Kubernetes endpoints the tree does not describe"
            ),
            egress: M("as `ingress`"),
            labels_to_apply: M(
                "as `ingress`: endpoints are covered symbolically, with every label map"
            ),
        }),
        classify!(HostEndpoint {
            spec_span: LOCATION,
            node: N("which host the interface is on; policy matches labels, not nodes"),
            interface_name: N(
                "which interface; the analysis reasons per endpoint, not per interface"
            ),
            expected_ips: M(
                "host endpoints are not reach groups yet (issue 13 item 5); the analysis covers them symbolically through the per-list chains (analysis::classes)"
            ),
            profiles: M("as Profile"),
            ports: M("named ports of host endpoints: as `expected_ips`"),
        }),
        classify!(EndpointPort {
            span: LOCATION,
            name: A("groups::workload_group (named ports)"),
            protocol: A("groups::workload_group (known labels)"),
            port: A("groups::workload_group (known labels)"),
        }),
        classify!(Workload {
            pod_labels: A("groups::workload_group (known labels)"),
            service_account: A("groups::workload_group (label only under 63 characters)"),
            ports: A("groups::workload_group (known labels)"),
        }),
        classify!(SelectorField {
            raw: N("the text as written, for messages; `parsed` is what is analysed"),
            parsed: A("ir (every selector)"),
            over_limit: A(
                "a selector over the limits is not parsed, so its policy is not compiled"
            ),
        }),
        classify!(NetField {
            raw: N("the text as written, for messages; `parsed` is what is analysed"),
            parsed: A("ir::nets, reach"),
        }),
    ]
}

/// Every variant of [`Body`] is classified too (a new kind of body must be placed).
pub fn body_use(body: &Body) -> FieldUse {
    match body {
        Body::Policy(_) => A("ir::compile_policy"),
        Body::Tier(_) => A("PolicySet::for_version"),
        Body::NetworkSet(_) => A("reach groups"),
        Body::Profile(_) => M("see Profile"),
        Body::HostEndpoint(_) => M("see HostEndpoint"),
        Body::Namespace => A("groups::namespace_labels (its metadata labels)"),
        Body::Workload(_) => A("groups::workload_group (known labels)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_field_is_classified_with_a_reason() {
        let table = model_fields();
        assert!(table.len() >= 18, "{}", table.len());
        for (ty, fields) in &table {
            assert!(!fields.is_empty(), "{ty}");
            let mut names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), fields.len(), "{ty}: a field listed twice");
            for (field, usage) in fields {
                let text = match usage {
                    FieldUse::Analysed(t) | FieldUse::NotEnforced(t) | FieldUse::NotModelled(t) => {
                        t
                    }
                };
                assert!(text.len() > 8, "{ty}.{field}: say where or why");
            }
        }
        assert!(matches!(body_use(&Body::Namespace), FieldUse::Analysed(_)));
    }

    /// The compiled set of a one-file tree, without resource indexes.
    fn compiled(yaml: &str) -> String {
        let opts = crate::check::CheckOptions {
            analysis: None,
            ..crate::check::CheckOptions::default()
        };
        let (project, _) = crate::check::check_text("t.yaml", yaml, &opts);
        assert!(
            project.violations.is_empty(),
            "{yaml}: {:?}",
            project.violations
        );
        assert!(
            project.lower_problems.is_empty(),
            "{yaml}: {:?}",
            project.lower_problems
        );
        let set = crate::analysis::ir::PolicySet::from_project(&project);
        format!("{:?} {:?}", set.policies, set.tiers)
    }

    fn gnp(spec: &str, rule: &str) -> String {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: p}}\nspec:\n  selector: a == 'x'\n{spec}  ingress:\n  - action: Allow\n    protocol: TCP\n{rule}"
        )
    }

    /// "Analysed" is a claim: changing each such policy, rule and entity field changes what
    /// the analysis compiles.
    #[test]
    fn analysed_fields_change_the_compiled_set() {
        let base = compiled(&gnp("", ""));
        let spec_cases = [
            ("tier", "  tier: t1\n"),
            ("order", "  order: 5\n"),
            ("namespaceSelector", "  namespaceSelector: all()\n"),
            (
                "serviceAccountSelector",
                "  serviceAccountSelector: all()\n",
            ),
            ("types", "  types: [Ingress, Egress]\n"),
            ("egress", "  egress: [{action: Deny}]\n"),
            ("doNotTrack", "  doNotTrack: true\n  applyOnForward: true\n"),
            ("preDNAT", "  preDNAT: true\n  applyOnForward: true\n"),
            ("applyOnForward", "  applyOnForward: true\n"),
        ];
        for (field, spec) in spec_cases {
            assert_ne!(compiled(&gnp(spec, "")), base, "spec.{field}");
        }
        let rule_cases = [
            ("ipVersion", "    ipVersion: 4\n"),
            ("notProtocol", "    notProtocol: UDP\n"),
            ("source.nets", "    source: {nets: [10.0.0.0/8]}\n"),
            ("source.notNets", "    source: {notNets: [10.0.0.0/8]}\n"),
            ("source.selector", "    source: {selector: b == 'y'}\n"),
            (
                "source.notSelector",
                "    source: {notSelector: b == 'y'}\n",
            ),
            (
                "source.namespaceSelector",
                "    source: {namespaceSelector: b == 'y'}\n",
            ),
            (
                "source.serviceAccounts.names",
                "    source: {serviceAccounts: {names: [sa]}}\n",
            ),
            (
                "source.serviceAccounts.selector",
                "    source: {serviceAccounts: {selector: b == 'y'}}\n",
            ),
            (
                "source.services",
                "    source: {services: {name: s, namespace: n}}\n",
            ),
            ("destination.ports", "    destination: {ports: [80]}\n"),
            (
                "destination.notPorts",
                "    destination: {notPorts: [80]}\n",
            ),
            ("http.methods", "    http: {methods: [GET]}\n"),
            ("http.paths.exact", "    http: {paths: [{exact: /a}]}\n"),
            ("http.paths.prefix", "    http: {paths: [{prefix: /a}]}\n"),
        ];
        for (field, rule) in rule_cases {
            assert_ne!(compiled(&gnp("", rule)), base, "rule.{field}");
        }
        // Fields the base rule already has: action and protocol; ICMP needs an ICMP rule.
        assert_ne!(
            compiled(&gnp("", "").replace("Allow", "Deny")),
            base,
            "rule.action"
        );
        assert_ne!(
            compiled(&gnp("", "").replace("TCP", "UDP")),
            base,
            "rule.protocol"
        );
        let icmp = gnp("", "").replace("TCP", "ICMP");
        let icmp_base = compiled(&icmp);
        for (field, rule) in [
            ("icmp.type", "    icmp: {type: 8}\n"),
            ("icmp.code", "    icmp: {type: 8, code: 0}\n"),
            ("notICMP", "    notICMP: {type: 8}\n"),
        ] {
            assert_ne!(
                compiled(&format!("{icmp}{rule}")),
                icmp_base,
                "rule.{field}"
            );
        }
        // Tier settings and the storage form.
        let tier = |spec: &str| {
            compiled(&format!(
                "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: t1}}\nspec: {{{spec}}}\n---\n{}",
                gnp("  tier: t1\n", "")
            ))
        };
        assert_ne!(tier("order: 5"), tier("order: 6"), "tier.order");
        assert_ne!(
            tier("order: 5, defaultAction: Pass"),
            tier("order: 5"),
            "tier.defaultAction"
        );
        let untyped = gnp("", "");
        assert_ne!(
            compiled(&untyped.replace("projectcalico.org/v3", "crd.projectcalico.org/v1")),
            compiled(&untyped),
            "apiVersion (storage form)"
        );
    }
}
