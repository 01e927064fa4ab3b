//! Groups of endpoints, the ends of a reachability question: discovered from the tree
//! (every workload, every network set, the world; [`discover`]) or resolved from a group
//! expression (`world`, `net:CIDR`, `set:…`, `workload:…`, `[NAMESPACE/]SELECTOR`, or a name
//! the configuration defines; [`resolve`], [`resolve_named`]).
//!
//! Groups are described in domain terms ([`Group`], [`Member`], [`Identity`]); the solver
//! module turns them into constraints. Discovered workloads have known labels (evaluated as
//! facts); selector groups stand for every endpoint the selector matches (symbolic).
//!
//! One file (a little over 600 lines): every kind of group is built from the same namespace
//! facts and member shapes, and `resolve` reads them all.

use super::ir::{
    CompiledPolicy, K8S_NAMESPACE_NAME_LABEL, NAMESPACE_LABEL, NAMESPACE_PREFIX, PolicySet,
    SERVICE_ACCOUNT_LABEL, SERVICE_ACCOUNT_PREFIX,
};
use super::prefilter::Restrictions;
use crate::model::net::Cidr;
use crate::model::resource::{Body, Kind, NetField, Resource};
use crate::model::selector::Expr;
use crate::project::{Project, ResourceId};
use crate::source::Spanned;
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

impl Member {
    /// Addresses in `nets` carrying exactly the labels `fixed` and no named ports: a network
    /// set, or a host endpoint at its expected IPs.
    fn labelled_addresses(fixed: BTreeMap<String, String>, nets: Vec<Cidr>) -> Member {
        Member {
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
        }
    }
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
    pub resource: Option<ResourceId>,
}

impl Group {
    /// Policies that may apply to some member (sound over-approximation).
    pub fn may_be_selected_by(&self, p: &CompiledPolicy) -> bool {
        let pr = Restrictions::of(&p.selector);
        self.members
            .iter()
            .any(|m| m.identity.entity && pr.may_overlap(&Restrictions::of(&m.identity.as_expr())))
    }

    /// The label restrictions of the members that are Calico entities (the others match no
    /// selector): what the overlap prefilter compares policy selectors with.
    pub fn entity_restrictions(&self) -> Vec<Restrictions> {
        self.members
            .iter()
            .filter(|m| m.identity.entity)
            .map(|m| Restrictions::of(&m.identity.as_expr()))
            .collect()
    }

    /// The selectors of the symbolic members (a selector group's), which the solver's
    /// vocabulary must know besides the policies'.
    pub fn selectors(&self) -> impl Iterator<Item = &Expr> {
        self.members
            .iter()
            .filter_map(|m| m.identity.selector.as_ref())
    }

    /// For each policy of `set`: may it select a member of this group?
    pub fn selectable(&self, set: &PolicySet) -> Vec<bool> {
        let members = self.entity_restrictions();
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
        .map(|r| (r.name().to_string(), r.meta.label_values().collect()))
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
    i: ResourceId,
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

/// The networks of the CIDRs that parse (the others are reported by validation).
fn networks(fields: &[NetField]) -> Vec<Cidr> {
    fields
        .iter()
        .filter_map(|n| n.parsed.clone().ok())
        .map(Cidr::network)
        .collect()
}

fn set_nets(r: &Resource) -> Vec<Cidr> {
    match &r.body {
        Body::NetworkSet(s) => networks(&s.nets),
        _ => Vec::new(),
    }
}

fn set_group(
    i: ResourceId,
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
    fixed.extend(r.meta.label_values());
    Some(Group {
        name: format!("set:{name}"),
        kind: GroupKind::NetworkSet,
        policed: false,
        concrete: true,
        members: vec![Member::labelled_addresses(fixed, nets)],
        resource: Some(i),
    })
}

/// The addresses a HostEndpoint declares in `expectedIPs` (spec §1.10): Calico turns
/// selectors that match the host endpoint into these addresses, so a packet from one of
/// them carries the host endpoint's labels (§4.9).
fn hep_ips(r: &Resource) -> Vec<Cidr> {
    match &r.body {
        Body::HostEndpoint(h) => networks(&h.expected_ips),
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
    fixed.extend(r.meta.label_values());
    Member::labelled_addresses(fixed, ips)
}

/// Every address a (Global)NetworkSet or a HostEndpoint's `expectedIPs` of the tree claims.
fn all_set_nets(project: &Project) -> Vec<Cidr> {
    let admission = super::admission::Admission::of(project);
    project
        .resources_with_ids()
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
        .resources_with_ids()
        .filter(|(i, r)| r.kind.is_workload() && admission.admitted(*i))
        .filter_map(|(i, r)| workload_group(i, r, &namespaces))
        .collect();
    workloads.sort_by(|a, b| a.name.cmp(&b.name));
    workloads.dedup_by(|a, b| a.name == b.name);
    let mut sets: Vec<Group> = project
        .resources_with_ids()
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
    resolve_in(project, &discover(project), text)
}

/// [`resolve`] with the tree's groups already discovered (`discovered` is [`discover`]'s
/// answer for `project`), for a caller resolving several groups.
pub fn resolve_in(project: &Project, discovered: &[Group], text: &str) -> Result<Group, String> {
    let text = text.trim();
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

/// One named reachability group of the configuration (re-exported by `spec`, with the other
/// plain specs).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupDef {
    pub name: Spanned<String>,
    pub expression: Spanned<String>,
}

/// Resolve a group expression, trying the configuration's named groups first.
pub fn resolve_named(project: &Project, named: &[GroupDef], text: &str) -> Result<Group, String> {
    resolve_named_in(project, &discover(project), named, text)
}

/// [`resolve_named`] with the tree's groups already discovered (see [`resolve_in`]).
pub fn resolve_named_in(
    project: &Project,
    discovered: &[Group],
    named: &[GroupDef],
    text: &str,
) -> Result<Group, String> {
    let resolve = |text: &str| resolve_in(project, discovered, text);
    match named.iter().find(|g| g.name.value == text.trim()) {
        Some(def) => {
            let mut g = resolve(&def.expression.value)
                .map_err(|e| format!("group `{}`: {e}", def.name.value))?;
            g.name = def.name.value.clone();
            Ok(g)
        }
        None => resolve(text).map_err(|e| {
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
    for (i, r) in project.resources_with_ids() {
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
