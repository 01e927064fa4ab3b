//! CAL202 shadowed-by-policy: everything the rule matches is decided before it is reached,
//! by earlier policies, earlier tiers (including their end-of-tier deny) or a Pass.

use super::semantic::{analysis, order_text, policy_related, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::{Decider, RuleId};
use crate::finding::{Related, Severity};
use crate::model::resource::Kind;
use crate::project::Project;

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

    fn check(&self, project: &Project, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for s in &a.shadowed_by_policy {
            let Some(site) = rule_site(project, a, s.rule) else {
                continue;
            };
            let mut who = Vec::new();
            let mut related = Vec::new();
            for d in &s.deciders {
                match d {
                    Decider::Tier(name) => {
                        who.push(format!("tier `{name}`"));
                        let tier_res = project
                            .resources
                            .iter()
                            .find(|r| r.kind == Kind::Tier && r.name() == name);
                        related.push(match tier_res {
                            Some(r) => policy_related(r, format!("tier `{name}` is evaluated first and decides (its policies, or its end-of-tier deny)")),
                            None => Related {
                                message: format!("tier `{name}` is evaluated first and decides (its policies, or its end-of-tier deny)"),
                                location: None,
                                resource: None,
                                pointer: None,
                            },
                        });
                    }
                    Decider::Policy(q) => {
                        let Some(qp) = a.set.policies.get(*q) else {
                            continue;
                        };
                        let Some(r) = project.resources.get(qp.resource) else {
                            continue;
                        };
                        who.push(format!("{} ({})", r.reference(), order_text(qp.order)));
                        related.push(policy_related(
                            r,
                            format!(
                                "evaluated earlier ({}) and decides these packets",
                                order_text(qp.order)
                            ),
                        ));
                    }
                    Decider::Rule(i) => {
                        if let Some(c) = rule_site(project, a, RuleId { rule: *i, ..s.rule }) {
                            who.push(format!("earlier rule {}", c.rule.pointer));
                            related.push(c.related(format!(
                                "earlier rule in the same policy ({})",
                                c.action()
                            )));
                        }
                    }
                }
            }
            let mut f = sink
                .at(
                    site.location(),
                    format!(
                        "rule is never reached: every packet it matches at the endpoints this policy selects is decided earlier by {}",
                        who.join(", ")
                    ),
                )
                .in_resource(site.resource, &site.rule.pointer);
            for r in related {
                f = f.related(r);
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
