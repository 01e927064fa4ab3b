//! Tiers as the analysis orders them, whether a Tier resource, the configuration (`tiers:`)
//! or Calico itself (built-in tiers) defines them. In the model so the loaded project can hold
//! the configuration's tiers without knowing the analysis.
//!
//! The one definition of the tiers Calico creates itself ([`BuiltinTier`]): their names,
//! orders and default actions, read by validation (required order and action), the analysis
//! (tiers every set has), CAL004 (tiers nobody needs to define) and the policy model (the
//! `default` tier of a policy naming none). Which release creates which tier stays with its
//! reader: validation checks a tier from the release its validator does, the analysis places
//! the cluster-scoped kinds (`analysis::cluster_policy`).
//!
//! Sources: `calico:libcalico-go/lib/clientv3/client.go` (`ensureTierExists`: `default` Deny,
//! `kube-admin`/`kube-baseline` Pass), `calico:api/pkg/apis/projectcalico/v3/tier.go` (orders
//! 1,000 / 1,000,000 / 10,000,000), and for the v3.29–v3.31 names
//! `calico@release-v3.31:libcalico-go/lib/names/policy.go` (see `analysis::cluster_policy`).

/// A tier Calico creates itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BuiltinTier {
    pub name: &'static str,
    pub order: u32,
    /// Created with `defaultAction: Pass` (else Deny).
    pub default_pass: bool,
}

const DENY: bool = false;
const PASS: bool = true;

/// The tier of a policy that names none.
pub const DEFAULT_TIER: BuiltinTier = BuiltinTier::new("default", 1_000_000, DENY);

/// AdminNetworkPolicy's tier from v3.32 (ClusterNetworkPolicy, tier Admin).
pub const KUBE_ADMIN_TIER: BuiltinTier = BuiltinTier::new("kube-admin", 1_000, PASS);

/// BaselineAdminNetworkPolicy's tier from v3.32 (ClusterNetworkPolicy, tier Baseline).
pub const KUBE_BASELINE_TIER: BuiltinTier = BuiltinTier::new("kube-baseline", 10_000_000, PASS);

/// AdminNetworkPolicy's tier in v3.29–v3.31.
pub const LEGACY_ADMIN_TIER: BuiltinTier = BuiltinTier::new("adminnetworkpolicy", 1_000, PASS);

/// BaselineAdminNetworkPolicy's tier in v3.30–v3.31.
pub const LEGACY_BASELINE_TIER: BuiltinTier =
    BuiltinTier::new("baselineadminnetworkpolicy", 10_000_000, PASS);

/// Every tier Calico creates itself, current and older names.
pub const BUILTIN_TIERS: [BuiltinTier; 5] = [
    DEFAULT_TIER,
    KUBE_ADMIN_TIER,
    KUBE_BASELINE_TIER,
    LEGACY_ADMIN_TIER,
    LEGACY_BASELINE_TIER,
];

impl BuiltinTier {
    const fn new(name: &'static str, order: u32, default_pass: bool) -> BuiltinTier {
        BuiltinTier {
            name,
            order,
            default_pass,
        }
    }

    /// `Pass` or `Deny`, as a Tier resource writes it.
    pub fn default_action(&self) -> &'static str {
        if self.default_pass { "Pass" } else { "Deny" }
    }

    /// The tier as the analysis orders it.
    pub fn compiled(&self) -> CompiledTier {
        CompiledTier {
            name: self.name.to_string(),
            order: Some(f64::from(self.order)),
            defined: true,
            default_pass: self.default_pass,
        }
    }
}

/// A tier as Felix orders it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledTier {
    pub name: String,
    pub order: Option<f64>,
    /// Whether a Tier resource defines it (undefined tiers sort last).
    pub defined: bool,
    /// `defaultAction: Pass` (otherwise Deny).
    pub default_pass: bool,
}
