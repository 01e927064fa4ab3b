//! Felix's four per-endpoint policy lists (spec §4.8; `calico:felix/calc/event_sequencer.go`
//! `tierInfoToProtoTierInfo`, `calico:felix/rules/endpoints.go`).
//!
//! Each list is its own tier/policy chain: the tiers keep their order, a tier without a
//! policy of the list is skipped, and in the untracked and pre-DNAT lists every tier ends
//! with a forced Pass instead of the end-of-tier deny. Workload endpoints only ever see the
//! normal list; host endpoints see all four (host-local traffic: untracked, pre-DNAT (ingress),
//! normal; forwarded traffic: forward).
//!
//! The analysis runs each list as its own [`PolicySet`] (a *view*) through the same engines,
//! so neither the Z3 encoding nor the concrete evaluator needs to know about classes.

use super::ir::{PolicyClass, PolicyId, PolicySet};

/// One of Felix's per-endpoint policy lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// Normal policies and applyOnForward ones: what workload endpoints (and host-local
    /// traffic of host endpoints) are evaluated against, with the tiers' own default actions.
    Normal,
    /// applyOnForward policies: traffic forwarded through a host endpoint.
    Forward,
    /// doNotTrack policies: host endpoints, before connection tracking; forced Pass.
    Untracked,
    /// preDNAT policies: host endpoints, ingress before DNAT; forced Pass.
    PreDnat,
}

impl Chain {
    pub const ALL: [Chain; 4] = [
        Chain::Normal,
        Chain::Forward,
        Chain::Untracked,
        Chain::PreDnat,
    ];

    /// Whether a policy of `class` goes into this list.
    pub fn includes(self, class: PolicyClass) -> bool {
        match self {
            Chain::Normal => matches!(class, PolicyClass::Normal | PolicyClass::ApplyOnForward),
            Chain::Forward => class == PolicyClass::ApplyOnForward,
            Chain::Untracked => class == PolicyClass::DoNotTrack,
            Chain::PreDnat => class == PolicyClass::PreDnat,
        }
    }

    /// The list replaces every tier's default action with Pass (no end-of-tier deny).
    pub fn forced_pass(self) -> bool {
        matches!(self, Chain::Untracked | Chain::PreDnat)
    }

    /// Only host endpoints have this list (workload endpoints see the normal list only).
    pub fn host_endpoints_only(self) -> bool {
        self != Chain::Normal
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Normal => "normal",
            Chain::Forward => "forward",
            Chain::Untracked => "untracked",
            Chain::PreDnat => "pre-DNAT",
        }
    }
}

/// For findings about a policy outside the normal list: which list it is evaluated in.
pub fn list_note(class: PolicyClass) -> Option<&'static str> {
    match class {
        PolicyClass::Normal => None,
        PolicyClass::ApplyOnForward => Some(
            "an applyOnForward policy: evaluated in the normal list and for traffic forwarded through host endpoints; this holds in both",
        ),
        PolicyClass::DoNotTrack => Some(
            "a doNotTrack policy: evaluated only for host endpoints, among the other doNotTrack policies (tiers end with Pass there)",
        ),
        PolicyClass::PreDnat => Some(
            "a preDNAT policy: evaluated only for host endpoints' ingress, among the other preDNAT policies (tiers end with Pass there)",
        ),
    }
}

/// One list as a policy set of its own.
#[derive(Clone, Debug)]
pub struct View {
    pub chain: Chain,
    pub set: PolicySet,
    /// For each policy of `set`, its id in the full set.
    pub origin: Vec<PolicyId>,
}

impl PolicySet {
    /// The policies of list `chain`, in the full set's order, with the tiers as the list
    /// sees them (forced Pass where the list has it).
    pub fn chain_view(&self, chain: Chain) -> View {
        let mut origin = Vec::new();
        let mut policies = Vec::new();
        for (i, p) in self.policies.iter().enumerate() {
            if chain.includes(p.class) {
                origin.push(PolicyId(i));
                policies.push(p.clone());
            }
        }
        let tiers = self
            .tiers
            .iter()
            .map(|t| {
                let mut t = t.clone();
                t.default_pass |= chain.forced_pass();
                t
            })
            .collect();
        View {
            chain,
            set: PolicySet { policies, tiers },
            origin,
        }
    }

    /// The set workload endpoints are evaluated against: the normal list (doNotTrack and
    /// preDNAT policies never apply to workloads, §4.8). `reach`, `graph` and assertions
    /// answer for this list.
    pub fn workload_view(&self) -> PolicySet {
        self.chain_view(Chain::Normal).set
    }

    /// [`PolicySet::workload_view`], keeping this set's policies instead of copying them.
    pub fn into_workload_view(mut self) -> PolicySet {
        let chain = Chain::Normal;
        self.policies.retain(|p| chain.includes(p.class));
        for t in &mut self.tiers {
            t.default_pass |= chain.forced_pass();
        }
        self
    }

    /// The lists that hold at least one policy (the normal list always).
    pub fn chains_in_use(&self) -> Vec<Chain> {
        Chain::ALL
            .into_iter()
            .filter(|&c| c == Chain::Normal || self.policies.iter().any(|p| c.includes(p.class)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_is_in_the_lists_felix_puts_it_in() {
        use PolicyClass::*;
        let lists = |c: PolicyClass| -> Vec<Chain> {
            Chain::ALL.into_iter().filter(|ch| ch.includes(c)).collect()
        };
        assert_eq!(lists(Normal), vec![Chain::Normal]);
        assert_eq!(lists(ApplyOnForward), vec![Chain::Normal, Chain::Forward]);
        assert_eq!(lists(DoNotTrack), vec![Chain::Untracked]);
        assert_eq!(lists(PreDnat), vec![Chain::PreDnat]);
        assert!(Chain::Untracked.forced_pass() && Chain::PreDnat.forced_pass());
        assert!(!Chain::Normal.forced_pass() && !Chain::Forward.forced_pass());
    }

    #[test]
    fn the_owning_workload_view_is_the_workload_view() {
        use crate::analysis::ir::CompiledPolicy;
        let policy = |name: &str, class| CompiledPolicy {
            resource: crate::project::ResourceId(0),
            kind: crate::model::resource::Kind::GlobalNetworkPolicy,
            namespace: None,
            name: name.into(),
            tier: "default".into(),
            order: None,
            staged: false,
            selector: crate::model::selector::Expr::All,
            ingress_applies: true,
            egress_applies: true,
            ingress: Vec::new(),
            egress: Vec::new(),
            legacy_key: false,
            class,
        };
        let mut set = PolicySet {
            policies: [
                PolicyClass::Normal,
                PolicyClass::DoNotTrack,
                PolicyClass::ApplyOnForward,
                PolicyClass::PreDnat,
            ]
            .into_iter()
            .enumerate()
            .map(|(i, c)| policy(&format!("p{i}"), c))
            .collect(),
            tiers: Vec::new(),
        };
        set.finish();
        let copied = set.workload_view();
        let kept = set.into_workload_view();
        assert_eq!(format!("{copied:?}"), format!("{kept:?}"));
        let names: Vec<&str> = kept.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["p0", "p2"]);
    }
}
