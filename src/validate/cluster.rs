//! AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy: the checks that
//! are not about shape (lowering checks the CRD schema, see `model::lower::cluster`): which
//! Calico releases enforce the kind, and the BaselineAdminNetworkPolicy singleton name.

use super::Cx;
use crate::model::Kind;

pub fn check_cluster_policy(cx: &mut Cx) {
    let kind = cx.kind();
    if let Some((first, last)) = kind.calico_releases() {
        let too_old = !cx.at_least(3, first);
        let too_new = last.is_some_and(|l| cx.at_least(3, l + 1));
        if too_old || too_new {
            let range = match last {
                Some(l) => format!("v3.{first} to v3.{l}"),
                None => format!("v3.{first} and later"),
            };
            let instead = match kind {
                Kind::ClusterNetworkPolicy => {
                    "; earlier releases enforce AdminNetworkPolicy and BaselineAdminNetworkPolicy"
                }
                _ if too_new => {
                    "; later releases enforce ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) instead"
                }
                _ => "",
            };
            let message = format!(
                "Calico {} does not enforce {} resources: only Calico {range} does{instead}",
                cx.target,
                kind.name()
            );
            cx.report(cx.res.kind_span, "/kind", message);
        }
    }
    // The CRD's CEL rule: `self.metadata.name == 'default'` (one per cluster).
    if kind == Kind::BaselineAdminNetworkPolicy {
        if let Some(name) = cx.res.meta.name.as_ref().filter(|n| n.value != "default") {
            let v = super::Violation::new(
                name.span,
                "/metadata/name",
                format!(
                    "a BaselineAdminNetworkPolicy must be named `default` (found `{}`): there is only one per cluster",
                    name.value
                ),
            );
            cx.push(v);
        }
    }
}
