//! [`Diagnostic`]: one problem with the input, the shape every layer below the lints reports
//! in (bottom layer, beside `source` and `finding`).

use crate::finding::Related;
use crate::source::Span;

/// One problem with the input, located in a file: what YAML parsing, lowering and validation
/// report (and what a lint turns into a finding). The one diagnostic shape of the loaded
/// input: span, JSON pointer, message, help and related locations.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub span: Span,
    /// JSON Pointer inside the resource (`/spec/ingress/0/destination/ports/1`).
    pub pointer: String,
    pub message: String,
    pub help: Option<String>,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn new(span: Span, pointer: impl Into<String>, message: impl Into<String>) -> Self {
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

    pub fn with_related(mut self, related: Related) -> Self {
        self.related.push(related);
        self
    }
}
