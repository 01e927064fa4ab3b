//! CAL202 shadowed-by-policy: everything the rule matches is decided before it is reached,
//! by earlier policies, earlier tiers (including their end-of-tier deny) or a Pass.

use super::LintContext;
use super::semantic::{Scope, analysis, by_scope, order_text, policy_related, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::example_names::NamespaceNamer;
use crate::analysis::{Decider, RuleId, order, pieces, witness};
use crate::finding::{Related, Severity};
use crate::model::resource::Kind;

pub struct ShadowedByPolicy;

static META: LintMeta = LintMeta {
    code: "CAL202",
    name: "shadowed-by-policy",
    default_severity: Severity::Warning,
    summary: "Policies or tiers evaluated earlier decide every packet this rule matches",
    doc: include_str!("../../rules/CAL202.md"),
};

impl Lint for ShadowedByPolicy {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        let namer = NamespaceNamer::new(project, &a.set, &[]);
        // A Kubernetes rule split into pieces (spec §1.11) is never reached only when no
        // piece is; otherwise the finding names the pieces that are not.
        for (scope, group) in by_scope(project, a, &a.shadowed_by_policy, |s| s.rule) {
            let Some(first) = group.first() else { continue };
            let Some(mut site) = rule_site(project, a, first.rule) else {
                continue;
            };
            site = site.scoped(scope);
            let mut deciders: Vec<&Decider> = group.iter().flat_map(|s| &s.deciders).collect();
            deciders.sort();
            deciders.dedup();
            let mut who = Vec::new();
            let mut related = Vec::new();
            let mut conflicts = Vec::new();
            for d in deciders {
                match d {
                    Decider::Tier(name) => {
                        who.push(format!("tier `{name}`"));
                        // A tier whose default action is Pass (the built-in admin and baseline
                        // tiers) has no end-of-tier deny: only its policies decide.
                        let what = if a.set.tier(name).is_some_and(|t| t.default_pass) {
                            "its policies; its default action is Pass"
                        } else {
                            "its policies, or its end-of-tier deny"
                        };
                        let tier_res = project
                            .resources
                            .iter()
                            .find(|r| r.kind == Kind::Tier && r.name() == name);
                        related.push(match tier_res {
                            Some(r) => policy_related(
                                r,
                                format!("tier `{name}` is evaluated first and decides ({what})"),
                            ),
                            None => Related {
                                message: format!(
                                    "tier `{name}` is evaluated first and decides ({what})"
                                ),
                                location: None,
                                resource: None,
                                pointer: None,
                            },
                        });
                    }
                    Decider::Policy(q) => {
                        let Some(qp) = a.set.policy(*q) else {
                            continue;
                        };
                        let Some(r) = project.resource(qp.resource) else {
                            continue;
                        };
                        // With equal orders only the names decide: say so rather than
                        // quote an order that decides nothing.
                        let when = if order::ordered_by_name_only(qp, site.policy) {
                            format!(
                                "{}, the same as this policy's: only the names decide, and `{}` sorts before `{}`",
                                order_text(qp.order),
                                qp.sort_key(),
                                site.policy.sort_key()
                            )
                        } else {
                            order_text(qp.order)
                        };
                        who.push(format!("{} ({when})", r.reference()));
                        related.push(policy_related(
                            r,
                            format!("evaluated earlier ({when}) and decides these packets"),
                        ));
                        // The same rule would also be an order conflict (CAL203) with this
                        // policy: state that fact here instead of a second finding.
                        // One example per deciding policy is enough.
                        for c in a
                            .conflicts
                            .iter()
                            .filter(|c| {
                                c.winner.policy == *q && group.iter().any(|s| s.rule == c.loser)
                            })
                            .take(1)
                        {
                            if let Some(w) = rule_site(project, a, c.winner) {
                                let w = w.piece();
                                let mut packet = c.witness.clone();
                                namer.apply(&mut packet);
                                conflicts.push(format!(
                                    "{} has a different action and matches packets such as {}",
                                    w.describe(),
                                    witness::describe(&packet, c.winner.direction)
                                ));
                                related.push(w.related(format!(
                                    "wins only by name with action {}",
                                    w.action()
                                )));
                            }
                        }
                    }
                    Decider::Rule(i) => {
                        let other = RuleId {
                            rule: *i,
                            ..first.rule
                        };
                        if scope == Scope::Whole
                            && pieces::same_source_rule(&a.set, other, first.rule)
                        {
                            continue;
                        }
                        if let Some(c) = rule_site(project, a, other) {
                            let c = c.piece();
                            let name = site.name_rule(&a.set, &c);
                            if who.contains(&name) {
                                continue;
                            }
                            who.push(name);
                            related.push(c.related(format!(
                                "earlier rule in the same policy ({})",
                                c.action()
                            )));
                        }
                    }
                }
            }
            conflicts.sort();
            conflicts.dedup();
            let mut message = format!(
                "{} is never reached: every packet it matches at the endpoints this policy selects is decided earlier by {}",
                site.subject(),
                who.join(", ")
            );
            if !conflicts.is_empty() {
                message.push_str(&format!(
                    "; this is also an order conflict (CAL203): {}",
                    conflicts.join("; ")
                ));
            }
            let mut f = sink
                .at(site.location(), message)
                .in_resource(site.resource, site.pointer());
            for r in related {
                f = f.related(r);
            }
            if !conflicts.is_empty() {
                f = f.note("help: give the policies different `order` values so the precedence is explicit and survives renames");
            }
            if let Some(list) = crate::analysis::classes::list_note(site.policy.class) {
                f = f.note(list);
            }
            f.note(format!(
                "this policy is in tier `{}` with {}",
                site.policy.tier,
                order_text(site.policy.order)
            ))
            .emit();
        }
    }
}
