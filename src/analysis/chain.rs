//! The analysis of one chain (a policy set whose policies all share one of Felix's lists):
//! per policy on parallel workers ([`super::policy_queries`], one session per chunk of
//! policies), the work budget charged in policy order, the pairwise anomaly pass, and the
//! conflict witnesses, each in a fresh Z3 context so nothing depends on the thread count.

use super::anomaly;
use super::budget::{Deadline, WorkBudget};
use super::context::Context;
use super::ir::{PolicyId, PolicySet, RuleId};
use super::lazy_session::LazySession;
use super::options::AnalysisOptions;
use super::policy_queries::{PolicyResults, analyze_policy, conflict_witness, skipped};
use super::results::{Analysis, BudgetExceeded, Conflict, never_reached_is_known};
use super::solver::{self, Universe};
use rayon::prelude::*;

/// Policies analyzed by one solver session before it is replaced by a fresh one. A fresh Z3
/// context and session cost a few milliseconds (the domain facts of the whole vocabulary are
/// asserted in each); a session reused for thousands of queries slows down. Measured on the
/// dense trees (BENCHMARKS.md, session 6): 128 beats 32 at 213, 1,040 and 10,400 policies
/// (`check` 10,400: 10.0 s -> 8.2 s), with the same output.
const SESSION_CHUNK: usize = 128;

/// The analysis of one chain (a policy set whose policies all share one list).
pub(super) fn analyze_chain(
    set: PolicySet,
    opts: &AnalysisOptions,
    deadline: Deadline,
    progress: &dyn crate::progress::Progress,
) -> Analysis {
    let universe = Universe::new(&set);
    let cx = Context::new(&set);
    let timeout = opts.solver_timeout_ms;
    let total_work = opts
        .budget_ms
        .map(|ms| ms.saturating_mul(solver::RLIMIT_PER_MS));
    let budget = WorkBudget::new(total_work, set.policies.len());
    // A Z3 solver reused for thousands of queries slows down as its internal state grows
    // (measured: 10x the policies took 100x the time), so each chunk of policies gets a
    // fresh session; creating one costs a few milliseconds. Each chunk also gets a fresh Z3
    // context, so its answers, cores and resource use do not depend on the thread count.
    let indexes: Vec<PolicyId> = (0..set.policies.len()).map(PolicyId).collect();
    let mut results: Vec<PolicyResults> = indexes
        .par_chunks(SESSION_CHUNK)
        .flat_map_iter(|chunk| {
            solver::in_fresh_context(|| {
                let mut s = LazySession::new(&universe, &set, timeout);
                chunk
                    .iter()
                    .map(|&pi| {
                        let r = analyze_policy(&mut s, &cx, pi, deadline, &budget);
                        progress.advance(1);
                        r
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Charge the work in policy order: once the policies before one spent the budget, it
    // counts as skipped, whether or not a worker happened to analyze it.
    if let Some(total) = total_work {
        let mut sum = 0u64;
        for (pi, r) in results.iter_mut().enumerate() {
            if sum >= total {
                if let Some(p) = set.policies.get(pi) {
                    *r = skipped(p);
                }
            }
            sum = sum.saturating_add(r.work);
        }
    }

    let mut analysis = Analysis::default();
    let mut conflict_pairs = Vec::new();
    // Policies not fully analyzed (budget), with the number of queries skipped for each.
    let mut incomplete: std::collections::BTreeMap<PolicyId, usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.incomplete())
        .map(|(pi, r)| (PolicyId(pi), r.skipped))
        .collect();
    // Policies with an undecided query: which of their rules are dead is not known, so the
    // pairwise pass (which compares only live rules) leaves them alone.
    let uncertain: std::collections::HashSet<PolicyId> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.undecided > 0)
        .map(|(pi, _)| PolicyId(pi))
        .collect();
    for r in results {
        analysis.unsat_selectors.extend(r.unsat_selector);
        analysis.unsat_rules.extend(r.unsat_rules);
        analysis.shadowed.extend(r.shadowed);
        analysis.shadowed_by_policy.extend(r.shadowed_by_policy);
        conflict_pairs.extend(r.conflicts);
        analysis.solver_calls += r.calls;
        analysis.undecided += r.undecided;
    }
    let pairs = anomaly_pass(&set, &universe, &analysis, &uncertain, timeout, deadline);
    analysis.rule_pairs = pairs.pairs;
    analysis.solver_calls += pairs.calls;
    analysis.undecided += pairs.undecided;
    // Witnesses come from a fresh Z3 context per conflict, so they do not depend on which
    // queries a worker answered before.
    // Past the deadline witnesses are not derived, and a conflict without a witness is not
    // reported.
    let witnessed: Vec<Result<Conflict, RuleId>> = conflict_pairs
        .par_iter()
        .filter_map(|&(winner, loser)| {
            if deadline.passed() {
                return Some(Err(winner));
            }
            let witness = conflict_witness(&cx, &universe, winner, loser, timeout)?;
            Some(Ok(Conflict {
                winner,
                loser,
                witness,
            }))
        })
        .collect();
    for w in witnessed {
        match w {
            Ok(c) => analysis.conflicts.push(c),
            Err(winner) => {
                analysis.undecided += 1;
                *incomplete.entry(winner.policy).or_default() += 1;
            }
        }
    }
    analysis.budget_exceeded =
        incomplete
            .first_key_value()
            .map(|(&first_policy, _)| BudgetExceeded {
                budget_ms: opts.budget_ms.unwrap_or_default(),
                first_policy,
                policies: incomplete.len(),
                skipped_queries: incomplete.values().sum(),
            });
    analysis.set = set;
    analysis
}

/// The pairwise anomaly pass over the rules the main pass did not find dead.
fn anomaly_pass(
    set: &PolicySet,
    universe: &Universe,
    found: &Analysis,
    uncertain: &std::collections::HashSet<PolicyId>,
    timeout: u32,
    deadline: Deadline,
) -> anomaly::PairResults {
    let dead: std::collections::HashSet<RuleId> = found
        .unsat_rules
        .iter()
        .map(|u| u.rule)
        .chain(found.shadowed.iter().map(|s| s.rule))
        .chain(
            found
                .shadowed_by_policy
                .iter()
                .filter(|s| never_reached_is_known(set, s))
                .map(|s| s.rule),
        )
        .collect();
    anomaly::rule_pairs(
        set,
        universe,
        &dead,
        uncertain,
        timeout,
        SESSION_CHUNK,
        deadline,
    )
}
