//! CAL139 dead-selector-alternative: one side of an `||` in a selector can never match while
//! the selector as a whole can, so that alternative is dead code.

use super::LintContext;
use super::pitfall::{calico_policies, selector_fields};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct DeadSelectorAlternative;

static META: LintMeta = LintMeta {
    code: "CAL139",
    name: "dead-selector-alternative",
    default_severity: Severity::Warning,
    summary: "One alternative of an `||` in a selector can never match",
    doc: include_str!("../../rules/CAL139.md"),
};

impl Lint for DeadSelectorAlternative {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (res, policy) in calico_policies(project) {
            for (pointer, field, _) in selector_fields(policy) {
                let Some(sel) = field.selector() else {
                    continue;
                };
                for (alt, why) in sel.dead_alternatives() {
                    sink.at(
                        res.location(field.raw.span),
                        format!(
                            "the alternative `{alt}` of this selector can never match ({why}), so only the other alternatives select anything; it usually hides a typo (`&&` for `||`, or the wrong label)"
                        ),
                    )
                    .in_resource(res, &pointer)
                    .note("help: fix the alternative to say what was meant, or delete it")
                    .emit();
                }
            }
        }
    }
}
