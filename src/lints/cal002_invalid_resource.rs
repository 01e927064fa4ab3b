//! CAL002 invalid-resource: a resource that Calico (or the Kubernetes API) would reject.

use super::LintContext;
use super::{Lint, LintMeta, Sink};
use crate::finding::{Location, Severity};

pub struct InvalidResource;

static META: LintMeta = LintMeta {
    code: "CAL002",
    name: "invalid-resource",
    default_severity: Severity::Error,
    summary: "A resource fails validation: Calico would reject it",
    doc: include_str!("../../rules/CAL002.md"),
};

impl Lint for InvalidResource {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for p in &project.lower_problems {
            let v = &p.violation;
            let mut f = sink.at(Location::new(p.file, v.span), v.message.clone());
            if let Some(r) = &p.resource {
                f = f.resource(r.clone());
            }
            f = f.pointer(v.pointer.clone());
            for rel in &v.related {
                f = f.related(rel.in_file(p.file));
            }
            if let Some(help) = &v.help {
                f = f.note(format!("help: {help}"));
            }
            f.emit();
        }
        for (index, v) in &project.violations {
            let Some(res) = project.resource(*index) else {
                continue;
            };
            let mut f = sink
                .at(res.location(v.span), v.message.clone())
                .in_resource(res, &v.pointer);
            for rel in &v.related {
                f = f.related(rel.in_file(res.file));
            }
            if let Some(help) = &v.help {
                f = f.note(format!("help: {help}"));
            }
            f.emit();
        }
    }
}
