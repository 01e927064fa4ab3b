//! CAL101 defaulted-types: `types` is absent, so Calico picks the policy's directions itself.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct DefaultedTypes;

static META: LintMeta = LintMeta {
    code: "CAL101",
    name: "defaulted-types",
    default_severity: Severity::Warning,
    summary: "`types` is not set, so Calico infers the policy's directions from its rules",
    doc: include_str!("../../rules/CAL101.md"),
};

impl Lint for DefaultedTypes {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (_, res) in project.policies() {
            // The storage form gets no defaulting (CAL008 says what Felix does instead).
            if !res.kind.is_calico_policy() || res.is_storage_form() {
                continue;
            }
            let Some(policy) = res.policy() else { continue };
            if policy.types.is_some() {
                continue;
            }
            // A staged Delete carries no types and an empty spec: it is never sent to Felix
            // (spec §4.7), so there is no direction to default.
            if policy
                .staged_action
                .as_ref()
                .is_some_and(|a| a.value == "Delete")
            {
                continue;
            }
            let (ingress, egress) = (!policy.ingress.is_empty(), !policy.egress.is_empty());
            let (value, meaning) = match (ingress, egress) {
                (false, false) => (
                    "[Ingress]",
                    "the policy has no rules, so it denies all ingress to the endpoints it selects and does not affect their egress",
                ),
                (true, false) => (
                    "[Ingress]",
                    "ingress rules only: egress from these endpoints is not affected by this policy",
                ),
                (false, true) => (
                    "[Egress]",
                    "egress rules only: ingress to these endpoints is not affected by this policy",
                ),
                (true, true) => (
                    "[Ingress, Egress]",
                    "both directions are enforced, and adding or removing all rules of one direction later silently changes that",
                ),
            };
            let span = res.meta.name.as_ref().map_or(res.kind_span, |n| n.span);
            sink.at(
                res.location(span),
                format!("`types` is not set: Calico will use {value}; {meaning}"),
            )
            .in_resource(res, &Pointer::of(&["spec", "types"]))
            .note(format!(
                "help: write `types: {value}` to make the intent explicit"
            ))
            .emit();
        }
    }
}
