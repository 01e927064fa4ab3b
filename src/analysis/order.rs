//! Precedence as Felix computes it (spec §4.2): tiers, then policies within a tier.

use super::ir::{CompiledPolicy, CompiledTier};
use std::cmp::Ordering;

/// Absent orders sort after every number; NaN cannot occur (lowering rejects non-finite).
fn order_cmp(a: Option<f64>, b: Option<f64>) -> Ordering {
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
