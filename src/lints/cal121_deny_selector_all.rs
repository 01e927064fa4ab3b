//! CAL121 deny-selector-all: a `Deny` rule whose only peer constraint is `selector: all()` or
//! `namespaceSelector: all()`, which reads as "deny everything" but only matches Calico
//! endpoints and network sets (spec W-03).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Action, EntityRule, SelectorField};

pub struct DenySelectorAll;

static META: LintMeta = LintMeta {
    code: "CAL121",
    name: "deny-selector-all",
    default_severity: Severity::Warning,
    summary: "A Deny rule matches `selector: all()`, which covers Calico endpoints only, not every address",
    doc: include_str!("../../rules/CAL121.md"),
};

fn written_all(s: Option<&SelectorField>) -> Option<&SelectorField> {
    s.filter(|s| !s.is_empty() && s.selector().is_some_and(|p| p.is_all()))
}

/// The entity's identity is nothing but explicit `all()` selectors: no nets, no negations, no
/// service accounts or services.
fn only_all(e: &EntityRule) -> Option<&SelectorField> {
    let sel = written_all(e.selector.as_ref());
    let ns = written_all(e.namespace_selector.as_deref());
    let other_sel = |s: Option<&SelectorField>, w: Option<&SelectorField>| {
        s.is_some_and(|f| !f.is_empty()) && w.is_none()
    };
    if other_sel(e.selector.as_ref(), sel)
        || other_sel(e.namespace_selector.as_deref(), ns)
        || e.not_selector.as_ref().is_some_and(|s| !s.is_empty())
        || !e.nets.is_empty()
        || !e.not_nets.is_empty()
        || e.service_accounts.is_some()
        || e.services.is_some()
    {
        return None;
    }
    sel.or(ns)
}

impl Lint for DenySelectorAll {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            if at.rule.action() != Some(Action::Deny) {
                continue;
            }
            for (side, e) in at.entities() {
                let Some(field) = only_all(e) else { continue };
                let ns_all = written_all(e.namespace_selector.as_deref()).is_some();
                let scope = match (at.namespace(), ns_all) {
                    (_, true) => "endpoints and network sets in every namespace".to_string(),
                    (Some(ns), false) => format!("endpoints and network sets in namespace `{ns}`"),
                    (None, false) => "Calico endpoints and network sets".to_string(),
                };
                let peer = if side == "source" {
                    "sources"
                } else {
                    "destinations"
                };
                sink.at(
                    at.resource.location(field.raw.span),
                    format!(
                        "this Deny matches only {scope}, not every address: {peer} outside them (other namespaces, host endpoints, external IPs) are not denied by it"
                    ),
                )
                .in_resource(at.resource, &at.rule.pointer.child(side))
                .note(format!(
                    "help: to deny every address, omit `{side}` selectors (a rule with no selector matches any IP); keep `all()` only if Calico endpoints are what you mean"
                ))
                .emit();
            }
        }
    }
}
