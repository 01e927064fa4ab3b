//! The questions the analysis is asked, as plain data: named groups and reachability
//! assertions. `config` reads `.calint.yaml` into these types (and re-exports them); the
//! analysis never sees a configuration type. `GroupDef` is defined beside the resolution that
//! reads it (`groups::resolve_named`), so `groups` does not import this module, which imports
//! `reach` for the answers.

pub use super::groups::GroupDef;
use super::reach::{ReachResult, Verdict};
use crate::source::{FileId, Span, Spanned};

/// One reachability assertion: traffic from `from` to `to` must be `expect`.
#[derive(Clone, Debug, PartialEq)]
pub struct AssertionDef {
    pub span: Span,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub protocol: Option<Spanned<String>>,
    pub port: Option<Spanned<u16>>,
    /// The verdict expected, parsed where the configuration is read.
    pub expect: Spanned<Verdict>,
}

/// One configured reachability assertion and what `reach` answered.
#[derive(Clone, Debug)]
pub struct AssertionOutcome {
    /// The configuration file (in `Project::sources`, added by `check`).
    pub file: FileId,
    pub def: AssertionDef,
    /// The answer, or why the assertion could not be evaluated (unknown group, ...).
    pub result: Result<ReachResult, String>,
}
