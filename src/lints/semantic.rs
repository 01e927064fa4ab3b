//! Shared helpers for the lints that report semantic-analysis results: mapping compiled
//! policies and rules back to resources, spans and pointers.

use crate::analysis::ir::{CompiledPolicy, PolicySet};
use crate::analysis::{Analysis, RuleId, pieces};
use crate::finding::{Location, Related};
use crate::model::resource::{Resource, Rule};
use crate::project::Project;

pub struct RuleSite<'a> {
    pub resource: &'a Resource,
    pub policy: &'a CompiledPolicy,
    pub rule: &'a Rule,
    pub id: RuleId,
    /// Talk about the converted piece only (a Kubernetes rule Calico splits, spec §1.11),
    /// not the whole source rule.
    pub as_piece: bool,
}

impl RuleSite<'_> {
    /// This site, speaking of its piece only when the rule is split.
    pub fn piece(mut self) -> Self {
        self.as_piece = self.rule.piece.is_some();
        self
    }

    pub fn location(&self) -> Location {
        match (&self.rule.piece, self.as_piece) {
            (Some(p), true) => self.resource.location(p.span),
            _ => self.resource.location(self.rule.head_span()),
        }
    }

    /// The pointer findings carry: the piece's when speaking of a piece.
    pub fn pointer(&self) -> &str {
        match (&self.rule.piece, self.as_piece) {
            (Some(p), true) => &p.pointer,
            _ => &self.rule.pointer,
        }
    }

    /// What a message calls the site: "rule", or "peer /spec/ingress/0/from/1 of this rule".
    pub fn subject(&self) -> String {
        match (&self.rule.piece, self.as_piece) {
            (Some(p), true) => format!("{} of this rule", p.label),
            _ => "rule".to_string(),
        }
    }

    /// How a message names another rule `other` of the same policy: "earlier rule
    /// /spec/ingress/0", or "peer /spec/ingress/1/from/0 of the same rule".
    pub fn name_rule(&self, set: &PolicySet, other: &RuleSite<'_>) -> String {
        match &other.rule.piece {
            Some(p) if pieces::same_source_rule(set, self.id, other.id) => {
                format!("{} of the same rule", p.label)
            }
            Some(p) => format!("earlier rule {} ({})", other.rule.pointer, p.label),
            None => format!("earlier rule {}", other.rule.pointer),
        }
    }

    pub fn action(&self) -> &str {
        self.rule.action.as_ref().map_or("?", |a| a.value.as_str())
    }

    /// "NetworkPolicy shop/db rule /spec/ingress/0 (Allow)", naming the piece when speaking
    /// of one.
    pub fn describe(&self) -> String {
        match (&self.rule.piece, self.as_piece) {
            (Some(p), true) => format!(
                "{} rule {} ({}, {})",
                self.resource.reference(),
                self.rule.pointer,
                p.label,
                self.action()
            ),
            _ => format!(
                "{} rule {} ({})",
                self.resource.reference(),
                self.rule.pointer,
                self.action()
            ),
        }
    }

    pub fn related(&self, message: impl Into<String>) -> Related {
        Related {
            message: message.into(),
            location: Some(self.location()),
            resource: Some(self.resource.reference()),
            pointer: Some(self.pointer().to_string()),
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
        id,
        as_piece: false,
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
