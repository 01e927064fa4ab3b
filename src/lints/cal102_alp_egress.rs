//! CAL102 alp-egress: an egress rule uses application-layer (HTTP) match criteria.

use super::LintContext;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct AlpEgress;

static META: LintMeta = LintMeta {
    code: "CAL102",
    name: "alp-egress",
    default_severity: Severity::Error,
    summary: "An egress rule uses application-layer (HTTP) match criteria",
    doc: include_str!("../../rules/CAL102.md"),
};

impl Lint for AlpEgress {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (_, res) in project.policies() {
            // Profiles are not direction-checked by Calico; Kubernetes policies cannot carry HTTP.
            if !res.kind.is_calico_policy() {
                continue;
            }
            let Some(policy) = res.policy() else { continue };
            for rule in &policy.egress {
                let Some(http) = &rule.http else { continue };
                sink.at(
                    res.location(http.span),
                    "HTTP match criteria are not allowed in egress rules: application layer policy only applies to ingress",
                )
                .in_resource(res, &rule.pointer.child("http"))
                .note("help: move the HTTP match to an ingress rule of the policy that selects the server")
                .emit();
            }
        }
    }
}
