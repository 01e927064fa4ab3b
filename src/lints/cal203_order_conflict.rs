//! CAL203 order-conflict: rules of two policies overlap with different actions and only the
//! policies' names decide which one wins.

use super::semantic::{analysis, order_text, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::witness;
use crate::finding::Severity;
use crate::project::Project;

pub struct OrderConflict;

static META: LintMeta = LintMeta {
    code: "CAL203",
    name: "order-conflict",
    default_severity: Severity::Warning,
    summary: "Two policies' rules overlap with different actions and only the policy names order them",
    doc: include_str!("../../rules/CAL203.md"),
};

impl Lint for OrderConflict {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &Project, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        let explain = sink.explain();
        for c in &a.conflicts {
            let (Some(win), Some(lose)) = (
                rule_site(project, a, c.winner),
                rule_site(project, a, c.loser),
            ) else {
                continue;
            };
            let example = witness::describe(&c.witness, c.winner.direction);
            let message = format!(
                "rule conflicts with {}: both match packets such as {example}; today `{}` wins ({}) only because its key `{}` sorts before `{}` ({} for both, tier `{}`)",
                win.describe(),
                win.resource.name(),
                win.action(),
                win.policy.sort_key(),
                lose.policy.sort_key(),
                order_text(win.policy.order),
                win.policy.tier,
            );
            let witness_json = witness::to_json(&c.witness, c.winner.direction);
            let mut f = sink
                .at(lose.location(), message)
                .in_resource(lose.resource, &lose.rule.pointer)
                .related(win.related(format!("wins today with action {}", win.action())))
                .witness(witness_json.clone())
                .note("help: give the policies different `order` values so the precedence is explicit and survives renames");
            if explain {
                f = f.note(format!("witness packet: {witness_json}"));
            }
            f.emit();
        }
    }
}
