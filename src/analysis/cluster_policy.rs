//! Where Calico enforces the cluster-scoped Kubernetes policies (AdminNetworkPolicy,
//! BaselineAdminNetworkPolicy, ClusterNetworkPolicy): which releases watch which kind, the
//! built-in tiers they land in, and their tie-break keys. `model::lower` has already converted
//! them into Calico policies; this module only places them (spec §0.1, §1.7, §4.2).
//!
//! Sources:
//! - v3.29–v3.31: `calico@release-v3.31:libcalico-go/lib/names/policy.go`
//!   (`AdminNetworkPolicyTierName`, `BaselineAdminNetworkPolicyTierName`,
//!   `K8sAdminNetworkPolicyNamePrefix` `kanp.adminnetworkpolicy.`,
//!   `K8sBaselineAdminNetworkPolicyNamePrefix` `kbanp.baselineadminnetworkpolicy.`),
//!   `calico@release-v3.31:api/pkg/apis/projectcalico/v3/tier.go` (orders 1,000 and
//!   10,000,000) and `calico@release-v3.31:libcalico-go/lib/clientv3/client.go`
//!   (`ensureTierExists(..., v3.Pass, ...)`: both tiers default to Pass). v3.29 watches only
//!   AdminNetworkPolicy (`calico@release-v3.29:libcalico-go/lib/backend/k8s/resources/`
//!   has no `kubebaselineadminnetworkpolicy.go`).
//! - v3.32+: `calico:libcalico-go/lib/backend/k8s/conversion/clusternetworkpolicy.go`
//!   (`clusterNetworkPolicyTier`: Admin → `kube-admin`, Baseline → `kube-baseline`), the
//!   same `client.go` for the tiers (Pass, orders 1,000 / 10,000,000), and
//!   `calico:libcalico-go/lib/backend/model/kubeclusternetworkpolicy.go` (key kind
//!   `KubernetesClusterNetworkPolicy`). v3.32 no longer watches the v1alpha1 kinds
//!   (`calico@release-v3.32:libcalico-go/lib/backend/k8s/resources/` has only
//!   `kubeclusternetworkpolicy.go`).

use crate::model::resource::{ClusterTier, Kind};
use crate::model::tier::CompiledTier;
use crate::model::tier::{
    KUBE_ADMIN_TIER, KUBE_BASELINE_TIER, LEGACY_ADMIN_TIER, LEGACY_BASELINE_TIER,
};
use crate::validate::CalicoVersion;

/// Whether Calico `target` watches and enforces resources of `kind`.
pub fn enforced(kind: Kind, target: CalicoVersion) -> bool {
    match kind.calico_releases() {
        Some((first, last)) => {
            target.at_least(3, first) && last.is_none_or(|l| !target.at_least(3, l + 1))
        }
        None => false,
    }
}

/// The built-in tier a policy of `tier` is enforced in by Calico `target`.
pub fn tier_name(tier: ClusterTier, target: CalicoVersion) -> &'static str {
    match (tier, target.at_least(3, 32)) {
        (ClusterTier::Admin, true) => KUBE_ADMIN_TIER.name,
        (ClusterTier::Baseline, true) => KUBE_BASELINE_TIER.name,
        (ClusterTier::Admin, false) => LEGACY_ADMIN_TIER.name,
        (ClusterTier::Baseline, false) => LEGACY_BASELINE_TIER.name,
    }
}

/// The built-in tiers of releases before v3.32 (`kube-admin` and `kube-baseline` are added
/// for every version by `PolicySet::finish`; no policy lands in them before v3.32).
pub fn legacy_builtin_tiers(target: CalicoVersion) -> Vec<CompiledTier> {
    let mut tiers = Vec::new();
    if target.at_least(3, 29) && !target.at_least(3, 32) {
        tiers.push(LEGACY_ADMIN_TIER.compiled());
    }
    if target.at_least(3, 30) && !target.at_least(3, 32) {
        tiers.push(LEGACY_BASELINE_TIER.compiled());
    }
    tiers
}

/// Felix's tie-break key of a converted policy (see `CompiledPolicy::sort_key`): up to v3.31
/// the name of the GlobalNetworkPolicy Calico makes (`kanp.adminnetworkpolicy.<name>`,
/// `kbanp.baselineadminnetworkpolicy.<name>`); from v3.32 `<name>//KubernetesClusterNetworkPolicy`.
pub fn sort_key(kind: Kind, name: &str, legacy: bool) -> String {
    match (kind, legacy) {
        (Kind::AdminNetworkPolicy, true) => format!("kanp.adminnetworkpolicy.{name}"),
        (Kind::BaselineAdminNetworkPolicy, true) => {
            format!("kbanp.baselineadminnetworkpolicy.{name}")
        }
        _ => format!("{name}//KubernetesClusterNetworkPolicy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u32) -> CalicoVersion {
        CalicoVersion { major: 3, minor }
    }

    #[test]
    fn each_kind_is_enforced_only_by_the_releases_that_watch_it() {
        let anp = Kind::AdminNetworkPolicy;
        let banp = Kind::BaselineAdminNetworkPolicy;
        let cnp = Kind::ClusterNetworkPolicy;
        assert!(!enforced(anp, v(28)));
        assert!(enforced(anp, v(29)) && enforced(anp, v(31)));
        assert!(!enforced(anp, v(32)));
        assert!(!enforced(banp, v(29)) && enforced(banp, v(30)) && enforced(banp, v(31)));
        assert!(!enforced(banp, v(32)));
        assert!(!enforced(cnp, v(31)) && enforced(cnp, v(32)) && enforced(cnp, v(33)));
        assert!(!enforced(Kind::GlobalNetworkPolicy, v(33)));
    }

    #[test]
    fn tiers_are_renamed_in_v3_32() {
        assert_eq!(tier_name(ClusterTier::Admin, v(31)), "adminnetworkpolicy");
        assert_eq!(tier_name(ClusterTier::Admin, v(32)), "kube-admin");
        assert_eq!(
            tier_name(ClusterTier::Baseline, v(30)),
            "baselineadminnetworkpolicy"
        );
        assert_eq!(tier_name(ClusterTier::Baseline, v(33)), "kube-baseline");
        let legacy: Vec<String> = legacy_builtin_tiers(v(30))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(legacy, ["adminnetworkpolicy", "baselineadminnetworkpolicy"]);
        assert_eq!(legacy_builtin_tiers(v(29)).len(), 1);
        assert!(legacy_builtin_tiers(v(32)).is_empty());
        assert!(legacy_builtin_tiers(v(30)).iter().all(|t| t.default_pass));
    }

    #[test]
    fn sort_keys_follow_the_converted_names() {
        assert_eq!(
            sort_key(Kind::AdminNetworkPolicy, "a", true),
            "kanp.adminnetworkpolicy.a"
        );
        assert_eq!(
            sort_key(Kind::ClusterNetworkPolicy, "a", false),
            "a//KubernetesClusterNetworkPolicy"
        );
    }
}
