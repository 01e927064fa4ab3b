//! CAL133 default-tier-after-kubernetes: a Calico policy in the default tier without `order`
//! (or with order ≥ 1000) has Deny/Pass/Log rules but is evaluated after the Kubernetes
//! NetworkPolicies of the same endpoints (spec W-18, §4.2).

use super::pitfall::{calico_policies, may_share_endpoints};
use super::{Lint, LintMeta, Sink};
use crate::finding::{Related, Severity};
use crate::model::resource::{Action, Direction, Kind};
use crate::project::Project;

pub struct DefaultTierAfterKubernetes;

static META: LintMeta = LintMeta {
    code: "CAL133",
    name: "default-tier-after-kubernetes",
    default_severity: Severity::Warning,
    summary: "A default-tier Calico policy without order (or order >= 1000) is evaluated after Kubernetes NetworkPolicies",
    doc: include_str!("../../rules/CAL133.md"),
};

/// Order Calico gives every Kubernetes NetworkPolicy.
const K8S_ORDER: f64 = 1000.0;

impl Lint for DefaultTierAfterKubernetes {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &Project, sink: &mut Sink<'_>) {
        let k8s: Vec<_> = project
            .policies()
            .filter(|(_, r)| r.kind == Kind::KubernetesNetworkPolicy)
            .filter_map(|(_, r)| Some((r, r.policy()?)))
            .collect();
        if k8s.is_empty() {
            return;
        }
        for (res, policy) in calico_policies(project) {
            if !matches!(res.kind, Kind::NetworkPolicy | Kind::GlobalNetworkPolicy)
                || policy.tier_name() != "default"
            {
                continue;
            }
            let order = policy.order.as_ref().map(|o| o.value);
            if order.is_some_and(|o| o < K8S_ORDER) {
                continue;
            }
            // Only rules that do not allow are overridden by an earlier Kubernetes Allow.
            let hit = [Direction::Ingress, Direction::Egress].into_iter().find_map(|d| {
                if !policy.applies_to(d) {
                    return None;
                }
                let rule = policy.rules(d).iter().find(|r| {
                    matches!(r.action(), Some(Action::Deny | Action::Pass | Action::Log))
                })?;
                let (kr, _) = k8s
                    .iter()
                    .find(|(kr, kp)| may_share_endpoints(res, kr) && kp.applies_to(d))?;
                Some((d, rule, *kr))
            });
            let Some((d, rule, kr)) = hit else { continue };
            let (span, when) = match (&policy.order, order) {
                (Some(o), Some(v)) if v == K8S_ORDER => (
                    o.span,
                    "has the same order (1000) as every Kubernetes NetworkPolicy, so only the names decide which runs first".to_string(),
                ),
                (Some(o), Some(v)) => (o.span, format!("has order {v}, after every Kubernetes NetworkPolicy (order 1000)")),
                _ => (
                    res.meta.name.as_ref().map_or(res.kind_span, |n| n.span),
                    "has no `order`, so it runs after every policy with one, including every Kubernetes NetworkPolicy (order 1000)".to_string(),
                ),
            };
            sink.at(
                res.location(span),
                format!(
                    "this policy {when}: traffic a Kubernetes policy such as `{}` allows is never seen by its `{}` rule at {}",
                    kr.name(),
                    rule.action.as_ref().map_or("?", |a| a.value.as_str()),
                    rule.pointer,
                ),
            )
            .in_resource(res, "/spec/order")
            .related(Related {
                message: format!("Kubernetes NetworkPolicy that is evaluated first ({})", d.as_str()),
                location: Some(kr.location(kr.meta.name.as_ref().map_or(kr.kind_span, |n| n.span))),
                resource: Some(kr.reference()),
                pointer: Some("/metadata/name".into()),
            })
            .note("equal orders are tie-broken by name: v3.32+ compares `<name>/<namespace>/<kind>`, v3.31 and earlier the stored names (Kubernetes policies as `knp.default.<name>`) (felix/calc/policy_sorter.go)")
            .note("help: give the policy an `order` below 1000 so its Deny/Pass/Log rules run before Kubernetes policies, or move it to a tier that runs before `default`")
            .emit();
        }
    }
}
