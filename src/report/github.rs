//! `--format github`: GitHub Actions workflow commands, one per finding, which the runner turns
//! into annotations on the pull request diff.
//!
//! `::error file=F,line=L,endLine=E,col=C,endColumn=D,title=T::MESSAGE`. Two details matter:
//! values are escaped the way the Actions toolkit expects (data: `%`, CR, LF; property values
//! also `:` and `,`), and `col`/`endColumn` are only given when the finding starts and ends on
//! the same line (GitHub misplaces multi-line annotations that carry columns).

use super::{Summary, line_location};
use crate::finding::{Finding, Severity};
use crate::project::Project;

pub fn render(project: &Project, findings: &[Finding], quiet: bool) -> String {
    render_with(project, findings, quiet, None)
}

/// [`render`], errors first (GitHub shows only the first ten error and ten warning annotations
/// of a step), and with `changed`, only findings on the lines a pull request changed; the
/// others are counted in a plain log line.
pub fn render_with(
    project: &Project,
    findings: &[Finding],
    quiet: bool,
    changed: Option<&super::changed::ChangedLines>,
) -> String {
    let mut out = String::new();
    let mut shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| changed.is_none_or(|c| c.touches(project, f)))
        .collect();
    // Stable: report order within a severity.
    shown.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in &shown {
        out.push_str(&command(project, f));
        out.push('\n');
    }
    if !quiet {
        // Plain lines: shown in the log, not annotations.
        let hidden = findings.len() - shown.len();
        if hidden > 0 {
            out.push_str(&format!(
                "calint: {hidden} more finding{} on lines this pull request did not change (not \
                 annotated; they are in the job summary and the SARIF report)\n",
                if hidden == 1 { " is" } else { "s are" }
            ));
        }
        out.push_str(&super::human::summary_line(&Summary::new(
            project, findings,
        )));
    }
    out
}

fn command(project: &Project, f: &Finding) -> String {
    let kind = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut props = Vec::new();
    if let Some(l) = line_location(project, f.location) {
        props.push(format!("file={}", escape_property(&l.file)));
        props.push(format!("line={}", l.line));
        props.push(format!("endLine={}", l.end_line));
        if l.line == l.end_line {
            props.push(format!("col={}", l.column));
            props.push(format!("endColumn={}", l.end_column));
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {}", f.code, f.name))
    ));
    let mut message = f.message.clone();
    if let Some(view) = &f.view {
        message.push_str(&format!(" (view {view})"));
    }
    if let Some(r) = &f.resource {
        message.push_str(&format!("\nin {r}"));
        if let Some(p) = f.pointer.as_deref().filter(|p| !p.is_empty()) {
            message.push_str(&format!(" at {p}"));
        }
    }
    for rel in &f.related {
        match rel.location.and_then(|l| line_location(project, l)) {
            Some(l) => message.push_str(&format!("\n{}:{}: {}", l.file, l.line, rel.message)),
            None => message.push_str(&format!("\n{}", rel.message)),
        }
    }
    for note in f.text_notes() {
        message.push('\n');
        message.push_str(&note);
    }
    format!("::{kind} {}::{}", props.join(","), escape_data(&message))
}

/// Escape a command's message (the toolkit's `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (the toolkit's `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::source::{SourceFile, Span};

    fn finding(span: Span, severity: Severity) -> Finding {
        let at = Location::new(crate::source::FileId(0), span);
        Finding {
            help: Some("fix it".to_string()),
            ..Finding::new(
                "TEST001",
                "test-lint",
                severity,
                "100% broken:\nsecond line",
                at,
            )
        }
    }

    #[test]
    fn columns_only_on_single_line_findings() {
        let mut project = Project::default();
        project.sources.add(SourceFile::new(
            "dir,x/a:b.yaml".into(),
            "a".into(),
            "key: value\nnext: line\n".into(),
        ));
        let one_line = command(&project, &finding(Span::new(5, 10), Severity::Warning));
        assert_eq!(
            one_line,
            "::warning file=dir%2Cx/a%3Ab.yaml,line=1,endLine=1,col=6,endColumn=11,title=TEST001 test-lint::100%25 broken:%0Asecond line%0Ahelp: fix it"
        );
        let two_lines = command(&project, &finding(Span::new(5, 15), Severity::Info));
        assert!(
            two_lines.starts_with("::notice file=dir%2Cx/a%3Ab.yaml,line=1,endLine=2,title="),
            "{two_lines}"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50% a\r\nb: c,d"), "50%25 a%0D%0Ab: c,d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
