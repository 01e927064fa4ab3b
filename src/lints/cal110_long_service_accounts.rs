//! CAL110 for service-account names of 63 characters or more (spec §3.7.3, W-23): pods get
//! the `projectcalico.org/serviceaccount` label only for shorter names
//! (`calico:libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go`), so such a
//! name can never match. The analysis leaves those names out of the compiled rule
//! (`analysis::ir`); when every name of a rule is that long the solver proves the whole rule
//! dead and [`all_names_unlabelled`] says why; when only some are, CAL135 reports each
//! long name (the part of the rule that can never match).

use crate::analysis::ir::MAX_LABELLED_SERVICE_ACCOUNT;
use crate::model::resource::EntityRule;

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
