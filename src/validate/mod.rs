//! Validation with Calico-validator parity (spec §1–§2, checklist §2.10).
//!
//! Validation reads typed resources and reports [`Diagnostic`]s; it never stops at the first
//! problem. Lowering (`model::lower`) has already reported shape problems (wrong types, unknown
//! fields, undecodable ports); validation reports what Calico's validator would reject.
//!
//! Layer 3: uses `model` and below.

mod cluster;
mod entity;
mod meta;
mod other;
mod policy;
mod rule;
mod selectors;
#[cfg(test)]
mod testutil;
mod util;

pub use crate::diagnostic::Diagnostic;
use crate::diagnostic::RelatedSpan;
pub use crate::model::version::CalicoVersion;
use crate::model::{Body, Kind, Resource};
use crate::pointer::{Lazy, Pointer};
use crate::source::Span;

#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateOptions {
    pub target: CalicoVersion,
}

/// Validate one resource as Calico's validator (Go validator, CRD OpenAPI limits and CEL rules
/// of the target version) would, reporting every problem found.
///
/// Only checks that can be decided from this resource alone are made here; cross-resource
/// checks (duplicates, unknown tiers, named-port declarations) are lints.
pub fn validate_resource(res: &Resource, opts: &ValidateOptions) -> Vec<Diagnostic> {
    if !(res.kind.is_calico()
        || res.kind == Kind::KubernetesNetworkPolicy
        || res.kind.is_cluster_network_policy())
    {
        // Namespaces and workloads are context for lints, not Calico resources to validate.
        return Vec::new();
    }
    let mut cx = Cx::new(res, opts.target);
    meta::check_kind_available(&mut cx);
    meta::check_metadata(&mut cx);
    match &res.body {
        // Converted by Calico without its validator; the CRD schema is checked by lowering.
        Body::Policy(_) if res.kind.is_cluster_network_policy() => {
            cluster::check_cluster_policy(&mut cx)
        }
        Body::Policy(policy) => policy::check_policy(&mut cx, policy),
        Body::Tier(tier) => other::check_tier(&mut cx, tier),
        Body::NetworkSet(set) => other::check_network_set(&mut cx, set),
        Body::Profile(profile) => other::check_profile(&mut cx, profile),
        Body::HostEndpoint(hep) => other::check_host_endpoint(&mut cx, hep),
        Body::Namespace | Body::Workload(_) => {}
    }
    let k8s = cx.is_k8s();
    let mut out: Vec<Diagnostic> = Vec::with_capacity(cx.out.len());
    // Indexes in `out` by (span, pointer, message), so that dropping exact repeats stays
    // linear however many violations one resource has.
    let mut by_key: std::collections::HashMap<(Span, Pointer, String), Vec<usize>> =
        std::collections::HashMap::new();
    for mut v in cx.out {
        if k8s {
            v.pointer = k8s_rule_pointer(&v.pointer);
        }
        // Converted Kubernetes rules share their source rule's span: report each problem once.
        let same = by_key
            .entry((v.span, v.pointer.clone(), v.message.clone()))
            .or_default();
        if !same.iter().any(|&i| out.get(i) == Some(&v)) {
            same.push(out.len());
            out.push(v);
        }
    }
    out
}

/// Kubernetes policies: rules are converted, so Calico paths below a rule
/// (`/spec/ingress/0/destination/ports/0`) do not exist in the document; point at the rule.
fn k8s_rule_pointer(pointer: &str) -> Pointer {
    let mut parts = pointer.splitn(5, '/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(""), Some("spec"), Some(dir @ ("ingress" | "egress")), Some(index), Some(_)) => {
            Pointer::root().child("spec").child(dir).child(index)
        }
        _ => pointer.into(),
    }
}

/// Validation context: the resource, the target version, and the violations found so far.
pub(crate) struct Cx<'a> {
    pub res: &'a Resource,
    pub target: CalicoVersion,
    pub out: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    pub fn new(res: &'a Resource, target: CalicoVersion) -> Self {
        Cx {
            res,
            target,
            out: Vec::new(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.res.kind
    }

    /// Kubernetes policies (real or staged): their Calico form is built by a converter, so
    /// Calico-CRD-only checks (size limits, `global()` placement) do not apply.
    pub fn is_k8s(&self) -> bool {
        matches!(
            self.res.kind,
            Kind::KubernetesNetworkPolicy | Kind::StagedKubernetesNetworkPolicy
        )
    }

    /// GlobalNetworkPolicy or its staged twin.
    pub fn is_global_policy(&self) -> bool {
        matches!(
            self.res.kind,
            Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy
        )
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        self.target.at_least(major, minor)
    }

    /// CRD size limits (MaxItems/MaxLength) that v3.33 added for rules and selectors.
    pub fn size_limits(&self) -> bool {
        self.at_least(3, 33) && !self.is_k8s()
    }

    pub fn push(&mut self, violation: Diagnostic) {
        self.out.push(violation);
    }

    pub fn report(&mut self, span: Span, pointer: impl Into<Pointer>, message: impl Into<String>) {
        self.out.push(Diagnostic::new(span, pointer, message));
    }

    /// Report repeated entries of a list the CRD declares `listType=set` (rejected by the API
    /// server from Calico `since`). `field` names the list in messages.
    pub fn check_set<'v>(
        &mut self,
        items: impl IntoIterator<Item = (&'v str, Span)>,
        pointer: Lazy<'_>,
        field: &str,
        since: (u32, u32),
    ) {
        if !self.at_least(since.0, since.1) || self.is_k8s() {
            return;
        }
        // Nearly every list has a few entries: compare them pairwise, without a hash set.
        let items: smallvec::SmallVec<[(&str, Span); 8]> = items.into_iter().collect();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let long = items.len() > 16;
        for (i, &(value, span)) in items.iter().enumerate() {
            let repeated = if long {
                !seen.insert(value)
            } else {
                items[..i].iter().any(|(earlier, _)| *earlier == value)
            };
            if repeated {
                self.report(
                    span,
                    pointer.index(i),
                    format!(
                        "duplicate entry {} in `{field}` (the list is a set since Calico v{}.{})",
                        util::quote(value),
                        since.0,
                        since.1
                    ),
                );
            }
        }
    }

    /// A related location in this resource's file.
    pub fn related(
        &self,
        message: impl Into<String>,
        span: Span,
        pointer: impl Into<Pointer>,
    ) -> RelatedSpan {
        RelatedSpan {
            message: message.into(),
            span,
            pointer: Some(pointer.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::model::Policy;

    #[test]
    fn kubernetes_rule_pointers_stop_at_the_rule() {
        assert_eq!(
            k8s_rule_pointer("/spec/ingress/0/destination/ports/1"),
            "/spec/ingress/0"
        );
        assert_eq!(
            k8s_rule_pointer("/spec/egress/3/protocol"),
            "/spec/egress/3"
        );
        assert_eq!(k8s_rule_pointer("/spec/egress/3"), "/spec/egress/3");
        assert_eq!(k8s_rule_pointer("/spec/podSelector"), "/spec/podSelector");
        assert_eq!(k8s_rule_pointer("/metadata/name"), "/metadata/name");
    }

    #[test]
    fn converted_rules_report_once_at_the_kubernetes_rule() {
        // One Kubernetes rule with two peers becomes two Calico rules sharing its span.
        let mut r = rule("Allow");
        r.protocol = Some(proto("ICMP"));
        r.destination.ports = vec![port(80)];
        let p = with_ingress(vec![r.clone(), r]);
        let res = policy_resource(Kind::KubernetesNetworkPolicy, "p", p);
        let v = validate(&res);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].pointer, "/spec/ingress/0");
        // Calico policies keep full pointers.
        let mut r = rule("Allow");
        r.destination.ports = vec![port(0)];
        let res = policy_resource(Kind::NetworkPolicy, "p", with_ingress(vec![r]));
        let v = validate(&res);
        assert_pointer(
            &v,
            "invalid port `0`",
            "/spec/ingress/0/destination/ports/0",
        );
    }

    #[test]
    fn clean_resources_of_every_kind() {
        for kind in [
            Kind::NetworkPolicy,
            Kind::GlobalNetworkPolicy,
            Kind::StagedNetworkPolicy,
            Kind::StagedGlobalNetworkPolicy,
            Kind::StagedKubernetesNetworkPolicy,
            Kind::KubernetesNetworkPolicy,
        ] {
            assert_clean(&validate(&policy_resource(kind, "p", Policy::default())));
        }
        assert_clean(&validate(&resource(
            Kind::Namespace,
            "Any_Thing",
            Body::Namespace,
        )));
    }

    #[test]
    fn version_display_and_default() {
        assert_eq!(CalicoVersion::default().to_string(), "v3.33");
        assert_eq!(ValidateOptions::default().target, CalicoVersion::LATEST);
    }
}
