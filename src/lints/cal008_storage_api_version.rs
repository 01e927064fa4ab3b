//! CAL008 storage-api-version: a resource written in Calico's storage API
//! (`crd.projectcalico.org/v1`). It is analysed as Calico enforces it (no API-server
//! defaulting: a policy without `types` applies in both directions), and reported because
//! that API is not meant to be written by hand.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct StorageApiVersion;

static META: LintMeta = LintMeta {
    code: "CAL008",
    name: "storage-api-version",
    default_severity: Severity::Warning,
    summary: "A resource is written in Calico's internal storage API (crd.projectcalico.org/v1)",
    doc: include_str!("../../rules/CAL008.md"),
};

impl Lint for StorageApiVersion {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for res in project.resources.iter().filter(|r| r.is_storage_form()) {
            let untyped = res.policy().is_some_and(|p| {
                p.types.as_ref().is_none_or(|t| t.value.is_empty()) && res.kind.is_calico_policy()
            });
            let mut message = "`crd.projectcalico.org/v1` is Calico's internal storage API, not meant to be written by users: nothing defaults or validates it as the Calico API server would".to_string();
            if untyped {
                message.push_str(
                    "; this policy has no `types`, so Felix applies it to ingress and egress",
                );
            }
            sink.at(res.location(res.api_version.span), message)
                .in_resource(res, &Pointer::of(&["apiVersion"]))
                .note("help: use `apiVersion: projectcalico.org/v3` (applied with calicoctl or the Calico API server)")
                .emit();
        }
    }
}
