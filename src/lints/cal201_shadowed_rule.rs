//! CAL201 shadowed-rule: earlier rules of the same policy decide every packet the rule
//! matches, and at least one of them has a different action (the rule's intent is lost).
//! The same-action case is CAL204 (redundant), a covered `Log` rule CAL127.

use super::LintContext;
use super::Pointer;
use super::semantic::{RuleSite, Scope, analysis, by_scope, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::pieces;
use crate::analysis::{Analysis, RuleId};
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

/// Every rule (or piece of a split Kubernetes rule) that earlier rules of its policy decide
/// completely, with the rules that decide it. A Kubernetes rule split into pieces (spec §1.11)
/// is covered whole only when every piece is; otherwise the site names the covered piece, and
/// pieces of a whole rule that cover one another are left out (a rule never covers itself).
/// Shared by CAL201 (a different action) and CAL204 (the same action).
pub(super) fn covered_rules<'a>(
    project: &'a Project,
    a: &'a Analysis,
) -> Vec<(RuleSite<'a>, Vec<RuleSite<'a>>)> {
    let mut out = Vec::new();
    for (scope, group) in by_scope(project, a, &a.shadowed, |s| s.rule) {
        let Some(first) = group.first() else { continue };
        let Some(site) = rule_site(project, a, first.rule) else {
            continue;
        };
        let site = site.scoped(scope);
        let mut cover_ids: Vec<RuleId> = group
            .iter()
            .flat_map(|s| s.cover.iter().map(|&i| RuleId { rule: i, ..s.rule }))
            .filter(|c| scope != Scope::Whole || !pieces::same_source_rule(&a.set, *c, first.rule))
            .collect();
        cover_ids.sort();
        cover_ids.dedup();
        let covers: Vec<_> = cover_ids
            .iter()
            .filter_map(|&c| rule_site(project, a, c).map(RuleSite::piece))
            .collect();
        if !covers.is_empty() {
            out.push((site, covers));
        }
    }
    out
}

impl Lint for ShadowedRule {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        for (site, covers) in covered_rules(project, a) {
            // Same-action covers are CAL204 (redundant), a covered Log rule CAL127.
            if !is_shadowing(&site, &covers) {
                continue;
            }
            let mut names: Vec<String> = Vec::new();
            for c in &covers {
                let name = format!("{} ({})", site.name_rule(&a.set, c), c.action());
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let different = covers.iter().any(|c| c.action() != site.action());
            let by = if covers.iter().all(|c| c.rule.piece.is_none()) {
                // Plain rules: "earlier rules /spec/ingress/0 (Allow) and /spec/ingress/1 (Deny)".
                let plain: Vec<String> = covers
                    .iter()
                    .map(|c| format!("{} ({})", c.rule.pointer, c.action()))
                    .collect();
                format!(
                    "earlier rule{} {}",
                    if plain.len() == 1 { "" } else { "s" },
                    plain.join(" and ")
                )
            } else {
                names.join(" and ")
            };
            let mut message = format!(
                "{} is shadowed: every packet it matches is already decided by {by}",
                site.subject(),
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
                .in_resource(site.resource, site.pointer());
            let mut shown: Vec<&Pointer> = Vec::new();
            for c in &covers {
                if !shown.iter().any(|&p| p == c.pointer()) {
                    shown.push(c.pointer());
                    f = f.related(c.related(format!("covers it with action {}", c.action())));
                }
            }
            f = f.note(if different {
                "help: the author's intent is overridden; move this rule before the covering rule or narrow the earlier one"
            } else if site.as_piece {
                "help: this part of the rule is dead code; remove the peer (or port) or narrow the earlier rule"
            } else {
                "help: the rule is dead code; delete it or narrow the earlier rule"
            });
            f.emit();
        }
    }
}
