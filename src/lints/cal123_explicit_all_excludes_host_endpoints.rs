//! CAL123 explicit-all-excludes-host-endpoints: a GlobalNetworkPolicy's
//! `namespaceSelector: all()` or `serviceAccountSelector: all()` is rewritten to a `has(...)`
//! test, so unlike an omitted field it excludes host endpoints (spec W-06).

use super::LintContext;
use super::Pointer;
use super::pitfall::calico_policies;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::Kind;

pub struct ExplicitAllExcludesHostEndpoints;

static META: LintMeta = LintMeta {
    code: "CAL123",
    name: "explicit-all-excludes-host-endpoints",
    default_severity: Severity::Info,
    summary: "A GlobalNetworkPolicy's explicit `namespaceSelector: all()`/`serviceAccountSelector: all()` excludes host endpoints",
    doc: include_str!("../../rules/CAL123.md"),
};

impl Lint for ExplicitAllExcludesHostEndpoints {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (res, policy) in calico_policies(project) {
            if !matches!(
                res.kind,
                Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy
            ) {
                continue;
            }
            let fields = [
                (
                    "namespaceSelector",
                    &policy.namespace_selector,
                    "projectcalico.org/namespace",
                    "host endpoints",
                ),
                (
                    "serviceAccountSelector",
                    &policy.service_account_selector,
                    "projectcalico.org/serviceaccount",
                    "host endpoints and pods whose service-account name is 63 characters or longer",
                ),
            ];
            for (name, field, label, excluded) in fields {
                let Some(f) = field.as_ref() else { continue };
                if f.is_empty() || !f.selector().is_some_and(|s| s.is_all()) {
                    continue;
                }
                sink.at(
                    res.location(f.raw.span),
                    format!(
                        "`{name}: all()` is rewritten to `has({label})`, so the policy does not select {excluded}; omitting `{name}` would select them"
                    ),
                )
                .in_resource(res, &Pointer::of(&["spec", name]))
                .note("Calico's GlobalNetworkPolicy conversion replaces every `all()` in these fields (globalnetworkpolicyprocessor.go, all versions); the reference docs show `all()` as the default, which it is not")
                .note(format!(
                    "help: keep `{name}: all()` if only pods are meant (say so in a comment); remove it to also cover host endpoints"
                ))
                .emit();
            }
        }
    }
}
