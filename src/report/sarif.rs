//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Written by hand with serde structs (the format is small and stable). What consumers rely on:
//! every registered lint is listed in `tool.driver.rules` (so a consumer can tell "ran and found
//! nothing" from "unknown rule"); paths are relative to the working directory (the repository
//! root in CI); `partialFingerprints` do not depend on line numbers, so an alert survives edits
//! above it. Suppressed findings are left out, like in every other format: GitHub code scanning
//! does not honour SARIF `suppressions` and would open alerts for them.

use super::{LineLocation, fingerprint, line_location};
use crate::finding::{Finding, Location, Related, ResourceRef, Severity};
use crate::lints::{LintMeta, REGISTRY};
use crate::project::Project;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where rule help pages live: `<base><CODE>.md`. Override with `--sarif-help-base`.
pub const DEFAULT_HELP_BASE: &str = "https://github.com/calint-dev/calint/blob/main/rules/";
/// The tool's home page (`tool.driver.informationUri`).
pub const INFORMATION_URI: &str = "https://github.com/calint-dev/calint";
/// The key of calint's fingerprint in `partialFingerprints`; bump the version if the hashed
/// fields ever change, so consumers do not match old and new hashes.
pub const FINGERPRINT_KEY: &str = "calintFindingHash/v1";
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    /// Where `%SRCROOT%` is (only when the caller says: an absolute path would make the report
    /// depend on the machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<BTreeMap<&'static str, ArtifactLocation>>,
    /// Columns count Unicode scalar values, as everywhere in calint.
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    /// The lint name in Pascal case (`UnknownTier`), SARIF's convention for friendly names.
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleProperties {
    /// The name as calint spells it everywhere else (`unknown-tier`).
    lint_name: &'static str,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<SarifLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Properties<'a>>,
    /// The edits `calint check --fix` makes for this result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<SarifFix>,
}

#[derive(Serialize)]
struct Properties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
    /// The view (cluster) the finding was made in.
    #[serde(skip_serializing_if = "Option::is_none")]
    view: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    /// Relative URIs are relative to `%SRCROOT%` (the directory calint ran in).
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

/// The base id of every relative artifact URI.
pub const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix {
    description: Text,
    artifact_changes: Vec<ArtifactChange>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    end_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Render the SARIF log. `help_base` is prefixed to `<CODE>.md` for each rule's `helpUri`.
pub fn render(project: &Project, findings: &[Finding], help_base: &str) -> String {
    render_with(project, findings, help_base, None)
}

/// [`render`], with `%SRCROOT%` defined as `srcroot` (an absolute URI ending in `/`, e.g.
/// `file:///home/runner/work/repo/repo/deploy/` when calint runs in `deploy/`), so code
/// scanning maps the relative paths to the repository.
pub fn render_with(
    project: &Project,
    findings: &[Finding],
    help_base: &str,
    srcroot: Option<&str>,
) -> String {
    let rules: Vec<Rule> = REGISTRY.iter().map(|l| rule(l.meta(), help_base)).collect();
    let fingerprints = fingerprints(project, findings);
    let results = findings
        .iter()
        .zip(fingerprints)
        .map(|(f, fp)| result(project, f, fp))
        .collect();
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "calint",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules,
                },
            },
            original_uri_base_ids: srcroot.map(|root| {
                let mut uri = root.to_string();
                if !uri.ends_with('/') {
                    uri.push('/');
                }
                BTreeMap::from([(
                    SRCROOT,
                    ArtifactLocation {
                        uri,
                        uri_base_id: None,
                    },
                )])
            }),
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    // Serializing plain data structs to a String cannot fail.
    let mut out = serde_json::to_string_pretty(&log).unwrap_or_default();
    out.push('\n');
    out
}

fn rule(meta: &'static LintMeta, help_base: &str) -> Rule {
    let what = doc_section(meta.doc, "What it does").unwrap_or_else(|| meta.summary.to_string());
    let help_uri = format!("{help_base}{}.md", meta.code);
    Rule {
        id: meta.code,
        name: pascal_case(meta.name),
        short_description: Text {
            text: sentence(meta.summary),
        },
        full_description: Text {
            text: sentence(&what),
        },
        // The whole rule page for viewers that render Markdown (GitHub does), a pointer to it
        // for those that do not.
        help: Help {
            text: format!("{} Documentation: {help_uri}", sentence(&what)),
            markdown: meta.doc.to_string(),
        },
        help_uri,
        default_configuration: Configuration {
            level: level(meta.default_severity),
        },
        properties: RuleProperties {
            lint_name: meta.name,
        },
    }
}

/// `unknown-tier` → `UnknownTier`.
fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// Plain-text messages end with a period (SARIF's own style rule).
fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '?', '!']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// The body of `## <title>` in a rule page, with Markdown line breaks folded into spaces within
/// paragraphs. Used as plain text, so lists keep their `- ` markers on their own lines.
fn doc_section(doc: &str, title: &str) -> Option<String> {
    let heading = format!("## {title}\n");
    let start = doc.find(&heading)? + heading.len();
    let body = doc.get(start..)?;
    let end = body.find("\n## ").unwrap_or(body.len());
    let body = body.get(..end)?.trim();
    let mut out = String::new();
    for line in body.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str("\n\n");
        } else if line.starts_with("- ")
            || line.starts_with('|')
            || out.ends_with('\n')
            || out.is_empty()
        {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(line);
        } else {
            out.push(' ');
            out.push_str(line.trim_start());
        }
    }
    Some(out)
}

fn result<'a>(project: &Project, f: &'a Finding, fingerprint: String) -> SarifResult<'a> {
    let rule_index = REGISTRY
        .iter()
        .position(|l| l.meta().code == f.code)
        .unwrap_or(0);
    let mut text = f.message.clone();
    if let Some(view) = &f.view {
        text.push_str(&format!(" (view {view})"));
    }
    for note in f.text_notes() {
        text.push('\n');
        text.push_str(&note);
    }
    let logical = f.resource.iter().map(logical_location).collect();
    SarifResult {
        rule_id: f.code,
        rule_index,
        level: level(f.severity),
        message: Text { text },
        locations: vec![SarifLocation {
            id: None,
            physical_location: line_location(project, f.location)
                .map(|l| with_snippets(project, f.location, physical(l))),
            logical_locations: logical,
            message: None,
        }],
        related_locations: f
            .related
            .iter()
            .enumerate()
            .map(|(i, r)| related(project, i, r))
            .collect(),
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint)]),
        properties: (f.resource.is_some() || f.pointer.is_some() || f.view.is_some()).then_some(
            Properties {
                resource: f.resource.as_ref(),
                pointer: f.pointer.as_deref(),
                view: f.view.as_deref(),
            },
        ),
        fixes: fixes(project, f),
    }
}

fn related(project: &Project, i: usize, r: &Related) -> SarifLocation {
    SarifLocation {
        id: Some(i),
        physical_location: r
            .location
            .and_then(|l| line_location(project, l))
            .map(physical),
        logical_locations: r.resource.iter().map(logical_location).collect(),
        message: Some(Text {
            text: r.message.clone(),
        }),
    }
}

fn logical_location(r: &ResourceRef) -> LogicalLocation {
    LogicalLocation {
        name: r.name.clone(),
        fully_qualified_name: r.to_string(),
        kind: "resource",
    }
}

fn physical(l: LineLocation) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: artifact(&l.file),
        region: Region {
            start_line: l.line,
            start_column: Some(l.column),
            end_line: l.end_line,
            end_column: Some(l.end_column),
            snippet: None,
        },
        context_region: None,
    }
}

/// Lines of context around a result's region, for viewers that do not have the file.
const CONTEXT_LINES: usize = 1;

/// Add the region's text and a context region (whole lines around it) to a result location.
fn with_snippets(project: &Project, loc: Location, mut p: PhysicalLocation) -> PhysicalLocation {
    let Some(src) = project.sources.get(loc.file).filter(|s| !s.text.is_empty()) else {
        return p;
    };
    let span = src.clamp_span(loc.span);
    if let Some(text) = src.text.get(span.range()) {
        p.region.snippet = Some(Text {
            text: text.to_string(),
        });
    }
    let first = p.region.start_line.saturating_sub(CONTEXT_LINES).max(1);
    let last = p.region.end_line + CONTEXT_LINES;
    let mut text = String::new();
    let mut end_line = first;
    for (n, line) in src
        .text
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
    {
        if n >= first && n <= last {
            text.push_str(line);
            end_line = n;
        }
    }
    if !text.is_empty() {
        p.context_region = Some(Region {
            start_line: first,
            start_column: None,
            end_line,
            end_column: None,
            snippet: Some(Text { text }),
        });
    }
    p
}

fn artifact(file: &str) -> ArtifactLocation {
    ArtifactLocation {
        uri: file_uri(file),
        uri_base_id: (!file.starts_with('/')).then_some(SRCROOT),
    }
}

/// A finding's fixes as SARIF `fixes`.
fn fixes(project: &Project, f: &Finding) -> Vec<SarifFix> {
    f.fixes
        .iter()
        .filter_map(|fix| {
            let mut changes: Vec<ArtifactChange> = Vec::new();
            for e in &fix.edits {
                let l = line_location(project, Location::new(e.file, e.span))?;
                let replacement = Replacement {
                    deleted_region: Region {
                        start_line: l.line,
                        start_column: Some(l.column),
                        end_line: l.end_line,
                        end_column: Some(l.end_column),
                        snippet: None,
                    },
                    inserted_content: Text {
                        text: e.replacement.clone(),
                    },
                };
                match changes.last_mut() {
                    Some(c) if c.artifact_location.uri == file_uri(&l.file) => {
                        c.replacements.push(replacement);
                    }
                    _ => changes.push(ArtifactChange {
                        artifact_location: artifact(&l.file),
                        replacements: vec![replacement],
                    }),
                }
            }
            Some(SarifFix {
                description: Text {
                    text: sentence(&fix.description),
                },
                artifact_changes: changes,
            })
        })
        .collect()
}

/// A relative path as a relative URI reference (percent-encoded), an absolute one as `file://`.
fn file_uri(name: &str) -> String {
    let mut out = String::new();
    if name.starts_with('/') {
        out.push_str("file://");
    }
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One fingerprint per finding, in order: the hash of what identifies the finding without its
/// position, plus its ordinal among findings with the same identity (so two identical messages
/// in one resource stay distinct alerts).
fn fingerprints(project: &Project, findings: &[Finding]) -> Vec<String> {
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    findings
        .iter()
        .map(|f| {
            let identity = fingerprint::identity(project, f);
            let ordinal = seen.entry(identity).or_default();
            let hash = fingerprint::fnv1a64(format!("{identity:016x}\0{ordinal}").as_bytes());
            *ordinal += 1;
            format!("{hash:016x}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(file_uri("a b/c,d.yaml"), "a%20b/c%2Cd.yaml");
        assert_eq!(file_uri("/tmp/x.yaml"), "file:///tmp/x.yaml");
        assert_eq!(file_uri("ç.yaml"), "%C3%A7.yaml");
    }

    #[test]
    fn rule_names_and_sections() {
        assert_eq!(pascal_case("unknown-tier"), "UnknownTier");
        let doc = "# X y\n\n## What it does\nFirst line\nsecond line.\n\n- item\n- item two\n\n## Next\nno";
        assert_eq!(
            doc_section(doc, "What it does").as_deref(),
            Some("First line second line.\n\n- item\n- item two")
        );
        assert_eq!(sentence("abc"), "abc.");
        assert_eq!(sentence("abc?"), "abc?");
    }
}
