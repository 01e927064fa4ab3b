//! `--format human`: codespan-reporting snippets with the offending span underlined.

use super::Summary;
use crate::config::ConfigError;
use crate::finding::{Finding, Severity};
use crate::project::Project;
use crate::source::printable;
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config, Styles, StylesWriter, termcolor};

pub fn render(project: &Project, findings: &[Finding], color: bool) -> String {
    render_with(project, findings, color, true)
}

/// [`render`], with the summary line only when `summary` is set (`--quiet` leaves it out).
pub fn render_with(project: &Project, findings: &[Finding], color: bool, summary: bool) -> String {
    let mut files = SimpleFiles::new();
    // Everything printed that comes from the input goes through `printable` (no terminal
    // escape sequences from a hostile manifest or file name).
    for (_, src) in project.sources.files() {
        files.add(printable(&src.name), printable(&src.text));
    }
    let diagnostics: Vec<_> = findings.iter().map(|f| to_diagnostic(project, f)).collect();
    let mut text = emit(&files, &diagnostics, color);
    if summary {
        text.push_str(&summary_line(&Summary::new(project, findings)));
    }
    text
}

/// A configuration error, rendered like findings: one diagnostic per problem, with the
/// offending part of `.calint.yaml` underlined.
pub fn render_config_error(err: &ConfigError, color: bool) -> String {
    let mut files = SimpleFiles::new();
    let file = files.add(err.source.name.as_str(), err.source.text.as_str());
    let diagnostics: Vec<_> = err
        .problems
        .iter()
        .map(|p| {
            let mut d = Diagnostic::error().with_message(p.message.clone());
            if err.unreadable {
                d = d.with_notes(vec![format!("in {}", err.source.name)]);
            } else {
                d = d.with_labels(vec![Label::primary(
                    file,
                    err.source.clamp_span(p.span).range(),
                )]);
            }
            if let Some(help) = &p.help {
                d.notes.push(format!("help: {help}"));
            }
            d
        })
        .collect();
    let mut text = emit(&files, &diagnostics, color);
    let n = err.problems.len();
    text.push_str(&format!(
        "{} in {}; fix the configuration (or run with --no-config)\n",
        plural(n, "error"),
        err.source.name
    ));
    text
}

fn emit<N, T>(files: &SimpleFiles<N, T>, diagnostics: &[Diagnostic<usize>], color: bool) -> String
where
    N: std::fmt::Display + Clone,
    T: AsRef<str>,
{
    let config = Config::default();
    let styles = Styles::default();
    let mut out = Vec::new();
    for diagnostic in diagnostics {
        let mut buffer = if color {
            termcolor::Buffer::ansi()
        } else {
            termcolor::Buffer::no_color()
        };
        let rendered = {
            let mut writer = StylesWriter::new(&mut buffer, &styles);
            term::emit_to_write_style(&mut writer, &config, files, diagnostic)
        };
        if rendered.is_ok() {
            out.extend_from_slice(buffer.as_slice());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        Some(range) => labels.push(Label::primary(f.location.file.0, range)),
        None => notes.push(format!(
            "at {} (the line is too long to show)",
            place(f.location)
        )),
    }
    for rel in &f.related {
        if let Some(loc) = rel.location {
            match shown(loc) {
                Some(range) => labels.push(
                    Label::secondary(loc.file.0, range).with_message(printable(&rel.message)),
                ),
                None => notes.push(format!("{} at {}", rel.message, place(loc))),
            }
        }
    }
    if let Some(view) = &f.view {
        notes.push(format!("in view {view}"));
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
    notes.extend(f.text_notes().map(|n| n.into_owned()));
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
    // What else happened, each only when it did: "; {before}{count} {noun}{after}".
    let clauses = [
        (
            s.suppressed,
            "finding",
            "findings",
            "",
            " suppressed by annotations",
        ),
        (s.baselined, "finding", "findings", "", " in the baseline"),
        (
            s.baseline_stale,
            "baseline entry",
            "baseline entries",
            "",
            " no longer occur",
        ),
        (
            s.kustomize_patches_skipped,
            "Kustomize patch",
            "Kustomize patches",
            "",
            " not read as resources",
        ),
        (
            s.helm_templates_skipped,
            "Helm template",
            "Helm templates",
            "skipped ",
            " (not YAML until rendered)",
        ),
        (
            s.undecided,
            "query",
            "queries",
            "",
            " undecided (solver timeout; raise --solver-timeout)",
        ),
    ];
    for (n, one, many, before, after) in clauses {
        if n > 0 {
            let noun = if n == 1 { one } else { many };
            line.push_str(&format!("; {before}{n} {noun}{after}"));
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(n: usize) -> Summary {
        Summary {
            files: n,
            resources: n,
            policies: n,
            findings: 0,
            errors: 0,
            warnings: 0,
            infos: 0,
            suppressed: n,
            helm_templates_skipped: n,
            unknown_kinds: Default::default(),
            policies_analyzed: 0,
            solver_calls: 0,
            undecided: n,
            baselined: n,
            baseline_stale: n,
            kustomize_patches_skipped: n,
            notes: Vec::new(),
            views: Vec::new(),
        }
    }

    /// Every clause, in the singular and the plural.
    #[test]
    fn summary_line_names_what_else_happened() {
        assert_eq!(
            summary_line(&summary(1)),
            "no findings in 1 file (1 resource, 1 policy); 1 finding suppressed by annotations; \
             1 finding in the baseline; 1 baseline entry no longer occur; 1 Kustomize patch not \
             read as resources; skipped 1 Helm template (not YAML until rendered); 1 query \
             undecided (solver timeout; raise --solver-timeout)\n"
        );
        assert_eq!(
            summary_line(&summary(2)),
            "no findings in 2 files (2 resources, 2 policies); 2 findings suppressed by \
             annotations; 2 findings in the baseline; 2 baseline entries no longer occur; 2 \
             Kustomize patches not read as resources; skipped 2 Helm templates (not YAML until \
             rendered); 2 queries undecided (solver timeout; raise --solver-timeout)\n"
        );
        assert_eq!(
            summary_line(&summary(0)),
            "no findings in 0 files (0 resources, 0 policies)\n"
        );
    }
}
