//! Shared walking helpers for the pitfall lints (CAL120–CAL179): the rules and entity rules of
//! the policies users write in Calico's own format.

use crate::model::resource::{Direction, EntityRule, Policy, Resource, Rule};
use crate::project::Project;

/// One rule of a Calico-format policy (NetworkPolicy, GlobalNetworkPolicy, staged variants).
pub struct RuleAt<'a> {
    pub resource: &'a Resource,
    pub policy: &'a Policy,
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
                        policy,
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
