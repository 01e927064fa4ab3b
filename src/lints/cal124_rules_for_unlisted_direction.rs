//! CAL124 rules-for-unlisted-direction: a policy has rules for a direction its `types` (or
//! `policyTypes`) does not list; Calico ignores them (spec W-07b).

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Direction, Kind};

pub struct RulesForUnlistedDirection;

static META: LintMeta = LintMeta {
    code: "CAL124",
    name: "rules-for-unlisted-direction",
    default_severity: Severity::Warning,
    summary: "Rules for a direction that `types` does not list are ignored",
    doc: include_str!("../../rules/CAL124.md"),
};

impl Lint for RulesForUnlistedDirection {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (_, res) in project.policies() {
            let Some(policy) = res.policy() else { continue };
            // The staged Kubernetes kind has its own, wider pitfall (CAL137); for the
            // Kubernetes kind only a written `policyTypes` counts.
            let field = match res.kind {
                Kind::StagedKubernetesNetworkPolicy => continue,
                Kind::KubernetesNetworkPolicy if !policy.k8s_policy_types_written => continue,
                Kind::KubernetesNetworkPolicy => "policyTypes",
                _ => "types",
            };
            let Some(types) = policy.types.as_ref().filter(|t| !t.value.is_empty()) else {
                continue;
            };
            for d in [Direction::Ingress, Direction::Egress] {
                let listed = types.value.iter().any(|t| t.value == d.type_name());
                let span = match d {
                    Direction::Ingress => policy.ingress_span,
                    Direction::Egress => policy.egress_span,
                };
                if listed || policy.rules(d).is_empty() {
                    continue;
                }
                let n = policy.rules(d).len();
                sink.at(
                    res.location(span.unwrap_or(types.span)),
                    format!(
                        "`{field}` does not list {}, so the {n} {} rule{} below {} ignored: {} traffic of the selected endpoints is not affected by this policy",
                        d.type_name(),
                        d.as_str(),
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "is" } else { "are" },
                        d.as_str(),
                    ),
                )
                .in_resource(res, &Pointer::of(&["spec", d.as_str()]))
                .note(format!(
                    "help: add `{}` to `{field}` if the rules are meant to apply (this also turns on default deny for that direction), or delete them",
                    d.type_name()
                ))
                .emit();
            }
        }
    }
}
