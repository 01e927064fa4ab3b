//! CAL204 redundant-rule: earlier rules of the same policy, all with the same action, decide
//! every packet the rule matches: dead but harmless.

use super::LintContext;
use super::Pointer;
use super::cal201_shadowed_rule::{covered_rules, is_shadowing};
use super::semantic::analysis;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::Action;

pub struct RedundantRule;

static META: LintMeta = LintMeta {
    code: "CAL204",
    name: "redundant-rule",
    default_severity: Severity::Info,
    summary: "Earlier rules with the same action already decide every packet this rule matches",
    doc: include_str!("../../rules/CAL204.md"),
};

impl Lint for RedundantRule {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for (site, covers) in covered_rules(project, a) {
            if site.rule.action() == Some(Action::Log) || is_shadowing(&site, &covers) {
                continue;
            }
            let mut names: Vec<String> = Vec::new();
            for c in &covers {
                let name = site.name_rule(&a.set, c);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let by = if covers.iter().all(|c| c.rule.piece.is_none()) {
                let mut plain: Vec<&str> = covers.iter().map(|c| c.rule.pointer.as_str()).collect();
                plain.dedup();
                format!(
                    "earlier rule{} {}",
                    if plain.len() == 1 { "" } else { "s" },
                    plain.join(" and ")
                )
            } else {
                names.join(" and ")
            };
            let mut f = sink
                .at(
                    site.location(),
                    format!(
                        "{} is redundant: every packet it matches is already decided by {by} with the same action ({}), so deleting it changes nothing",
                        site.subject(),
                        site.action()
                    ),
                )
                .in_resource(site.resource, site.pointer());
            let mut shown: Vec<&Pointer> = Vec::new();
            for c in &covers {
                if shown.contains(&c.pointer()) {
                    continue; // two pieces of one rule: one label at its location
                }
                shown.push(c.pointer());
                f = f.related(c.related(format!(
                    "already {}s these packets",
                    c.action().to_lowercase()
                )));
            }
            f.note(if site.as_piece {
                "help: this part of the rule is dead code; remove the peer (or port), or narrow the earlier rule if this one was meant to be the general case"
            } else {
                "help: delete the rule, or narrow the earlier one if this rule was meant to be the general case"
            })
            .emit();
        }
    }
}
