//! Report formats. Every renderer reads the same findings; none of them analyzes anything.
//!
//! Layer 12: uses everything below it (findings, projects, analysis answers, `diff`); used
//! only by the binary. How ports and protocols are written is [`ports`]: the analysis and
//! `diff` carry them as data.

pub mod baseline;
pub mod changed;
pub mod concise;
pub mod diff;
pub mod exposure;
pub mod fingerprint;
pub mod github;
pub mod graph;
pub mod human;
pub mod json;
pub mod markdown;
pub mod paths;
pub mod ports;
pub mod reach;
pub mod sarif;

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
    /// Policies the semantic analysis reasoned about (valid specs only).
    pub policies_analyzed: usize,
    /// Solver queries made, and how many timed out ("undecided": never turned into findings).
    pub solver_calls: usize,
    pub undecided: usize,
    /// Findings a baseline matched (not counted in `findings`); only present with a baseline.
    #[serde(skip_serializing_if = "is_zero")]
    pub baselined: usize,
    /// Baseline entries that no finding matched any more.
    #[serde(skip_serializing_if = "is_zero")]
    pub baseline_stale: usize,
    /// Files not read as resources because a `kustomization.yaml` lists them as patches.
    #[serde(skip_serializing_if = "is_zero")]
    pub kustomize_patches_skipped: usize,
    /// What a user must know about the run (a Kustomize root that could not be rendered).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The views analysed, each as its own cluster (only present with views).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
}

/// A group's kind as the JSON and HTML of `graph` and `exposure` name it.
fn group_kind(g: &crate::analysis::groups::Group) -> &'static str {
    use crate::analysis::groups::GroupKind;
    match g.kind {
        GroupKind::Workload => "workload",
        GroupKind::Selector => "selector",
        GroupKind::NetworkSet => "network-set",
        GroupKind::Net => "net",
        GroupKind::World => "world",
    }
}

/// Text for HTML (the exposure and graph pages).
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn new(project: &Project, findings: &[Finding]) -> Self {
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let totals = project.stats.analysis_totals.unwrap_or_default();
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
            policies_analyzed: totals.policies,
            solver_calls: totals.solver_calls,
            undecided: totals.undecided,
            views: project.stats.views.clone(),
            notes: project.stats.notes.clone(),
            kustomize_patches_skipped: project.stats.kustomize_patches_skipped,
            baselined: project.stats.baselined,
            baseline_stale: project.stats.baseline_stale,
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

/// The report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Source snippets with the offending span underlined.
    Human,
    /// The stable JSON document (version 1).
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// A Markdown summary for CI job pages.
    Markdown,
    /// One line per finding.
    Concise,
}

/// Options some formats read.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// ANSI colour (human format only).
    pub color: bool,
    /// Leave out the summary line (human and github formats).
    pub quiet: bool,
    /// Prefix of rule help URLs in SARIF.
    pub sarif_help_base: String,
    /// Prefix that turns file paths into links (markdown format).
    pub link_base: Option<String>,
    /// Absolute URI of the directory relative paths start from (SARIF `originalUriBaseIds`).
    pub sarif_srcroot: Option<String>,
    /// Annotate only findings on these lines (github format); the rest are counted.
    pub changed: Option<changed::ChangedLines>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            quiet: false,
            sarif_help_base: sarif::DEFAULT_HELP_BASE.to_string(),
            link_base: None,
            sarif_srcroot: None,
            changed: None,
        }
    }
}

/// Render `findings` in `format`.
pub fn render(
    format: Format,
    project: &Project,
    findings: &[Finding],
    opts: &RenderOptions,
) -> String {
    match format {
        Format::Human => human::render_with(project, findings, opts.color, !opts.quiet),
        Format::Json => json::render(project, findings),
        Format::Sarif => sarif::render_with(
            project,
            findings,
            &opts.sarif_help_base,
            opts.sarif_srcroot.as_deref(),
        ),
        Format::Github => github::render_with(project, findings, opts.quiet, opts.changed.as_ref()),
        Format::Markdown => markdown::render(project, findings, opts.link_base.as_deref()),
        Format::Concise => concise::render(project, findings, opts.quiet),
    }
}
