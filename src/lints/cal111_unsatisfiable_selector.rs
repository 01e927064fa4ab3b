//! CAL111 unsatisfiable-selector: a policy whose selector can match no endpoint.

use super::LintContext;
use super::Pointer;
use super::semantic::{analysis, policy_resource};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct UnsatisfiableSelector;

static META: LintMeta = LintMeta {
    code: "CAL111",
    name: "unsatisfiable-selector",
    default_severity: Severity::Warning,
    summary: "A policy's selector can match no endpoint",
    doc: include_str!("../../rules/CAL111.md"),
};

impl Lint for UnsatisfiableSelector {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for u in &a.unsat_selectors {
            let Some((res, compiled)) = policy_resource(project, a, u.policy) else {
                continue;
            };
            let Some(policy) = res.policy() else { continue };
            let field = policy.selector.as_ref().filter(|s| !s.is_empty());
            let (span, pointer) = field.map_or((res.kind_span, Pointer::of(&["spec"])), |s| {
                (s.raw.span, Pointer::of(&["spec", "selector"]))
            });
            let reason = field
                .and_then(|s| s.selector())
                .and_then(|s| s.never_matches())
                .map(|r| format!(": {r}"));
            let message = match (reason, compiled.namespace.as_deref()) {
                (Some(r), _) => format!("the policy's selector can match no endpoint{r}"),
                (None, Some(ns)) => format!(
                    "the policy's selector can match no endpoint in namespace `{ns}` (with its serviceAccountSelector, if any)"
                ),
                (None, None) => "the policy's selector, namespaceSelector and serviceAccountSelector together can match no endpoint".to_string(),
            };
            sink.at(res.location(span), message)
                .in_resource(res, &pointer)
                .note("the policy applies to nothing: its rules never run")
                .emit();
        }
    }
}
