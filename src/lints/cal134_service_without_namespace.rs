//! CAL134 service-without-namespace: a namespaced policy's rule matches a Kubernetes Service
//! by name without `namespace` (spec W-22).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct ServiceWithoutNamespace;

static META: LintMeta = LintMeta {
    code: "CAL134",
    name: "service-without-namespace",
    default_severity: Severity::Warning,
    summary: "A `services` match in a namespaced policy has no `namespace`",
    doc: include_str!("../../rules/CAL134.md"),
};

impl Lint for ServiceWithoutNamespace {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            let Some(ns) = at.namespace() else { continue };
            for (side, e) in at.entities() {
                let Some(svc) = &e.services else { continue };
                let Some(name) = &svc.name else { continue };
                if svc.namespace.as_ref().is_some_and(|n| !n.value.is_empty()) {
                    continue;
                }
                sink.at(
                    at.resource.location(svc.span),
                    format!(
                        "`{side}.services` names Service `{}` without `namespace`: the documentation says it defaults to the policy's namespace (`{ns}`), but Calico's conversion passes the empty namespace through unchanged, so whether the rule matches the Service's endpoints depends on internals",
                        name.value
                    ),
                )
                .in_resource(at.resource, &at.rule.pointer.child(side).child("services"))
                .note("libcalico-go updateprocessors/rules.go copies `services.namespace` as written (all versions)")
                .note(format!("help: write `namespace: {ns}` explicitly"))
                .emit();
            }
        }
    }
}
