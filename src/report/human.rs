//! `--format human`: codespan-reporting snippets with the offending span underlined.

use super::Summary;
use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::source::printable;
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config, Styles, StylesWriter, termcolor};

pub fn render(project: &Project, findings: &[Finding], color: bool) -> String {
    let mut files = SimpleFiles::new();
    // Everything printed that comes from the input goes through `printable` (no terminal
    // escape sequences from a hostile manifest or file name).
    for (_, src) in project.sources.files() {
        files.add(printable(&src.name), printable(&src.text));
    }
    let config = Config::default();
    let styles = Styles::default();
    let mut out = Vec::new();
    for finding in findings {
        let diagnostic = to_diagnostic(project, finding);
        let mut buffer = if color {
            termcolor::Buffer::ansi()
        } else {
            termcolor::Buffer::no_color()
        };
        let rendered = {
            let mut writer = StylesWriter::new(&mut buffer, &styles);
            term::emit_to_write_style(&mut writer, &config, &files, &diagnostic)
        };
        if rendered.is_ok() {
            out.extend_from_slice(buffer.as_slice());
        }
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(&summary_line(&Summary::new(project, findings)));
    text
}

fn to_diagnostic(project: &Project, f: &Finding) -> Diagnostic<usize> {
    let severity = match f.severity {
        Severity::Error => codespan_reporting::diagnostic::Severity::Error,
        Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
        Severity::Info => codespan_reporting::diagnostic::Severity::Note,
    };
    // Snippets are bounded (`SourceFile::snippet_span`): a location on a line too long to
    // show is given in words instead.
    let shown = |loc: crate::finding::Location| {
        let src = project.sources.get(loc.file)?;
        Some(src.snippet_span(loc.span)?.range())
    };
    let place = |loc: crate::finding::Location| {
        super::line_location(project, loc).map_or_else(String::new, |l| {
            format!("{}:{}:{}", l.file, l.line, l.column)
        })
    };
    let mut labels = Vec::new();
    let mut notes = Vec::new();
    match shown(f.location) {
        Some(range) => labels.push(Label::primary(f.location.file, range)),
        None => notes.push(format!(
            "at {} (the line is too long to show)",
            place(f.location)
        )),
    }
    for rel in &f.related {
        if let Some(loc) = rel.location {
            match shown(loc) {
                Some(range) => labels
                    .push(Label::secondary(loc.file, range).with_message(printable(&rel.message))),
                None => notes.push(format!("{} at {}", rel.message, place(loc))),
            }
        }
    }
    if let Some(r) = &f.resource {
        match &f.pointer {
            Some(p) if !p.is_empty() => notes.push(format!("in {r} at {p}")),
            _ => notes.push(format!("in {r}")),
        }
    }
    for rel in f.related.iter().filter(|r| r.location.is_none()) {
        notes.push(rel.message.clone());
    }
    notes.extend(f.notes.iter().cloned());
    let notes = notes.iter().map(|n| printable(n).into_owned()).collect();
    Diagnostic::new(severity)
        .with_code(f.code)
        .with_message(format!("{} ({})", printable(&f.message), f.name))
        .with_labels(labels)
        .with_notes(notes)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn summary_line(s: &Summary) -> String {
    let mut parts = Vec::new();
    if s.errors > 0 {
        parts.push(plural(s.errors, "error"));
    }
    if s.warnings > 0 {
        parts.push(plural(s.warnings, "warning"));
    }
    if s.infos > 0 {
        parts.push(plural(s.infos, "info"));
    }
    let findings = if parts.is_empty() {
        "no findings".to_string()
    } else {
        format!("{} ({})", plural(s.findings, "finding"), parts.join(", "))
    };
    let mut line = format!(
        "{findings} in {} ({}, {})",
        plural(s.files, "file"),
        plural(s.resources, "resource"),
        plural(s.policies, "policy").replace("policys", "policies"),
    );
    if s.helm_templates_skipped > 0 {
        line.push_str(&format!(
            "; skipped {} (not YAML until rendered)",
            plural(s.helm_templates_skipped, "Helm template")
        ));
    }
    if s.undecided > 0 {
        line.push_str(&format!(
            "; {} undecided (solver timeout; raise --solver-timeout)",
            plural(s.undecided, "query").replace("querys", "queries")
        ));
    }
    line.push('\n');
    line
}
