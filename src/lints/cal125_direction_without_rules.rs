//! CAL125 direction-without-rules: `types` lists a direction with no rules, which denies all
//! of it for the selected endpoints (spec W-07c). Informational: usually intended.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Direction, Kind};

pub struct DirectionWithoutRules;

static META: LintMeta = LintMeta {
    code: "CAL125",
    name: "direction-without-rules",
    default_severity: Severity::Info,
    summary: "`types` lists a direction with no rules: default deny for that direction",
    doc: include_str!("../../rules/CAL125.md"),
};

impl Lint for DirectionWithoutRules {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (_, res) in project.policies() {
            let Some(policy) = res.policy() else { continue };
            // Rules lost to a lowering problem (CAL002) must not read as "no rules".
            if res.lowering_problems > 0 {
                continue;
            }
            let field = match res.kind {
                Kind::KubernetesNetworkPolicy | Kind::StagedKubernetesNetworkPolicy
                    if !policy.k8s_policy_types_written =>
                {
                    continue;
                }
                Kind::KubernetesNetworkPolicy | Kind::StagedKubernetesNetworkPolicy => {
                    "policyTypes"
                }
                _ => "types",
            };
            let Some(types) = policy.types.as_ref() else {
                continue;
            };
            for d in [Direction::Ingress, Direction::Egress] {
                let Some(t) = types.value.iter().find(|t| t.value == d.type_name()) else {
                    continue;
                };
                if !policy.rules(d).is_empty() {
                    continue;
                }
                let staged = matches!(
                    res.kind,
                    Kind::StagedNetworkPolicy
                        | Kind::StagedGlobalNetworkPolicy
                        | Kind::StagedKubernetesNetworkPolicy
                );
                sink.at(
                    res.location(t.span),
                    format!(
                        "`{field}` lists {} but the policy has no {} rules: {} {} traffic of the endpoints it selects that no other policy of its tier allows",
                        d.type_name(),
                        d.as_str(),
                        if staged { "once enforced, this would deny all" } else { "this denies all" },
                        d.as_str(),
                    ),
                )
                .in_resource(res, &Pointer::of(&["spec", field]))
                .note(format!(
                    "help: if a default deny for {} is intended, nothing to change (suppress with a reason); otherwise add the rules or remove `{}` from `{field}`",
                    d.as_str(),
                    d.type_name()
                ))
                .emit();
            }
        }
    }
}
