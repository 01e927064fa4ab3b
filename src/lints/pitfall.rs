//! Shared walking helpers for the pitfall lints (CAL120–CAL179): the rules and entity rules of
//! the policies users write in Calico's own format.

use crate::model::resource::{Action, Direction, EntityRule, Kind, Policy, Resource, Rule};
use crate::pointer::Pointer;
use crate::project::Project;

/// One rule of a Calico-format policy (NetworkPolicy, GlobalNetworkPolicy, staged variants).
pub struct RuleAt<'a> {
    pub resource: &'a Resource,
    pub direction: Direction,
    pub rule: &'a Rule,
}

impl<'a> RuleAt<'a> {
    /// `source` and `destination`, with their names.
    pub fn entities(&self) -> [(&'static str, &'a EntityRule); 2] {
        [
            ("source", &self.rule.source),
            ("destination", &self.rule.destination),
        ]
    }

    /// The policy's namespace when it is a namespaced kind.
    pub fn namespace(&self) -> Option<&'a str> {
        if self.resource.kind.is_namespaced() {
            Some(self.resource.namespace().unwrap_or("default"))
        } else {
            None
        }
    }
}

/// Every rule of every Calico-format policy, in resource order, ingress before egress.
pub fn calico_rules(project: &Project) -> impl Iterator<Item = RuleAt<'_>> {
    project
        .policies()
        .filter(|(_, r)| r.kind.is_calico_policy())
        .filter_map(|(_, r)| Some((r, r.policy()?)))
        .flat_map(|(resource, policy)| {
            [Direction::Ingress, Direction::Egress]
                .into_iter()
                .flat_map(move |direction| {
                    policy.rules(direction).iter().map(move |rule| RuleAt {
                        resource,
                        direction,
                        rule,
                    })
                })
        })
}

/// The Calico-format policies, with their parsed spec.
pub fn calico_policies(project: &Project) -> impl Iterator<Item = (&Resource, &Policy)> {
    project
        .policies()
        .filter(|(_, r)| r.kind.is_calico_policy())
        .filter_map(|(_, r)| Some((r, r.policy()?)))
}

/// Could this egress rule let DNS over `protocol` (17 = UDP, 6 = TCP) to port 53 through, to
/// some destination? `Pass` counts: a later tier may allow it. Over-approximates (a named
/// port might be 53), so a "no" is certain.
pub fn may_allow_dns(rule: &Rule, protocol: u8) -> bool {
    use crate::model::port::Port;
    if !matches!(rule.action(), Some(Action::Allow | Action::Pass)) {
        return false;
    }
    let proto = |p: &Option<crate::source::Spanned<crate::model::port::Protocol>>| {
        p.as_ref().map(|p| p.value.number())
    };
    match proto(&rule.protocol) {
        Some(Some(n)) if n != protocol => return false,
        _ => {}
    }
    if proto(&rule.not_protocol) == Some(Some(protocol)) {
        return false;
    }
    let has_53 = |p: &Port| match p {
        Port::Range { min, max } => (*min..=*max).contains(&53),
        Port::Named(_) => true,
    };
    let d = &rule.destination;
    let ports_ok = d.ports.is_empty() || d.ports.iter().any(|p| has_53(&p.value));
    let not_ports_block = d
        .not_ports
        .iter()
        .any(|p| matches!(p.value, Port::Range { min, max } if (min..=max).contains(&53)));
    ports_ok && !not_ports_block
}

/// The policies among `governing` with an egress rule that may allow DNS over `protocol`,
/// found once for all policies (per policy it would be quadratic on large trees).
pub fn dns_allowing<'a>(
    governing: &[(&'a Resource, &'a Policy)],
    protocol: u8,
) -> Vec<&'a Resource> {
    governing
        .iter()
        .filter(|(_, p)| p.egress.iter().any(|r| may_allow_dns(r, protocol)))
        .map(|(res, _)| *res)
        .collect()
}

/// Policies that are enforced (not staged) and govern egress, Calico or Kubernetes format.
pub fn enforced_egress_policies(project: &Project) -> impl Iterator<Item = (&Resource, &Policy)> {
    project
        .policies()
        .filter(|(_, r)| {
            !matches!(
                r.kind,
                Kind::StagedNetworkPolicy
                    | Kind::StagedGlobalNetworkPolicy
                    | Kind::StagedKubernetesNetworkPolicy
            )
        })
        .filter_map(|(_, r)| Some((r, r.policy()?)))
        .filter(|(_, p)| p.applies_to(Direction::Egress))
}

/// Could policies `a` and `b` select a common endpoint, judged by namespaces only?
pub fn may_share_endpoints(a: &Resource, b: &Resource) -> bool {
    !a.kind.is_namespaced() || !b.kind.is_namespaced() || a.namespace() == b.namespace()
}

/// Every selector field of a Calico-format policy with its JSON pointer and role:
/// `(pointer, field, is_namespace_selector)`.
pub fn selector_fields<'a>(
    policy: &'a Policy,
) -> Vec<(Pointer, &'a crate::model::resource::SelectorField, bool)> {
    let mut out = Vec::new();
    let mut push = |p: Pointer, f: Option<&'a crate::model::resource::SelectorField>, ns: bool| {
        if let Some(f) = f.filter(|f| !f.is_empty()) {
            out.push((p, f, ns));
        }
    };
    push(
        Pointer::of(&["spec", "selector"]),
        policy.selector.as_ref(),
        false,
    );
    push(
        Pointer::of(&["spec", "namespaceSelector"]),
        policy.namespace_selector.as_ref(),
        true,
    );
    push(
        Pointer::of(&["spec", "serviceAccountSelector"]),
        policy.service_account_selector.as_ref(),
        false,
    );
    for d in [Direction::Ingress, Direction::Egress] {
        for rule in policy.rules(d) {
            for (side, e) in [("source", &rule.source), ("destination", &rule.destination)] {
                let base = rule.pointer.child(side);
                push(base.child("selector"), e.selector.as_ref(), false);
                push(base.child("notSelector"), e.not_selector.as_deref(), false);
                push(
                    base.child("namespaceSelector"),
                    e.namespace_selector.as_deref(),
                    true,
                );
                if let Some(sa) = &e.service_accounts {
                    push(
                        base.child("serviceAccounts").child("selector"),
                        sa.selector.as_ref(),
                        false,
                    );
                }
            }
        }
    }
    out
}
