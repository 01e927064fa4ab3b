//! CAL120 not-selector-namespace-scope: a namespaced policy's rule uses `notSelector` with no
//! positive selector, so it only matches endpoints of the policy's own namespace (spec W-01).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct NotSelectorNamespaceScope;

static META: LintMeta = LintMeta {
    code: "CAL120",
    name: "not-selector-namespace-scope",
    default_severity: Severity::Warning,
    summary: "`notSelector` without a positive selector in a namespaced policy only matches this namespace's endpoints",
    doc: include_str!("../../rules/CAL120.md"),
};

impl Lint for NotSelectorNamespaceScope {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            let Some(ns) = at.namespace() else { continue };
            for (side, e) in at.entities() {
                let Some(not) = e.not_selector.as_ref().filter(|s| !s.is_empty()) else {
                    continue;
                };
                let positive = e.selector.as_ref().is_some_and(|s| !s.is_empty())
                    || e.namespace_selector.as_ref().is_some_and(|s| !s.is_empty())
                    || e.service_accounts.as_ref().is_some_and(|sa| {
                        !sa.names.is_empty() || sa.selector.as_ref().is_some_and(|s| !s.is_empty())
                    });
                if positive {
                    continue;
                }
                sink.at(
                    at.resource.location(not.raw.span),
                    format!(
                        "`{side}.notSelector` without a positive selector matches only endpoints in namespace `{ns}` that do not match `{}`: traffic {} other namespaces and outside the cluster is not matched by this rule",
                        not.raw.value.trim(),
                        if side == "source" { "from" } else { "to" },
                    ),
                )
                .in_resource(at.resource, &at.rule.pointer.child(side).child("notSelector"))
                .note("Calico scopes the rule to the policy's namespace as soon as any selector field is set (libcalico-go updateprocessors/rules.go, all versions)")
                .note(format!(
                    "help: to mean \"everything except these endpoints\", put a `Deny` (or `Pass`) rule with `selector: {}` before a rule without selectors, or write the rule in a GlobalNetworkPolicy; to mean \"this namespace except …\", add `selector: all()` to make the scope visible",
                    not.raw.value.trim()
                ))
                .emit();
            }
        }
    }
}
