//! CAL206 correlation: Two rules with different actions overlap partly; their order decides the overlap (see [`crate::analysis::anomaly`]).

use super::LintContext;
use super::semantic::{analysis, located_pairs};
use super::{Lint, LintMeta, Sink};
use crate::analysis::anomaly::PairKind;
use crate::finding::Severity;

pub struct Correlation;

static META: LintMeta = LintMeta {
    code: "CAL206",
    name: "correlation",
    default_severity: Severity::Warning,
    summary: "Two rules with different actions overlap partly; their order decides the overlap",
    doc: include_str!("../../rules/CAL206.md"),
};

impl Lint for Correlation {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for (earlier, later) in located_pairs(project, a, PairKind::Correlation) {
            sink.at(
                later.location(),
                format!(
                    "rule overlaps partly with earlier rule {} ({}): packets matched by both get `{}` only because that rule comes first, while each rule also matches packets the other does not",
                    earlier.rule.pointer,
                    earlier.action(),
                    earlier.action()
                ),
            )
            .in_resource(later.resource, &later.rule.pointer)
            .related(earlier.related(format!("decides the overlap first, with action {}", earlier.action())))
            .note("help: make the overlap explicit: narrow one rule so the two no longer overlap, or add a rule for the overlapping traffic before both")
            .emit();
        }
    }
}
