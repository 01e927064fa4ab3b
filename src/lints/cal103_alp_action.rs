//! CAL103 alp-action: a rule with application-layer match criteria whose action is not Allow.

use super::LintContext;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::{Action, Body, Rule};

pub struct AlpAction;

static META: LintMeta = LintMeta {
    code: "CAL103",
    name: "alp-action",
    default_severity: Severity::Error,
    summary: "A rule with HTTP match criteria has an action other than Allow",
    doc: include_str!("../../rules/CAL103.md"),
};

impl Lint for AlpAction {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for res in &project.resources {
            let rules: Vec<&Rule> = match &res.body {
                Body::Policy(p) => p.ingress.iter().chain(&p.egress).collect(),
                Body::Profile(p) => p.ingress.iter().chain(&p.egress).collect(),
                _ => continue,
            };
            for rule in rules {
                if rule.http.is_none() {
                    continue;
                }
                let Some(action) = &rule.action else { continue };
                // Unknown actions are reported by CAL002; only valid non-Allow actions here.
                if matches!(rule.action(), Some(Action::Allow) | None) {
                    continue;
                }
                sink.at(
                    res.location(action.span),
                    format!(
                        "rule with HTTP match criteria has action `{}`; application layer policy only supports `Allow`",
                        action.value
                    ),
                )
                .in_resource(res, &rule.pointer.child("action"))
                .note("help: use `action: Allow`, or drop the `http` block and deny at layer 4")
                .emit();
            }
        }
    }
}
