//! `--format json`: a stable, versioned document for scripts.

use super::{LineLocation, Summary, line_location};
use crate::finding::{Finding, ResourceRef, Severity};
use crate::project::Project;
use serde::Serialize;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    summary: Summary,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    message: &'a str,
    location: Option<LineLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
    related: Vec<JsonRelated<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    /// What to do about it (the text formats' `help:` line).
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    witness: Option<&'a serde_json::Value>,
    /// The view (cluster) the finding was made in, when views are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    view: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<LineLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
}

pub fn render(project: &Project, findings: &[Finding]) -> String {
    let report = Report {
        version: 1,
        summary: Summary::new(project, findings),
        findings: findings.iter().map(|f| json_finding(project, f)).collect(),
    };
    // Serializing plain data structs to a String cannot fail.
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_default();
    out.push('\n');
    out
}

fn json_finding<'a>(project: &Project, f: &'a Finding) -> JsonFinding<'a> {
    JsonFinding {
        code: f.code,
        name: f.name,
        severity: f.severity,
        message: &f.message,
        location: line_location(project, f.location),
        resource: f.resource.as_ref(),
        pointer: f.pointer.as_deref(),
        related: f
            .related
            .iter()
            .map(|r| JsonRelated {
                message: &r.message,
                location: r.location.and_then(|l| line_location(project, l)),
                resource: r.resource.as_ref(),
                pointer: r.pointer.as_deref(),
            })
            .collect(),
        notes: &f.notes,
        help: f.help.as_deref(),
        witness: f.witness.as_ref(),
        view: f.view.as_deref(),
    }
}

/// One finding exactly as `--format json` writes it (`calint diff` lists added and removed
/// findings in this shape).
pub fn finding_value(project: &Project, f: &Finding) -> serde_json::Value {
    serde_json::to_value(json_finding(project, f)).unwrap_or(serde_json::Value::Null)
}
