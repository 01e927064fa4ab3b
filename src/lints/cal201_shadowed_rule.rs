//! CAL201 shadowed-rule: earlier rules of the same policy decide every packet the rule
//! matches.

use super::semantic::{analysis, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::RuleId;
use crate::finding::Severity;
use crate::project::Project;

pub struct ShadowedRule;

static META: LintMeta = LintMeta {
    code: "CAL201",
    name: "shadowed-rule",
    default_severity: Severity::Warning,
    summary: "Earlier rules of the same policy decide every packet this rule matches",
    doc: include_str!("../../rules/CAL201.md"),
};

impl Lint for ShadowedRule {
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
            let names: Vec<String> = covers
                .iter()
                .map(|c| format!("{} ({})", c.rule.pointer, c.action()))
                .collect();
            let different = covers.iter().any(|c| c.action() != site.action());
            let mut message = format!(
                "rule is shadowed: every packet it matches is already decided by earlier rule{} {}",
                if names.len() == 1 { "" } else { "s" },
                names.join(" and ")
            );
            if different {
                message.push_str(&format!(
                    "; the earlier rule{} a different action, so this rule's `{}` never takes effect",
                    if covers.len() == 1 { " has" } else { "s include" },
                    site.action()
                ));
            }
            let mut f = sink
                .at(site.location(), message)
                .in_resource(site.resource, &site.rule.pointer);
            for c in &covers {
                f = f.related(c.related(format!("covers it with action {}", c.action())));
            }
            f = f.note(if different {
                "help: the author's intent is overridden; move this rule before the covering rule or narrow the earlier one"
            } else {
                "help: the rule is dead code; delete it or narrow the earlier rule"
            });
            f.emit();
        }
    }
}
