//! Precedence as Felix computes it (spec §4.2): tiers, then policies within a tier.

use super::ir::{CompiledPolicy, CompiledTier};
use std::cmp::Ordering;

/// Absent orders sort after every number; NaN cannot occur (lowering rejects non-finite).
pub(crate) fn order_cmp(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// `TierLess`: defined tiers first, then order (absent last), then name.
pub fn tier_cmp(a: &CompiledTier, b: &CompiledTier) -> Ordering {
    b.defined
        .cmp(&a.defined)
        .then_with(|| order_cmp(a.order, b.order))
        .then_with(|| a.name.cmp(&b.name))
}

/// `PolKVLess` within a tier: order (absent last), then the `name/namespace/kind` key.
pub fn policy_cmp(a: &CompiledPolicy, b: &CompiledPolicy) -> Ordering {
    order_cmp(a.order, b.order).then_with(|| a.sort_key().cmp(&b.sort_key()))
}

/// Whether two policies' relative order is decided only by their names (same tier, equal or
/// both absent orders).
pub fn ordered_by_name_only(a: &CompiledPolicy, b: &CompiledPolicy) -> bool {
    a.tier == b.tier && order_cmp(a.order, b.order) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resource::Kind;
    use crate::model::selector::Expr;

    fn policy(name: &str, legacy_key: bool) -> CompiledPolicy {
        CompiledPolicy {
            resource: crate::project::ResourceId(0),
            kind: Kind::NetworkPolicy,
            namespace: Some("ns".into()),
            name: name.into(),
            tier: "default".into(),
            order: Some(1.0),
            staged: false,
            selector: Expr::All,
            ingress_applies: true,
            egress_applies: false,
            ingress: Vec::new(),
            egress: Vec::new(),
            legacy_key,
            class: Default::default(),
        }
    }

    /// `PolicySet::finish` sorts by computed keys; it must give the order the comparison of
    /// tier positions and then `policy_cmp` gives, ties (same name in two namespaces, equal
    /// orders, absent orders) kept in input order.
    #[test]
    fn finish_orders_as_policy_cmp_does() {
        use crate::analysis::ir::PolicySet;
        let mut policies = Vec::new();
        for (i, (name, tier, order, ns)) in [
            ("b", "default", Some(1.0), "x"),
            ("a", "security", None, "x"),
            ("a", "default", Some(1.0), "y"),
            ("a", "default", Some(1.0), "x"),
            ("c", "default", None, "x"),
            ("a", "default", Some(0.5), "x"),
            ("z", "security", Some(3.0), "x"),
            ("b", "default", Some(1.0), "x"),
            ("a-b", "default", Some(1.0), "x"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut p = policy(name, i % 2 == 0);
            p.tier = tier.into();
            p.order = order;
            p.namespace = Some(ns.into());
            p.resource = crate::project::ResourceId(i);
            policies.push(p);
        }
        let mut set = PolicySet {
            policies: policies.clone(),
            tiers: Vec::new(),
        };
        set.finish();
        let position = |p: &CompiledPolicy| set.tiers.iter().position(|t| t.name == p.tier);
        policies.sort_by(|a, b| position(a).cmp(&position(b)).then_with(|| policy_cmp(a, b)));
        let ids = |ps: &[CompiledPolicy]| ps.iter().map(|p| p.resource.0).collect::<Vec<_>>();
        assert_eq!(ids(&set.policies), ids(&policies));
        assert_eq!(set.policies.len(), 9);
    }

    /// v3.32+ compares `a/ns/NetworkPolicy` with `a-b/ns/NetworkPolicy` (`-` < `/`);
    /// up to v3.31 it compares `ns/default.a` with `ns/default.a-b` (prefix first).
    #[test]
    fn equal_order_tie_break_depends_on_the_calico_version() {
        assert_eq!(
            policy_cmp(&policy("a-b", false), &policy("a", false)),
            Ordering::Less
        );
        assert_eq!(
            policy_cmp(&policy("a", true), &policy("a-b", true)),
            Ordering::Less
        );
        assert_eq!(policy("web", true).sort_key(), "ns/default.web");
        assert_eq!(policy("default.web", true).sort_key(), "ns/default.web");
    }
}
