//! CAL110 for service-account names of 63 characters or more (spec §3.7.3, W-23): pods get
//! the `projectcalico.org/serviceaccount` label only for shorter names
//! (`calico:libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go`), so such a
//! name can never match. The analysis leaves those names out of the compiled rule
//! (`analysis::ir`); when every name of a rule is that long the solver proves the whole rule
//! dead and [`all_names_unlabelled`] says why; when only some are, [`check`] reports each
//! long name (the part of the rule that can never match).

use super::super::Sink;
use crate::analysis::ir::MAX_LABELLED_SERVICE_ACCOUNT;
use crate::model::resource::{Direction, EntityRule};
use crate::project::Project;

fn too_long(name: &str) -> bool {
    name.chars().count() >= MAX_LABELLED_SERVICE_ACCOUNT
}

const WHY: &str = "pods only get the `projectcalico.org/serviceaccount` label when the service account's name is shorter than 63 characters";

/// When every `serviceAccounts.names` entry of `e` is too long to be a label: why.
pub(super) fn all_names_unlabelled(e: &EntityRule) -> Option<String> {
    let sa = e.service_accounts.as_ref()?;
    (!sa.names.is_empty() && sa.names.iter().all(|n| too_long(&n.value))).then(|| {
        let n = sa.names.len();
        format!(
            "{} `serviceAccounts.names` {} 63 characters or longer, and {WHY}",
            if n == 1 {
                "its only"
            } else {
                "every one of its"
            },
            if n == 1 { "entry is" } else { "entries is" },
        )
    })
}

/// One finding per long name in a list that also has usable names.
pub(super) fn check(project: &Project, sink: &mut Sink<'_>) {
    for (_, res) in project.policies() {
        let Some(policy) = res.policy() else { continue };
        for d in [Direction::Ingress, Direction::Egress] {
            for rule in policy.rules(d) {
                for (side, e) in [("source", &rule.source), ("destination", &rule.destination)] {
                    let Some(sa) = &e.service_accounts else {
                        continue;
                    };
                    if sa.names.iter().all(|n| too_long(&n.value)) {
                        continue; // the whole rule: the solver's finding
                    }
                    for (i, name) in sa.names.iter().enumerate() {
                        if !too_long(&name.value) {
                            continue;
                        }
                        sink.at(
                            res.location(name.span),
                            format!(
                                "service account name of {} characters can never match: {WHY}",
                                name.value.chars().count()
                            ),
                        )
                        .in_resource(
                            res,
                            &format!("{}/{side}/serviceAccounts/names/{i}", rule.pointer),
                        )
                        .emit();
                    }
                }
            }
        }
    }
}
