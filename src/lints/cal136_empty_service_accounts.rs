//! CAL136 empty-service-accounts: `serviceAccounts: {}` (no names, no selector) constrains
//! nothing (spec W-24).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct EmptyServiceAccounts;

static META: LintMeta = LintMeta {
    code: "CAL136",
    name: "empty-service-accounts",
    default_severity: Severity::Warning,
    summary: "`serviceAccounts` without names or selector matches every peer",
    doc: include_str!("../../rules/CAL136.md"),
};

impl Lint for EmptyServiceAccounts {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            for (side, e) in at.entities() {
                let Some(sa) = &e.service_accounts else {
                    continue;
                };
                if !sa.names.is_empty() || sa.selector.as_ref().is_some_and(|s| !s.is_empty()) {
                    continue;
                }
                sink.at(
                    at.resource.location(sa.span),
                    format!(
                        "`{side}.serviceAccounts` has neither `names` nor `selector`, so it constrains nothing: the rule matches peers with any service account, and anything that is not a pod"
                    ),
                )
                .in_resource(at.resource, &at.rule.pointer.child(side).child("serviceAccounts"))
                .note("Calico compiles an empty service-account match to no selector at all (updateprocessors/rules_test.go \"empty serviceaccount match\"; all versions)")
                .note("help: add the `names` or `selector` you meant, or delete `serviceAccounts`")
                .emit();
            }
        }
    }
}
