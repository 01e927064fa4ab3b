//! CAL130 http-needs-alp: an ingress rule's `http` match is enforced only by application layer
//! policy; without it the rule matches all its L4 traffic (spec W-10, §5).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Action, Direction};

pub struct HttpNeedsAlp;

static META: LintMeta = LintMeta {
    code: "CAL130",
    name: "http-needs-alp",
    default_severity: Severity::Info,
    summary: "`http` is enforced only with application layer policy; otherwise the rule ignores it",
    doc: include_str!("../../rules/CAL130.md"),
};

impl Lint for HttpNeedsAlp {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            // Egress `http` and `http` on other actions are rejected outright (CAL102, CAL103).
            if at.direction != Direction::Ingress || at.rule.action() != Some(Action::Allow) {
                continue;
            }
            let Some(http) = &at.rule.http else { continue };
            let mut what: Vec<String> = Vec::new();
            if !http.methods.is_empty() {
                let m: Vec<&str> = http.methods.iter().map(|m| m.value.as_str()).collect();
                what.push(format!("methods {}", m.join(", ")));
            }
            if !http.paths.is_empty() {
                what.push("paths".into());
            }
            let what = if what.is_empty() {
                "HTTP criteria".to_string()
            } else {
                what.join(" and ")
            };
            sink.at(
                at.resource.location(http.span),
                format!(
                    "`http` is enforced only where application layer policy runs (Istio with the Dikastes sidecar); elsewhere Felix ignores it and this `Allow` rule allows all traffic its other fields match, whatever the {what}"
                ),
            )
            .in_resource(at.resource, &at.rule.pointer.child("http"))
            .note("help: make sure ALP is enabled for the selected pods (Felix `policySyncPathPrefix`, Dikastes injected); if it is not, restrict the rule with `protocol`/`ports` or remove `http` so the rule says what it does")
            .emit();
        }
    }
}
