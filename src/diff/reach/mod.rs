//! Reachability changes between two sides: for every ordered pair of groups of either side,
//! did the change open, close or change the allowed connections?
//!
//! Cost control: a pair's verdict depends only on the two groups' definitions and on the
//! policies that may select either group (the same sound prefilter `graph` uses), in
//! evaluation order. Each group gets a fingerprint per side built from exactly that; a pair
//! whose two fingerprints are equal on both sides cannot have changed and is not solved. Of the
//! others, a pair whose labels decide every selector is screened by walking only the packets
//! the changed rules match (`decided_pair::ChangeScreen`), any other pair by its per-pair
//! fingerprint. The pairs left get a verdict and port summary per side (one solver session per worker, as
//! `graph`), and only pairs whose summaries differ get full `reach` answers, a witness packet
//! whose verdict differs (checked with the concrete evaluator on both sides), and the
//! deciding rules of that packet on both sides.
//!
//! Here: the unified group list, the solving and [`compare`]; the fingerprints in
//! [`fingerprint`], the witness and deciding rules of a changed pair in `explain`.

mod explain;
pub(super) mod fingerprint;

use super::Side;
use crate::analysis::concrete::Packet;
use crate::analysis::decided_pair::{ChangeScreen, ScreenSide};
use crate::analysis::graph::{PairInputs, pair_summaries_with};
use crate::analysis::groups::{Group, discover, resolve_named_in};
use crate::analysis::reach::{AllowedProtocol, Decision, Verdict};
use crate::progress::NoProgress;
use explain::explain;
use fingerprint::{PairRelevance, fingerprints};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Denied before; allowed or partly allowed after.
    Opened,
    /// Allowed or partly allowed before; denied after.
    Closed,
    /// Allowed on both sides, but not the same protocols, ports or packets.
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Opened => "opened",
            Change::Closed => "closed",
            Change::Changed => "changed",
        }
    }
}

/// A pair's verdict and allowed protocols/ports on one side.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub verdict: Verdict,
    pub allowed: Vec<AllowedProtocol>,
}

/// One pair whose reachability changed.
#[derive(Clone, Debug)]
pub struct PairChange {
    pub from: String,
    pub to: String,
    pub change: Change,
    pub before: Summary,
    pub after: Summary,
    /// A packet allowed on one side and denied on the other (checked by the concrete
    /// evaluator), when one was found.
    pub example: Option<Packet>,
    /// Rules deciding the example (or, without one, each side's own examples): base, head.
    pub decided_before: Vec<Decision>,
    pub decided_after: Vec<Decision>,
}

/// The reachability part of a diff.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub changes: Vec<PairChange>,
    /// Ordered pairs considered, and how many had to be solved (relevant policies or group
    /// definitions differ).
    pub pairs: usize,
    pub pairs_solved: usize,
    pub groups: usize,
    /// Solver queries that timed out (some changes may be missing).
    pub undecided: usize,
}

/// The groups to compare, by name: each side's definition (the other side's when the group
/// exists on one side only, so a new workload is judged by both policy sets).
fn unify(
    base: &Side,
    head: &Side,
    defs: &[crate::config::GroupDef],
) -> Result<Vec<(Group, Group)>, String> {
    let side_groups = |s: &Side| -> Vec<Result<Group, String>> {
        if defs.is_empty() {
            discover(&s.project).into_iter().map(Ok).collect()
        } else {
            let discovered = discover(&s.project);
            defs.iter()
                .map(|d| resolve_named_in(&s.project, &discovered, defs, &d.name.value))
                .collect()
        }
    };
    let (b, h) = (side_groups(base), side_groups(head));
    let mut order: Vec<String> = Vec::new();
    let mut by_name: BTreeMap<String, (Option<Group>, Option<Group>)> = BTreeMap::new();
    let mut errors = Vec::new();
    for (which, list) in [(0, b), (1, h)] {
        for g in list {
            match g {
                Ok(g) => {
                    let slot = by_name.entry(g.name.clone()).or_insert_with(|| {
                        order.push(g.name.clone());
                        (None, None)
                    });
                    if which == 0 {
                        slot.0 = Some(g);
                    } else {
                        slot.1 = Some(g);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    // A configured group that resolves on neither side is an error; on one side only, the
    // other side's definition is used.
    if !defs.is_empty() {
        for d in defs {
            if !by_name.contains_key(&d.name.value) {
                return Err(errors
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| format!("group `{}` cannot be resolved", d.name.value)));
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|n| match by_name.remove(&n)? {
            (Some(b), Some(h)) => Some((b, h)),
            (Some(b), None) => Some((b.clone(), b)),
            (None, Some(h)) => Some((h.clone(), h)),
            (None, None) => None,
        })
        .collect())
}

/// Verdict and allowed list of each pair on one side (`graph::pair_summaries`: one solver
/// session per worker, pairs asking the same question solved once).
fn summaries(
    inputs: &PairInputs<'_>,
    groups: &[&Group],
    pairs: &[(usize, usize)],
    timeout_ms: u32,
) -> (Vec<Option<Summary>>, usize) {
    let universe = crate::analysis::graph::universe_for(inputs.set(), groups.iter().copied());
    let results = pair_summaries_with(inputs, &universe, pairs, timeout_ms, &NoProgress);
    let undecided = results.iter().map(|(_, u)| u).sum();
    let summaries = results
        .into_iter()
        .map(|(s, _)| s.map(|(verdict, allowed)| Summary { verdict, allowed }))
        .collect();
    (summaries, undecided)
}

/// Compare reachability between every ordered pair of groups of either side.
pub fn compare(
    base: &Side,
    head: &Side,
    defs: &[crate::config::GroupDef],
    timeout_ms: u32,
) -> Result<Comparison, String> {
    use rayon::prelude::*;
    let groups = unify(base, head, defs)?;
    let gb: Vec<&Group> = groups.iter().map(|(b, _)| b).collect();
    let gh: Vec<&Group> = groups.iter().map(|(_, h)| h).collect();
    let (sel_b, fp_b) = fingerprints(&base.set, &gb);
    let (sel_h, fp_h) = fingerprints(&head.set, &gh);
    let policed =
        |i: usize| gb.get(i).is_some_and(|g| g.policed) || gh.get(i).is_some_and(|g| g.policed);
    // A flow a -> b is decided by a's egress and b's ingress.
    let same_out = |i: usize| fp_b.get(i).map(|f| f.0) == fp_h.get(i).map(|f| f.0);
    let same_in = |i: usize| fp_b.get(i).map(|f| f.1) == fp_h.get(i).map(|f| f.1);
    let n = groups.len();
    let mut pairs = 0;
    let mut todo = Vec::new();
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            // Flows between two unpoliced ends never cross a Calico endpoint.
            if !(policed(a) || policed(b)) {
                continue;
            }
            pairs += 1;
            if !(same_out(a) && same_in(b)) {
                todo.push((a, b));
            }
        }
    }
    // Finer, for pairs whose labels decide every selector: walk only the packets the
    // changed rules match, on both sides; a pair decided alike there is decided alike
    // everywhere, and is not solved.
    let screen = ChangeScreen::new(
        ScreenSide {
            set: &base.set,
            groups: &gb,
            selectable: &sel_b,
        },
        ScreenSide {
            set: &head.set,
            groups: &gh,
            selectable: &sel_h,
        },
    );
    let mut todo: Vec<(usize, usize)> = todo
        .into_par_iter()
        .filter(|&(a, b)| !screen.unchanged(a, b))
        .collect();
    // Then, for the other pairs: only the rules that may match packets of this pair can change its
    // verdict (a rule no packet from `a` to `b` matches is skipped by Felix), so a pair whose
    // relevant rules are the same on both sides is not solved either.
    if !todo.is_empty() {
        let relevant_b = PairRelevance::new(&base.set, &gb, &sel_b);
        let relevant_h = PairRelevance::new(&head.set, &gh, &sel_h);
        todo.retain(|&(a, b)| relevant_b.meaning(a, b) != relevant_h.meaning(a, b));
    }
    if todo.is_empty() {
        // Nothing to solve: not even the pair inputs or the solver's universe are built.
        return Ok(Comparison {
            changes: Vec::new(),
            pairs,
            pairs_solved: 0,
            groups: n,
            undecided: 0,
        });
    }
    let (inputs_b, inputs_h) = (
        PairInputs::new(&base.set, &gb),
        PairInputs::new(&head.set, &gh),
    );
    let (before, und_b) = summaries(&inputs_b, &gb, &todo, timeout_ms);
    let (after, und_h) = summaries(&inputs_h, &gh, &todo, timeout_ms);
    let changed: Vec<(usize, usize, Summary, Summary)> = todo
        .iter()
        .zip(before.into_iter().zip(after))
        .filter_map(|(&(a, b), (sb, sh))| {
            let (sb, sh) = (sb?, sh?);
            (sb != sh).then_some((a, b, sb, sh))
        })
        .collect();
    let explained: Vec<(PairChange, usize)> = changed
        .par_iter()
        .filter_map(|(a, b, sb, sh)| {
            let (hf, ht) = (gh.get(*a)?, gh.get(*b)?);
            let change = match (sb.allowed.is_empty(), sh.allowed.is_empty()) {
                (true, false) => Change::Opened,
                (false, true) => Change::Closed,
                _ => Change::Changed,
            };
            let (example, decided_before, decided_after, und) = explain(
                (base, head),
                (&inputs_b, &inputs_h),
                (*a, *b),
                sb,
                sh,
                timeout_ms,
            );
            Some((
                PairChange {
                    from: hf.name.clone(),
                    to: ht.name.clone(),
                    change,
                    before: sb.clone(),
                    after: sh.clone(),
                    example,
                    decided_before,
                    decided_after,
                },
                und,
            ))
        })
        .collect();
    let undecided = und_b + und_h + explained.iter().map(|(_, u)| u).sum::<usize>();
    let mut changes: Vec<PairChange> = explained.into_iter().map(|(c, _)| c).collect();
    changes.sort_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
    Ok(Comparison {
        changes,
        pairs,
        pairs_solved: todo.len(),
        groups: n,
        undecided,
    })
}
