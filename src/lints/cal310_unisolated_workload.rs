//! CAL310 unisolated-workload: no policy selects a workload in a direction, so everything is
//! allowed there (the Kubernetes namespace profile). Ingress by default; egress when the
//! configuration says `isolation: {egress: true}`.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::analysis::exposure::Policied;
use crate::finding::Severity;

pub struct UnisolatedWorkload;

static META: LintMeta = LintMeta {
    code: "CAL310",
    name: "unisolated-workload",
    default_severity: Severity::Warning,
    summary: "No policy selects the workload in a direction: it allows everything there",
    doc: include_str!("../../rules/CAL310.md"),
};

impl Lint for UnisolatedWorkload {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(p) = &project.posture else { return };
        let (ingress, egress) = p.config.isolation();
        for (g, (pin, pout)) in p.workloads.iter().zip(&p.policied) {
            let Some(res) = g.resource.and_then(|i| project.resource(i)) else {
                continue;
            };
            let span = res.meta.name.as_ref().map_or(res.span, |n| n.span);
            for (on, state, what, other) in [
                (
                    ingress,
                    pin,
                    "ingress",
                    "every source can connect to it on every port",
                ),
                (
                    egress,
                    pout,
                    "egress",
                    "it can connect to every destination on every port",
                ),
            ] {
                if !on || *state != Policied::No {
                    continue;
                }
                sink.at(
                    res.location(span),
                    format!("no policy selects workload {} for {what}: {other}", g.name),
                )
                .in_resource(res, &Pointer::of(&["metadata", "name"]))
                .note(format!(
                    "help: add a policy selecting it for {what} (a namespace default-deny is the usual start); `calint exposure` shows what it is open to"
                ))
                .emit();
            }
        }
    }
}
