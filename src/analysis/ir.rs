//! The analysis IR: policies and rules compiled into the terms Felix evaluates — scoped
//! selectors over endpoint labels (spec §3.7), numeric protocols, CIDRs, port matches, and the
//! IP families each rule is rendered for (§4.3). Both the Z3 encoding and the concrete
//! evaluator read only this IR, so they cannot disagree about what a rule means.

use crate::model::net::{Cidr, IpFamily};
use crate::model::port::{Port, Protocol};
use crate::model::resource::{
    Action, Direction, EntityRule, Kind, Policy, Resource, Rule, SelectorField,
};
use crate::model::selector::Expr;
pub use crate::model::tier::CompiledTier;
use crate::model::tier::{DEFAULT_TIER, KUBE_ADMIN_TIER, KUBE_BASELINE_TIER};
use crate::project::Project;

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
#[derive(Clone, Debug, Default, PartialEq)]
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

#[derive(Clone, Debug, Default, PartialEq)]
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
    pub pointer: String,
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
}

/// A policy as Felix orders and applies it.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    /// Index of the resource in `Project::resources`.
    pub resource: usize,
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

fn and(items: Vec<Expr>) -> Expr {
    let mut flat = Vec::new();
    for e in items {
        match e {
            Expr::All => {}
            other => flat.push(other),
        }
    }
    match flat.len() {
        0 => Expr::All,
        1 => flat.pop().unwrap_or(Expr::All),
        _ => Expr::And(flat),
    }
}

fn has(label: &str) -> Expr {
    Expr::Has(label.to_string())
}

fn namespace_is(ns: &str) -> Expr {
    Expr::Eq(NAMESPACE_LABEL.to_string(), ns.to_string())
}

/// Replace `all()` / `global()` leaves, as Calico's textual rewrite of compiled namespace
/// selectors does (§3.7.1 step 1, §3.7.2).
fn rewrite(e: &Expr, all: &Expr, global: Option<&Expr>) -> Expr {
    match e {
        Expr::All => all.clone(),
        Expr::Global => global.cloned().unwrap_or(Expr::Global),
        Expr::Not(inner) => Expr::Not(Box::new(rewrite(inner, all, global))),
        Expr::And(items) => Expr::And(items.iter().map(|i| rewrite(i, all, global)).collect()),
        Expr::Or(items) => Expr::Or(items.iter().map(|i| rewrite(i, all, global)).collect()),
        leaf => leaf.clone(),
    }
}

fn prefixed(field: &SelectorField, prefix: &str) -> Option<Expr> {
    field.selector().map(|s| s.prefixed(prefix).expr().clone())
}

fn non_empty(field: &Option<SelectorField>) -> Option<&SelectorField> {
    field.as_ref().filter(|f| !f.is_empty())
}

/// Why a resource could not be compiled (it has errors that CAL002 reports).
#[derive(Debug)]
pub struct NotCompiled;

/// The effective positive selector of an entity rule (§3.7.1).
fn entity_selector(e: &EntityRule, ns: Option<&str>) -> Result<Option<Expr>, NotCompiled> {
    let ns_part = match non_empty(&e.namespace_selector) {
        Some(f) => {
            let p = prefixed(f, NAMESPACE_PREFIX).ok_or(NotCompiled)?;
            let not_ns = Expr::Not(Box::new(has(NAMESPACE_LABEL)));
            Some(rewrite(&p, &has(NAMESPACE_LABEL), Some(&not_ns)))
        }
        None => ns.map(namespace_is),
    };
    let mut identity = Vec::new();
    if let Some(sa) = &e.service_accounts {
        if let Some(f) = non_empty(&sa.selector) {
            identity.push(prefixed(f, SERVICE_ACCOUNT_PREFIX).ok_or(NotCompiled)?);
        }
        if !sa.names.is_empty() {
            // Pods carry the service-account label only when the name is shorter than 63
            // characters (§3.7.3, W-23): longer names can never match, so they are left out
            // of the set (a set left empty matches nothing).
            let mut names: Vec<String> = (sa.names.iter())
                .filter(|n| n.value.chars().count() < MAX_LABELLED_SERVICE_ACCOUNT)
                .map(|n| n.value.clone())
                .collect();
            names.sort();
            names.dedup();
            identity.push(Expr::In(SERVICE_ACCOUNT_LABEL.to_string(), names));
        }
    }
    if let Some(f) = non_empty(&e.selector) {
        identity.push(f.selector().ok_or(NotCompiled)?.expr().clone());
    }
    let has_identity = !identity.is_empty();
    let identity = and(identity);
    let scoping_applies = has_identity
        || non_empty(&e.not_selector).is_some()
        || non_empty(&e.namespace_selector).is_some();
    Ok(match ns_part {
        Some(n) if scoping_applies => Some(and(vec![n, identity])),
        _ if has_identity => Some(identity),
        _ => None,
    })
}

fn port_matches(ports: &[crate::source::Spanned<Port>]) -> Vec<PortMatch> {
    ports
        .iter()
        .map(|p| match &p.value {
            Port::Range { min, max } => PortMatch::Range(*min, *max),
            Port::Named(n) => PortMatch::Named(n.clone()),
        })
        .collect()
}

fn nets(fields: &[crate::model::resource::NetField]) -> Result<Vec<Cidr>, NotCompiled> {
    fields
        .iter()
        .map(|n| n.parsed.clone().map(Cidr::network).map_err(|_| NotCompiled))
        .collect()
}

fn entity(e: &EntityRule, ns: Option<&str>) -> Result<Entity, NotCompiled> {
    let not_selector = match non_empty(&e.not_selector) {
        Some(f) => Some(f.selector().ok_or(NotCompiled)?.expr().clone()),
        None => None,
    };
    let service = e.services.as_ref().map(|s| {
        format!(
            "{}/{}",
            s.namespace.as_ref().map_or("", |n| n.value.as_str()),
            s.name.as_ref().map_or("", |n| n.value.as_str())
        )
    });
    Ok(Entity {
        selector: entity_selector(e, ns)?,
        not_selector,
        nets: nets(&e.nets)?,
        not_nets: nets(&e.not_nets)?,
        ports: port_matches(&e.ports),
        not_ports: port_matches(&e.not_ports),
        service,
    })
}

fn protocol(p: &Option<crate::source::Spanned<Protocol>>) -> Result<Option<u8>, NotCompiled> {
    match p {
        None => Ok(None),
        Some(p) if p.value.is_valid() => Ok(p.value.number()),
        Some(_) => Err(NotCompiled),
    }
}

fn icmp(m: &Option<crate::model::resource::IcmpMatch>) -> Result<Option<Icmp>, NotCompiled> {
    let Some(m) = m else { return Ok(None) };
    let conv = |v: &Option<crate::source::Spanned<i64>>| -> Result<Option<u8>, NotCompiled> {
        v.as_ref()
            .map(|v| u8::try_from(v.value).map_err(|_| NotCompiled))
            .transpose()
    };
    Ok(Some(Icmp {
        icmp_type: conv(&m.icmp_type)?,
        code: conv(&m.code)?,
    }))
}

/// IP families a rule is rendered for (§4.3 `FilterRuleToIPVersion`).
fn families(rule: &Rule, src: &Entity, dst: &Entity) -> (bool, bool) {
    let (mut v4, mut v6) = (true, true);
    match rule.ip_version.as_ref().map(|v| v.value) {
        Some(4) => v6 = false,
        Some(6) => v4 = false,
        _ => {
            if rule
                .protocol
                .as_ref()
                .is_some_and(|p| p.value.is_name("ICMP"))
            {
                v6 = false;
            }
            if rule
                .protocol
                .as_ref()
                .is_some_and(|p| p.value.is_name("ICMPv6"))
            {
                v4 = false;
            }
        }
    }
    for (fam, flag) in [(IpFamily::V4, &mut v4), (IpFamily::V6, &mut v6)] {
        for list in [&src.nets, &src.not_nets, &dst.nets, &dst.not_nets] {
            // A list with CIDRs but none of this family removes the rule for the family.
            if !list.is_empty() && !list.iter().any(|c| c.family == fam) {
                *flag = false;
            }
        }
        // A negated catch-all of the family drops the rule for it.
        if [&src.not_nets, &dst.not_nets]
            .iter()
            .any(|l| l.iter().any(|c| c.family == fam && c.is_catch_all()))
        {
            *flag = false;
        }
    }
    (v4, v6)
}

/// Compile one rule; `None` when it has invalid fields (CAL002 reports them).
pub fn compile_rule(
    rule: &Rule,
    index: usize,
    ns: Option<&str>,
) -> Result<CompiledRule, NotCompiled> {
    let action = rule.action().ok_or(NotCompiled)?;
    let source = entity(&rule.source, ns)?;
    let destination = entity(&rule.destination, ns)?;
    let (v4, v6) = families(rule, &source, &destination);
    let http = rule.http.as_ref().map(|h| Http {
        methods: h.methods.iter().map(|m| m.value.clone()).collect(),
        exact_paths: h
            .paths
            .iter()
            .filter_map(|p| p.exact.as_ref())
            .map(|p| p.value.clone())
            .collect(),
        prefix_paths: h
            .paths
            .iter()
            .filter_map(|p| p.prefix.as_ref())
            .map(|p| p.value.clone())
            .collect(),
    });
    Ok(CompiledRule {
        index,
        pointer: rule.pointer.clone(),
        action,
        v4,
        v6,
        protocol: protocol(&rule.protocol)?,
        not_protocol: protocol(&rule.not_protocol)?,
        icmp: icmp(&rule.icmp)?,
        not_icmp: icmp(&rule.not_icmp)?,
        source,
        destination,
        http,
    })
}

/// The endpoint selector of a policy (§3.7.2).
fn policy_selector(kind: Kind, ns: Option<&str>, p: &Policy) -> Result<Expr, NotCompiled> {
    let base = match non_empty(&p.selector) {
        Some(f) => f.selector().ok_or(NotCompiled)?.expr().clone(),
        None => Expr::All,
    };
    let global = matches!(
        kind,
        Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy
    ) || kind.is_cluster_network_policy();
    if !global {
        let mut parts = vec![base];
        if let Some(ns) = ns {
            parts.push(namespace_is(ns));
        }
        if let Some(f) = non_empty(&p.service_account_selector) {
            parts.push(prefixed(f, SERVICE_ACCOUNT_PREFIX).ok_or(NotCompiled)?);
        }
        return Ok(and(parts));
    }
    // Calico joins the selector strings and then replaces every `all()` in the *whole*
    // string (§3.7.2, W-06; `globalnetworkpolicyprocessor.go`): an explicit `all()` in any of
    // the parts becomes `has(<label>)`, so the joined expression is built without dropping
    // `all()` leaves first. An empty selector contributes nothing (it is not `all()` here).
    let mut s: Option<Expr> = non_empty(&p.selector).map(|_| base);
    for (field, prefix, label) in [
        (&p.namespace_selector, NAMESPACE_PREFIX, NAMESPACE_LABEL),
        (
            &p.service_account_selector,
            SERVICE_ACCOUNT_PREFIX,
            SERVICE_ACCOUNT_LABEL,
        ),
    ] {
        if let Some(f) = non_empty(field) {
            let part = prefixed(f, prefix).ok_or(NotCompiled)?;
            let joined = match s {
                Some(s) => Expr::And(vec![s, part]),
                None => part,
            };
            s = Some(rewrite(&joined, &has(label), None));
        }
    }
    Ok(s.unwrap_or(Expr::All))
}

/// The policy's class (§4.8). Only (Staged)GlobalNetworkPolicies have the flags; on other
/// kinds they are unknown fields (CAL002) and such policies are not compiled.
fn policy_class(kind: Kind, p: &Policy) -> PolicyClass {
    let global = matches!(
        kind,
        Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy
    );
    let flag =
        |f: &Option<crate::source::Spanned<bool>>| global && f.as_ref().is_some_and(|v| v.value);
    if flag(&p.do_not_track) {
        PolicyClass::DoNotTrack
    } else if flag(&p.pre_dnat) {
        PolicyClass::PreDnat
    } else if flag(&p.apply_on_forward) {
        PolicyClass::ApplyOnForward
    } else {
        PolicyClass::Normal
    }
}

/// The directions the policy applies in. Resources in the storage form
/// (`crd.projectcalico.org/v1`) get no API-server defaulting of `types` (§4.5), and Felix
/// takes a policy without types as applying in both directions
/// (`calico:felix/calc/policy_sorter.go` `ExtractPolicyMetadata`: "Back compatibility: no
/// Types means Ingress and Egress").
fn applies_to(res: &Resource, p: &Policy, d: Direction) -> bool {
    let no_types = p.types.as_ref().is_none_or(|t| t.value.is_empty());
    if res.is_storage_form() && no_types {
        return true;
    }
    p.applies_to(d)
}

/// Compile a policy resource. Resources with validation problems are not compiled: the
/// analysis reasons only about policies Calico would accept.
pub fn compile_policy(index: usize, res: &Resource) -> Result<CompiledPolicy, NotCompiled> {
    let p = res.policy().ok_or(NotCompiled)?;
    // A staged `Delete` is not sent to Felix at all (§1.6, §4.7; `staged*processor.go`
    // returns a nil value for it).
    if p.staged_action
        .as_ref()
        .is_some_and(|a| a.value == "Delete")
    {
        return Err(NotCompiled);
    }
    let ns = res.namespace();
    // Application-layer criteria Calico rejects (CAL102, CAL103): the policy is not applied.
    let alp_rejected = p.egress.iter().any(|r| r.http.is_some())
        || p.ingress
            .iter()
            .chain(&p.egress)
            .any(|r| r.http.is_some() && r.action().is_some_and(|a| a != Action::Allow));
    if alp_rejected && res.kind != Kind::Profile {
        return Err(NotCompiled);
    }
    let rules = |list: &[Rule]| -> Result<Vec<CompiledRule>, NotCompiled> {
        list.iter()
            .enumerate()
            .map(|(i, r)| compile_rule(r, i, ns))
            .collect()
    };
    let staged = matches!(
        res.kind,
        Kind::StagedNetworkPolicy
            | Kind::StagedGlobalNetworkPolicy
            | Kind::StagedKubernetesNetworkPolicy
    );
    Ok(CompiledPolicy {
        resource: index,
        kind: res.kind,
        namespace: ns.map(str::to_string),
        name: res.name().to_string(),
        tier: p.tier_name().to_string(),
        order: p.order.as_ref().map(|o| o.value),
        staged,
        selector: policy_selector(res.kind, ns, p)?,
        ingress_applies: applies_to(res, p, Direction::Ingress),
        egress_applies: applies_to(res, p, Direction::Egress),
        ingress: rules(&p.ingress)?,
        egress: rules(&p.egress)?,
        legacy_key: false,
        class: policy_class(res.kind, p),
    })
}

/// The compiled policy set of a project: valid, enforced-or-staged policies plus the tiers.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub policies: Vec<CompiledPolicy>,
    pub tiers: Vec<CompiledTier>,
}

impl PolicySet {
    pub fn from_project(project: &Project) -> PolicySet {
        PolicySet::for_version(project, crate::validate::CalicoVersion::LATEST)
    }

    /// The policy set as Calico `target` orders it.
    pub fn for_version(project: &Project, target: crate::validate::CalicoVersion) -> PolicySet {
        // Invalid resources and replaced duplicates steer nothing (issue 13 items 6, 8).
        let admission = crate::analysis::admission::Admission::of(project);
        let mut set = PolicySet::default();
        for (i, res) in project.policies() {
            if !admission.admitted(i) {
                continue;
            }
            if let Ok(mut p) = compile_policy(i, res) {
                p.legacy_key = !target.at_least(3, 32);
                // Cluster-scoped Kubernetes policies: only the releases that watch the kind
                // enforce it, in a tier whose name depends on the release.
                if res.kind.is_cluster_network_policy() {
                    let cluster_tier = res.policy().and_then(|q| q.cluster_tier.as_ref());
                    match cluster_tier {
                        Some(t) if super::cluster_policy::enforced(res.kind, target) => {
                            p.tier = super::cluster_policy::tier_name(t.value, target).into();
                        }
                        _ => continue,
                    }
                }
                set.policies.push(p);
            }
        }
        for (_, res) in (project.resources.iter().enumerate())
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
        self.policies.sort_by(|a, b| {
            let ta = self.tiers.iter().position(|t| t.name == a.tier);
            let tb = self.tiers.iter().position(|t| t.name == b.tier);
            ta.cmp(&tb)
                .then_with(|| crate::analysis::order::policy_cmp(a, b))
        });
    }

    pub fn tier(&self, name: &str) -> Option<&CompiledTier> {
        self.tiers.iter().find(|t| t.name == name)
    }
}
