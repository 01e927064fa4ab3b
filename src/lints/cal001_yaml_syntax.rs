//! CAL001 yaml-syntax: a manifest file that cannot be read or parsed.

use super::LintContext;
use super::{Lint, LintMeta, Sink};
use crate::finding::{Location, Severity};

pub struct YamlSyntax;

static META: LintMeta = LintMeta {
    code: "CAL001",
    name: "yaml-syntax",
    default_severity: Severity::Error,
    summary: "A manifest file cannot be parsed as YAML or JSON",
    doc: include_str!("../../rules/CAL001.md"),
};

impl Lint for YamlSyntax {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for fp in &project.file_problems {
            let mut f = sink.at(
                Location::new(fp.file, fp.problem.span),
                fp.problem.message.clone(),
            );
            for related in &fp.problem.related {
                f = f.related(related.in_file(fp.file));
            }
            f.emit();
        }
    }
}
