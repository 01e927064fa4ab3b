//! Shared helpers for the lints that report semantic-analysis results: mapping compiled
//! policies and rules back to resources, spans and pointers.

use crate::analysis::ir::CompiledPolicy;
use crate::analysis::{Analysis, RuleId};
use crate::finding::{Location, Related};
use crate::model::resource::{Resource, Rule};
use crate::project::Project;

pub struct RuleSite<'a> {
    pub resource: &'a Resource,
    pub policy: &'a CompiledPolicy,
    pub rule: &'a Rule,
}

impl RuleSite<'_> {
    pub fn location(&self) -> Location {
        self.resource.location(self.rule.head_span())
    }

    pub fn action(&self) -> &str {
        self.rule.action.as_ref().map_or("?", |a| a.value.as_str())
    }

    /// "NetworkPolicy shop/db rule /spec/ingress/0 (Allow)".
    pub fn describe(&self) -> String {
        format!(
            "{} rule {} ({})",
            self.resource.reference(),
            self.rule.pointer,
            self.action()
        )
    }

    pub fn related(&self, message: impl Into<String>) -> Related {
        Related {
            message: message.into(),
            location: Some(self.location()),
            resource: Some(self.resource.reference()),
            pointer: Some(self.rule.pointer.clone()),
        }
    }
}

pub fn analysis(project: &Project) -> Option<&Analysis> {
    project.analysis.as_ref()
}

pub fn policy_resource<'a>(
    project: &'a Project,
    a: &'a Analysis,
    policy: usize,
) -> Option<(&'a Resource, &'a CompiledPolicy)> {
    let p = a.set.policies.get(policy)?;
    Some((project.resources.get(p.resource)?, p))
}

pub fn rule_site<'a>(project: &'a Project, a: &'a Analysis, id: RuleId) -> Option<RuleSite<'a>> {
    let (resource, policy) = policy_resource(project, a, id.policy)?;
    let rule = resource.policy()?.rules(id.direction).get(id.rule)?;
    Some(RuleSite {
        resource,
        policy,
        rule,
    })
}

/// A location naming a policy as a whole (its `metadata.name`).
pub fn policy_related(resource: &Resource, message: impl Into<String>) -> Related {
    Related {
        message: message.into(),
        location: Some(
            resource.location(
                resource
                    .meta
                    .name
                    .as_ref()
                    .map_or(resource.span, |n| n.span),
            ),
        ),
        resource: Some(resource.reference()),
        pointer: Some("/metadata/name".into()),
    }
}

/// "order 100" / "no order".
pub fn order_text(order: Option<f64>) -> String {
    order.map_or_else(|| "no order".to_string(), |o| format!("order {o}"))
}
