//! CAL138 staged-never-enforced: staged policies only preview; they never allow or deny
//! anything (spec W-34). Informational.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::Kind;

pub struct StagedNeverEnforced;

static META: LintMeta = LintMeta {
    code: "CAL138",
    name: "staged-never-enforced",
    default_severity: Severity::Info,
    summary: "A staged policy is never enforced; it only previews its effect in flow logs",
    doc: include_str!("../../rules/CAL138.md"),
};

impl Lint for StagedNeverEnforced {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (_, res) in project.policies() {
            let enforced_kind = match res.kind {
                Kind::StagedNetworkPolicy => "NetworkPolicy",
                Kind::StagedGlobalNetworkPolicy => "GlobalNetworkPolicy",
                Kind::StagedKubernetesNetworkPolicy => "Kubernetes NetworkPolicy",
                _ => continue,
            };
            let action = res
                .policy()
                .and_then(|p| p.staged_action.as_ref())
                .map_or("Set", |a| a.value.as_str());
            let what = if action == "Delete" {
                format!(
                    "it previews deleting the {enforced_kind} of the same name; it deletes nothing"
                )
            } else {
                format!(
                    "it only shows in flow logs what it would do; no traffic is allowed or denied by it until it is applied as a {enforced_kind}"
                )
            };
            sink.at(
                res.location(res.kind_span),
                format!("{} is never enforced: {what}", res.kind.name()),
            )
            .in_resource(res, &Pointer::of(&["kind"]))
            .note("staged policies exist from Calico v3.30; Felix evaluates them for flow logs only")
            .note(format!(
                "help: when the preview looks right, apply it as a {enforced_kind} (and delete the staged copy)"
            ))
            .emit();
        }
    }
}
