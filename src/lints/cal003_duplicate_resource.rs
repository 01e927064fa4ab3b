//! CAL003 duplicate-resource: the same kind/namespace/name defined twice.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::{Related, Severity};
use crate::model::resource::Kind;
use crate::project::ResourceId;
use std::collections::HashMap;

pub struct DuplicateResource;

static META: LintMeta = LintMeta {
    code: "CAL003",
    name: "duplicate-resource",
    default_severity: Severity::Error,
    summary: "The same kind, namespace and name is defined more than once",
    doc: include_str!("../../rules/CAL003.md"),
};

impl Lint for DuplicateResource {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let mut first: HashMap<(Kind, Option<&str>, &str), ResourceId> = HashMap::new();
        for (i, res) in project.resources_with_ids() {
            let Some(name) = res.meta.name.as_ref().filter(|n| !n.value.is_empty()) else {
                continue;
            };
            let key = (res.kind, res.namespace(), name.value.as_str());
            let Some(&earlier) = first.get(&key) else {
                first.insert(key, i);
                continue;
            };
            let Some(original) = project.resource(earlier) else {
                continue;
            };
            let where_first = project
                .sources
                .get(original.file)
                .map(|s| {
                    let lc = s.line_col(original.span.start);
                    format!("{}:{}", s.name, lc.line)
                })
                .unwrap_or_default();
            sink.at(
                res.location(name.span),
                format!(
                    "{} is defined more than once (first at {where_first}); the later definition replaces the earlier one when applied",
                    res.reference()
                ),
            )
            .in_resource(res, &Pointer::of(&["metadata", "name"]))
            .related(Related {
                message: "first defined here".into(),
                location: Some(original.location(
                    original.meta.name.as_ref().map_or(original.span, |n| n.span),
                )),
                resource: Some(original.reference()),
                pointer: Some("/metadata/name".into()),
            })
            .emit();
        }
    }
}
