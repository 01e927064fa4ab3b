//! CAL204 redundant-rule: earlier rules of the same policy, all with the same action, decide
//! every packet the rule matches: dead but harmless.

use super::cal201_shadowed_rule::is_shadowing;
use super::semantic::{analysis, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::RuleId;
use crate::finding::Severity;
use crate::model::resource::Action;
use crate::project::Project;

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

    fn check(&self, project: &Project, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for s in &a.shadowed {
            let Some(site) = rule_site(project, a, s.rule) else {
                continue;
            };
            let covers: Vec<_> = s
                .cover
                .iter()
                .filter_map(|&i| rule_site(project, a, RuleId { rule: i, ..s.rule }))
                .collect();
            if covers.is_empty()
                || site.rule.action() == Some(Action::Log)
                || is_shadowing(&site, &covers)
            {
                continue;
            }
            let names: Vec<String> = covers.iter().map(|c| c.rule.pointer.clone()).collect();
            let mut f = sink
                .at(
                    site.location(),
                    format!(
                        "rule is redundant: every packet it matches is already decided by earlier rule{} {} with the same action ({}), so deleting it changes nothing",
                        if names.len() == 1 { "" } else { "s" },
                        names.join(" and "),
                        site.action()
                    ),
                )
                .in_resource(site.resource, &site.rule.pointer);
            for c in &covers {
                f = f.related(c.related(format!(
                    "already {}s these packets",
                    c.action().to_lowercase()
                )));
            }
            f.note("help: delete the rule, or narrow the earlier one if this rule was meant to be the general case")
                .emit();
        }
    }
}
