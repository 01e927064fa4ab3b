//! Validation with Calico-validator parity (spec §1–§2, checklist §2.10).
//!
//! Validation reads typed resources and reports [`Violation`]s; it never stops at the first
//! problem. Lowering (`model::lower`) has already reported shape problems (wrong types, unknown
//! fields, undecodable ports); validation reports what Calico's validator would reject.

mod meta;
#[cfg(test)]
mod testutil;
mod util;

use std::fmt;

use crate::finding::Related;
use crate::model::{Kind, Resource};
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

impl fmt::Display for CalicoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
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

    pub fn with_related(mut self, related: Related) -> Self {
        self.related.push(related);
        self
    }
}

/// Validate one resource as Calico's validator (Go validator, CRD OpenAPI limits and CEL rules
/// of the target version) would, reporting every problem found.
///
/// Only checks that can be decided from this resource alone are made here; cross-resource
/// checks (duplicates, unknown tiers, named-port declarations) are lints.
pub fn validate_resource(res: &Resource, opts: &ValidateOptions) -> Vec<Violation> {
    if !(res.kind.is_calico() || res.kind == Kind::KubernetesNetworkPolicy) {
        // Namespaces and workloads are context for lints, not Calico resources to validate.
        return Vec::new();
    }
    let mut cx = Cx::new(res, opts.target);
    meta::check_kind_available(&mut cx);
    meta::check_metadata(&mut cx);
    cx.out
}

/// Validation context: the resource, the target version, and the violations found so far.
pub(crate) struct Cx<'a> {
    pub res: &'a Resource,
    pub target: CalicoVersion,
    pub out: Vec<Violation>,
}

impl<'a> Cx<'a> {
    pub fn new(res: &'a Resource, target: CalicoVersion) -> Self {
        Cx {
            res,
            target,
            out: Vec::new(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.res.kind
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        self.target.at_least(major, minor)
    }

    pub fn push(&mut self, violation: Violation) {
        self.out.push(violation);
    }

    pub fn report(&mut self, span: Span, pointer: impl Into<String>, message: impl Into<String>) {
        self.out.push(Violation::new(span, pointer, message));
    }
}
