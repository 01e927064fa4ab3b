//! CAL104 unconverted-cluster-rule: a rule of an AdminNetworkPolicy, BaselineAdminNetworkPolicy
//! or ClusterNetworkPolicy that Calico's conversion cannot translate, so Calico enforces a
//! deny-all rule in its place (Deny, Pass) or drops it (Allow, Accept).

use super::LintContext;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::Action;

pub struct UnconvertedClusterRule;

static META: LintMeta = LintMeta {
    code: "CAL104",
    name: "unconverted-cluster-rule",
    default_severity: Severity::Warning,
    summary: "Calico cannot convert this cluster network policy rule: it denies everything or is dropped",
    doc: include_str!("../../rules/CAL104.md"),
};

impl Lint for UnconvertedClusterRule {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (i, res) in project.policies() {
            if !res.kind.is_cluster_network_policy() {
                continue;
            }
            // A kind the target release does not watch is reported by CAL002 at `/kind`.
            let not_watched = project
                .violations
                .iter()
                .any(|(j, v)| *j == i && v.pointer == "/kind");
            let Some(policy) = res.policy().filter(|_| !not_watched) else {
                continue;
            };
            for u in &policy.unconverted {
                let effect = match u.action {
                    Action::Deny | Action::Pass => {
                        "Calico enforces a rule that denies all traffic in its place (it fails closed)"
                    }
                    _ => "Calico drops it, so this traffic is not allowed by it",
                };
                sink.at(
                    res.location(u.span),
                    format!("Calico cannot convert this rule ({}): {effect}", u.reason),
                )
                .in_resource(res, &u.pointer)
                .emit();
            }
        }
    }
}
