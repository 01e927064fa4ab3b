//! Compiling the model into the IR: a resource's policy and rules become a
//! [`CompiledPolicy`] and [`CompiledRule`]s (selector scoping of spec §3.7, global selectors,
//! type defaulting, numeric protocols, port matches, the IP families of §4.3). What cannot be
//! compiled (an invalid field) is [`NotCompiled`]: the policy is left out of the set.

use super::*;

pub(super) fn and(items: Vec<Expr>) -> Expr {
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

pub(super) fn has(label: &str) -> Expr {
    Expr::Has(label.to_string())
}

pub(super) fn namespace_is(ns: &str) -> Expr {
    Expr::Eq(NAMESPACE_LABEL.to_string(), ns.to_string())
}

/// Replace `all()` / `global()` leaves, as Calico's textual rewrite of compiled namespace
/// selectors does (§3.7.1 step 1, §3.7.2).
pub(super) fn rewrite(e: &Expr, all: &Expr, global: Option<&Expr>) -> Expr {
    match e {
        Expr::All => all.clone(),
        Expr::Global => global.cloned().unwrap_or(Expr::Global),
        Expr::Not(inner) => Expr::Not(Box::new(rewrite(inner, all, global))),
        Expr::And(items) => Expr::And(items.iter().map(|i| rewrite(i, all, global)).collect()),
        Expr::Or(items) => Expr::Or(items.iter().map(|i| rewrite(i, all, global)).collect()),
        leaf => leaf.clone(),
    }
}

pub(super) fn prefixed(field: &SelectorField, prefix: &str) -> Option<Expr> {
    field.selector().map(|s| s.prefixed(prefix).expr().clone())
}

pub(super) fn non_empty(field: Option<&SelectorField>) -> Option<&SelectorField> {
    field.filter(|f| !f.is_empty())
}

/// Why a resource could not be compiled (it has errors that CAL002 reports).
#[derive(Debug)]
pub struct NotCompiled;

/// The effective positive selector of an entity rule (§3.7.1).
pub(super) fn entity_selector(
    e: &EntityRule,
    ns: Option<&str>,
) -> Result<Option<Expr>, NotCompiled> {
    let ns_part = match non_empty(e.namespace_selector.as_deref()) {
        Some(f) => {
            let p = prefixed(f, NAMESPACE_PREFIX).ok_or(NotCompiled)?;
            let not_ns = Expr::Not(Box::new(has(NAMESPACE_LABEL)));
            Some(rewrite(&p, &has(NAMESPACE_LABEL), Some(&not_ns)))
        }
        None => ns.map(namespace_is),
    };
    let mut identity = Vec::new();
    if let Some(sa) = &e.service_accounts {
        if let Some(f) = non_empty(sa.selector.as_ref()) {
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
    if let Some(f) = non_empty(e.selector.as_ref()) {
        identity.push(f.selector().ok_or(NotCompiled)?.expr().clone());
    }
    let has_identity = !identity.is_empty();
    let identity = and(identity);
    let scoping_applies = has_identity
        || non_empty(e.not_selector.as_deref()).is_some()
        || non_empty(e.namespace_selector.as_deref()).is_some();
    Ok(match ns_part {
        Some(n) if scoping_applies => Some(and(vec![n, identity])),
        _ if has_identity => Some(identity),
        _ => None,
    })
}

pub(super) fn port_matches(ports: &[crate::source::Spanned<Port>]) -> Vec<PortMatch> {
    ports
        .iter()
        .map(|p| match &p.value {
            Port::Range { min, max } => PortMatch::Range(*min, *max),
            Port::Named(n) => PortMatch::Named(n.clone()),
        })
        .collect()
}

pub(super) fn nets(fields: &[crate::model::resource::NetField]) -> Result<Vec<Cidr>, NotCompiled> {
    fields
        .iter()
        .map(|n| n.parsed.clone().map(Cidr::network).map_err(|_| NotCompiled))
        .collect()
}

pub(super) fn entity(e: &EntityRule, ns: Option<&str>) -> Result<Entity, NotCompiled> {
    let not_selector = match non_empty(e.not_selector.as_deref()) {
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

pub(super) fn protocol(
    p: &Option<crate::source::Spanned<Protocol>>,
) -> Result<Option<u8>, NotCompiled> {
    match p {
        None => Ok(None),
        Some(p) if p.value.is_valid() => Ok(p.value.number()),
        Some(_) => Err(NotCompiled),
    }
}

pub(super) fn icmp(
    m: &Option<Box<crate::model::resource::IcmpMatch>>,
) -> Result<Option<Icmp>, NotCompiled> {
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
pub(super) fn families(rule: &Rule, src: &Entity, dst: &Entity) -> (bool, bool) {
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
pub(super) fn policy_selector(
    kind: Kind,
    ns: Option<&str>,
    p: &Policy,
) -> Result<Expr, NotCompiled> {
    let base = match non_empty(p.selector.as_ref()) {
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
        if let Some(f) = non_empty(p.service_account_selector.as_ref()) {
            parts.push(prefixed(f, SERVICE_ACCOUNT_PREFIX).ok_or(NotCompiled)?);
        }
        return Ok(and(parts));
    }
    // Calico joins the selector strings and then replaces every `all()` in the *whole*
    // string (§3.7.2, W-06; `globalnetworkpolicyprocessor.go`): an explicit `all()` in any of
    // the parts becomes `has(<label>)`, so the joined expression is built without dropping
    // `all()` leaves first. An empty selector contributes nothing (it is not `all()` here).
    let mut s: Option<Expr> = non_empty(p.selector.as_ref()).map(|_| base);
    for (field, prefix, label) in [
        (&p.namespace_selector, NAMESPACE_PREFIX, NAMESPACE_LABEL),
        (
            &p.service_account_selector,
            SERVICE_ACCOUNT_PREFIX,
            SERVICE_ACCOUNT_LABEL,
        ),
    ] {
        if let Some(f) = non_empty(field.as_ref()) {
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
pub(super) fn policy_class(kind: Kind, p: &Policy) -> PolicyClass {
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
pub(super) fn applies_to(res: &Resource, p: &Policy, d: Direction) -> bool {
    let no_types = p.types.as_ref().is_none_or(|t| t.value.is_empty());
    if res.is_storage_form() && no_types {
        return true;
    }
    p.applies_to(d)
}

/// Compile a policy resource. Resources with validation problems are not compiled: the
/// analysis reasons only about policies Calico would accept.
pub fn compile_policy(index: ResourceId, res: &Resource) -> Result<CompiledPolicy, NotCompiled> {
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
