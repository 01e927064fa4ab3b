//! Baselines: adopt calint on a repository that already has findings.
//!
//! `calint check --write-baseline FILE` records every finding of today by its line-independent
//! fingerprint ([`super::fingerprint::identity_in`]); `--baseline FILE` (or `baseline:` in
//! `.calint.yaml`) then reports only findings that are not in it, counts the ones that are, and
//! lists the entries that no longer occur so the file shrinks as people fix things.
//!
//! Files are named relative to the baseline file's directory, so the same baseline works
//! whichever directory calint runs from. Entries are a multiset: two identical findings (same
//! code, file, resource, pointer and message) need two entries, and a third is new.
//!
//! The file is JSON, sorted, one entry per finding, with the code, file, resource and message
//! next to the fingerprint so that a reviewer can read what a pull request adds to or removes
//! from it.

use super::fingerprint::identity_in;
use crate::finding::Finding;
use crate::project::Project;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version written to, and accepted in, baseline files.
pub const VERSION: u32 = 1;

/// A parsed (or freshly made) baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// One recorded finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// 16 lowercase hex digits.
    pub fingerprint: String,
    pub code: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    pub message: String,
}

/// What applying a baseline left.
#[derive(Debug, Default)]
pub struct Applied {
    /// Findings not in the baseline, in their original order.
    pub new: Vec<Finding>,
    /// How many findings the baseline matched.
    pub baselined: usize,
    /// Entries that matched no finding (fixed since the baseline was written).
    pub stale: Vec<Entry>,
}

/// How a finding's file is named in a baseline: relative to `base` (the baseline file's
/// directory) when it is under it, else as calint displays it; and the prefix that turns the
/// one into the other (`sub/` when calint runs from the parent of the baseline's directory).
fn file_name(project: &Project, f: &Finding, base: &Path, cwd: &Path) -> (String, String) {
    let Some(src) = project.sources.get(f.location.file) else {
        return (String::new(), String::new());
    };
    let abs = crate::config::absolute(&src.path, cwd);
    match abs.strip_prefix(base) {
        Ok(rel) if !rel.as_os_str().is_empty() && src.path.exists() => {
            let rel = rel.to_string_lossy().replace('\\', "/");
            let prefix = src
                .name
                .strip_suffix(rel.as_str())
                .unwrap_or_default()
                .to_string();
            (rel, prefix)
        }
        _ => (src.name.clone(), String::new()),
    }
}

fn entry(project: &Project, f: &Finding, base: &Path, cwd: &Path) -> Entry {
    let (file, prefix) = file_name(project, f, base, cwd);
    // Messages that name other files (`first at policies/a.yaml:3`) name them as displayed;
    // name them relative to the baseline too.
    let message = if prefix.is_empty() {
        f.message.clone()
    } else {
        f.message.replace(&prefix, "")
    };
    let fingerprint = if message == f.message {
        identity_in(&file, f)
    } else {
        identity_in(
            &file,
            &Finding {
                message: message.clone(),
                ..f.clone()
            },
        )
    };
    Entry {
        fingerprint: format!("{fingerprint:016x}"),
        code: f.code.to_string(),
        resource: f.resource.as_ref().map(ToString::to_string),
        view: f.view.clone(),
        message,
        file,
    }
}

impl Baseline {
    /// Today's findings, for a baseline file in directory `base` (absolute).
    pub fn from_findings(project: &Project, findings: &[Finding], base: &Path, cwd: &Path) -> Self {
        let mut findings: Vec<Entry> = findings
            .iter()
            .map(|f| entry(project, f, base, cwd))
            .collect();
        findings.sort_by(|a, b| {
            (&a.file, &a.code, &a.fingerprint, &a.message).cmp(&(
                &b.file,
                &b.code,
                &b.fingerprint,
                &b.message,
            ))
        });
        Baseline {
            version: VERSION,
            findings,
        }
    }

    /// The file's text: pretty JSON, one entry per finding, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).unwrap_or_default();
        out.push('\n');
        out
    }

    /// Read a baseline file's text.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let b: Baseline =
            serde_json::from_str(text).map_err(|e| format!("not a calint baseline: {e}"))?;
        if b.version != VERSION {
            return Err(format!(
                "baseline version {} is not supported (this calint reads version {VERSION})",
                b.version
            ));
        }
        if let Some(bad) = b.findings.iter().find(|e| {
            e.fingerprint.len() != 16 || !e.fingerprint.bytes().all(|c| c.is_ascii_hexdigit())
        }) {
            return Err(format!(
                "`{}` is not a fingerprint (16 hex digits)",
                bad.fingerprint
            ));
        }
        Ok(b)
    }

    /// Split `findings` into new ones and baselined ones; list entries no finding matched.
    pub fn apply(
        &self,
        project: &Project,
        findings: Vec<Finding>,
        base: &Path,
        cwd: &Path,
    ) -> Applied {
        let mut remaining: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
        for e in &self.findings {
            remaining
                .entry(e.fingerprint.to_ascii_lowercase())
                .or_default()
                .push(e);
        }
        let mut applied = Applied::default();
        for f in findings {
            let key = entry(project, &f, base, cwd).fingerprint;
            match remaining.get_mut(&key).and_then(Vec::pop) {
                Some(_) => applied.baselined += 1,
                None => applied.new.push(f),
            }
        }
        applied.stale = remaining.into_values().flatten().cloned().collect();
        applied.stale.sort();
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, Severity};
    use crate::source::{SourceFile, Span};

    fn finding(message: &str, start: usize) -> Finding {
        let at = Location::new(crate::source::FileId(0), Span::new(start, start + 1));
        Finding::new("CAL101", "defaulted-types", Severity::Warning, message, at)
    }

    #[test]
    fn new_baselined_and_stale() {
        let mut project = Project::default();
        project.sources.add(SourceFile::new(
            "a.yaml".into(),
            "a.yaml".into(),
            "0123456789".into(),
        ));
        let base = Path::new("/nowhere");
        let cwd = Path::new("/nowhere");
        let old = [finding("one", 0), finding("two", 1), finding("two", 2)];
        let b = Baseline::from_findings(&project, &old, base, cwd);
        let b = Baseline::parse(&b.to_json()).expect("round trip");
        assert_eq!(b.findings.len(), 3);
        // Lines moved, "one" fixed, a third "two" and a "three" added.
        let now = vec![
            finding("two", 5),
            finding("two", 6),
            finding("two", 7),
            finding("three", 8),
        ];
        let applied = b.apply(&project, now, base, cwd);
        assert_eq!(applied.baselined, 2);
        let new: Vec<&str> = applied.new.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(new, ["two", "three"]);
        let stale: Vec<&str> = applied.stale.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(stale, ["one"]);
    }

    #[test]
    fn rejects_what_is_not_a_baseline() {
        assert!(Baseline::parse("{}").is_err());
        assert!(Baseline::parse(r#"{"version": 2, "findings": []}"#).is_err());
        assert!(
            Baseline::parse(r#"{"version": 1, "findings": [{"fingerprint": "xyz", "code": "C", "file": "f", "message": "m"}]}"#)
                .is_err()
        );
        assert!(Baseline::parse(r#"{"version": 1, "findings": []}"#).is_ok());
    }
}
