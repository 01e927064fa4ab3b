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
            let v = super::Diagnostic::new(
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

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::model::{Kind, Policy};

    #[test]
    fn each_kind_is_valid_only_for_the_releases_that_watch_it() {
        let anp = policy_resource(Kind::AdminNetworkPolicy, "a", Policy::default());
        let banp = policy_resource(
            Kind::BaselineAdminNetworkPolicy,
            "default",
            Policy::default(),
        );
        let cnp = policy_resource(Kind::ClusterNetworkPolicy, "c", Policy::default());
        assert_clean(&validate_at(&anp, V3_29));
        assert_clean(&validate_at(&anp, V3_31));
        let v = validate_at(&anp, V3_32);
        assert_pointer(&v, "later releases enforce ClusterNetworkPolicy", "/kind");
        find(&validate_at(&anp, V3_28), "only Calico v3.29 to v3.31");
        find(&validate_at(&banp, V3_29), "only Calico v3.30 to v3.31");
        assert_clean(&validate_at(&banp, V3_30));
        find(&validate_at(&cnp, V3_31), "only Calico v3.32 and later");
        assert_clean(&validate_at(&cnp, V3_32));
        assert_clean(&validate_at(&cnp, V3_33));
    }

    #[test]
    fn baseline_admin_network_policy_is_a_singleton_named_default() {
        let banp = policy_resource(Kind::BaselineAdminNetworkPolicy, "base", Policy::default());
        let v = validate_at(&banp, V3_31);
        assert_pointer(&v, "must be named `default`", "/metadata/name");
    }

    #[test]
    fn names_are_dns_subdomains_and_no_namespace() {
        let cnp = policy_resource(Kind::ClusterNetworkPolicy, "Bad_Name", Policy::default());
        find(&validate(&cnp), "invalid ClusterNetworkPolicy name");
        let mut cnp = policy_resource(Kind::ClusterNetworkPolicy, "a.b.c", Policy::default());
        assert_clean(&validate(&cnp));
        cnp.meta.namespace = Some(s("ns"));
        find(&validate(&cnp), "ClusterNetworkPolicy is cluster-scoped");
    }
}
