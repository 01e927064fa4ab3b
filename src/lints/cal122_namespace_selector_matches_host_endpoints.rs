//! CAL122 namespace-selector-matches-host-endpoints: a `namespaceSelector` that a label map
//! without any namespace labels satisfies (`!has(..)`, `!=`, `not in`), so it also matches
//! HostEndpoints and GlobalNetworkSets (spec W-05).

use super::LintContext;
use super::Pointer;
use super::pitfall::{calico_policies, calico_rules};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Resource, SelectorField};
use crate::model::selector::Expr;
use std::collections::BTreeMap;

pub struct NamespaceSelectorMatchesHostEndpoints;

static META: LintMeta = LintMeta {
    code: "CAL122",
    name: "namespace-selector-matches-host-endpoints",
    default_severity: Severity::Warning,
    summary: "A negative `namespaceSelector` also matches host endpoints and global network sets",
    doc: include_str!("../../rules/CAL122.md"),
};

/// True when the selector matches something with no namespace labels at all. Selectors
/// containing `all()` or `global()` are left alone: Calico rewrites those textually in
/// namespace selectors (spec §3.7.1), and `global()` is the intended way to reach them.
pub(crate) fn matches_unnamespaced(field: &SelectorField) -> bool {
    let Some(sel) = field.selector() else {
        return false;
    };
    if field.is_empty() {
        return false;
    }
    let mut rewritten = false;
    sel.expr()
        .for_each_node(|e| rewritten |= matches!(e, Expr::All | Expr::Global));
    !rewritten && sel.matches(&BTreeMap::<String, String>::new())
}

fn report(
    sink: &mut Sink<'_>,
    res: &Resource,
    field: &SelectorField,
    pointer: Pointer,
    what: &str,
) {
    let text = field.raw.value.trim();
    sink.at(
        res.location(field.raw.span),
        format!(
            "`namespaceSelector: {text}` is also true for things without namespace labels, so {what} every HostEndpoint and GlobalNetworkSet too, not only namespaces that match"
        ),
    )
    .in_resource(res, &pointer)
    .note("Calico prefixes the selector with `pcns.` and evaluates it on endpoint labels; host endpoints and global network sets carry no `pcns.*` labels (all versions)")
    .note(format!(
        "help: write `({text}) && has(projectcalico.org/name)` to limit it to namespaced endpoints"
    ))
    .emit();
}

impl Lint for NamespaceSelectorMatchesHostEndpoints {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (res, policy) in calico_policies(project) {
            if let Some(f) = policy
                .namespace_selector
                .as_ref()
                .filter(|f| matches_unnamespaced(f))
            {
                report(
                    sink,
                    res,
                    f,
                    "/spec/namespaceSelector".into(),
                    "the policy selects",
                );
            }
        }
        for at in calico_rules(project) {
            for (side, e) in at.entities() {
                if let Some(f) = e
                    .namespace_selector
                    .as_ref()
                    .filter(|f| matches_unnamespaced(f))
                {
                    let pointer = at.rule.pointer.child(side).child("namespaceSelector");
                    report(sink, at.resource, f, pointer, "the rule matches");
                }
            }
        }
    }
}
