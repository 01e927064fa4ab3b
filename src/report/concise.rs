//! `--format concise`: one line per finding (`file:line:col: CODE severity: message (name)`),
//! for terminals and editors that jump to `file:line:col`; and `--statistics`, the count of
//! findings per code.

use super::{Summary, human::summary_line, line_location};
use crate::finding::Finding;
use crate::project::Project;
use crate::source::printable;
use std::collections::BTreeMap;

/// One line per finding, then the summary line unless `quiet`.
pub fn render(project: &Project, findings: &[Finding], quiet: bool) -> String {
    let mut out = String::new();
    for f in findings {
        let place = line_location(project, f.location).map_or_else(
            || "<unknown>".to_string(),
            |l| format!("{}:{}:{}", l.file, l.line, l.column),
        );
        out.push_str(&format!(
            "{}: {} {}: {} ({})",
            printable(&place),
            f.code,
            f.severity,
            printable(&f.message.replace('\n', " ")),
            f.name
        ));
        if let Some(view) = &f.view {
            out.push_str(&format!(" [view {}]", printable(view)));
        }
        out.push('\n');
    }
    if !quiet {
        out.push_str(&summary_line(&Summary::new(project, findings)));
    }
    out
}

/// Findings per code, most frequent first (then by code): `count  CODE  severity  name`.
pub fn statistics(findings: &[Finding]) -> String {
    let mut counts: BTreeMap<(&str, &str), (usize, crate::finding::Severity)> = BTreeMap::new();
    for f in findings {
        let e = counts.entry((f.code, f.name)).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.max(f.severity);
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let width = rows
        .iter()
        .map(|r| r.1.0.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for ((code, name), (n, severity)) in rows {
        out.push_str(&format!(
            "{n:>width$}  {code}  {:<7}  {name}\n",
            severity.as_str()
        ));
    }
    if out.is_empty() {
        out.push_str("no findings\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, Severity};
    use crate::source::{SourceFile, Span};

    fn finding(code: &'static str, severity: Severity, start: usize) -> Finding {
        let at = Location::new(crate::source::FileId(0), Span::new(start, start + 1));
        Finding::new(code, "some-lint", severity, "bad\nthing", at)
    }

    #[test]
    fn one_line_per_finding() {
        let mut project = Project::default();
        project.sources.add(SourceFile::new(
            "a.yaml".into(),
            "a.yaml".into(),
            "x: 1\ny: 2\n".into(),
        ));
        let mut f = finding("CAL101", Severity::Warning, 5);
        f.view = Some("prod".into());
        let text = render(&project, &[f], true);
        assert_eq!(
            text,
            "a.yaml:2:1: CAL101 warning: bad thing (some-lint) [view prod]\n"
        );
    }

    #[test]
    fn statistics_most_frequent_first() {
        let fs = [
            finding("CAL101", Severity::Warning, 0),
            finding("CAL003", Severity::Error, 0),
            finding("CAL101", Severity::Warning, 1),
        ];
        assert_eq!(
            statistics(&fs),
            "2  CAL101  warning  some-lint\n1  CAL003  error    some-lint\n"
        );
        assert_eq!(statistics(&[]), "no findings\n");
    }
}
