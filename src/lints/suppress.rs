//! Suppressions: `calint.io/ignore` annotations that silence findings of their own resource.
//!
//! Two spellings are read from `metadata.annotations`:
//!
//! - `calint.io/ignore: "CAL201, unknown-tier — reason"`: codes or lint names, then a reason
//!   after an em dash, ` - ` or `:`;
//! - `calint.io/ignore-CAL201: "reason"`: one code or name in the key, the value is the reason.
//!
//! Suppression is applied once, after every lint ran (see [`super::run_all`]), so it works for
//! every lint without the lints knowing about it. A finding is suppressed when its `resource` is
//! the annotated resource *and* it is located in the same file (two definitions of one resource
//! in different files are different suppression scopes). What the annotations themselves get
//! wrong (no reason, unknown code, suppressing nothing) is reported by CAL005 and CAL006, which
//! read the [`Suppressions`] after they were applied.

use super::{LintMeta, LintSettings, REGISTRY};
use crate::finding::{Finding, ResourceRef};
use crate::model::resource::Resource;
use crate::project::Project;
use crate::source::{FileId, Span, Spanned};
use std::collections::BTreeMap;

/// The annotation naming codes in its value.
pub const IGNORE: &str = "calint.io/ignore";
/// Prefix of the per-code spelling (`calint.io/ignore-CAL201`).
pub const IGNORE_PREFIX: &str = "calint.io/ignore-";
/// Every annotation key in this domain is calint's; unknown ones are reported (typos).
pub const DOMAIN: &str = "calint.io/";

/// Lints about suppressions cannot be suppressed by annotation: a suppression would silence the
/// report about itself. They can be turned off in `.calint.yaml`.
pub const UNSUPPRESSIBLE: &[&str] = &["CAL005", "CAL006"];

/// Everything the annotations of the analyzed resources say about suppression.
#[derive(Debug, Default)]
pub struct Suppressions {
    pub annotations: Vec<Suppression>,
    /// `calint.io/…` keys that are not a suppression (typos such as `calint.io/ingore`).
    pub unknown_keys: Vec<UnknownKey>,
}

/// One `calint.io/ignore…` annotation of one resource.
#[derive(Debug)]
pub struct Suppression {
    pub file: FileId,
    pub resource: ResourceRef,
    pub key: Spanned<String>,
    pub value: Spanned<String>,
    /// The justification; `None` when absent or blank (CAL005).
    pub reason: Option<String>,
    pub codes: Vec<SuppressedCode>,
}

/// One code (or lint name) named by a suppression.
#[derive(Debug)]
pub struct SuppressedCode {
    /// As written.
    pub text: String,
    /// Where it is written: inside the key or value when that can be located exactly, else the
    /// whole value.
    pub span: Span,
    /// The lint it names, when it names one.
    pub lint: Option<&'static LintMeta>,
    /// Whether that lint ran in this configuration.
    pub enabled: bool,
    /// How many findings this entry suppressed.
    pub used: usize,
    /// A finding it would have suppressed was already suppressed by an earlier entry.
    pub redundant: bool,
}

#[derive(Debug)]
pub struct UnknownKey {
    pub file: FileId,
    pub resource: ResourceRef,
    pub key: Spanned<String>,
}

impl SuppressedCode {
    /// The code this entry can suppress, when it can suppress anything at all.
    fn target(&self) -> Option<&'static str> {
        self.lint
            .map(|m| m.code)
            .filter(|code| self.enabled && !UNSUPPRESSIBLE.contains(code))
    }
}

/// Read the suppression annotations of every resource.
pub fn collect(project: &Project, settings: &LintSettings) -> Suppressions {
    let mut out = Suppressions::default();
    for res in &project.resources {
        let text = project
            .sources
            .get(res.file)
            .map_or("", |s| s.text.as_str());
        for (key, value) in &res.meta.annotations {
            if let Some(s) = read_annotation(res, key, value, text, settings) {
                out.annotations.push(s);
            } else if key.value.starts_with(DOMAIN) {
                out.unknown_keys.push(UnknownKey {
                    file: res.file,
                    resource: res.reference(),
                    key: key.clone(),
                });
            }
        }
    }
    out
}

fn read_annotation(
    res: &Resource,
    key: &Spanned<String>,
    value: &Spanned<String>,
    text: &str,
    settings: &LintSettings,
) -> Option<Suppression> {
    let (codes, reason) = if key.value == IGNORE {
        let (list, reason) = split_reason(&value.value);
        let base = located_offset(text, value);
        let codes = code_tokens(list)
            .into_iter()
            .map(|(offset, code)| {
                let span = base.map_or(value.span, |b| {
                    Span::new(b + offset, b + offset + code.len())
                });
                entry(code, span, settings)
            })
            .collect();
        (codes, reason)
    } else {
        let code = key.value.strip_prefix(IGNORE_PREFIX)?;
        let span = located_offset(text, key).map_or(key.span, |b| {
            Span::new(b + IGNORE_PREFIX.len(), b + key.value.len())
        });
        let codes = if code.trim().is_empty() {
            Vec::new()
        } else {
            vec![entry(code, span, settings)]
        };
        (codes, non_blank(&value.value))
    };
    Some(Suppression {
        file: res.file,
        resource: res.reference(),
        key: key.clone(),
        value: value.clone(),
        reason,
        codes,
    })
}

fn entry(text: &str, span: Span, settings: &LintSettings) -> SuppressedCode {
    let lint = super::find(text).map(|l| l.meta());
    SuppressedCode {
        text: text.to_string(),
        span,
        lint,
        enabled: lint.is_some_and(|m| settings.severity(m).is_some()),
        used: 0,
        redundant: false,
    }
}

/// Separators between the code list and the reason, in the order they are tried at the same
/// position. Lint names contain `-` but never ` - `, and codes never contain `:`.
const SEPARATORS: &[&str] = &["\u{2014}", "\u{2013}", " -- ", " - ", ":"];

/// Split `CAL201, CAL203 — reason` into the code list and the reason (the earliest separator
/// wins).
pub fn split_reason(value: &str) -> (&str, Option<String>) {
    let first = SEPARATORS
        .iter()
        .filter_map(|sep| value.find(sep).map(|at| (at, sep.len())))
        .min_by_key(|(at, _)| *at);
    match first {
        Some((at, len)) => {
            let list = value.get(..at).unwrap_or(value);
            let reason = value.get(at + len..).and_then(non_blank);
            (list, reason)
        }
        None => (value, None),
    }
}

fn non_blank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The codes of a list, with their byte offsets in it; separated by commas and/or whitespace.
fn code_tokens(list: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    let is_sep = |c: char| c == ',' || c.is_whitespace();
    for (i, c) in list
        .char_indices()
        .chain(std::iter::once((list.len(), ',')))
    {
        match (is_sep(c), start) {
            (true, Some(s)) => {
                if let Some(token) = list.get(s..i) {
                    out.push((s, token));
                }
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// Byte offset in the file where the scalar's *value* starts, when the source text spells the
/// value verbatim (plain, or quoted without escapes). Lets a message underline one code of a
/// list instead of the whole value.
fn located_offset(text: &str, scalar: &Spanned<String>) -> Option<usize> {
    let raw = text.get(scalar.span.range())?;
    if raw == scalar.value {
        return Some(scalar.span.start);
    }
    for quote in ['"', '\''] {
        let inner = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote));
        if inner == Some(scalar.value.as_str()) {
            return Some(scalar.span.start + quote.len_utf8());
        }
    }
    None
}

/// Remove the findings the annotations suppress; count them and mark what was used. Each
/// finding is charged to the first matching entry; later entries that match it too are marked
/// redundant (and reported by CAL006).
pub fn apply(suppressions: &mut Suppressions, findings: Vec<Finding>) -> (Vec<Finding>, usize) {
    let mut scopes: BTreeMap<(FileId, ResourceRef), Vec<usize>> = BTreeMap::new();
    for (i, s) in suppressions.annotations.iter().enumerate() {
        scopes
            .entry((s.file, s.resource.clone()))
            .or_default()
            .push(i);
    }
    let mut kept = Vec::with_capacity(findings.len());
    let mut suppressed = 0;
    for finding in findings {
        let scope = finding
            .resource
            .as_ref()
            .and_then(|r| scopes.get(&(finding.location.file, r.clone())));
        let mut matched = false;
        for &i in scope.into_iter().flatten() {
            let Some(s) = suppressions.annotations.get_mut(i) else {
                continue;
            };
            for code in s.codes.iter_mut() {
                if code.target() == Some(finding.code) {
                    if matched {
                        code.redundant = true;
                    } else {
                        code.used += 1;
                        matched = true;
                    }
                }
            }
        }
        if matched {
            suppressed += 1;
        } else {
            kept.push(finding);
        }
    }
    (kept, suppressed)
}

/// The names and codes a suppression may use, for "did you mean".
pub fn known_names() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .flat_map(|l| [l.meta().code, l.meta().name])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_follow_any_separator() {
        let cases = [
            ("CAL201,CAL203 — reason", "CAL201,CAL203 ", Some("reason")),
            ("CAL201—reason", "CAL201", Some("reason")),
            ("CAL201 - a - b", "CAL201", Some("a - b")),
            (
                "shadowed-rule: why: because",
                "shadowed-rule",
                Some("why: because"),
            ),
            ("CAL201", "CAL201", None),
            ("CAL201 — ", "CAL201 ", None),
            ("CAL201 -- legacy", "CAL201", Some("legacy")),
        ];
        for (value, list, reason) in cases {
            let (l, r) = split_reason(value);
            assert_eq!((l, r.as_deref()), (list, reason), "{value}");
        }
    }

    #[test]
    fn tokens_keep_offsets() {
        let t = code_tokens("CAL201, CAL203  x");
        assert_eq!(t, vec![(0, "CAL201"), (8, "CAL203"), (16, "x")]);
    }

    #[test]
    fn value_offsets_only_when_verbatim() {
        let text = "a: \"CAL1 x\"\nb: 'it''s'\nc: plain\n";
        let s = |start, end, v: &str| Spanned::new(v.to_string(), Span::new(start, end));
        assert_eq!(located_offset(text, &s(3, 11, "CAL1 x")), Some(4));
        assert_eq!(located_offset(text, &s(15, 22, "it's")), None);
        assert_eq!(located_offset(text, &s(26, 31, "plain")), Some(26));
    }
}
