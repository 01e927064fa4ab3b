//! The analysis per policy list (spec §4.8): each of Felix's lists in use is analysed as its
//! own chain ([`super::classes`]) and the verdicts are mapped back to the full set.
//!
//! What a rule's verdict means across lists:
//! - CAL110/CAL111/CAL201 depend only on the policy and the rule, not on the list: one copy.
//! - CAL202 ("never reached") must hold in every list the policy is in: an applyOnForward
//!   policy is in the normal and the forward list, and is reported only when both say so,
//!   with the deciders of both.
//! - CAL203 (an order decided by names) holds when it holds in some list.

use super::budget::Deadline;
use super::chain::analyze_chain;
use super::classes::{Chain, View};
use super::ir::{PolicyId, PolicySet};
use super::options::AnalysisOptions;
use super::results::{
    Analysis, BudgetExceeded, Decider, RuleId, ShadowedByPolicy, in_undefined_tier,
    never_reached_is_known,
};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn analyze_views(
    set: PolicySet,
    opts: &AnalysisOptions,
    deadline: Deadline,
    progress: &dyn crate::progress::Progress,
) -> Analysis {
    let chains = set.chains_in_use();
    let mut analysis = if chains == [Chain::Normal] {
        // The common case: one list holding every policy; nothing to map.
        analyze_chain(set, opts, deadline, progress)
    } else {
        let views: Vec<(View, Analysis)> = chains
            .into_iter()
            .map(|c| {
                let view = set.chain_view(c);
                let a = analyze_chain(view.set.clone(), opts, deadline, progress);
                (view, a)
            })
            .collect();
        merge(set, views)
    };
    drop_undefined_tier_ordering(&mut analysis);
    analysis
}

/// Policies in a tier the tree does not define are either rejected by Calico (CAL004) or in
/// a tier defined elsewhere whose order calint does not know (issue 13 item 11): findings
/// about their order (CAL202, CAL203) would be guesses, so they are left out. Declaring the
/// tier in the configuration (`tiers:`) makes it defined.
fn drop_undefined_tier_ordering(a: &mut Analysis) {
    let set = &a.set;
    let keep: Vec<bool> = a
        .shadowed_by_policy
        .iter()
        .map(|s| never_reached_is_known(set, s))
        .collect();
    let mut keep = keep.into_iter();
    a.shadowed_by_policy.retain(|_| keep.next().unwrap_or(true));
    let keep: Vec<bool> = a
        .conflicts
        .iter()
        .map(|c| {
            !in_undefined_tier(set, c.winner.policy) && !in_undefined_tier(set, c.loser.policy)
        })
        .collect();
    let mut keep = keep.into_iter();
    a.conflicts.retain(|_| keep.next().unwrap_or(true));
}

/// The id in the full set of policy `id` of a view whose policies came from `origin`.
fn map_policy(origin: &[PolicyId], id: PolicyId) -> PolicyId {
    origin.get(id.0).copied().unwrap_or(id)
}

fn map_rule(origin: &[PolicyId], id: RuleId) -> RuleId {
    RuleId {
        policy: map_policy(origin, id.policy),
        ..id
    }
}

fn merge(set: PolicySet, views: Vec<(View, Analysis)>) -> Analysis {
    let mut out = Analysis::default();
    // How many lists each policy is in.
    let mut lists: BTreeMap<PolicyId, usize> = BTreeMap::new();
    for (v, _) in &views {
        for &o in &v.origin {
            *lists.entry(o).or_default() += 1;
        }
    }
    let mut never_reached: BTreeMap<RuleId, (usize, BTreeSet<Decider>)> = BTreeMap::new();
    let mut seen_selectors = BTreeSet::new();
    let mut seen_rules = BTreeSet::new();
    let mut seen_shadowed = BTreeSet::new();
    let mut seen_conflicts = BTreeSet::new();
    let mut seen_pairs = BTreeSet::new();
    let mut budget: Option<BudgetExceeded> = None;
    for (v, a) in views {
        let origin = &v.origin;
        for mut u in a.unsat_selectors {
            u.policy = map_policy(origin, u.policy);
            if seen_selectors.insert(u.policy) {
                out.unsat_selectors.push(u);
            }
        }
        for mut u in a.unsat_rules {
            u.rule = map_rule(origin, u.rule);
            if seen_rules.insert(u.rule) {
                out.unsat_rules.push(u);
            }
        }
        for mut sh in a.shadowed {
            sh.rule = map_rule(origin, sh.rule);
            if seen_shadowed.insert(sh.rule) {
                out.shadowed.push(sh);
            }
        }
        for sp in a.shadowed_by_policy {
            let entry = never_reached
                .entry(map_rule(origin, sp.rule))
                .or_insert_with(|| (0, BTreeSet::new()));
            entry.0 += 1;
            entry.1.extend(sp.deciders.into_iter().map(|d| match d {
                Decider::Policy(q) => Decider::Policy(map_policy(origin, q)),
                other => other,
            }));
        }
        for mut c in a.conflicts {
            c.winner = map_rule(origin, c.winner);
            c.loser = map_rule(origin, c.loser);
            if seen_conflicts.insert((c.winner, c.loser)) {
                out.conflicts.push(c);
            }
        }
        // Rule pairs compare rules of one policy: the same in every list the policy is in.
        for mut p in a.rule_pairs {
            p.earlier = map_rule(origin, p.earlier);
            p.later = map_rule(origin, p.later);
            if seen_pairs.insert((p.kind, p.earlier, p.later)) {
                out.rule_pairs.push(p);
            }
        }
        out.solver_calls += a.solver_calls;
        out.undecided += a.undecided;
        if let Some(mut b) = a.budget_exceeded {
            b.first_policy = map_policy(origin, b.first_policy);
            budget = Some(match budget {
                None => b,
                Some(prev) => BudgetExceeded {
                    budget_ms: prev.budget_ms,
                    first_policy: prev.first_policy.min(b.first_policy),
                    policies: (prev.policies + b.policies).min(set.policies.len()),
                    skipped_queries: prev.skipped_queries + b.skipped_queries,
                },
            });
        }
    }
    for (rule, (count, deciders)) in never_reached {
        // Never reached in every list the policy is in.
        if lists.get(&rule.policy).copied().unwrap_or(0) == count {
            out.shadowed_by_policy.push(ShadowedByPolicy {
                rule,
                deciders: deciders.into_iter().collect(),
            });
        }
    }
    out.unsat_selectors.sort_by_key(|u| u.policy);
    out.unsat_rules.sort_by_key(|u| u.rule);
    out.shadowed.sort_by_key(|s| s.rule);
    out.conflicts.sort_by_key(|c| (c.winner, c.loser));
    out.budget_exceeded = budget;
    out.set = set;
    out
}
