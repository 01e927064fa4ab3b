//! CAL205 generalization: A later rule with a different action contains an earlier rule (see [`crate::analysis::anomaly`]).

use super::LintContext;
use super::semantic::{analysis, located_pairs};
use super::{Lint, LintMeta, Sink};
use crate::analysis::anomaly::PairKind;
use crate::finding::Severity;

pub struct Generalization;

static META: LintMeta = LintMeta {
    code: "CAL205",
    name: "generalization",
    default_severity: Severity::Info,
    summary: "A later rule with a different action contains an earlier rule",
    doc: include_str!("../../rules/CAL205.md"),
};

impl Lint for Generalization {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for (earlier, later) in located_pairs(project, a, PairKind::Generalization) {
            sink.at(
                earlier.location(),
                format!(
                    "rule is an exception to later rule {} ({}): that rule matches every packet this one decides, with a different action, so this `{}` only takes effect because it comes first",
                    later.rule.pointer,
                    later.action(),
                    earlier.action()
                ),
            )
            .in_resource(earlier.resource, &earlier.rule.pointer)
            .related(later.related(format!("contains it, with action {}", later.action())))
            .note("usually intended (a specific exception before a general rule); reordering the two rules would silently remove the exception")
            .note("help: if the exception is intended, keep the order and say so in a rule annotation; if not, delete this rule")
            .emit();
        }
    }
}
