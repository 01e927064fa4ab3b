//! CAL127 log-after-deciding-rules: a `Log` rule placed after rules that decide every packet it
//! matches never logs anything (spec W-09, generalised by the solver).

use super::LintContext;
use super::semantic::{analysis, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::RuleId;
use crate::finding::Severity;
use crate::model::resource::Action;

pub struct LogAfterDecidingRules;

static META: LintMeta = LintMeta {
    code: "CAL127",
    name: "log-after-deciding-rules",
    default_severity: Severity::Warning,
    summary: "A Log rule comes after rules that decide every packet it matches, so it never logs",
    doc: include_str!("../../rules/CAL127.md"),
};

impl Lint for LogAfterDecidingRules {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for s in &a.shadowed {
            let Some(site) = rule_site(project, a, s.rule) else {
                continue;
            };
            if site.rule.action() != Some(Action::Log) {
                continue;
            }
            let covers: Vec<_> = s
                .cover
                .iter()
                .filter_map(|&i| rule_site(project, a, RuleId { rule: i, ..s.rule }))
                .collect();
            let names: Vec<String> = covers
                .iter()
                .map(|c| format!("{} ({})", c.rule.pointer, c.action()))
                .collect();
            let mut f = sink
                .at(
                    site.location(),
                    format!(
                        "this Log rule never logs: every packet it matches is already decided by earlier rule{} {}, and evaluation stops at the first Allow, Deny or Pass",
                        if names.len() == 1 { "" } else { "s" },
                        names.join(" and ")
                    ),
                )
                .in_resource(site.resource, &site.rule.pointer);
            for c in &covers {
                f = f.related(c.related(format!("decides first with action {}", c.action())));
            }
            f.note("help: move the Log rule before the rules whose traffic it should record")
                .emit();
        }
    }
}
