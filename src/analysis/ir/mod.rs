//! The analysis IR: policies and rules compiled into the terms Felix evaluates — scoped
//! selectors over endpoint labels (spec §3.7), numeric protocols, CIDRs, port matches, and the
//! IP families each rule is rendered for (§4.3). Both the Z3 encoding and the concrete
//! evaluator read only this IR, so they cannot disagree about what a rule means.
//!
//! A policy of a [`PolicySet`] is a [`PolicyId`] (its place in evaluation order), a rule a
//! [`RuleId`]; the resource a policy was compiled from is a `project::ResourceId` (tree order).

use crate::model::net::{Cidr, IpFamily};
use crate::model::port::{Port, Protocol};
use crate::model::resource::{
    Action, Direction, EntityRule, Kind, Policy, Resource, Rule, SelectorField,
};
use crate::model::selector::Expr;
pub use crate::model::tier::CompiledTier;
use crate::model::tier::{DEFAULT_TIER, KUBE_ADMIN_TIER, KUBE_BASELINE_TIER};
use crate::pointer::Pointer;
use crate::project::{Project, ResourceId};

mod compile;
pub use compile::{NotCompiled, compile_policy, compile_rule};

pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
/// The namespace-name label the Kubernetes API server sets on every Namespace (since 1.21;
/// it cannot be changed), as Calico's endpoints inherit it from the namespace profile.
pub const K8S_NAMESPACE_NAME_LABEL: &str = "pcns.kubernetes.io/metadata.name";
pub const SERVICE_ACCOUNT_LABEL: &str = "projectcalico.org/serviceaccount";
pub const NAMESPACE_PREFIX: &str = "pcns.";
pub const SERVICE_ACCOUNT_PREFIX: &str = "pcsa.";
/// Service-account names this long or longer never become the
/// `projectcalico.org/serviceaccount` label of a pod (§3.7.3,
/// `workload_endpoint_default.go`).
pub const MAX_LABELLED_SERVICE_ACCOUNT: usize = 63;

/// A port constraint of an entity rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PortMatch {
    Range(u16, u16),
    /// A named port: matches when the endpoint on that side declares the name with the
    /// packet's protocol and port.
    Named(String),
}

/// One side (`source` or `destination`) of a compiled rule.
#[derive(Clone, Debug, Default, PartialEq, Hash)]
pub struct Entity {
    /// Effective positive selector (scoped, §3.7.1 steps 1-3); `None` = no identity constraint.
    pub selector: Option<Expr>,
    /// `notSelector`, used raw (never scoped).
    pub not_selector: Option<Expr>,
    pub nets: Vec<Cidr>,
    pub not_nets: Vec<Cidr>,
    pub ports: Vec<PortMatch>,
    pub not_ports: Vec<PortMatch>,
    /// `services` match as an opaque membership atom: `namespace/name`.
    pub service: Option<String>,
}

/// An ICMP type/code match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Icmp {
    pub icmp_type: Option<u8>,
    pub code: Option<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Hash)]
pub struct Http {
    pub methods: Vec<String>,
    pub exact_paths: Vec<String>,
    pub prefix_paths: Vec<String>,
}

/// A rule as Felix evaluates it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledRule {
    /// Index of the rule in its policy's list for the direction.
    pub index: usize,
    pub pointer: Pointer,
    pub action: Action,
    /// IP families the rule is rendered for (a rule skipped for both can never match).
    pub v4: bool,
    pub v6: bool,
    pub protocol: Option<u8>,
    pub not_protocol: Option<u8>,
    pub icmp: Option<Icmp>,
    pub not_icmp: Option<Icmp>,
    pub source: Entity,
    pub destination: Entity,
    pub http: Option<Http>,
}

impl CompiledRule {
    pub fn is_terminal(&self) -> bool {
        self.action != Action::Log
    }

    /// A hash of what the rule matches and does, without where it is written (its pointer
    /// and position): two rules with equal hashes decide every packet alike. `diff` compares
    /// rules of two trees by it.
    pub fn meaning_hash(&self) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        // Destructured, so that a field added to the rule is either hashed or said here not
        // to change what the rule decides.
        let CompiledRule {
            index: _,
            pointer: _,
            action,
            v4,
            v6,
            protocol,
            not_protocol,
            icmp,
            not_icmp,
            source,
            destination,
            http,
        } = self;
        let mut h = DefaultHasher::new();
        (action, v4, v6, protocol, not_protocol, icmp, not_icmp).hash(&mut h);
        (source, destination, http).hash(&mut h);
        h.finish()
    }
}

/// A policy as Felix orders and applies it.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    /// The resource compiled.
    pub resource: ResourceId,
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
    pub tier: String,
    pub order: Option<f64>,
    pub staged: bool,
    /// Endpoints the policy applies to (§3.7.2).
    pub selector: Expr,
    pub ingress_applies: bool,
    pub egress_applies: bool,
    pub ingress: Vec<CompiledRule>,
    pub egress: Vec<CompiledRule>,
    /// Sort equal orders by the pre-v3.32 key (see [`CompiledPolicy::sort_key`]).
    pub legacy_key: bool,
    /// Which of Felix's per-endpoint policy lists the policy goes into (spec §4.8).
    pub class: PolicyClass,
}

/// The GlobalNetworkPolicy flags that decide which per-endpoint policy lists Felix puts a
/// policy into (spec §4.8; `calico:felix/calc/event_sequencer.go` `tierInfoToProtoTierInfo`
/// tests `DoNotTrack()`, then `PreDNAT()`, then `ApplyOnForward()`, in that order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyClass {
    /// No flag: the normal list (workload endpoints, host-local host-endpoint traffic).
    #[default]
    Normal,
    /// `applyOnForward` only: the normal list and the forward list.
    ApplyOnForward,
    /// `doNotTrack`: the untracked list (host endpoints only, forced Pass at tier ends).
    DoNotTrack,
    /// `preDNAT`: the pre-DNAT list (host endpoints, ingress only, forced Pass).
    PreDnat,
}

impl CompiledPolicy {
    pub fn applies(&self, d: Direction) -> bool {
        match d {
            Direction::Ingress => self.ingress_applies,
            Direction::Egress => self.egress_applies,
        }
    }

    pub fn rules(&self, d: Direction) -> &[CompiledRule] {
        match d {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// Felix's tie-break key for equal orders: v3.32+ `<name>/<namespace>/<kind>`; up to
    /// v3.31 the v1 name, `<namespace>/<tier>.<name>` (`<tier>.<name>` for global policies,
    /// `knp.default.<name>` for Kubernetes ones, `staged:` before staged ones).
    pub fn sort_key(&self) -> String {
        if self.kind.is_cluster_network_policy() {
            return super::cluster_policy::sort_key(self.kind, &self.name, self.legacy_key);
        }
        if self.legacy_key {
            let tiered = match self.kind {
                Kind::KubernetesNetworkPolicy => format!("knp.default.{}", self.name),
                _ if self.name.starts_with(&format!("{}.", self.tier)) => self.name.clone(),
                _ => format!("{}.{}", self.tier, self.name),
            };
            let staged = if self.staged { "staged:" } else { "" };
            return match &self.namespace {
                Some(ns) => format!("{ns}/{staged}{tiered}"),
                None => format!("{staged}{tiered}"),
            };
        }
        let kind = match self.kind {
            Kind::KubernetesNetworkPolicy => "KubernetesNetworkPolicy",
            k => k.name(),
        };
        format!(
            "{}/{}/{}",
            self.name,
            self.namespace.as_deref().unwrap_or(""),
            kind
        )
    }
}

/// A policy of a [`PolicySet`]: its index in `PolicySet::policies`, in evaluation order. A
/// newtype, so it is never taken for the policy's resource (`CompiledPolicy::resource`, an
/// index in tree order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyId(pub usize);

/// A rule of a compiled policy: (policy, direction, rule index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId {
    pub policy: PolicyId,
    pub direction: Direction,
    pub rule: usize,
}

/// The compiled policy set of a project: valid, enforced-or-staged policies plus the tiers.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub policies: Vec<CompiledPolicy>,
    pub tiers: Vec<CompiledTier>,
}

impl PolicySet {
    /// The policy `id` names, if any.
    pub fn policy(&self, id: PolicyId) -> Option<&CompiledPolicy> {
        self.policies.get(id.0)
    }

    /// Every policy with its id, in evaluation order.
    pub fn policies_with_ids(&self) -> impl Iterator<Item = (PolicyId, &CompiledPolicy)> {
        (0..).map(PolicyId).zip(&self.policies)
    }

    /// The rule `id` names, if any.
    pub fn rule(&self, id: RuleId) -> Option<&CompiledRule> {
        self.policy(id.policy)?.rules(id.direction).get(id.rule)
    }

    pub fn from_project(project: &Project) -> PolicySet {
        PolicySet::for_version(project, crate::validate::CalicoVersion::LATEST)
    }

    /// The policy set as Calico `target` orders it.
    pub fn for_version(project: &Project, target: crate::validate::CalicoVersion) -> PolicySet {
        // Invalid resources and replaced duplicates steer nothing (issue 13 items 6, 8).
        use rayon::prelude::*;
        let admission = crate::analysis::admission::Admission::of(project);
        let mut set = PolicySet::default();
        let admitted: Vec<(ResourceId, &Resource)> = project
            .policies()
            .filter(|(i, _)| admission.admitted(*i))
            .collect();
        // Policies compile independently (in tree order, collected in that order).
        set.policies = admitted
            .into_par_iter()
            .filter_map(|(i, res)| {
                let mut p = compile_policy(i, res).ok()?;
                p.legacy_key = !target.at_least(3, 32);
                // Cluster-scoped Kubernetes policies: only the releases that watch the kind
                // enforce it, in a tier whose name depends on the release.
                if res.kind.is_cluster_network_policy() {
                    let cluster_tier = res.policy().and_then(|q| q.cluster_tier.as_ref());
                    match cluster_tier {
                        Some(t) if super::cluster_policy::enforced(res.kind, target) => {
                            p.tier = super::cluster_policy::tier_name(t.value, target).into();
                        }
                        _ => return None,
                    }
                }
                Some(p)
            })
            .collect();
        for (_, res) in (project.resources_with_ids())
            .filter(|(i, r)| r.kind == Kind::Tier && admission.admitted(*i))
        {
            if let crate::model::resource::Body::Tier(t) = &res.body {
                set.tiers.push(CompiledTier {
                    name: res.name().to_string(),
                    order: t.order.as_ref().map(|o| o.value),
                    defined: true,
                    default_pass: t.default_action.as_ref().is_some_and(|a| a.value == "Pass"),
                });
            }
        }
        // Built-in tiers of older releases; a Tier resource of the same name replaces one.
        for builtin in super::cluster_policy::legacy_builtin_tiers(target) {
            if !set.tiers.iter().any(|t| t.name == builtin.name) {
                set.tiers.push(builtin);
            }
        }
        // Tiers the configuration declares as defined outside the tree (`tiers:`); a Tier
        // in the tree wins over a declaration of the same name.
        for t in &project.external_tiers {
            if !set.tiers.iter().any(|d| d.name == t.name) {
                set.tiers.push(t.clone());
            }
        }
        set.finish();
        set
    }

    /// Add built-in and referenced tiers, then sort tiers and policies as Felix does.
    pub fn finish(&mut self) {
        // `kube-admin` and `kube-baseline` for every version: no policy lands in them before
        // v3.32 (`cluster_policy::tier_name`).
        let builtin = [DEFAULT_TIER, KUBE_ADMIN_TIER, KUBE_BASELINE_TIER];
        for tier in builtin {
            if !self.tiers.iter().any(|t| t.name == tier.name) {
                self.tiers.push(tier.compiled());
            }
        }
        for p in &self.policies {
            if !self.tiers.iter().any(|t| t.name == p.tier) {
                self.tiers.push(CompiledTier {
                    name: p.tier.clone(),
                    order: None,
                    defined: false,
                    default_pass: false,
                });
            }
        }
        self.tiers.sort_by(crate::analysis::order::tier_cmp);
        self.tiers.dedup_by(|a, b| a.name == b.name);
        // Tier by tier, then `order::policy_cmp`. Each policy's tier position and name key
        // are computed once, not once per comparison (ten thousand policies, a hundred and
        // fifty thousand comparisons); the sort is stable, as before.
        let keys: Vec<(Option<usize>, String)> = (self.policies.iter())
            .map(|p| {
                let tier = self.tiers.iter().position(|t| t.name == p.tier);
                (tier, p.sort_key())
            })
            .collect();
        let mut by_order: Vec<usize> = (0..self.policies.len()).collect();
        by_order.sort_by(|&a, &b| {
            let (pa, pb) = (&self.policies[a], &self.policies[b]);
            (keys[a].0.cmp(&keys[b].0))
                .then_with(|| crate::analysis::order::order_cmp(pa.order, pb.order))
                .then_with(|| keys[a].1.cmp(&keys[b].1))
        });
        let mut policies: Vec<Option<CompiledPolicy>> = std::mem::take(&mut self.policies)
            .into_iter()
            .map(Some)
            .collect();
        self.policies = (by_order.into_iter())
            .filter_map(|i| policies.get_mut(i).and_then(Option::take))
            .collect();
    }

    pub fn tier(&self, name: &str) -> Option<&CompiledTier> {
        self.tiers.iter().find(|t| t.name == name)
    }
}
