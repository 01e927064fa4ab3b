//! CAL203 order-conflict: rules of two policies overlap with different actions and only the
//! policies' names decide which one wins.

use super::LintContext;
use super::semantic::{analysis, by_scope, order_text, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::example_names::NamespaceNamer;
use crate::analysis::{Conflict, Decider, RuleId, pieces, witness};
use crate::finding::Severity;

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

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        let explain = sink.explain();
        let namer = NamespaceNamer::new(project, &a.set, &[]);
        // A rule the conflicting policy also decides entirely is reported once, by CAL202,
        // which states both facts (unless CAL202 is off in this run).
        let merged = sink.enabled("CAL202");
        let conflicts: Vec<&Conflict> = a
            .conflicts
            .iter()
            .filter(|c| {
                !merged
                    || !a.shadowed_by_policy.iter().any(|s| {
                        s.rule == c.loser && s.deciders.contains(&Decider::Policy(c.winner.policy))
                    })
            })
            .collect();
        // One finding per winning source rule and losing rule. A Kubernetes rule split into
        // pieces (spec §1.11) is reported whole only when every piece conflicts with that
        // winner; otherwise each conflicting piece is named.
        let mut by_winner: Vec<(RuleId, Vec<&Conflict>)> = Vec::new();
        for c in conflicts {
            let start = RuleId {
                rule: pieces::siblings(&a.set, c.winner).start,
                ..c.winner
            };
            match by_winner.iter_mut().find(|(w, _)| *w == start) {
                Some((_, v)) => v.push(c),
                None => by_winner.push((start, vec![c])),
            }
        }
        let grouped = by_winner
            .iter()
            .flat_map(|(_, cs)| by_scope(project, a, cs, |c| c.loser));
        for (scope, group) in grouped {
            let Some(c) = group.first() else { continue };
            let (Some(win), Some(mut lose)) = (
                rule_site(project, a, c.winner),
                rule_site(project, a, c.loser),
            ) else {
                continue;
            };
            let win = win.piece();
            lose = lose.scoped(scope);
            let mut packet = c.witness.clone();
            namer.apply(&mut packet);
            let example = witness::describe(&packet, c.winner.direction);
            let message = format!(
                "{} conflicts with {}: both match packets such as {example}; today `{}` wins ({}) only because its key `{}` sorts before `{}` ({} for both, tier `{}`)",
                lose.subject(),
                win.describe(),
                win.resource.name(),
                win.action(),
                win.policy.sort_key(),
                lose.policy.sort_key(),
                order_text(win.policy.order),
                win.policy.tier,
            );
            let witness_json = witness::to_json(&packet, c.winner.direction);
            let mut f = sink
                .at(lose.location(), message)
                .in_resource(lose.resource, lose.pointer())
                .related(win.related(format!("wins today with action {}", win.action())));
            let mut others: Vec<String> = Vec::new();
            for other in group.iter().skip(1) {
                if let Some(w) = rule_site(project, a, other.winner) {
                    let w = w.piece();
                    let d = w.describe();
                    if d != win.describe() && !others.contains(&d) {
                        f = f.related(
                            w.related(format!("also wins today with action {}", w.action())),
                        );
                        others.push(d);
                    }
                }
            }
            f = f
                .witness(witness_json.clone())
                .note("help: give the policies different `order` values so the precedence is explicit and survives renames");
            if explain {
                f = f.note(format!("witness packet: {witness_json}"));
            }
            f.emit();
        }
    }
}
