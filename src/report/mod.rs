//! Report formats. Every renderer reads the same findings; none of them analyzes anything.

pub mod human;
pub mod json;

use crate::finding::{Finding, Location, Severity};
use crate::project::Project;
use serde::Serialize;

/// Counts shown at the end of every report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub files: usize,
    pub resources: usize,
    pub policies: usize,
    pub findings: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Findings suppressed by `calint.io/ignore` annotations (not counted in `findings`).
    pub suppressed: usize,
    pub helm_templates_skipped: usize,
    /// Objects of kinds calint does not model, by `apiVersion/kind`.
    pub unknown_kinds: std::collections::BTreeMap<String, usize>,
}

impl Summary {
    pub fn new(project: &Project, findings: &[Finding]) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        Summary {
            files: project.stats.files,
            resources: project.resources.len(),
            policies: project.policies().count(),
            findings: findings.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            suppressed: project.stats.suppressed,
            helm_templates_skipped: project.stats.helm_templates_skipped,
            unknown_kinds: project.stats.unknown_kinds.clone(),
        }
    }
}

/// A location as users read it: file name and 1-based line/column of both ends.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LineLocation {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn line_location(project: &Project, loc: Location) -> Option<LineLocation> {
    let src = project.sources.get(loc.file)?;
    let start = src.line_col(loc.span.start);
    let end = src.line_col(loc.span.end.max(loc.span.start));
    Some(LineLocation {
        file: src.name.clone(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
    })
}
