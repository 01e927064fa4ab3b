//! [`Diagnostic`]: one problem with the input, the shape every layer below the lints reports
//! in.
//!
//! Layer 0: uses only `source`, `pointer` and `finding`, beside which it sits.
//!
//! In the manner of oxc's `OxcDiagnostic`, a diagnostic does not know its file: its span and
//! its related spans are offsets into the one text it was found in, and whoever knows the
//! file (the project's problem lists, the configuration error) pairs them with it. So parsing,
//! lowering, validation and the configuration file all report the same type.

use crate::finding::{Location, Related};
use crate::pointer::Pointer;
use crate::source::{FileId, Span};

/// One problem with the input, located in a file: what YAML parsing, lowering, validation
/// and configuration reading report (and what a lint turns into a finding). The one
/// diagnostic shape of the loaded input: span, JSON pointer, message, help and related
/// locations.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub span: Span,
    /// JSON Pointer inside the resource (`/spec/ingress/0/destination/ports/1`); empty where
    /// the problem is not inside a resource (YAML syntax, a file that cannot be read).
    pub pointer: Pointer,
    pub message: String,
    pub help: Option<String>,
    /// Other places in the same text (the first occurrence of a duplicated key, the field
    /// that makes this one wrong).
    pub related: Vec<RelatedSpan>,
}

/// A secondary location of a [`Diagnostic`], in the same text as the diagnostic.
#[derive(Clone, Debug, PartialEq)]
pub struct RelatedSpan {
    pub message: String,
    pub span: Span,
    /// JSON Pointer inside the resource, when the location is inside one.
    pub pointer: Option<Pointer>,
}

impl RelatedSpan {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        RelatedSpan {
            message: message.into(),
            span,
            pointer: None,
        }
    }

    /// The related location of a finding, once the file is known.
    pub fn in_file(&self, file: FileId) -> Related {
        Related {
            message: self.message.clone(),
            location: Some(Location::new(file, self.span)),
            resource: None,
            pointer: self.pointer.clone(),
        }
    }
}

impl Diagnostic {
    pub fn new(span: Span, pointer: impl Into<Pointer>, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            pointer: pointer.into(),
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, related: RelatedSpan) -> Self {
        self.related.push(related);
        self
    }
}
