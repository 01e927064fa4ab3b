//! CAL126 log-only-direction: every rule of a direction is `Log`, so the selected endpoints'
//! traffic is logged and then dropped at the end of the tier (spec W-08,
//! projectcalico/calico#3801).

use super::LintContext;
use super::Pointer;
use super::pitfall::calico_policies;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Action, Body, Direction, Kind};

pub struct LogOnlyDirection;

static META: LintMeta = LintMeta {
    code: "CAL126",
    name: "log-only-direction",
    default_severity: Severity::Warning,
    summary: "Every rule of a direction is Log: traffic is logged, then dropped at the end of the tier",
    doc: include_str!("../../rules/CAL126.md"),
};

impl Lint for LogOnlyDirection {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        // A tier defined in the tree with `defaultAction: Pass` has no end-of-tier drop. Read
        // once: a scan of the tree per policy is quadratic (0.26 s at 10,000 policies).
        let passing_tiers: std::collections::HashSet<&str> = (project.resources.iter())
            .filter(|r| {
                r.kind == Kind::Tier
                    && matches!(&r.body, Body::Tier(t) if t.default_action.as_ref().is_some_and(|a| a.value == "Pass"))
            })
            .map(|r| r.name())
            .collect();
        for (res, policy) in calico_policies(project) {
            if res.lowering_problems > 0 {
                continue; // rules may be missing (CAL002)
            }
            if matches!(
                res.kind,
                Kind::StagedNetworkPolicy | Kind::StagedGlobalNetworkPolicy
            ) {
                continue;
            }
            let tier = policy.tier_name();
            if passing_tiers.contains(tier) {
                continue;
            }
            for d in [Direction::Ingress, Direction::Egress] {
                let rules = policy.rules(d);
                if !policy.applies_to(d)
                    || rules.is_empty()
                    || !rules.iter().all(|r| r.action() == Some(Action::Log))
                {
                    continue;
                }
                let span = match d {
                    Direction::Ingress => policy.ingress_span,
                    Direction::Egress => policy.egress_span,
                };
                sink.at(
                    res.location(span.unwrap_or(policy.spec_span)),
                    format!(
                        "every {} rule is `Log`: selecting these endpoints puts them under tier `{tier}`'s end-of-tier deny, so {} traffic that no other policy of the tier allows is logged and then dropped",
                        d.as_str(),
                        d.as_str()
                    ),
                )
                .in_resource(res, &Pointer::of(&["spec", d.as_str()]))
                .note("Log is not a decision: evaluation continues, and a tier that applies to an endpoint but decides nothing denies (Felix rules/endpoints.go; projectcalico/calico#3801; all versions)")
                .note("help: follow the Log rule with the decision you want (`- action: Pass` to hand the traffic to the next tier, or `- action: Allow`)")
                .emit();
            }
        }
    }
}
