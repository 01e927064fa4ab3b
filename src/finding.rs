//! The finding type every lint produces and every report format renders.
//!
//! Layer 0: uses only `source` and `pointer`.

use crate::pointer::Pointer;
use crate::source::{FileId, Span};
use serde::Serialize;
use std::fmt;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: FileId,
    pub span: Span,
}

impl Location {
    pub fn new(file: FileId, span: Span) -> Self {
        Location { file, span }
    }
}

/// Identifies a resource the way users name it: kind, namespace (namespaced kinds), name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A secondary location that explains a finding (the first definition of a duplicate, the
/// earlier rule that shadows, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Related {
    pub message: String,
    pub location: Option<Location>,
    pub resource: Option<ResourceRef>,
    pub pointer: Option<Pointer>,
}

/// One problem calint reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    pub resource: Option<ResourceRef>,
    /// JSON Pointer of the offending node inside the resource (`/spec/ingress/1`).
    pub pointer: Option<Pointer>,
    pub related: Vec<Related>,
    /// Extra explanation lines (covering rules, examples, where a rendered finding came from).
    pub notes: Vec<String>,
    /// What to do about it ("did you mean `selector`?"), without the `help: ` prefix the text
    /// formats print before each of its lines.
    pub help: Option<String>,
    /// Evidence for semantic findings: a witness packet, as JSON.
    pub witness: Option<serde_json::Value>,
    /// The view (`.calint.yaml` `views:`, or a rendered Kustomize root) this finding was made
    /// in; `None` when there are no views or the finding is the same in every view.
    pub view: Option<String>,
    /// Mechanical edits that fix the finding (`calint check --fix`, SARIF `fixes`).
    pub fixes: Vec<Fix>,
}

/// A mechanical fix: byte-exact replacements in source files, applied all or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, in words ("remove the host bits: `10.0.0.0/8`").
    pub description: String,
    pub edits: Vec<Edit>,
}

/// Replace the bytes of `span` in `file` with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edit {
    pub file: FileId,
    pub span: Span,
    pub replacement: String,
}

impl Finding {
    /// A finding of lint `code` (`name`) with nothing but its severity, message and location.
    pub fn new(
        code: &'static str,
        name: &'static str,
        severity: Severity,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        Finding {
            code,
            name,
            severity,
            message: message.into(),
            location,
            resource: None,
            pointer: None,
            related: Vec::new(),
            notes: Vec::new(),
            help: None,
            witness: None,
            view: None,
            fixes: Vec::new(),
        }
    }

    /// The explanation lines as the text formats print them: the notes, then the help
    /// (`help: …`).
    pub fn text_notes(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        self.notes
            .iter()
            .map(|n| std::borrow::Cow::Borrowed(n.as_str()))
            .chain(
                (self.help.iter())
                    .flat_map(|h| h.lines())
                    .map(|h| format!("help: {h}").into()),
            )
    }

    /// Sort key: file, line (via byte offset), code, then message for full determinism.
    pub fn sort_key(&self) -> (FileId, usize, usize, &'static str, &str) {
        (
            self.location.file,
            self.location.span.start,
            self.location.span.end,
            self.code,
            &self.message,
        )
    }
}
