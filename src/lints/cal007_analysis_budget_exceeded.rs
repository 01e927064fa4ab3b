//! CAL007 analysis-budget-exceeded: the semantic analysis ran out of its work budget, so some
//! policies were not (fully) analyzed. Reported once, at the first such policy.

use super::LintContext;
use super::Pointer;
use super::semantic::{analysis, policy_resource};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct AnalysisBudgetExceeded;

static META: LintMeta = LintMeta {
    code: "CAL007",
    name: "analysis-budget-exceeded",
    default_severity: Severity::Warning,
    summary: "The semantic analysis ran out of time; some policies were not fully analyzed",
    doc: include_str!("../../rules/CAL007.md"),
};

impl Lint for AnalysisBudgetExceeded {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        let Some(e) = &a.budget_exceeded else { return };
        let Some((res, _)) = policy_resource(project, a, e.first_policy) else {
            return;
        };
        let (span, pointer) = res
            .meta
            .name
            .as_ref()
            .map_or((res.kind_span, Pointer::root()), |n| {
                (n.span, Pointer::of(&["metadata", "name"]))
            });
        let others = e.policies.saturating_sub(1);
        let message = format!(
            "the semantic analysis used up its {} ms budget: this policy{} not fully \
             analyzed; {} solver queries were skipped and counted as undecided",
            e.budget_ms,
            match others {
                0 => " was".to_string(),
                1 => " and 1 other were".to_string(),
                n => format!(" and {n} others were"),
            },
            e.skipped_queries
        );
        sink.at(res.location(span), message)
            .in_resource(res, &pointer)
            .note(
                "shadowing, conflict and unsatisfiability findings may be missing for the \
                 policies not analyzed; raise the budget (`AnalysisOptions::budget_ms`) or \
                 the per-query timeout only if the tree is legitimately this large",
            )
            .emit();
    }
}
