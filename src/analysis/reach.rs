//! Reachability between groups of endpoints: "can A reach B, on what, and which rule
//! decides?" (spec §4.1: a flow needs the sender's egress and the receiver's ingress).
//!
//! Groups are described in domain terms ([`Group`], [`Member`], [`Identity`]); the solver
//! module turns them into constraints. Discovered workloads have known labels (evaluated as
//! facts); selector groups stand for every endpoint the selector matches (symbolic).

use super::concrete::{self, Outcome, Packet};
use super::ir::{
    CompiledPolicy, K8S_NAMESPACE_NAME_LABEL, NAMESPACE_LABEL, NAMESPACE_PREFIX, PolicySet,
    SERVICE_ACCOUNT_LABEL, SERVICE_ACCOUNT_PREFIX,
};
use super::pair_rules::{PairRules, PeerGroup, PeerIndex};
use super::prefilter::Restrictions;
use crate::model::net::Cidr;
use crate::model::resource::{Action, Body, Direction, Kind, Resource};
use crate::model::selector::Expr;
use crate::project::Project;
use std::collections::BTreeMap;

pub const ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";
pub const NAME_LABEL: &str = "projectcalico.org/name";

/// What is known about the labels of a group member.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    /// Whether the address belongs to a labeled Calico entity at all.
    pub entity: bool,
    /// Labels known to be present with these values.
    pub fixed: BTreeMap<String, String>,
    /// Every label not in `fixed` is known to be absent, except those under `open_prefixes`.
    pub closed: bool,
    pub open_prefixes: Vec<String>,
    /// Labels under these prefixes that are not in `fixed` are absent (even if not `closed`).
    pub closed_prefixes: Vec<String>,
    /// Additionally, the labels satisfy this selector.
    pub selector: Option<Expr>,
}

impl Identity {
    fn outside() -> Identity {
        Identity {
            entity: false,
            fixed: BTreeMap::new(),
            closed: true,
            open_prefixes: Vec::new(),
            closed_prefixes: Vec::new(),
            selector: None,
        }
    }

    /// A selector over-approximating the identity, for the overlap prefilter.
    pub fn as_expr(&self) -> Expr {
        let mut terms: Vec<Expr> = self
            .fixed
            .iter()
            .map(|(k, v)| Expr::Eq(k.clone(), v.clone()))
            .collect();
        terms.extend(self.selector.clone());
        Expr::And(terms)
    }
}

/// One way to be a member of a group: an identity, an address range, named ports.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub identity: Identity,
    /// The address is in one of these (any address when empty).
    pub nets: Vec<Cidr>,
    /// The address is in none of these.
    pub not_nets: Vec<Cidr>,
    /// Named ports the member declares (`None`: unknown, any).
    pub named_ports: Option<BTreeMap<String, (u8, u16)>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    Workload,
    Selector,
    NetworkSet,
    Net,
    World,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub name: String,
    pub kind: GroupKind,
    /// Endpoints whose policies are evaluated (workloads, selector groups); network sets and
    /// outside addresses are not policed at their end.
    pub policed: bool,
    /// Labels fully known (discovered workloads, network sets) rather than symbolic.
    pub concrete: bool,
    pub members: Vec<Member>,
    /// The resource the group was discovered from.
    pub resource: Option<usize>,
}

impl Group {
    /// Policies that may apply to some member (sound over-approximation).
    pub fn may_be_selected_by(&self, p: &CompiledPolicy) -> bool {
        let pr = Restrictions::of(&p.selector);
        self.members
            .iter()
            .any(|m| m.identity.entity && pr.may_overlap(&Restrictions::of(&m.identity.as_expr())))
    }

    /// For each policy of `set`: may it select a member of this group?
    pub fn selectable(&self, set: &PolicySet) -> Vec<bool> {
        let members: Vec<Restrictions> = self
            .members
            .iter()
            .filter(|m| m.identity.entity)
            .map(|m| Restrictions::of(&m.identity.as_expr()))
            .collect();
        set.policies
            .iter()
            .map(|p| {
                let pr = Restrictions::of(&p.selector);
                members.iter().any(|m| pr.may_overlap(m))
            })
            .collect()
    }

    /// [`Group::selectable`], also leaving out the policies whose selector the member's
    /// known labels decide to be false: exact, and much smaller formulas for workloads.
    pub fn selectable_narrowed(&self, set: &PolicySet) -> Vec<bool> {
        let entities: Vec<&Identity> = self
            .members
            .iter()
            .filter(|m| m.identity.entity)
            .map(|m| &m.identity)
            .collect();
        self.selectable(set)
            .into_iter()
            .zip(&set.policies)
            .map(|(may, p)| {
                may && entities
                    .iter()
                    .any(|id| labels_decide(id, &p.selector) != Some(false))
            })
            .collect()
    }
}

/// The selector's value on every endpoint of the identity, when its labels decide it: every
/// key the selector tests is fixed, or known absent (as the solver encodes the identity).
pub(super) fn labels_decide(id: &Identity, e: &Expr) -> Option<bool> {
    if !id.entity || id.selector.is_some() {
        return None;
    }
    let under = |prefixes: &[String], k: &str| prefixes.iter().any(|p| k.starts_with(p.as_str()));
    let mut known = true;
    e.for_each_node(|n| {
        if let Some(k) = n.label() {
            let absent =
                (id.closed && !under(&id.open_prefixes, k)) || under(&id.closed_prefixes, k);
            known &= id.fixed.contains_key(k) || absent;
        }
    });
    known.then(|| e.eval(&id.fixed))
}

/// Labels of the namespaces defined in the tree.
fn namespace_labels(project: &Project) -> BTreeMap<String, BTreeMap<String, String>> {
    project
        .resources
        .iter()
        .filter(|r| r.kind == Kind::Namespace)
        .map(|r| {
            let labels = r
                .meta
                .labels
                .iter()
                .map(|(k, v)| (k.value.clone(), v.value.clone()))
                .collect();
            (r.name().to_string(), labels)
        })
        .collect()
}

/// Labels Calico attaches to everything in namespace `ns` (§3.7.3): the namespace label and,
/// `pcns.kubernetes.io/metadata.name` (set by the API server on every Namespace), and when the
/// Namespace is in the tree, its labels under `pcns.`.
fn namespace_facts(
    ns: &str,
    known: &BTreeMap<String, BTreeMap<String, String>>,
) -> (BTreeMap<String, String>, bool) {
    let mut fixed = BTreeMap::new();
    fixed.insert(NAMESPACE_LABEL.to_string(), ns.to_string());
    fixed.insert(format!("{NAMESPACE_PREFIX}{NAME_LABEL}"), ns.to_string());
    let known_labels = known.get(ns);
    for (k, v) in known_labels.into_iter().flatten() {
        fixed.insert(format!("{NAMESPACE_PREFIX}{k}"), v.clone());
    }
    // The API server labels every Namespace with its name (Kubernetes 1.21+), overriding
    // whatever the manifest says, whether or not the Namespace object is in the tree.
    fixed.insert(K8S_NAMESPACE_NAME_LABEL.to_string(), ns.to_string());
    (fixed, known_labels.is_some())
}

fn workload_group(
    i: usize,
    r: &Resource,
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<Group> {
    let Body::Workload(w) = &r.body else {
        return None;
    };
    let ns = r.namespace().unwrap_or("default");
    let (mut fixed, ns_known) = namespace_facts(ns, namespaces);
    fixed.insert(ORCHESTRATOR_LABEL.to_string(), "k8s".to_string());
    let sa = w
        .service_account
        .as_ref()
        .map_or("default", |s| s.value.as_str());
    // Pods get the service-account label only when the name is shorter than 63 characters.
    if sa.len() < 63 {
        fixed.insert(SERVICE_ACCOUNT_LABEL.to_string(), sa.to_string());
    }
    fixed.insert(
        format!("{SERVICE_ACCOUNT_PREFIX}{NAME_LABEL}"),
        sa.to_string(),
    );
    // The pod's own labels win over inherited ones.
    for (k, v) in &w.pod_labels {
        fixed.insert(k.value.clone(), v.value.clone());
    }
    let mut open_prefixes = vec![SERVICE_ACCOUNT_PREFIX.to_string()];
    if !ns_known {
        open_prefixes.push(NAMESPACE_PREFIX.to_string());
    }
    let named_ports = w
        .ports
        .iter()
        .filter_map(|p| {
            let name = p.name.as_ref()?.value.clone();
            let proto = p
                .protocol
                .as_ref()
                .map_or(Some(6), |pr| pr.value.number())?;
            let port = u16::try_from(p.port.as_ref()?.value).ok()?;
            Some((name, (proto, port)))
        })
        .collect();
    Some(Group {
        name: format!("{}/{}", ns, r.name()),
        kind: GroupKind::Workload,
        policed: true,
        concrete: ns_known,
        members: vec![Member {
            identity: Identity {
                entity: true,
                fixed,
                closed: true,
                open_prefixes,
                closed_prefixes: Vec::new(),
                selector: None,
            },
            nets: Vec::new(),
            not_nets: Vec::new(),
            named_ports: Some(named_ports),
        }],
        resource: Some(i),
    })
}

fn set_nets(r: &Resource) -> Vec<Cidr> {
    match &r.body {
        Body::NetworkSet(s) => s
            .nets
            .iter()
            .filter_map(|n| n.parsed.clone().ok())
            .map(Cidr::network)
            .collect(),
        _ => Vec::new(),
    }
}

fn set_group(
    i: usize,
    r: &Resource,
    namespaces: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<Group> {
    let nets = set_nets(r);
    let mut fixed = BTreeMap::new();
    let mut name = r.name().to_string();
    if r.kind == Kind::NetworkSet {
        let ns = r.namespace().unwrap_or("default");
        fixed = namespace_facts(ns, namespaces).0;
        name = format!("{ns}/{name}");
    }
    for (k, v) in &r.meta.labels {
        fixed.insert(k.value.clone(), v.value.clone());
    }
    Some(Group {
        name: format!("set:{name}"),
        kind: GroupKind::NetworkSet,
        policed: false,
        concrete: true,
        members: vec![Member {
            identity: Identity {
                entity: true,
                fixed,
                closed: true,
                open_prefixes: Vec::new(),
                closed_prefixes: Vec::new(),
                selector: None,
            },
            nets,
            not_nets: Vec::new(),
            named_ports: Some(BTreeMap::new()),
        }],
        resource: Some(i),
    })
}

/// The addresses a HostEndpoint declares in `expectedIPs` (spec §1.10): Calico turns
/// selectors that match the host endpoint into these addresses, so a packet from one of
/// them carries the host endpoint's labels (§4.9).
fn hep_ips(r: &Resource) -> Vec<Cidr> {
    match &r.body {
        Body::HostEndpoint(h) => h
            .expected_ips
            .iter()
            .filter_map(|n| n.parsed.clone().ok())
            .map(Cidr::network)
            .collect(),
        _ => Vec::new(),
    }
}

/// A HostEndpoint as a peer at `ips`: its own labels, then the `labelsToApply` of its
/// profiles found in the tree (its own labels win). Not policed: its own host-endpoint
/// policy classes are not evaluated here.
fn hep_member(project: &Project, r: &Resource, ips: Vec<Cidr>) -> Member {
    let mut fixed = BTreeMap::new();
    if let Body::HostEndpoint(h) = &r.body {
        for profile in &h.profiles {
            let applied = project.resources.iter().filter_map(|p| match &p.body {
                Body::Profile(body) if p.kind == Kind::Profile && p.name() == profile.value => {
                    Some(&body.labels_to_apply)
                }
                _ => None,
            });
            for (k, v) in applied.flatten() {
                fixed.insert(k.value.clone(), v.value.clone());
            }
        }
    }
    for (k, v) in &r.meta.labels {
        fixed.insert(k.value.clone(), v.value.clone());
    }
    Member {
        identity: Identity {
            entity: true,
            fixed,
            closed: true,
            open_prefixes: Vec::new(),
            closed_prefixes: Vec::new(),
            selector: None,
        },
        nets: ips,
        not_nets: Vec::new(),
        named_ports: Some(BTreeMap::new()),
    }
}

/// Every address a (Global)NetworkSet or a HostEndpoint's `expectedIPs` of the tree claims.
fn all_set_nets(project: &Project) -> Vec<Cidr> {
    let admission = super::admission::Admission::of(project);
    project
        .resources
        .iter()
        .enumerate()
        .filter(|(i, _)| admission.admitted(*i))
        .flat_map(|(_, r)| match r.kind {
            Kind::NetworkSet | Kind::GlobalNetworkSet => set_nets(r),
            Kind::HostEndpoint => hep_ips(r),
            _ => Vec::new(),
        })
        .collect()
}

/// Addresses outside every known network set and host endpoint, belonging to no Calico
/// entity.
pub fn world(project: &Project) -> Group {
    Group {
        name: "world".into(),
        kind: GroupKind::World,
        policed: false,
        concrete: true,
        members: vec![Member {
            identity: Identity::outside(),
            nets: Vec::new(),
            not_nets: all_set_nets(project),
            named_ports: Some(BTreeMap::new()),
        }],
        resource: None,
    }
}

/// The default groups: every workload, every network set, and the world (in that order,
/// each sorted by name).
pub fn discover(project: &Project) -> Vec<Group> {
    let namespaces = namespace_labels(project);
    // Replaced duplicates and invalid resources are not groups (issue 13 items 6, 8).
    let admission = super::admission::Admission::of(project);
    let mut workloads: Vec<Group> = project
        .resources
        .iter()
        .enumerate()
        .filter(|(i, r)| r.kind.is_workload() && admission.admitted(*i))
        .filter_map(|(i, r)| workload_group(i, r, &namespaces))
        .collect();
    workloads.sort_by(|a, b| a.name.cmp(&b.name));
    workloads.dedup_by(|a, b| a.name == b.name);
    let mut sets: Vec<Group> = project
        .resources
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            matches!(r.kind, Kind::NetworkSet | Kind::GlobalNetworkSet) && admission.admitted(*i)
        })
        .filter_map(|(i, r)| set_group(i, r, &namespaces))
        .collect();
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    sets.dedup_by(|a, b| a.name == b.name);
    workloads.extend(sets);
    workloads.push(world(project));
    workloads
}

/// Parse a group argument: `world`, `net:CIDR`, `set:NAME` / `set:NAMESPACE/NAME`,
/// `workload:NAMESPACE/NAME`, a discovered group's name, or `[NAMESPACE/]SELECTOR`.
pub fn resolve(project: &Project, text: &str) -> Result<Group, String> {
    let text = text.trim();
    let discovered = discover(project);
    if let Some(g) = discovered.iter().find(|g| g.name == text) {
        return Ok(g.clone());
    }
    if let Some(rest) = text.strip_prefix("workload:") {
        return discovered
            .iter()
            .find(|g| g.kind == GroupKind::Workload && g.name == rest)
            .cloned()
            .ok_or_else(|| format!("no workload `{rest}` in the tree (use NAMESPACE/NAME)"));
    }
    if let Some(rest) = text.strip_prefix("set:") {
        let name = format!("set:{rest}");
        return discovered
            .iter()
            .find(|g| g.kind == GroupKind::NetworkSet && g.name == name)
            .cloned()
            .ok_or_else(|| format!("no NetworkSet or GlobalNetworkSet `{rest}` in the tree"));
    }
    if let Some(rest) = text.strip_prefix("net:") {
        let cidr = crate::model::net::parse_ip_or_cidr(rest).map_err(|e| e.to_string())?;
        return Ok(net_group(project, cidr.network()));
    }
    let namespaces = namespace_labels(project);
    let (ns, selector_text) = match text.split_once('/') {
        Some((ns, sel))
            if is_dns_label(ns) && crate::model::selector::Selector::parse(sel).is_ok() =>
        {
            (Some(ns), sel)
        }
        _ => (None, text),
    };
    let sel = crate::model::selector::Selector::parse(selector_text)
        .map_err(|e| format!("invalid group `{text}`: {}", e.message))?;
    let mut identity = Identity {
        entity: true,
        fixed: BTreeMap::new(),
        closed: false,
        open_prefixes: Vec::new(),
        closed_prefixes: Vec::new(),
        selector: Some(sel.expr().clone()),
    };
    if let Some(ns) = ns {
        let (fixed, known) = namespace_facts(ns, &namespaces);
        identity.fixed = fixed;
        if known {
            identity.closed_prefixes.push(NAMESPACE_PREFIX.to_string());
        }
        // In a Kubernetes tree `NS/SELECTOR` means the namespace's pods (issue 13 item 13):
        // they carry `projectcalico.org/orchestrator=k8s`, which Kubernetes NetworkPolicies
        // require of the endpoints they select. A selector that mentions the label itself
        // asks otherwise and is taken as written.
        if kubernetes_tree(project) && !sel.labels_used().contains(ORCHESTRATOR_LABEL) {
            identity
                .fixed
                .insert(ORCHESTRATOR_LABEL.to_string(), "k8s".to_string());
        }
    }
    Ok(Group {
        name: text.to_string(),
        kind: GroupKind::Selector,
        policed: true,
        concrete: false,
        members: vec![Member {
            identity,
            nets: Vec::new(),
            not_nets: Vec::new(),
            named_ports: None,
        }],
        resource: None,
    })
}

/// Whether the tree is a Kubernetes one: it holds Kubernetes objects (NetworkPolicies,
/// Namespaces or workloads).
fn kubernetes_tree(project: &Project) -> bool {
    project.resources.iter().any(|r| {
        matches!(
            r.kind,
            Kind::KubernetesNetworkPolicy | Kind::StagedKubernetesNetworkPolicy | Kind::Namespace
        ) || r.kind.is_workload()
    })
}

/// Resolve a group expression, trying the configuration's named groups first.
pub fn resolve_named(
    project: &Project,
    named: &[super::spec::GroupDef],
    text: &str,
) -> Result<Group, String> {
    match named.iter().find(|g| g.name.value == text.trim()) {
        Some(def) => {
            let mut g = resolve(project, &def.expression.value)
                .map_err(|e| format!("group `{}`: {e}", def.name.value))?;
            g.name = def.name.value.clone();
            Ok(g)
        }
        None => resolve(project, text).map_err(|e| {
            let word = text.trim();
            if !named.is_empty()
                && !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                format!("unknown group `{word}` (not defined under `groups:`, and not a selector)")
            } else {
                e
            }
        }),
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Addresses in `cidr`: members of a network set when a set claims them (any set that
/// does), the host endpoint whose `expectedIPs` they are, outside addresses otherwise.
fn net_group(project: &Project, cidr: Cidr) -> Group {
    let namespaces = namespace_labels(project);
    let mut members = Vec::new();
    let mut claimed = Vec::new();
    let admission = super::admission::Admission::of(project);
    for (i, r) in project.resources.iter().enumerate() {
        if !matches!(r.kind, Kind::NetworkSet | Kind::GlobalNetworkSet) || !admission.admitted(i) {
            continue;
        }
        let nets: Vec<Cidr> = set_nets(r)
            .into_iter()
            .filter(|n| n.family == cidr.family && (n.contains(cidr) || cidr.contains(*n)))
            .collect();
        if nets.is_empty() {
            continue;
        }
        claimed.extend(nets.iter().copied());
        if let Some(mut g) = set_group(i, r, &namespaces) {
            for m in &mut g.members {
                m.nets = nets
                    .iter()
                    .map(|n| if n.contains(cidr) { cidr } else { *n })
                    .collect();
            }
            members.extend(g.members);
        }
    }
    // A HostEndpoint's expected IPs are that host endpoint, as a set's nets are the set.
    for r in project
        .resources
        .iter()
        .filter(|r| r.kind == Kind::HostEndpoint)
    {
        let ips: Vec<Cidr> = hep_ips(r)
            .into_iter()
            .filter(|ip| ip.family == cidr.family && cidr.contains(*ip))
            .filter(|ip| !claimed.iter().any(|c| c.contains(*ip)))
            .collect();
        if ips.is_empty() {
            continue;
        }
        claimed.extend(ips.iter().copied());
        members.push(hep_member(project, r, ips));
    }
    members.push(Member {
        identity: Identity::outside(),
        nets: vec![cidr],
        not_nets: claimed,
        named_ports: Some(BTreeMap::new()),
    });
    Group {
        name: format!("net:{cidr}"),
        kind: GroupKind::Net,
        policed: false,
        concrete: true,
        members,
        resource: None,
    }
}

/// A protocol on which some packet is allowed, with its allowed destination port ranges
/// (`None` for protocols without ports; protocol `0` stands for every unnamed protocol).
pub type AllowedProtocol = (u8, Option<Vec<(u16, u16)>>);

/// The answer to "can `from` reach `to`?".
#[derive(Clone, Debug, PartialEq)]
pub struct ReachResult {
    pub verdict: Verdict,
    /// Allowed protocols with their destination ports (`None`: no ports for the protocol).
    pub allowed: Vec<AllowedProtocol>,
    pub allowed_example: Option<Packet>,
    pub denied_example: Option<Packet>,
    pub decisions: Vec<Decision>,
    /// Queries that timed out (the verdict may then be incomplete).
    pub undecided: usize,
    /// The protocol asked about (`None`: every protocol), and whether it was assumed (TCP
    /// for a `--port` without `--protocol`).
    pub protocol: Option<u8>,
    pub protocol_assumed: bool,
    /// The destination port asked about.
    pub port: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    Partial,
}

impl Verdict {
    /// `allowed`, `denied` or `partial`: how the configuration and the command line write it.
    pub fn parse(text: &str) -> Option<Verdict> {
        [Verdict::Allowed, Verdict::Denied, Verdict::Partial]
            .into_iter()
            .find(|v| v.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::Partial => "partial",
        }
    }
}

/// A rule (or implicit behaviour) that decided an example packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub direction: Direction,
    /// `Allow`, `Deny`, `Pass`, `end-of-tier-deny` or `no-policy-allow`.
    pub action: String,
    /// (policy index in the set, rule index) for rule decisions.
    pub rule: Option<(usize, usize)>,
    /// The tier, for end-of-tier decisions.
    pub tier: Option<String>,
    /// Which example packet it explains.
    pub example: &'static str,
}

/// The rules that decided `pkt` in direction `d`: Pass rules on the way, then the final
/// decision.
pub fn decisions_for(
    set: &PolicySet,
    d: Direction,
    pkt: &Packet,
    example: &'static str,
) -> Vec<Decision> {
    let mut passes = Vec::new();
    let outcome = concrete::evaluate(set, d, pkt, |(pi, ri)| {
        if let Some(r) = set.policies.get(pi).and_then(|p| p.rules(d).get(ri)) {
            if r.action == Action::Pass && concrete::rule_matches(r, pkt) {
                passes.push((pi, ri));
            }
        }
    });
    let mut out: Vec<Decision> = passes
        .into_iter()
        .map(|r| Decision {
            direction: d,
            action: "Pass".into(),
            rule: Some(r),
            tier: None,
            example,
        })
        .collect();
    out.push(match outcome {
        Outcome::Rule {
            action,
            policy,
            rule,
        } => Decision {
            direction: d,
            action: action.as_str().into(),
            rule: Some((policy, rule)),
            tier: None,
            example,
        },
        Outcome::EndOfTierDeny { tier } => Decision {
            direction: d,
            action: "end-of-tier-deny".into(),
            rule: None,
            tier: Some(tier),
            example,
        },
        Outcome::Profiles => Decision {
            direction: d,
            action: "no-policy-allow".into(),
            rule: None,
            tier: None,
            example,
        },
    });
    out
}

/// Options of one reachability query.
#[derive(Clone, Copy, Debug)]
pub struct ReachOptions {
    pub protocol: Option<u8>,
    pub port: Option<u16>,
    pub timeout_ms: u32,
}

/// Protocols reported one by one; every other protocol is reported together.
pub const NAMED_PROTOCOLS: [u8; 5] = [6, 17, 132, 1, 58];
const PORT_PROTOCOLS: [u8; 3] = [6, 17, 132];

/// Port boundaries where some rule's verdict can change.
pub fn port_classes(set: &PolicySet, groups: &[&Group], within: (u16, u16)) -> Vec<(u16, u16)> {
    port_classes_among(set, &|_, _, _| true, groups, within)
}

/// [`port_classes`] from the rules `keep` accepts (by policy index, direction and position):
/// enough when only those rules take part in the verdict.
fn port_classes_among(
    set: &PolicySet,
    keep: &dyn Fn(usize, Direction, usize) -> bool,
    groups: &[&Group],
    within: (u16, u16),
) -> Vec<(u16, u16)> {
    let mut cuts: std::collections::BTreeSet<u32> =
        [u32::from(within.0), u32::from(within.1) + 1].into();
    let mut add = |lo: u16, hi: u16| {
        cuts.insert(u32::from(lo));
        cuts.insert(u32::from(hi) + 1);
    };
    for (pi, p) in set.policies.iter().enumerate() {
        let rules = [Direction::Ingress, Direction::Egress]
            .into_iter()
            .flat_map(|d| {
                p.rules(d)
                    .iter()
                    .enumerate()
                    .filter(move |(position, _)| keep(pi, d, *position))
                    .map(|(_, r)| r)
            });
        for r in rules {
            for pm in [&r.source, &r.destination]
                .iter()
                .flat_map(|e| e.ports.iter().chain(&e.not_ports))
            {
                if let super::ir::PortMatch::Range(lo, hi) = pm {
                    add(*lo, *hi);
                }
            }
        }
    }
    for g in groups {
        for m in &g.members {
            for (_, port) in m.named_ports.iter().flat_map(|p| p.values()) {
                add(*port, *port);
            }
        }
    }
    let cuts: Vec<u32> = cuts
        .into_iter()
        .filter(|c| *c >= u32::from(within.0) && *c <= u32::from(within.1) + 1)
        .collect();
    cuts.windows(2)
        .filter_map(|w| match w {
            [a, b] if b > a => Some((u16::try_from(*a).ok()?, u16::try_from(b - 1).ok()?)),
            _ => None,
        })
        .collect()
}

fn merge(ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(last.1) + 1 >= u32::from(lo) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Answer "can `from` reach `to`?" over every packet matching the options.
pub fn reach(set: &PolicySet, from: &Group, to: &Group, opts: &ReachOptions) -> ReachResult {
    use super::solver::{Answer, FlowQuestion, ProtocolClass, Universe, with_fresh_session};
    let extra: Vec<&Expr> = [from, to]
        .iter()
        .flat_map(|g| {
            g.members
                .iter()
                .filter_map(|m| m.identity.selector.as_ref())
        })
        .collect();
    let universe = Universe::with_extra(set, &extra);
    // A port without a protocol means TCP.
    let protocol = match (opts.protocol, opts.port) {
        (Some(p), _) => Some(p),
        (None, Some(_)) => Some(6),
        (None, None) => None,
    };
    let ports = opts.port.map(|p| (p, p));
    let base = match protocol {
        Some(p) => ProtocolClass::Is(p),
        None => ProtocolClass::Any,
    };
    let (from_policies, to_policies) = (from.selectable_narrowed(set), to.selectable_narrowed(set));
    let (fp, tp) = (&from_policies[..], &to_policies[..]);
    let rules = PairRules::new(
        &PeerIndex::new(set),
        (&PeerGroup::new(from), fp),
        (&PeerGroup::new(to), tp),
    );
    with_fresh_session(&universe, set, opts.timeout_ms, |s| {
        let mut undecided = 0;
        let mut ask = |s: &mut super::solver::Session<'_>, protocol, dst_ports, allowed| {
            let q = FlowQuestion {
                protocol,
                dst_ports,
                allowed,
                // Witnesses from the whole verdict formula: the same models, and so the
                // same examples, as before pair rules existed.
                ..FlowQuestion::allowed_between((from, fp), (to, tp), None)
            };
            match s.flow(&q) {
                Answer::Known(x) => x,
                Answer::Undecided => {
                    undecided += 1;
                    None
                }
            }
        };
        let allowed_example = ask(s, base, ports, true);
        let denied_example = ask(s, base, ports, false);
        // Examples read better as IPv4 TCP (or UDP) when such a packet exists.
        let nicer = |s: &mut super::solver::Session<'_>,
                     found: &Option<Packet>,
                     allowed: bool|
         -> Option<Packet> {
            found.as_ref()?;
            let preferred: Vec<ProtocolClass<'_>> = match base {
                ProtocolClass::Any => vec![ProtocolClass::Is(6), ProtocolClass::Is(17), base],
                other => vec![other],
            };
            preferred
                .into_iter()
                .find_map(|protocol| {
                    let q = FlowQuestion {
                        protocol,
                        dst_ports: ports,
                        allowed,
                        ipv4_only: true,
                        // Witnesses from the whole verdict formula: the same models, and so the
                        // same examples, as before pair rules existed.
                        ..FlowQuestion::allowed_between((from, fp), (to, tp), None)
                    };
                    match s.flow_example(&q) {
                        super::solver::Answer::Known(Some(p)) => Some(p),
                        _ => None,
                    }
                })
                .or_else(|| found.clone())
        };
        let allowed_example =
            nicer(s, &allowed_example, true).map(|p| with_known_labels(p, from, to));
        let denied_example =
            nicer(s, &denied_example, false).map(|p| with_known_labels(p, from, to));
        let verdict = match (&allowed_example, &denied_example) {
            (Some(_), None) => Verdict::Allowed,
            (None, _) => Verdict::Denied,
            (Some(_), Some(_)) => Verdict::Partial,
        };
        let allowed = if allowed_example.is_some() {
            let (list, und) =
                s.in_scope(|s| allowed_list(s, set, (from, fp), (to, tp), &rules, protocol, ports));
            undecided += und;
            list
        } else {
            Vec::new()
        };
        let mut decisions = Vec::new();
        for (example, name) in [(&allowed_example, "allowed"), (&denied_example, "denied")] {
            let Some(pkt) = example else { continue };
            if from.policed {
                decisions.extend(decisions_for(set, Direction::Egress, pkt, name));
            }
            if to.policed {
                decisions.extend(decisions_for(set, Direction::Ingress, pkt, name));
            }
        }
        ReachResult {
            verdict,
            allowed,
            allowed_example,
            denied_example,
            decisions,
            undecided,
            protocol,
            protocol_assumed: opts.protocol.is_none() && opts.port.is_some(),
            port: opts.port,
        }
    })
}

/// One pair of groups: the verdict for packets from `from` to `to` (each with the policies
/// that may select it, and the rules of those that may match the pair's packets) and, unless
/// denied, the allowed protocols and ports; with the number of undecided queries. `None` when
/// even the verdict is undecided. `graph` and `diff` ask this for every pair they solve, each
/// in its own pair scope.
pub fn pair_summary(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
) -> (Option<(Verdict, Vec<AllowedProtocol>)>, usize) {
    match super::decided_pair::region(set, (from, fp), (to, tp), rules) {
        Some(region) => {
            let verdict = region.verdict();
            let allowed = match verdict {
                Verdict::Denied => Vec::new(),
                _ => region.allowed(None, None),
            };
            (Some((verdict, allowed)), 0)
        }
        None => pair_summary_solved(s, set, (from, fp), (to, tp), rules),
    }
}

/// [`pair_summary`] asked of the solver, also when the labels decide the pair (the
/// differential test holds the two ways together).
pub fn pair_summary_solved(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
) -> (Option<(Verdict, Vec<AllowedProtocol>)>, usize) {
    s.in_scope(|s| pair_summary_in_scope(s, set, (from, fp), (to, tp), rules))
}

fn pair_summary_in_scope(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
) -> (Option<(Verdict, Vec<AllowedProtocol>)>, usize) {
    use super::solver::{Answer, FlowQuestion};
    let mut q = FlowQuestion::allowed_between((from, fp), (to, tp), Some(rules));
    let verdict = match s.flow(&q) {
        Answer::Known(Some(_)) => {
            q.allowed = false;
            match s.flow(&q) {
                Answer::Known(None) => Verdict::Allowed,
                _ => Verdict::Partial,
            }
        }
        Answer::Known(None) => return (Some((Verdict::Denied, Vec::new())), 0),
        Answer::Undecided => return (None, 1),
    };
    let (allowed, und) = allowed_list(s, set, (from, fp), (to, tp), rules, None, None);
    (Some((verdict, allowed)), und)
}

/// Protocols (and destination port ranges for TCP/UDP/SCTP) on which some packet from
/// `from` to `to` is allowed; protocol `0` stands for every protocol without a name.
pub fn allowed_list(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    protocol: Option<u8>,
    ports: Option<(u16, u16)>,
) -> (Vec<AllowedProtocol>, usize) {
    use super::solver::{Answer, FlowQuestion, ProtocolClass};
    let mut undecided = 0;
    // Some allowed packet (`None`: undecided).
    let try_ask = |s: &mut super::solver::Session<'_>, protocol, dst_ports| {
        let q = FlowQuestion {
            protocol,
            dst_ports,
            ..FlowQuestion::allowed_between((from, fp), (to, tp), Some(rules))
        };
        match s.flow(&q) {
            Answer::Known(x) => Some(x.is_some()),
            Answer::Undecided => None,
        }
    };
    let ask = |s: &mut super::solver::Session<'_>, protocol, dst_ports, undecided: &mut usize| {
        try_ask(s, protocol, dst_ports).unwrap_or_else(|| {
            *undecided += 1;
            false
        })
    };
    let mut allowed = Vec::new();
    let protocols: Vec<u8> = match protocol {
        Some(p) => vec![p],
        None => NAMED_PROTOCOLS.to_vec(),
    };
    for p in protocols {
        if PORT_PROTOCOLS.contains(&p) {
            // Only the rules in the verdict cut the port range into classes.
            let in_verdict = |pi: usize, d: Direction, position: usize| match d {
                Direction::Egress => from.policed && rules.egress.keeps(pi, position),
                Direction::Ingress => to.policed && rules.ingress.keeps(pi, position),
            };
            let classes =
                port_classes_among(set, &in_verdict, &[from, to], ports.unwrap_or((0, 65535)));
            let (open, und) = open_port_classes(s, set, (from, fp), (to, tp), rules, p, &classes);
            undecided += und;
            if !open.is_empty() {
                allowed.push((p, Some(merge(open))));
            }
        } else if ask(s, ProtocolClass::Is(p), None, &mut undecided) {
            allowed.push((p, None));
        }
    }
    if protocol.is_none()
        && ask(
            s,
            ProtocolClass::Other(&NAMED_PROTOCOLS),
            None,
            &mut undecided,
        )
    {
        allowed.push((0, None));
    }
    (allowed, undecided)
}

/// The classes of `classes` (port ranges on which every rule of the verdict decides alike) on
/// which some packet of protocol `p` from `from` to `to` is allowed, with the number of
/// undecided queries.
///
/// Guided by witnesses: the solver is asked for an allowed packet on a port of a class not yet
/// known to be open; the witness opens its class, and the same packet on every other unknown
/// class is run through the concrete evaluator, which opens every class it is allowed on (a
/// real packet of the pair, so no guess). When no allowed packet is left on the unknown
/// classes, they are closed, proven by the solver. A pair whose verdict depends on ports alone
/// then costs two queries per protocol, whatever the number of classes.
fn open_port_classes(
    s: &mut super::solver::Session<'_>,
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    p: u8,
    classes: &[(u16, u16)],
) -> (Vec<(u16, u16)>, usize) {
    use super::solver::{Answer, FlowQuestion, ProtocolClass};
    let mut unknown: Vec<(u16, u16)> = classes.to_vec();
    let mut open: Vec<(u16, u16)> = Vec::new();
    while !unknown.is_empty() {
        let q = FlowQuestion {
            protocol: ProtocolClass::Is(p),
            ..FlowQuestion::allowed_between((from, fp), (to, tp), Some(rules))
        };
        let witness = match s.flow_on_ports(&q, &unknown) {
            Answer::Known(Some(w)) => w,
            Answer::Known(None) => break,
            Answer::Undecided => return (merge_sorted(open), 1),
        };
        let port = witness.dst.port;
        let before = unknown.len();
        let allowed_at = |policed: bool, d: Direction, candidates: &[bool]| {
            if policed {
                concrete::allows_on_classes(set, d, &witness, candidates, &unknown)
            } else {
                vec![true; unknown.len()]
            }
        };
        let egress = allowed_at(from.policed, Direction::Egress, fp);
        let ingress = allowed_at(to.policed, Direction::Ingress, tp);
        let mut still = Vec::with_capacity(unknown.len());
        for (i, &(lo, hi)) in unknown.iter().enumerate() {
            let concretely =
                egress.get(i).copied().unwrap_or(false) && ingress.get(i).copied().unwrap_or(false);
            if (lo..=hi).contains(&port) || concretely {
                open.push((lo, hi));
            } else {
                still.push((lo, hi));
            }
        }
        unknown = still;
        if unknown.len() == before {
            // The witness's port is in no unknown class: the solver and the classes disagree.
            // Never loop: what is left is undecided.
            return (merge_sorted(open), 1);
        }
    }
    (merge_sorted(open), 0)
}

fn merge_sorted(mut ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    ranges.sort_unstable();
    ranges
}

/// Show every label known for single-member groups (the solver only models the labels some
/// selector mentions).
fn with_known_labels(mut p: Packet, from: &Group, to: &Group) -> Packet {
    for (side, g) in [(&mut p.src, from), (&mut p.dst, to)] {
        if let [m] = g.members.as_slice() {
            // Fixed labels are facts even for symbolic members (a namespace's labels).
            if m.identity.entity {
                for (k, v) in &m.identity.fixed {
                    side.labels.insert(k.clone(), v.clone());
                }
            }
        }
    }
    p
}

/// "80,443,8000-8080".
pub fn format_ports(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
