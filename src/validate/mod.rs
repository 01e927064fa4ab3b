//! Validation with Calico-validator parity (spec §1–§2, checklist §2.10).
//!
//! Validation reads typed resources and reports [`Violation`]s; it never stops at the first
//! problem. Lowering (`model::lower`) has already reported shape problems (wrong types, unknown
//! fields, undecodable ports); validation reports what Calico's validator would reject.

use crate::finding::Related;
use crate::source::Span;

/// The Calico release whose validator calint imitates (spec §0.1 version matrix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalicoVersion {
    pub major: u32,
    pub minor: u32,
}

impl CalicoVersion {
    pub const LATEST: CalicoVersion = CalicoVersion {
        major: 3,
        minor: 33,
    };

    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    pub fn parse(s: &str) -> Option<CalicoVersion> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(CalicoVersion { major, minor })
    }
}

impl Default for CalicoVersion {
    fn default() -> Self {
        CalicoVersion::LATEST
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateOptions {
    pub target: CalicoVersion,
}

/// One validation problem, located in the resource's file.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub span: Span,
    /// JSON Pointer inside the resource (`/spec/ingress/0/destination/ports/1`).
    pub pointer: String,
    pub message: String,
    pub help: Option<String>,
    pub related: Vec<Related>,
}

impl Violation {
    pub fn new(span: Span, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
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
}
