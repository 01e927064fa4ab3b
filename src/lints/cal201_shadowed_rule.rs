//! CAL201 shadowed-rule: earlier rules of the same policy decide every packet the rule
//! matches, and at least one of them has a different action (the rule's intent is lost).
//! The same-action case is CAL204 (redundant), a covered `Log` rule CAL127.

use super::semantic::{RuleSite, analysis, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::RuleId;
use crate::finding::Severity;
use crate::model::resource::Action;
use crate::project::Project;

pub struct ShadowedRule;

static META: LintMeta = LintMeta {
    code: "CAL201",
    name: "shadowed-rule",
    default_severity: Severity::Warning,
    summary: "Earlier rules of the same policy, with a different action, decide every packet this rule matches",
    doc: include_str!("../../rules/CAL201.md"),
};

/// Shadowing proper: the covered rule decides (is not `Log`) and some covering rule decides
/// differently.
pub(super) fn is_shadowing(site: &RuleSite<'_>, covers: &[RuleSite<'_>]) -> bool {
    site.rule.action() != Some(Action::Log) && covers.iter().any(|c| c.action() != site.action())
}

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
            if !is_shadowing(&site, &covers) {
                continue;
            }
            let message = format!(
                "rule is shadowed: every packet it matches is already decided by earlier rule{} {}, with a different action, so this rule's `{}` never takes effect",
                if names.len() == 1 { "" } else { "s" },
                names.join(" and "),
                site.action()
            );
            let mut f = sink
                .at(site.location(), message)
                .in_resource(site.resource, &site.rule.pointer);
            for c in &covers {
                f = f.related(c.related(format!("covers it with action {}", c.action())));
            }
            f = f.note(
                "help: the author's intent is overridden; move this rule before the covering rule or narrow the earlier one",
            );
            f.emit();
        }
    }
}
