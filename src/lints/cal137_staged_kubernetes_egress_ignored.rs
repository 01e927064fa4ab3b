//! CAL137 staged-kubernetes-egress-ignored: a StagedKubernetesNetworkPolicy with egress rules
//! whose `policyTypes` does not list Egress (or is absent: nothing defaults it for this kind),
//! so the egress rules are ignored (spec W-29).

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Direction, Kind};

pub struct StagedKubernetesEgressIgnored;

static META: LintMeta = LintMeta {
    code: "CAL137",
    name: "staged-kubernetes-egress-ignored",
    default_severity: Severity::Warning,
    summary: "A StagedKubernetesNetworkPolicy's egress rules are ignored: `policyTypes` lacks Egress",
    doc: include_str!("../../rules/CAL137.md"),
};

impl Lint for StagedKubernetesEgressIgnored {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (_, res) in project.policies() {
            if res.kind != Kind::StagedKubernetesNetworkPolicy {
                continue;
            }
            let Some(policy) = res.policy() else { continue };
            if res.lowering_problems > 0 {
                continue; // rules may be missing (CAL002)
            }
            if policy.egress.is_empty() || policy.applies_to(Direction::Egress) {
                continue;
            }
            let why = if policy.k8s_policy_types_written {
                "`policyTypes` does not list Egress"
            } else {
                "`policyTypes` is absent, and unlike a Kubernetes NetworkPolicy nothing adds Egress for this kind (Calico uses [Ingress])"
            };
            sink.at(
                res.location(policy.egress_span.unwrap_or(policy.spec_span)),
                format!(
                    "{why}, so these egress rules are ignored: neither the staged preview nor the policy once enforced governs egress"
                ),
            )
            .in_resource(res, &Pointer::of(&["spec", "egress"]))
            .note("libcalico-go k8s/conversion/conversion.go `K8sNetworkPolicyToCalico`; StagedKubernetesNetworkPolicy exists from v3.30")
            .note("help: write `policyTypes: [Ingress, Egress]` (or `[Egress]`)")
            .emit();
        }
    }
}
