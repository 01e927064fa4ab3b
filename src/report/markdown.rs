//! `--format markdown`: a short Markdown summary for a CI job page (GitHub's
//! `$GITHUB_STEP_SUMMARY`): totals, counts by code, and the first findings with links.

use super::{Summary, line_location};
use crate::finding::Finding;
use crate::lints::REGISTRY;
use crate::project::Project;
use std::collections::BTreeMap;

/// How many findings the table lists; the rest are counted.
pub const MAX_LISTED: usize = 20;

/// `link_base`, when given, is prefixed to file paths to link each finding
/// (`https://github.com/OWNER/REPO/blob/SHA/`); GitHub line anchors (`#L3-L5`) are appended.
pub fn render(project: &Project, findings: &[Finding], link_base: Option<&str>) -> String {
    let s = Summary::new(project, findings);
    let mut out = String::from("## calint\n\n");
    out.push_str(&super::human::summary_line(&s));
    out.push('\n');
    if findings.is_empty() {
        return out;
    }
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *by_code.entry(f.code).or_default() += 1;
    }
    out.push_str("| code | name | severity | findings |\n|---|---|---|---:|\n");
    for lint in REGISTRY {
        let m = lint.meta();
        if let Some(n) = by_code.get(m.code) {
            // The severity column shows the effective severity of this run's findings.
            let sev = findings
                .iter()
                .find(|f| f.code == m.code)
                .map_or(m.default_severity, |f| f.severity);
            out.push_str(&format!("| {} | {} | {} | {n} |\n", m.code, m.name, sev));
        }
    }
    out.push_str("\n| severity | location | code | message |\n|---|---|---|---|\n");
    for f in findings.iter().take(MAX_LISTED) {
        let location = match line_location(project, f.location) {
            Some(l) => {
                let text = format!("{}:{}", l.file, l.line);
                match link_base {
                    Some(base) if !l.file.starts_with('/') => {
                        let anchor = if l.end_line > l.line {
                            format!("#L{}-L{}", l.line, l.end_line)
                        } else {
                            format!("#L{}", l.line)
                        };
                        format!("[{}]({base}{}{anchor})", cell(&text), link_path(&l.file))
                    }
                    _ => cell(&text),
                }
            }
            None => String::new(),
        };
        out.push_str(&format!(
            "| {} | {location} | {} | {} |\n",
            f.severity,
            f.code,
            cell(&match &f.view {
                Some(view) => format!("{} (view {view})", f.message),
                None => f.message.clone(),
            })
        ));
    }
    if findings.len() > MAX_LISTED {
        out.push_str(&format!(
            "\n… and {} more; the full list is in the job log and the SARIF report.\n",
            findings.len() - MAX_LISTED
        ));
    }
    out
}

/// Text safe inside a table cell: no pipes, no line breaks, no raw HTML.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

/// A path inside a URL: spaces and the characters Markdown link syntax reacts to encoded.
pub fn link_path(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out
}
