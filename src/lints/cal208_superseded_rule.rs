//! CAL208 superseded-rule: An earlier rule is made pointless by a later, broader rule with the same action (see [`crate::analysis::anomaly`]).

use super::LintContext;
use super::semantic::{analysis, located_pairs};
use super::{Lint, LintMeta, Sink};
use crate::analysis::anomaly::PairKind;
use crate::finding::Severity;

pub struct SupersededRule;

static META: LintMeta = LintMeta {
    code: "CAL208",
    name: "superseded-rule",
    default_severity: Severity::Info,
    summary: "An earlier rule is made pointless by a later, broader rule with the same action",
    doc: include_str!("../../rules/CAL208.md"),
};

impl Lint for SupersededRule {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for (earlier, later) in located_pairs(project, a, PairKind::Superseded) {
            sink.at(
                earlier.location(),
                format!(
                    "rule is pointless: later rule {} ({}) matches every packet this rule decides, and no rule in between decides them differently, so deleting this rule changes nothing",
                    later.rule.pointer,
                    later.action()
                ),
            )
            .in_resource(earlier.resource, &earlier.rule.pointer)
            .related(later.related(format!("decides the same packets with action {}", later.action())))
            .note("help: delete this rule, or narrow the later rule if it is broader than intended")
            .emit();
        }
    }
}
