//! Shared helpers for the lints that report semantic-analysis results: mapping compiled
//! policies and rules back to resources, spans and pointers.

use super::LintContext;
use crate::analysis::ir::{CompiledPolicy, PolicyId, PolicySet};
use crate::analysis::{Analysis, RuleId, pieces};
use crate::finding::{Location, Related};
use crate::model::resource::{Resource, Rule};
use crate::pointer::Pointer;
use crate::project::Project;

pub struct RuleSite<'a> {
    pub resource: &'a Resource,
    pub policy: &'a CompiledPolicy,
    pub rule: &'a Rule,
    pub id: RuleId,
    /// Talk about the converted piece only (a Kubernetes rule Calico splits, spec §1.11),
    /// not the whole source rule.
    pub as_piece: bool,
    /// When speaking of a piece: of its peer on every protocol.
    pub whole_peer: bool,
}

/// How much of a source rule a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole rule (every piece qualifies, or the rule is not split).
    Whole,
    /// One peer of a split rule, on every protocol it converts to.
    Peer,
    /// One converted piece (peer × protocol).
    Piece,
}

/// Items (about compiled rules) grouped as findings should report them: a split Kubernetes
/// rule whole only when every piece qualifies, else per peer when every protocol of the peer
/// qualifies, else per piece.
pub fn by_scope<'a, T>(
    project: &Project,
    a: &Analysis,
    items: &'a [T],
    id: impl Fn(&T) -> RuleId,
) -> Vec<(Scope, Vec<&'a T>)> {
    let mut out = Vec::new();
    let mut singles: Vec<&'a T> = Vec::new();
    for (whole, group) in pieces::by_source_rule(&a.set, items, &id) {
        if whole {
            out.push((Scope::Whole, group));
        } else {
            singles.extend(group);
        }
    }
    let peer_of = |item: &T| -> Option<(RuleId, String)> {
        let rid = id(item);
        let site = rule_site(project, a, rid)?;
        let start = pieces::siblings(&a.set, rid).start;
        Some((
            RuleId { rule: start, ..rid },
            site.rule.piece.as_ref()?.peer_label.clone(),
        ))
    };
    let mut by_peer: Vec<((RuleId, String), Vec<&'a T>)> = Vec::new();
    for item in singles {
        let Some(key) = peer_of(item) else {
            out.push((Scope::Piece, vec![item]));
            continue;
        };
        match by_peer.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(item),
            None => by_peer.push((key, vec![item])),
        }
    }
    for ((start, label), members) in by_peer {
        // Every piece of the source rule with this peer.
        let all: Vec<usize> = pieces::siblings(&a.set, start)
            .filter(|&i| {
                rule_site(project, a, RuleId { rule: i, ..start })
                    .and_then(|s| s.rule.piece.as_ref().map(|p| p.peer_label == label))
                    .unwrap_or(false)
            })
            .collect();
        let covered: Vec<usize> = members.iter().map(|m| id(m).rule).collect();
        if all.len() > 1 && all.iter().all(|i| covered.contains(i)) {
            out.push((Scope::Peer, members));
        } else {
            out.extend(members.into_iter().map(|m| (Scope::Piece, vec![m])));
        }
    }
    out
}

impl RuleSite<'_> {
    /// This site, speaking of its piece only when the rule is split.
    pub fn piece(mut self) -> Self {
        self.as_piece = self.rule.piece.is_some();
        self
    }

    /// This site, speaking at `scope`.
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.as_piece = scope != Scope::Whole && self.rule.piece.is_some();
        self.whole_peer = scope == Scope::Peer;
        self
    }

    fn piece_label(&self) -> Option<&str> {
        let p = self.rule.piece.as_ref().filter(|_| self.as_piece)?;
        Some(if self.whole_peer {
            &p.peer_label
        } else {
            &p.label
        })
    }

    pub fn location(&self) -> Location {
        match (&self.rule.piece, self.as_piece) {
            (Some(p), true) => self.resource.location(p.span),
            _ => self.resource.location(self.rule.head_span()),
        }
    }

    /// The pointer findings carry: the piece's when speaking of a piece.
    pub fn pointer(&self) -> &Pointer {
        match (&self.rule.piece, self.as_piece) {
            (Some(p), true) => &p.pointer,
            _ => &self.rule.pointer,
        }
    }

    /// What a message calls the site: "rule", or "peer /spec/ingress/0/from/1 of this rule".
    pub fn subject(&self) -> String {
        match self.piece_label() {
            Some(l) => format!("{l} of this rule"),
            None => "rule".to_string(),
        }
    }

    /// How a message names another rule `other` of the same policy: "earlier rule
    /// /spec/ingress/0", or "peer /spec/ingress/1/from/0 of the same rule".
    pub fn name_rule(&self, set: &PolicySet, other: &RuleSite<'_>) -> String {
        let label = other.rule.piece.as_ref().map(|p| {
            if self.whole_peer || !self.as_piece {
                &p.peer_label
            } else {
                &p.label
            }
        });
        match label {
            Some(l) if pieces::same_source_rule(set, self.id, other.id) => {
                format!("{l} of the same rule")
            }
            Some(l) => format!("earlier rule {} ({l})", other.rule.pointer),
            None => format!("earlier rule {}", other.rule.pointer),
        }
    }

    pub fn action(&self) -> &str {
        self.rule.action.as_ref().map_or("?", |a| a.value.as_str())
    }

    /// "NetworkPolicy shop/db rule /spec/ingress/0 (Allow)", naming the piece when speaking
    /// of one.
    pub fn describe(&self) -> String {
        match self.piece_label() {
            Some(l) => format!(
                "{} rule {} ({l}, {})",
                self.resource.reference(),
                self.rule.pointer,
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
            pointer: Some(self.pointer().clone()),
        }
    }
}

pub fn analysis<'a>(cx: &LintContext<'a>) -> Option<&'a Analysis> {
    cx.analysis
}

pub fn policy_resource<'a>(
    project: &'a Project,
    a: &'a Analysis,
    policy: PolicyId,
) -> Option<(&'a Resource, &'a CompiledPolicy)> {
    let p = a.set.policy(policy)?;
    Some((project.resource(p.resource)?, p))
}

/// The rule pairs of one kind the anomaly pass found (CAL205, CAL206, CAL208), each rule
/// located in its resource; pairs whose rules cannot be located are left out.
pub fn located_pairs<'a>(
    project: &'a Project,
    a: &'a Analysis,
    kind: crate::analysis::anomaly::PairKind,
) -> Vec<(RuleSite<'a>, RuleSite<'a>)> {
    (a.rule_pairs.iter())
        .filter(|p| p.kind == kind)
        .filter_map(|p| {
            Some((
                rule_site(project, a, p.earlier)?,
                rule_site(project, a, p.later)?,
            ))
        })
        .collect()
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
        whole_peer: false,
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
