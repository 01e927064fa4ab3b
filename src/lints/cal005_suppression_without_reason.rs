//! CAL005 suppression-without-reason: a `calint.io/ignore` annotation that does not say why.

use super::LintContext;
use super::Pointer;
use super::suppress::Suppressions;
use super::{Lint, LintMeta, Sink};
use crate::finding::{Location, Severity};

pub struct SuppressionWithoutReason;

static META: LintMeta = LintMeta {
    code: "CAL005",
    name: "suppression-without-reason",
    default_severity: Severity::Warning,
    summary: "A calint.io/ignore annotation gives no reason for the suppression",
    doc: include_str!("../../rules/CAL005.md"),
};

impl Lint for SuppressionWithoutReason {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    // Everything happens after suppression, in `check_suppressions`.
    fn check_suppressions(
        &self,
        _project: &LintContext<'_>,
        suppressions: &Suppressions,
        sink: &mut Sink<'_>,
    ) {
        for s in suppressions
            .annotations
            .iter()
            .filter(|s| s.reason.is_none())
        {
            let key = &s.key.value;
            let help = if key == super::suppress::IGNORE {
                format!(
                    "write the reason after the codes: `{key}: \"{} — why this is fine\"`",
                    super::suppress::split_reason(&s.value.value).0.trim()
                )
            } else {
                format!("write the reason as the value: `{key}: \"why this is fine\"`")
            };
            sink.at(
                Location::new(s.file, s.value.span),
                format!("suppression `{key}` gives no reason"),
            )
            .resource(s.resource.clone())
            .pointer(Pointer::of(&["metadata", "annotations", key]))
            .note(format!("help: {help}"))
            .emit();
        }
    }
}
