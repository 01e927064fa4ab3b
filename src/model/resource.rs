//! Typed resources with spans: what lowering produces and every later stage consumes.
//!
//! Over ~600 lines on purpose: it is one cohesive thing, the data model of every resource kind
//! (declarations and their small accessors, no logic to speak of), read as a whole by
//! lowering, validation and the analysis; split by kind it would scatter the shared field
//! types (`SelectorField`, `NetField`, `EntityRule`) away from their users.

use crate::finding::{Location, ResourceRef};
use crate::model::net::{Cidr, NetError};
use crate::model::port::{Port, Protocol};
use crate::model::selector::{Selector, SelectorError, SelectorLimits};
use crate::pointer::Pointer;
use crate::source::{FileId, Span, Spanned};

/// Calico's storage API group/version: the CRDs the API server (or calicoctl) writes
/// `projectcalico.org/v3` resources into.
pub const CALICO_STORAGE_GROUP: &str = "crd.projectcalico.org/v1";

/// The kinds calint models. Everything else is counted as "unknown kind" and skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    NetworkPolicy,
    GlobalNetworkPolicy,
    StagedNetworkPolicy,
    StagedGlobalNetworkPolicy,
    StagedKubernetesNetworkPolicy,
    /// `networking.k8s.io/v1` NetworkPolicy.
    KubernetesNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha1` AdminNetworkPolicy (Calico v3.29–v3.31).
    AdminNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha1` BaselineAdminNetworkPolicy (Calico v3.30–v3.31).
    BaselineAdminNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy (Calico v3.32+).
    ClusterNetworkPolicy,
    Tier,
    NetworkSet,
    GlobalNetworkSet,
    Profile,
    HostEndpoint,
    Namespace,
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
}

impl Kind {
    /// The `kind:` value users write (the Kubernetes policy is `NetworkPolicy` too; reports
    /// disambiguate it by apiVersion).
    pub fn name(self) -> &'static str {
        match self {
            Kind::NetworkPolicy | Kind::KubernetesNetworkPolicy => "NetworkPolicy",
            Kind::GlobalNetworkPolicy => "GlobalNetworkPolicy",
            Kind::StagedNetworkPolicy => "StagedNetworkPolicy",
            Kind::StagedGlobalNetworkPolicy => "StagedGlobalNetworkPolicy",
            Kind::StagedKubernetesNetworkPolicy => "StagedKubernetesNetworkPolicy",
            Kind::AdminNetworkPolicy => "AdminNetworkPolicy",
            Kind::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
            Kind::ClusterNetworkPolicy => "ClusterNetworkPolicy",
            Kind::Tier => "Tier",
            Kind::NetworkSet => "NetworkSet",
            Kind::GlobalNetworkSet => "GlobalNetworkSet",
            Kind::Profile => "Profile",
            Kind::HostEndpoint => "HostEndpoint",
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
        }
    }

    /// Label used in summaries, unique per kind (`NetworkPolicy (k8s)` for the Kubernetes one).
    pub fn summary_name(self) -> &'static str {
        match self {
            Kind::KubernetesNetworkPolicy => "NetworkPolicy (networking.k8s.io)",
            other => other.name(),
        }
    }

    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::GlobalNetworkPolicy
                | Kind::StagedGlobalNetworkPolicy
                | Kind::AdminNetworkPolicy
                | Kind::BaselineAdminNetworkPolicy
                | Kind::ClusterNetworkPolicy
                | Kind::Tier
                | Kind::GlobalNetworkSet
                | Kind::Profile
                | Kind::HostEndpoint
                | Kind::Namespace
        )
    }

    pub fn is_policy(self) -> bool {
        matches!(
            self,
            Kind::NetworkPolicy
                | Kind::GlobalNetworkPolicy
                | Kind::StagedNetworkPolicy
                | Kind::StagedGlobalNetworkPolicy
                | Kind::StagedKubernetesNetworkPolicy
                | Kind::KubernetesNetworkPolicy
                | Kind::AdminNetworkPolicy
                | Kind::BaselineAdminNetworkPolicy
                | Kind::ClusterNetworkPolicy
        )
    }

    /// For the cluster-scoped Kubernetes policies: the Calico v3 minor releases that watch
    /// and enforce the kind, `(first, last)` (`None` = still supported). Sources:
    /// `calico@release-v3.{29,30,31,32}:libcalico-go/lib/backend/k8s/resources/kube*networkpolicy.go`
    /// (v3.29 watches AdminNetworkPolicy, v3.30–v3.31 both v1alpha1 kinds, v3.32 only
    /// ClusterNetworkPolicy).
    pub fn calico_releases(self) -> Option<(u32, Option<u32>)> {
        match self {
            Kind::AdminNetworkPolicy => Some((29, Some(31))),
            Kind::BaselineAdminNetworkPolicy => Some((30, Some(31))),
            Kind::ClusterNetworkPolicy => Some((32, None)),
            _ => None,
        }
    }

    /// The cluster-scoped policies of the Kubernetes network-policy API
    /// (`policy.networking.k8s.io`), which Calico enforces in its admin and baseline tiers.
    pub fn is_cluster_network_policy(self) -> bool {
        matches!(
            self,
            Kind::AdminNetworkPolicy
                | Kind::BaselineAdminNetworkPolicy
                | Kind::ClusterNetworkPolicy
        )
    }

    /// The policy kinds written in Calico's own spec format (NetworkPolicy,
    /// GlobalNetworkPolicy and their staged variants), as opposed to Kubernetes-shaped ones.
    pub fn is_calico_policy(self) -> bool {
        matches!(
            self,
            Kind::NetworkPolicy
                | Kind::GlobalNetworkPolicy
                | Kind::StagedNetworkPolicy
                | Kind::StagedGlobalNetworkPolicy
        )
    }

    pub fn is_calico(self) -> bool {
        !matches!(
            self,
            Kind::KubernetesNetworkPolicy
                | Kind::AdminNetworkPolicy
                | Kind::BaselineAdminNetworkPolicy
                | Kind::ClusterNetworkPolicy
                | Kind::Namespace
                | Kind::Pod
                | Kind::Deployment
                | Kind::StatefulSet
                | Kind::DaemonSet
                | Kind::ReplicaSet
                | Kind::Job
                | Kind::CronJob
        )
    }

    pub fn is_workload(self) -> bool {
        matches!(
            self,
            Kind::Pod
                | Kind::Deployment
                | Kind::StatefulSet
                | Kind::DaemonSet
                | Kind::ReplicaSet
                | Kind::Job
                | Kind::CronJob
        )
    }
}

/// One resource from one document (or one `items:` entry of a List).
#[derive(Clone, Debug)]
pub struct Resource {
    pub kind: Kind,
    pub file: FileId,
    /// 0-based document index in the file.
    pub document: usize,
    /// JSON Pointer prefix of this resource inside its document: `""`, or `/items/3` for a List
    /// entry. Pointers reported to users are relative to the resource itself.
    pub base_pointer: Pointer,
    /// Span of the whole resource node.
    pub span: Span,
    pub api_version: Spanned<String>,
    pub kind_span: Span,
    pub meta: ObjectMeta,
    pub body: Body,
    /// How many problems lowering reported for this resource (shape errors, unknown fields).
    pub lowering_problems: usize,
}

impl Resource {
    pub fn name(&self) -> &str {
        self.meta.name.as_ref().map_or("", |n| n.value.as_str())
    }

    /// Namespace with Calico's defaulting: namespaced kinds without one live in `default`.
    pub fn namespace(&self) -> Option<&str> {
        if self.kind.is_namespaced() {
            Some(
                self.meta
                    .namespace
                    .as_ref()
                    .map_or("default", |n| n.value.as_str()),
            )
        } else {
            None
        }
    }

    pub fn reference(&self) -> ResourceRef {
        ResourceRef {
            kind: self.kind.name().to_string(),
            namespace: self.namespace().map(str::to_string),
            name: self.name().to_string(),
        }
    }

    pub fn location(&self, span: Span) -> Location {
        Location::new(self.file, span)
    }

    /// Written in Calico's storage API (`crd.projectcalico.org/v1`), applied straight to the
    /// CRDs: no API server defaults or validates it (issue 13 item 12).
    pub fn is_storage_form(&self) -> bool {
        self.kind.is_calico() && self.api_version.value == CALICO_STORAGE_GROUP
    }

    pub fn policy(&self) -> Option<&Policy> {
        match &self.body {
            Body::Policy(p) => Some(p),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ObjectMeta {
    pub span: Span,
    pub name: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
    pub labels: Vec<(Spanned<String>, Spanned<String>)>,
    pub annotations: Vec<(Spanned<String>, Spanned<String>)>,
}

impl ObjectMeta {
    /// The labels as plain (key, value) strings, in the order written (collected into a map,
    /// a repeated key keeps its last value).
    pub fn label_values(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.labels
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v.value.as_str())
    }

    pub fn annotation(&self, key: &str) -> Option<&Spanned<String>> {
        self.annotations
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }
}

#[derive(Clone, Debug)]
pub enum Body {
    Policy(Box<Policy>),
    Tier(Tier),
    NetworkSet(NetworkSet),
    Profile(Profile),
    HostEndpoint(HostEndpoint),
    Namespace,
    Workload(Workload),
}

/// A selector as written plus its parse result.
#[derive(Clone, Debug)]
pub struct SelectorField {
    pub raw: Spanned<String>,
    pub parsed: Result<Selector, SelectorError>,
    /// Set when the selector is beyond the [`SelectorLimits`] it was read with: it is then not
    /// analyzed (`parsed` holds an error carrying the same message), and validation reports it.
    pub over_limit: Option<String>,
}

impl SelectorField {
    /// A selector field read with the default [`SelectorLimits`].
    pub fn new(raw: Spanned<String>) -> Self {
        Self::with_limits(raw, &SelectorLimits::default())
    }

    /// A selector field; text longer than `limits.max_bytes` is not even parsed.
    pub fn with_limits(raw: Spanned<String>, limits: &SelectorLimits) -> Self {
        if let Some(message) = limits.check(&raw.value, None) {
            return SelectorField {
                raw,
                parsed: Err(SelectorError::new(0, message.clone())),
                over_limit: Some(message),
            };
        }
        let parsed = Selector::parse(&raw.value);
        match limits.check(&raw.value, parsed.as_ref().ok()) {
            Some(message) => SelectorField {
                raw,
                parsed: Err(SelectorError::new(0, message.clone())),
                over_limit: Some(message),
            },
            None => SelectorField {
                raw,
                parsed,
                over_limit: None,
            },
        }
    }

    /// Empty or whitespace-only selectors mean "no constraint" in most places.
    pub fn is_empty(&self) -> bool {
        self.raw.value.trim_matches([' ', '\t']).is_empty()
    }

    pub fn selector(&self) -> Option<&Selector> {
        self.parsed.as_ref().ok()
    }
}

/// A CIDR as written plus its parse result.
#[derive(Clone, Debug)]
pub struct NetField {
    pub raw: Spanned<String>,
    pub parsed: Result<Cidr, NetError>,
}

/// NetworkPolicy, GlobalNetworkPolicy, the staged kinds, and Kubernetes NetworkPolicies
/// converted the way Calico converts them.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub spec_span: Span,
    pub tier: Option<Spanned<String>>,
    pub order: Option<Spanned<f64>>,
    pub selector: Option<SelectorField>,
    /// GlobalNetworkPolicy only.
    pub namespace_selector: Option<SelectorField>,
    pub service_account_selector: Option<SelectorField>,
    /// `types` as written; `None` when absent (Calico then defaults it, §4.5).
    pub types: Option<Spanned<Vec<Spanned<String>>>>,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    /// Span of the `ingress:`/`egress:` lists (for messages about them as a whole).
    pub ingress_span: Option<Span>,
    pub egress_span: Option<Span>,
    pub do_not_track: Option<Spanned<bool>>,
    pub pre_dnat: Option<Spanned<bool>>,
    pub apply_on_forward: Option<Spanned<bool>>,
    pub performance_hints: Vec<Spanned<String>>,
    pub staged_action: Option<Spanned<String>>,
    /// For Kubernetes policies: whether `policyTypes` was written.
    pub k8s_policy_types_written: bool,
    /// For the cluster-scoped Kubernetes policies (AdminNetworkPolicy, ...): the built-in tier
    /// they are enforced in. `tier` stays `None` for them: the tier's name depends on the
    /// Calico version (see `analysis::cluster_policy`).
    pub cluster_tier: Option<Spanned<ClusterTier>>,
    /// Cluster-scoped Kubernetes policies: rules Calico's conversion fails on, which it
    /// replaces by a deny-all rule (Deny, Pass) or drops (Allow). The converted rules are in
    /// `ingress`/`egress`; these records explain them (CAL104).
    pub unconverted: Vec<UnconvertedRule>,
}

/// A rule of a cluster-scoped Kubernetes policy that Calico cannot convert.
#[derive(Clone, Debug)]
pub struct UnconvertedRule {
    /// The rule's `action`.
    pub span: Span,
    /// The rule (`/spec/egress/2`).
    pub pointer: Pointer,
    /// The action as Calico reads it (Accept is Allow).
    pub action: Action,
    pub reason: String,
}

/// The two tiers of the Kubernetes network-policy API (ClusterNetworkPolicy `spec.tier`;
/// AdminNetworkPolicy is `Admin`, BaselineAdminNetworkPolicy `Baseline`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusterTier {
    Admin,
    Baseline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

impl Policy {
    pub fn tier_name(&self) -> &str {
        self.tier
            .as_ref()
            .map(|t| t.value.as_str())
            .filter(|t| !t.is_empty())
            .unwrap_or(crate::model::tier::DEFAULT_TIER.name)
    }

    pub fn rules(&self, direction: Direction) -> &[Rule] {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// The `types` Calico stores for this policy (§4.5): the written list, or the defaulted one.
    pub fn applies_to(&self, direction: Direction) -> bool {
        match &self.types {
            Some(types) if !types.value.is_empty() => {
                types.value.iter().any(|t| t.value == direction.type_name())
            }
            _ => {
                let (ingress, egress) = (!self.ingress.is_empty(), !self.egress.is_empty());
                match direction {
                    Direction::Ingress => ingress || !egress,
                    Direction::Egress => egress,
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Allow,
    Deny,
    Log,
    Pass,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "Allow" => Some(Action::Allow),
            "Deny" => Some(Action::Deny),
            "Log" => Some(Action::Log),
            "Pass" => Some(Action::Pass),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Log => "Log",
            Action::Pass => "Pass",
        }
    }
}

/// One ingress or egress rule.
#[derive(Clone, Debug, Default)]
pub struct Rule {
    pub span: Span,
    /// JSON Pointer of the rule inside its resource (`/spec/ingress/0`).
    pub pointer: Pointer,
    pub action: Option<Spanned<String>>,
    pub ip_version: Option<Spanned<i64>>,
    pub protocol: Option<Spanned<Protocol>>,
    pub not_protocol: Option<Spanned<Protocol>>,
    pub icmp: Option<Box<IcmpMatch>>,
    pub not_icmp: Option<Box<IcmpMatch>>,
    pub source: EntityRule,
    pub destination: EntityRule,
    pub http: Option<Box<HttpMatch>>,
    pub annotations: Vec<(Spanned<String>, Spanned<String>)>,
    /// For a rule converted from a Kubernetes NetworkPolicy rule that Calico splits into
    /// several rules (one per peer × protocol, spec §1.11): which piece this one is. `None`
    /// for Calico rules and for Kubernetes rules that convert to a single rule.
    pub piece: Option<Box<RulePiece>>,
}

/// One of the Calico rules a Kubernetes rule converts to (spec §1.11). `Rule::pointer` stays
/// the Kubernetes rule's pointer; findings about only this piece use `pointer` and `span`.
#[derive(Clone, Debug, Default)]
pub struct RulePiece {
    /// The peer (`/spec/ingress/0/from/1`) when the rule has several peers, else the first
    /// port entry of the protocol (`/spec/ingress/0/ports/2`).
    pub pointer: Pointer,
    /// The peer (or port entry) in the source.
    pub span: Span,
    /// "peer /spec/ingress/0/from/1 on TCP": what this piece is, for messages.
    pub label: String,
    /// "peer /spec/ingress/0/from/1": the peer, whatever the protocol (same as `label` when
    /// the rule has one protocol).
    pub peer_label: String,
}

impl Rule {
    pub fn action(&self) -> Option<Action> {
        self.action.as_ref().and_then(|a| Action::parse(&a.value))
    }

    /// Span to underline when talking about the rule as a whole: its `action` when present
    /// (one line), else the rule node.
    pub fn head_span(&self) -> Span {
        self.action.as_ref().map_or(self.span, |a| a.span)
    }
}

#[derive(Clone, Debug, Default)]
pub struct IcmpMatch {
    pub span: Span,
    pub icmp_type: Option<Spanned<i64>>,
    pub code: Option<Spanned<i64>>,
}

/// `source` / `destination` of a rule.
#[derive(Clone, Debug, Default)]
pub struct EntityRule {
    /// Span of the `source:`/`destination:` value; `None` when absent.
    pub span: Option<Span>,
    pub nets: Vec<NetField>,
    pub not_nets: Vec<NetField>,
    pub selector: Option<SelectorField>,
    /// Boxed, as the other rarely used fields: a rule has two entities, a policy tens of rules.
    pub not_selector: Option<Box<SelectorField>>,
    pub namespace_selector: Option<Box<SelectorField>>,
    pub ports: Vec<Spanned<Port>>,
    pub not_ports: Vec<Spanned<Port>>,
    pub service_accounts: Option<Box<ServiceAccountMatch>>,
    pub services: Option<Box<ServiceMatch>>,
}

#[derive(Clone, Debug, Default)]
pub struct ServiceAccountMatch {
    pub span: Span,
    pub names: Vec<Spanned<String>>,
    pub selector: Option<SelectorField>,
}

#[derive(Clone, Debug, Default)]
pub struct ServiceMatch {
    pub span: Span,
    pub name: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct HttpMatch {
    pub span: Span,
    pub methods: Vec<Spanned<String>>,
    pub paths: Vec<HttpPath>,
}

#[derive(Clone, Debug, Default)]
pub struct HttpPath {
    pub span: Span,
    pub exact: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct Tier {
    pub spec_span: Span,
    pub order: Option<Spanned<f64>>,
    pub default_action: Option<Spanned<String>>,
}

/// NetworkSet or GlobalNetworkSet (the resource kind tells which).
#[derive(Clone, Debug, Default)]
pub struct NetworkSet {
    pub spec_span: Span,
    pub nets: Vec<NetField>,
}

#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub spec_span: Span,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub labels_to_apply: Vec<(Spanned<String>, Spanned<String>)>,
}

#[derive(Clone, Debug, Default)]
pub struct HostEndpoint {
    pub spec_span: Span,
    pub node: Option<Spanned<String>>,
    pub interface_name: Option<Spanned<String>>,
    pub expected_ips: Vec<NetField>,
    pub profiles: Vec<Spanned<String>>,
    pub ports: Vec<EndpointPort>,
}

/// A named port declared by an endpoint (HostEndpoint `spec.ports`, container ports).
#[derive(Clone, Debug)]
pub struct EndpointPort {
    pub span: Span,
    pub name: Option<Spanned<String>>,
    pub protocol: Option<Spanned<Protocol>>,
    pub port: Option<Spanned<i64>>,
}

/// Pod-template facts of a workload (Pod, Deployment, StatefulSet, ...).
#[derive(Clone, Debug, Default)]
pub struct Workload {
    /// Labels of the pods it runs (the pod template's labels, or the Pod's own).
    pub pod_labels: Vec<(Spanned<String>, Spanned<String>)>,
    pub service_account: Option<Spanned<String>>,
    pub ports: Vec<EndpointPort>,
}
