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
    /// Each policy's tier, as its position in the set's tiers (the first of that name), when
    /// tier names are unique; `None` otherwise (tiers are then compared by name).
    tier_of: Option<Vec<Option<usize>>>,
    /// Each policy's selector as the position of its first equal selector: policies sharing a
    /// selector (a repository's global policies use a handful) select the same endpoints, so a
    /// selector is evaluated once per endpoint (see [`Context::selects_memo`]).
    selector_class: Vec<usize>,
    /// The namespace each policy's selector pins (see `by_namespace`).
    pinned: Vec<Option<String>>,
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
        let names: std::collections::HashSet<&str> =
            set.tiers.iter().map(|t| t.name.as_str()).collect();
        let tier_of = (names.len() == set.tiers.len()).then(|| {
            let position: std::collections::HashMap<&str, usize> = (set.tiers.iter())
                .enumerate()
                .map(|(i, t)| (t.name.as_str(), i))
                .collect();
            (set.policies.iter())
                .map(|p| position.get(p.tier.as_str()).copied())
                .collect()
        });
        let mut first: std::collections::HashMap<&crate::model::selector::Expr, usize> =
            std::collections::HashMap::new();
        let selector_class = (set.policies.iter().enumerate())
            .map(|(i, p)| *first.entry(&p.selector).or_insert(i))
            .collect();
        let pinned = (restrictions.iter())
            .map(|r| r.single_value(ir::NAMESPACE_LABEL).map(str::to_string))
            .collect();
        Context {
            set,
            restrictions,
            by_namespace,
            unpinned,
            tier_of,
            selector_class,
            pinned,
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
        match &self.tier_of {
            Some(tier_of) => self.precedents_by_position(tier_of, pi, d, candidates),
            None => self.precedents_by_name(pi, d, candidates),
        }
    }

    /// [`Context::precedents_among`] comparing tier names, one pass per earlier tier.
    fn precedents_by_name(
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

    /// [`Context::precedents_among`] in one pass over `candidates`, with tiers known by
    /// position (unique tier names): the same lists, in the same order.
    fn precedents_by_position(
        &self,
        tier_of: &[Option<usize>],
        pi: PolicyId,
        d: Direction,
        candidates: &[PolicyId],
    ) -> Precedents {
        let own = tier_of.get(pi.0).copied().flatten();
        // Policies of an unknown tier are in no earlier tier's list (as by name: a tier the
        // set does not have is at position 0).
        let earlier = own.unwrap_or(0);
        let own_name = self.policy(pi).map(|p| p.tier.as_str()).unwrap_or_default();
        let mut peers: Vec<Vec<PolicyId>> = vec![Vec::new(); earlier];
        let mut policies = Vec::new();
        for &q in candidates {
            let Some(qp) = self.policy(q).filter(|qp| !qp.staged && qp.applies(d)) else {
                continue;
            };
            let at = tier_of.get(q.0).copied().flatten();
            if let Some(list) = at.and_then(|t| peers.get_mut(t)) {
                list.push(q);
            }
            let same_tier = match (own, at) {
                (Some(a), Some(b)) => a == b,
                _ => qp.tier == own_name,
            };
            if same_tier && q < pi {
                policies.push(q);
            }
        }
        let tiers = (self.set.tiers.iter().zip(peers))
            .filter(|(_, peers)| !peers.is_empty())
            .map(|(t, peers)| (t.name.clone(), peers, t.default_pass))
            .collect();
        Precedents { tiers, policies }
    }

    /// Whether policy `q`'s selector matches `labels` (whose namespace label is `namespace`),
    /// remembered in `memo` by selector (one map per endpoint). A selector pinned to another
    /// namespace is false without evaluating it.
    pub(super) fn selects_memo(
        &self,
        q: PolicyId,
        (labels, namespace): (&std::collections::BTreeMap<String, String>, Option<&str>),
        memo: &mut std::collections::HashMap<usize, bool>,
    ) -> bool {
        let Some(p) = self.policy(q) else {
            return false;
        };
        if let Some(Some(pinned)) = self.pinned.get(q.0) {
            if namespace != Some(pinned.as_str()) {
                return false;
            }
        }
        let class = self.selector_class.get(q.0).copied().unwrap_or(q.0);
        *memo.entry(class).or_insert_with(|| p.selector.eval(labels))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::read::parse_bytes;
    use crate::load::yaml::ParseLimits;
    use crate::model::lower::{Lowered, lower_file_with};
    use crate::model::selector::SelectorLimits;
    use crate::project::Project;
    use crate::source::{FileId, SourceFile, SourceMap};

    fn set_of(yaml: &str) -> PolicySet {
        let parsed = parse_bytes(yaml.as_bytes().to_vec(), &ParseLimits::default());
        let Ok((text, documents, _)) = parsed else {
            panic!("the test YAML is UTF-8");
        };
        let mut lowered = Lowered::default();
        lower_file_with(
            FileId(0),
            &documents,
            &SelectorLimits::default(),
            &mut lowered,
        );
        let mut sources = SourceMap::default();
        sources.add(SourceFile::new("t.yaml".into(), "t.yaml".into(), text));
        PolicySet::from_project(&Project::from_lowered(sources, Vec::new(), lowered))
    }

    fn policy(
        kind: &str,
        ns: Option<&str>,
        name: &str,
        tier: &str,
        order: u32,
        sel: &str,
    ) -> String {
        let ns = ns
            .map(|n| format!("\n  namespace: {n}"))
            .unwrap_or_default();
        let qualified = if tier == "default" {
            name.to_string()
        } else {
            format!("{tier}.{name}")
        };
        format!(
            "apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata:\n  name: {qualified}{ns}\n\
             spec:\n  tier: {tier}\n  order: {order}\n  selector: \"{sel}\"\n  \
             types: [Ingress, Egress]\n  ingress:\n  - action: Pass\n  egress:\n  - action: Allow\n---\n"
        )
    }

    /// With unique tier names, the one-pass lists equal the per-tier scans.
    #[test]
    fn precedents_by_position_equal_precedents_by_name() {
        let mut yaml = String::new();
        for (tier, order) in [("security", 100), ("platform", 200)] {
            yaml.push_str(&format!(
                "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: {tier}\nspec:\n  order: {order}\n---\n"
            ));
        }
        for (i, tier) in ["security", "platform", "default", "security", "default"]
            .iter()
            .enumerate()
        {
            let order = 10 * (i as u32 % 3);
            yaml.push_str(&policy(
                "GlobalNetworkPolicy",
                None,
                &format!("g{i}"),
                tier,
                order,
                "has(env)",
            ));
            for ns in ["a", "b"] {
                let sel = if i % 2 == 0 { "app == 'x'" } else { "all()" };
                yaml.push_str(&policy(
                    "NetworkPolicy",
                    Some(ns),
                    &format!("p{i}"),
                    tier,
                    order,
                    sel,
                ));
                yaml.push_str(&policy(
                    "StagedNetworkPolicy",
                    Some(ns),
                    &format!("s{i}"),
                    tier,
                    order,
                    sel,
                ));
            }
        }
        let set = set_of(&yaml);
        assert!(set.policies.len() > 20, "{}", set.policies.len());
        let cx = Context::new(&set);
        let Some(tier_of) = &cx.tier_of else {
            panic!("tier names are unique");
        };
        let mut compared = 0;
        for pi in (0..set.policies.len()).map(PolicyId) {
            let candidates = cx.candidates(pi);
            for d in [Direction::Ingress, Direction::Egress] {
                let by_position = cx.precedents_by_position(tier_of, pi, d, &candidates);
                let by_name = cx.precedents_by_name(pi, d, &candidates);
                assert_eq!(by_position.tiers, by_name.tiers, "{pi:?} {d:?}");
                assert_eq!(by_position.policies, by_name.policies, "{pi:?} {d:?}");
                compared += by_name.tiers.len() + by_name.policies.len();
            }
        }
        assert!(compared > 50, "{compared}");
    }
}
