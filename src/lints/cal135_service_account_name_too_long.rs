//! CAL135 service-account-name-too-long: a `serviceAccounts.names` entry of 63 characters or
//! more can never match, because pods only get the service-account label below that length
//! (spec W-23).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct ServiceAccountNameTooLong;

static META: LintMeta = LintMeta {
    code: "CAL135",
    name: "service-account-name-too-long",
    default_severity: Severity::Warning,
    summary: "A service-account name of 63 characters or more never matches",
    doc: include_str!("../../rules/CAL135.md"),
};

/// Pods carry `projectcalico.org/serviceaccount` only when the name is shorter than this
/// (a label value's limit).
pub const MAX_LABELLED_SA: usize = 63;

impl Lint for ServiceAccountNameTooLong {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            for (side, e) in at.entities() {
                let Some(sa) = &e.service_accounts else {
                    continue;
                };
                // Every name too long: the rule can never match, which CAL110 reports.
                if sa
                    .names
                    .iter()
                    .all(|n| n.value.chars().count() >= MAX_LABELLED_SA)
                {
                    continue;
                }
                for (i, name) in sa.names.iter().enumerate() {
                    let len = name.value.chars().count();
                    if len < MAX_LABELLED_SA {
                        continue;
                    }
                    sink.at(
                        at.resource.location(name.span),
                        format!(
                            "service-account name is {len} characters long: Calico labels pods with `projectcalico.org/serviceaccount` only for names shorter than {MAX_LABELLED_SA}, so this entry never matches any pod"
                        ),
                    )
                    .in_resource(at.resource, &at.rule.pointer.child(side).child("serviceAccounts").child("names").index(i))
                    .note("libcalico-go k8s/conversion/workload_endpoint_default.go (all versions)")
                    .note("help: match the service account by a label instead (`serviceAccounts: {selector: ...}`), or rename it below 63 characters")
                    .emit();
                }
            }
        }
    }
}
