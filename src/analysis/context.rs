//! The overlap index of one chain ([`Context`]): which policies may share an endpoint with a
//! policy (label restrictions, policies pinned to one namespace looked up by it), and what
//! may decide a packet before a policy is reached ([`Precedents`]). Every per-policy query,
//! concrete refutation and the conflict witnesses read it.

use super::ir::{self, CompiledPolicy, PolicyId, PolicySet};
use super::prefilter::Restrictions;
use crate::model::resource::Direction;

/// The policy set of a chain with its overlap index.
pub(crate) struct Context<'a> {
    pub(super) set: &'a PolicySet,
    restrictions: Vec<Restrictions>,
    /// Policies whose selector pins the namespace label, by namespace; and the rest. Two
    /// policies pinned to different namespaces never share an endpoint, so candidates for
    /// overlap are looked up here instead of scanning every policy.
    by_namespace: std::collections::HashMap<String, Vec<PolicyId>>,
    unpinned: Vec<PolicyId>,
}

/// Earlier tiers (name, overlapping policies, default Pass) and earlier same-tier policies
/// that may decide a packet before policy `pi` is reached in direction `d`.
pub(crate) struct Precedents {
    pub(super) tiers: Vec<(String, Vec<PolicyId>, bool)>,
    pub(super) policies: Vec<PolicyId>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(set: &'a PolicySet) -> Context<'a> {
        let restrictions: Vec<Restrictions> = set
            .policies
            .iter()
            .map(|p| Restrictions::of(&p.selector))
            .collect();
        let mut by_namespace: std::collections::HashMap<String, Vec<PolicyId>> =
            std::collections::HashMap::new();
        let mut unpinned = Vec::new();
        for (i, r) in restrictions.iter().enumerate() {
            let i = PolicyId(i);
            match r.single_value(ir::NAMESPACE_LABEL) {
                Some(ns) => by_namespace.entry(ns.to_string()).or_default().push(i),
                None => unpinned.push(i),
            }
        }
        Context {
            set,
            restrictions,
            by_namespace,
            unpinned,
        }
    }

    /// Policies that may share an endpoint with `p` (a superset, sorted).
    pub(super) fn candidates(&self, p: PolicyId) -> Vec<PolicyId> {
        let pinned = self
            .restrictions
            .get(p.0)
            .and_then(|r| r.single_value(ir::NAMESPACE_LABEL));
        let mut out = match pinned {
            Some(ns) => {
                let mut v = self.by_namespace.get(ns).cloned().unwrap_or_default();
                v.extend_from_slice(&self.unpinned);
                v
            }
            None => (0..self.set.policies.len()).map(PolicyId).collect(),
        };
        out.sort_unstable();
        out.retain(|&q| self.may_overlap(p, q));
        out
    }

    pub(crate) fn precedents(&self, pi: PolicyId, d: Direction) -> Precedents {
        self.precedents_among(pi, d, &self.candidates(pi))
    }

    /// [`Context::precedents`] given `candidates`, the policies that may share an endpoint
    /// with `pi` (computed once per policy).
    pub(super) fn precedents_among(
        &self,
        pi: PolicyId,
        d: Direction,
        candidates: &[PolicyId],
    ) -> Precedents {
        let tier = self.policy(pi).map(|p| p.tier.as_str()).unwrap_or_default();
        let tier_pos = self
            .set
            .tiers
            .iter()
            .position(|t| t.name == tier)
            .unwrap_or(0);
        let tiers = self
            .set
            .tiers
            .iter()
            .take(tier_pos)
            .filter_map(|t| {
                let peers = self.tier_peers(candidates, &t.name, d);
                (!peers.is_empty()).then(|| (t.name.clone(), peers, t.default_pass))
            })
            .collect();
        let policies = self
            .tier_peers(candidates, tier, d)
            .into_iter()
            .filter(|&q| q < pi)
            .collect();
        Precedents { tiers, policies }
    }

    pub(super) fn policy(&self, i: PolicyId) -> Option<&CompiledPolicy> {
        self.set.policy(i)
    }

    pub(super) fn may_overlap(&self, a: PolicyId, b: PolicyId) -> bool {
        match (self.restrictions.get(a.0), self.restrictions.get(b.0)) {
            (Some(x), Some(y)) => x.may_overlap(y),
            _ => false,
        }
    }

    /// Enforced policies of tier `tier` among `candidates` that apply in `d`, in order.
    pub(super) fn tier_peers(
        &self,
        candidates: &[PolicyId],
        tier: &str,
        d: Direction,
    ) -> Vec<PolicyId> {
        candidates
            .iter()
            .copied()
            .filter(|&q| {
                self.policy(q)
                    .is_some_and(|qp| qp.tier == tier && !qp.staged && qp.applies(d))
            })
            .collect()
    }
}
