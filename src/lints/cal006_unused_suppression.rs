//! CAL006 unused-suppression: a `calint.io/ignore` annotation, or one code in it, that
//! suppresses nothing: the finding is gone, the code is unknown, or the lint is turned off.

use super::LintContext;
use super::Pointer;
use super::suppress::{self, SuppressedCode, Suppression, Suppressions};
use super::{Lint, LintMeta, Sink};
use crate::finding::{Location, Severity};
use crate::model::lower::reader::did_you_mean;

pub struct UnusedSuppression;

static META: LintMeta = LintMeta {
    code: "CAL006",
    name: "unused-suppression",
    default_severity: Severity::Info,
    summary: "A calint.io/ignore annotation suppresses nothing (no such finding, or unknown code)",
    doc: include_str!("../../rules/CAL006.md"),
};

impl Lint for UnusedSuppression {
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
        for s in &suppressions.annotations {
            if s.codes.is_empty() {
                report(
                    sink,
                    s,
                    s.value.span,
                    format!("suppression `{}` names no lint code", s.key.value),
                    "name the codes or lint names to suppress, e.g. `calint.io/ignore: \"CAL101 — reason\"` or `calint.io/ignore-CAL101: \"reason\"`".to_string(),
                );
            }
            for code in s.codes.iter().filter(|c| c.used == 0) {
                let (message, help) = explain(s, code);
                report(sink, s, code.span, message, help);
            }
        }
        for u in &suppressions.unknown_keys {
            let known = [suppress::IGNORE];
            let help = match did_you_mean(&u.key.value, &known) {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!(
                    "calint reads `{}` and `{}<CODE>`",
                    suppress::IGNORE,
                    suppress::IGNORE_PREFIX
                ),
            };
            sink.at(
                Location::new(u.file, u.key.span),
                format!(
                    "unknown calint annotation `{}`; it suppresses nothing",
                    u.key.value
                ),
            )
            .resource(u.resource.clone())
            .pointer(Pointer::of(&["metadata", "annotations", &u.key.value]))
            .note(format!("help: {help}"))
            .emit();
        }
    }
}

/// Why this code suppressed nothing, and what to do about it.
fn explain(s: &Suppression, code: &SuppressedCode) -> (String, String) {
    let text = &code.text;
    match code.lint {
        None => {
            let known = suppress::known_names();
            let mut help = match did_you_mean(text, &known) {
                Some(k) => format!("did you mean `{k}`?"),
                None => "`calint rules` lists the codes and names".to_string(),
            };
            if s.key.value == suppress::IGNORE && s.reason.is_none() {
                help.push_str(" (separate the reason from the codes with ` — `, ` - ` or `:`)");
            }
            (
                format!(
                    "`{text}` in suppression `{}` is not a calint lint code or name",
                    s.key.value
                ),
                help,
            )
        }
        Some(m) if suppress::UNSUPPRESSIBLE.contains(&m.code) => (
            format!("{} ({}) cannot be suppressed by annotation", m.code, m.name),
            format!(
                "turn it off in .calint.yaml instead: `rules: {{{}: off}}`",
                m.code
            ),
        ),
        Some(m) if !code.enabled => (
            format!(
                "suppression of {} ({}) has no effect: the lint is turned off",
                m.code, m.name
            ),
            "remove the suppression, or turn the lint back on".to_string(),
        ),
        Some(m) if code.redundant => (
            format!(
                "suppression of {} ({}) is redundant: an earlier suppression on {} already covers it",
                m.code, m.name, s.resource
            ),
            "keep one suppression per code".to_string(),
        ),
        Some(m) => (
            format!(
                "suppression of {} ({}) is unused: {} has no such finding",
                m.code, m.name, s.resource
            ),
            "remove it, so it cannot hide a future finding".to_string(),
        ),
    }
}

fn report(
    sink: &mut Sink<'_>,
    s: &Suppression,
    span: crate::source::Span,
    message: String,
    help: String,
) {
    sink.at(Location::new(s.file, span), message)
        .resource(s.resource.clone())
        .pointer(Pointer::of(&["metadata", "annotations", &s.key.value]))
        .note(format!("help: {help}"))
        .emit();
}
