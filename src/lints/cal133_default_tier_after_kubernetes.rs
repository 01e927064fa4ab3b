//! CAL133 default-tier-after-kubernetes: a Calico policy in the default tier without `order`
//! (or with order exactly 1000) has Deny/Pass/Log rules but is evaluated after the Kubernetes
//! NetworkPolicies of the same endpoints (spec W-18, §4.2).

use super::LintContext;
use super::Pointer;
use super::pitfall::{calico_policies, may_share_endpoints};
use super::{Lint, LintMeta, Sink};
use crate::finding::{Related, Severity};
use crate::model::resource::{Action, Direction, Kind};

pub struct DefaultTierAfterKubernetes;

static META: LintMeta = LintMeta {
    code: "CAL133",
    name: "default-tier-after-kubernetes",
    default_severity: Severity::Warning,
    summary: "A default-tier Calico policy without order (or order 1000) is evaluated after (or tied with) Kubernetes NetworkPolicies",
    doc: include_str!("../../rules/CAL133.md"),
};

/// Order Calico gives every Kubernetes NetworkPolicy.
const K8S_ORDER: f64 = 1000.0;

impl Lint for DefaultTierAfterKubernetes {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
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
                || policy.tier_name() != crate::model::tier::DEFAULT_TIER.name
            {
                continue;
            }
            // An explicit order above 1000 places the policy after the Kubernetes ones on
            // purpose (typically a final default deny); no order, or exactly 1000, is the
            // surprise: the former sorts after everything, the latter ties on names.
            if policy.order.as_ref().is_some_and(|o| o.value != K8S_ORDER) {
                continue;
            }
            // Only rules that do not allow are overridden by an earlier Kubernetes Allow.
            let hit = [Direction::Ingress, Direction::Egress]
                .into_iter()
                .find_map(|d| {
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
            let action = rule.action.as_ref().map_or("?", |a| a.value.as_str());
            let (span, message) = match &policy.order {
                Some(o) => (
                    o.span,
                    format!(
                        "this policy has the same order (1000) as every Kubernetes NetworkPolicy, so for endpoints both select only the names decide whether its `{action}` rule at {} sees traffic a Kubernetes policy such as `{}` allows (the answer can change when either is renamed or Calico is upgraded)",
                        rule.pointer,
                        kr.name()
                    ),
                ),
                None => (
                    res.meta.name.as_ref().map_or(res.kind_span, |n| n.span),
                    format!(
                        "this policy has no `order`, so it runs after every policy with one, including every Kubernetes NetworkPolicy (order 1000): traffic that a Kubernetes policy such as `{}` allows for endpoints both select never reaches its `{action}` rule at {}",
                        kr.name(),
                        rule.pointer
                    ),
                ),
            };
            sink.at(res.location(span), message)
            .in_resource(res, &Pointer::of(&["spec", "order"]))
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
