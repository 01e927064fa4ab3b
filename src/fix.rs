//! `calint check --fix`: the mechanical fixes whose exact replacement a finding's help text
//! already names, applied to the YAML in place by splicing bytes at the spans calint read, so
//! comments, key order, quoting and formatting elsewhere stay byte-identical.
//!
//! Fixes ([`attach`] puts them on findings; SARIF shows them as `fixes`):
//! - a CIDR with host bits set (CAL002): the network address replaces the literal;
//! - a port range written `80-90` (CAL002): `80:90`;
//! - a misspelled field with a unique closest name (CAL002): the key is renamed;
//! - a duplicate entry of a list that is a set (CAL002): the entry is removed;
//! - policy `types` left to defaulting (CAL101): `types: [...]` is written as the first key
//!   of the spec, with its indentation.
//!
//! [`plan`] never touches a file with a YAML problem (syntax errors, duplicate keys), a file
//! that changed since it was read, standard input or rendered output, and drops a file's edits
//! when they overlap or when the fixed text would parse with more problems than before.
//!
//! Layer 8: uses `project` and below (findings, sources).

use crate::finding::{Edit, Finding, Fix};
use crate::load::tree::Node;
use crate::load::yaml::{self, ParseLimits};
use crate::project::Project;
use crate::source::{FileId, Span};
use std::collections::BTreeMap;

/// The text between the first `` ` `` after `after` and the next `` ` ``.
fn quoted_after<'a>(text: &'a str, after: &str) -> Option<&'a str> {
    let rest = &text[text.find(after)? + after.len()..];
    let start = rest.find('`')? + 1;
    let len = rest[start..].find('`')?;
    rest.get(start..start + len)
}

/// The first line of the finding's help starting with `prefix` (written as the text formats
/// show it: `help: …`), without it.
fn help<'a>(f: &'a Finding, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.strip_prefix("help: ").unwrap_or(prefix);
    f.help
        .as_deref()?
        .lines()
        .find_map(|h| h.strip_prefix(prefix))
}

/// Replace `old` with `new` inside `span` of `text` (quotes around a scalar stay).
fn replace_in(text: &str, span: Span, old: &str, new: &str) -> Option<(Span, String)> {
    let inner = text.get(span.range())?;
    let at = inner.find(old)?;
    Some((
        Span::new(span.start + at, span.start + at + old.len()),
        new.to_string(),
    ))
}

/// The fix for one finding, if it is one calint knows how to make.
fn derive(project: &Project, f: &Finding) -> Option<Fix> {
    let src = project.sources.get(f.location.file)?;
    let text = src.text.as_str();
    let span = f.location.span;
    let (description, (span, replacement)) = if f.code == "CAL002" {
        let m = f.message.as_str();
        if m.contains("host bits are set") {
            let old = quoted_after(m, "invalid CIDR")?;
            let new = quoted_after(m, "did you mean")?;
            (
                format!("write the network address `{new}`"),
                replace_in(text, span, old, new)?,
            )
        } else if m.starts_with("invalid port name") {
            let old = quoted_after(m, "invalid port name")?;
            let new = quoted_after(help(f, "help: ")?, "use")?;
            if new != old.replacen('-', ":", 1) {
                return None;
            }
            (
                format!("write the range as `{new}`"),
                replace_in(text, span, old, new)?,
            )
        } else if m.starts_with("unknown field") {
            let old = quoted_after(m, "unknown field")?;
            let h = help(f, "help: did you mean `")?;
            let new = h.strip_suffix("`?")?;
            if new.contains('`') || text.get(span.range())? != old {
                return None;
            }
            (
                format!("rename `{old}` to `{new}`"),
                (span, new.to_string()),
            )
        } else if m.starts_with("duplicate entry") {
            let entry = quoted_after(m, "duplicate entry").unwrap_or_default();
            (
                format!("remove the duplicate entry `{entry}`"),
                remove_item(text, span)?,
            )
        } else {
            return None;
        }
    } else if f.code == "CAL101" {
        let types = quoted_after(help(f, "help: ")?, "write")?;
        if !types.starts_with("types: [") {
            return None;
        }
        (format!("write `{types}`"), insert_types(project, f, types)?)
    } else {
        return None;
    };
    Some(Fix {
        description,
        edits: vec![Edit {
            file: f.location.file,
            span,
            replacement,
        }],
    })
}

/// The edit that removes one item of a sequence: its whole line in a block sequence
/// (`- x` alone on it), or the item and the comma before it in a flow sequence.
fn remove_item(text: &str, span: Span) -> Option<(Span, String)> {
    let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..span.start)?;
    let line_end = text
        .get(span.end..)?
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    let after = text.get(span.end..line_end)?;
    let dash = before.trim_start();
    if dash.trim_end() == "-" && after.trim().is_empty() {
        return Some((Span::new(line_start, line_end), String::new()));
    }
    // Flow: `[a, b, a]`: remove `, a`.
    let comma = before.trim_end().ends_with(',');
    if comma {
        let start = text.get(..span.start)?.trim_end().len() - 1;
        return Some((Span::new(start, span.end), String::new()));
    }
    None
}

/// Find the node at a JSON pointer (`/spec`, `/items/3`).
fn node_at<'a>(root: &'a Node, pointer: &str) -> Option<&'a Node> {
    let mut node = root;
    for token in crate::pointer::tokens(pointer) {
        node = match (node.as_map(), node.as_seq()) {
            (Some(_), _) => node.get(&token)?,
            (_, Some(seq)) => seq.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Insert `types: [...]` before the first key of the policy's block-style spec.
fn insert_types(project: &Project, f: &Finding, types: &str) -> Option<(Span, String)> {
    let src = project.sources.get(f.location.file)?;
    let res = project.resources.iter().find(|r| {
        r.file == f.location.file
            && r.span.start <= f.location.span.start
            && f.location.span.end <= r.span.end
    })?;
    let parsed = yaml::parse(&src.text, &ParseLimits::default());
    let doc = parsed.documents.iter().find(|d| d.index == res.document)?;
    let spec = node_at(&doc.root, &res.base_pointer.child("spec"))?;
    if spec.get("types").is_some() {
        return None;
    }
    let first = spec.as_map()?.first()?;
    let at = first.key.span.start;
    let line_start = src.text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let indent = src.text.get(line_start..at)?;
    // Block mappings only: the first key starts its line after spaces.
    if !indent.bytes().all(|b| b == b' ') {
        return None;
    }
    Some((
        Span::new(line_start, line_start),
        format!("{indent}{types}\n"),
    ))
}

/// Put on each finding the fix calint can make for it.
pub fn attach(project: &Project, findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        if f.fixes.is_empty() {
            if let Some(fix) = derive(project, f) {
                f.fixes.push(fix);
            }
        }
    }
}

/// What `--fix` will do (or did) to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFix {
    pub file: FileId,
    /// The file's name as displayed.
    pub name: String,
    pub before: String,
    pub after: String,
    /// Descriptions of the fixes applied, in file order.
    pub applied: Vec<String>,
}

/// A file whose findings have fixes that were not applied, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub name: String,
    pub reason: String,
}

/// The edits `--fix` makes, file by file, and the files it refuses to touch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<FileFix>,
    pub refused: Vec<Refused>,
}

/// Plan the fixes of `findings`.
pub fn plan(project: &Project, findings: &[Finding]) -> Plan {
    let mut by_file: BTreeMap<FileId, Vec<(&Edit, &str)>> = BTreeMap::new();
    for f in findings {
        // A fix is applied whole or not at all; one edit per fix is all calint makes today.
        for fix in &f.fixes {
            if let [edit] = fix.edits.as_slice() {
                by_file
                    .entry(edit.file)
                    .or_default()
                    .push((edit, &fix.description));
            }
        }
    }
    let mut plan = Plan::default();
    for (file, mut edits) in by_file {
        let Some(src) = project.sources.get(file) else {
            continue;
        };
        let refuse = |reason: &str| Refused {
            name: src.name.clone(),
            reason: reason.to_string(),
        };
        if project.file_problems.iter().any(|p| p.file == file) {
            plan.refused
                .push(refuse("the file has a YAML error; fix that first"));
            continue;
        }
        match std::fs::read(&src.path) {
            Ok(bytes) if bytes == src.text.as_bytes() => {}
            Ok(_) => {
                plan.refused.push(refuse(
                    "the file changed since it was read (or is not UTF-8 text)",
                ));
                continue;
            }
            Err(_) => {
                plan.refused.push(refuse("not a file calint can write"));
                continue;
            }
        }
        edits.sort_by_key(|(e, _)| (e.span.start, e.span.end));
        edits.dedup_by(|a, b| a.0 == b.0);
        // Keep edits that do not overlap an earlier one.
        let mut kept: Vec<(&Edit, &str)> = Vec::new();
        for e in edits {
            let overlaps = kept
                .last()
                .is_some_and(|(k, _)| e.0.span.start < k.span.end);
            if !overlaps {
                kept.push(e);
            }
        }
        let mut after = src.text.clone();
        let mut ok = true;
        for (e, _) in kept.iter().rev() {
            if after.get(e.span.range()).is_none() {
                ok = false;
                break;
            }
            after.replace_range(e.span.range(), &e.replacement);
        }
        let problems = |t: &str| yaml::parse(t, &ParseLimits::default()).problems.len();
        if !ok || problems(&after) > problems(&src.text) {
            plan.refused.push(refuse(
                "the fixed text would not parse as cleanly; nothing was changed",
            ));
            continue;
        }
        plan.files.push(FileFix {
            file,
            name: src.name.clone(),
            before: src.text.clone(),
            after,
            applied: kept.iter().map(|(_, d)| d.to_string()).collect(),
        });
    }
    plan
}

impl Plan {
    /// A unified diff of every planned edit.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let diff = similar::TextDiff::from_lines(&f.before, &f.after);
            out.push_str(
                &diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{}", f.name), &format!("b/{}", f.name))
                    .to_string(),
            );
        }
        out
    }

    /// Write every planned file (a temporary file renamed over the original, so a crash
    /// leaves either the old or the new text). Returns the files written.
    pub fn write(&self, project: &Project) -> Result<usize, String> {
        for f in &self.files {
            let Some(src) = project.sources.get(f.file) else {
                continue;
            };
            let tmp = src.path.with_extension("calint-fix.tmp");
            std::fs::write(&tmp, &f.after)
                .and_then(|()| {
                    if let Ok(meta) = std::fs::metadata(&src.path) {
                        std::fs::set_permissions(&tmp, meta.permissions())?;
                    }
                    std::fs::rename(&tmp, &src.path)
                })
                .map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    format!("cannot write {}: {e}", src.name)
                })?;
        }
        Ok(self.files.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_block_and_flow_items() {
        let text = "nets:\n  - a\n  - b\n  - a\n";
        let at = text.rfind('a').unwrap_or(0);
        let (span, rep) = remove_item(text, Span::new(at, at + 1)).unwrap_or_default();
        let mut t = text.to_string();
        t.replace_range(span.range(), &rep);
        assert_eq!(t, "nets:\n  - a\n  - b\n");
        let text = "nets: [a, b, a]\n";
        let at = text.rfind('a').unwrap_or(0);
        let (span, rep) = remove_item(text, Span::new(at, at + 1)).unwrap_or_default();
        let mut t = text.to_string();
        t.replace_range(span.range(), &rep);
        assert_eq!(t, "nets: [a, b]\n");
    }

    #[test]
    fn quoted_text() {
        assert_eq!(
            quoted_after("invalid CIDR `1.2.3.4/8`: x `y`", "invalid CIDR"),
            Some("1.2.3.4/8")
        );
        assert_eq!(quoted_after("no quotes", "no"), None);
    }
}
