//! CAL207 redundant-policy: every rule of a policy is dead — shadowed or redundant inside the
//! policy, decided by earlier policies or tiers, or unable to match — so the policy decides
//! nothing itself.

use super::LintContext;
use super::Pointer;
use super::semantic::{analysis, policy_resource};
use super::{Lint, LintMeta, Sink};
use crate::analysis::{PolicyId, RuleId};
use crate::finding::Severity;
use crate::model::resource::Direction;
use std::collections::BTreeMap;

pub struct RedundantPolicy;

static META: LintMeta = LintMeta {
    code: "CAL207",
    name: "redundant-policy",
    default_severity: Severity::Warning,
    summary: "Every rule of the policy is dead, so the policy decides nothing itself",
    doc: include_str!("../../rules/CAL207.md"),
};

/// Why a rule is dead, for the message.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dead {
    CannotMatch,
    InsidePolicy,
    EarlierPolicies,
}

impl Lint for RedundantPolicy {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        let mut dead: BTreeMap<RuleId, Dead> = BTreeMap::new();
        for u in &a.unsat_rules {
            dead.insert(u.rule, Dead::CannotMatch);
        }
        for s in &a.shadowed {
            dead.entry(s.rule).or_insert(Dead::InsidePolicy);
        }
        for s in &a.shadowed_by_policy {
            dead.entry(s.rule).or_insert(Dead::EarlierPolicies);
        }
        // Policies defined more than once (CAL003): which copy is dead is an accident of file
        // order, not a finding about the policy.
        let mut defined: BTreeMap<(String, Option<&str>, &str), usize> = BTreeMap::new();
        for (_, r) in project.policies() {
            *defined
                .entry((r.kind.summary_name().to_string(), r.namespace(), r.name()))
                .or_default() += 1;
        }
        let unsat_selector: std::collections::HashSet<PolicyId> =
            a.unsat_selectors.iter().map(|u| u.policy).collect();
        for (pi, p) in a.set.policies_with_ids() {
            if unsat_selector.contains(&pi) {
                continue; // CAL111
            }
            let mut total = 0usize;
            let mut why: BTreeMap<Dead, usize> = BTreeMap::new();
            let mut alive = false;
            for d in [Direction::Ingress, Direction::Egress] {
                if !p.applies(d) {
                    continue;
                }
                for r in p.rules(d) {
                    total += 1;
                    let id = RuleId {
                        policy: pi,
                        direction: d,
                        rule: r.index,
                    };
                    match dead.get(&id) {
                        Some(w) => *why.entry(*w).or_default() += 1,
                        None => alive = true,
                    }
                }
            }
            // A one-rule policy's rule finding already says everything.
            if alive || total < 2 {
                continue;
            }
            let Some((res, _)) = policy_resource(project, a, pi) else {
                continue;
            };
            let key = (
                res.kind.summary_name().to_string(),
                res.namespace(),
                res.name(),
            );
            if defined.get(&key).is_some_and(|&n| n > 1) {
                continue;
            }
            let parts: Vec<String> = why
                .iter()
                .map(|(w, n)| {
                    let what = match w {
                        Dead::CannotMatch => "can never match",
                        Dead::InsidePolicy => "covered by earlier rules of the policy",
                        Dead::EarlierPolicies => "decided by earlier policies or tiers",
                    };
                    format!("{n} {what}")
                })
                .collect();
            let span = res.meta.name.as_ref().map_or(res.kind_span, |n| n.span);
            sink.at(
                res.location(span),
                format!(
                    "every rule of this policy is dead ({}): the policy allows, denies and passes nothing itself",
                    parts.join(", ")
                ),
            )
            .in_resource(res, &Pointer::of(&["metadata", "name"]))
            .note(format!(
                "its one remaining effect: endpoints it selects count as governed by tier `{}`, so what no policy of the tier decides is denied at the end of the tier; deleting the policy removes that for endpoints no other policy of the tier selects",
                p.tier
            ))
            .note("help: delete the policy, or fix the rules that make it dead (see the CAL110/CAL201/CAL202/CAL204 findings on its rules)")
            .emit();
        }
    }
}
