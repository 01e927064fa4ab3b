//! CAL140 namespace-label-mixup: an endpoint label (`projectcalico.org/namespace`, ...) in a
//! `namespaceSelector`, or the namespace label `projectcalico.org/name` in an endpoint
//! selector (spec W-31, §3.7.3).

use super::LintContext;
use super::pitfall::{calico_policies, selector_fields};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct NamespaceLabelMixup;

static META: LintMeta = LintMeta {
    code: "CAL140",
    name: "namespace-label-mixup",
    default_severity: Severity::Warning,
    summary: "An endpoint label in a namespaceSelector, or the namespace-name label in an endpoint selector",
    doc: include_str!("../../rules/CAL140.md"),
};

/// Labels Calico puts on endpoints, never on namespaces.
const ENDPOINT_LABELS: [&str; 3] = [
    "projectcalico.org/namespace",
    "projectcalico.org/orchestrator",
    "projectcalico.org/serviceaccount",
];
/// The label Calico gives every namespace (as `pcns.projectcalico.org/name` on its endpoints).
const NAMESPACE_NAME: &str = "projectcalico.org/name";

impl Lint for NamespaceLabelMixup {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (res, policy) in calico_policies(project) {
            for (pointer, field, is_ns) in selector_fields(policy) {
                let Some(sel) = field.selector() else {
                    continue;
                };
                let required = sel.label_restrictions();
                let needs = |k: &str| required.get(k).is_some_and(|r| r.must_be_present);
                let (message, help) = if is_ns {
                    let Some(k) = ENDPOINT_LABELS.iter().find(|k| needs(k)) else {
                        continue;
                    };
                    (
                        format!(
                            "`{k}` is a label of endpoints, not of namespaces: this namespaceSelector only matches a namespace someone labelled `{k}` by hand, so it almost certainly matches nothing"
                        ),
                        format!(
                            "help: namespaces carry `{NAMESPACE_NAME}` (their name): write `{NAMESPACE_NAME} == '<namespace>'`"
                        ),
                    )
                } else if needs(NAMESPACE_NAME) && !pointer.ends_with("/notSelector") {
                    (
                        format!(
                            "`{NAMESPACE_NAME}` is a label of namespaces, not of endpoints: this selector only matches endpoints someone labelled that way by hand, so it almost certainly matches nothing"
                        ),
                        "help: to match by namespace, use `namespaceSelector: projectcalico.org/name == '<namespace>'`, or test the endpoint label `projectcalico.org/namespace == '<namespace>'`".to_string(),
                    )
                } else {
                    continue;
                };
                sink.at(res.location(field.raw.span), message)
                    .in_resource(res, &pointer)
                    .note("Calico labels endpoints with projectcalico.org/namespace, /orchestrator and /serviceaccount, and namespaces with projectcalico.org/name (libcalico-go k8s/conversion; all versions)")
                    .note(help)
                    .emit();
            }
        }
    }
}
