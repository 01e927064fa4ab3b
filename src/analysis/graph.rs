//! The reachability graph: every pair of groups with its verdict and allowed ports, as a
//! petgraph [`DiGraph`] ([`ReachGraph`]: node `i` is the `i`-th group asked about, one edge per
//! allowed or partly allowed pair), so the reports look a pair up instead of scanning a list.
//!
//! Each pair is the question `reach` answers without examples ([`pair_summary`]); pairs that
//! ask the same question ([`PairKey`]) are solved once, and each pair is asked only with the
//! rules that may match its packets ([`PairRules`]). `diff` solves its pairs through
//! [`pair_summaries`] too.

use super::groups::Group;
use super::ir::PolicySet;
use super::pair_key::{PairKey, TierPolicies};
use super::pair_rules::{PairRules, PeerGroup, PeerIndex};
use super::reach::{AllowedProtocol, Verdict, pair_summary};
use super::solver::Universe;
use crate::model::selector::Expr;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

/// The solver's vocabulary for questions about `groups`: the policy set's, plus the labels and
/// values every group's selectors name (shared by `graph`, `paths`, `exposure` and `diff`).
pub fn universe_for<'a>(set: &PolicySet, groups: impl IntoIterator<Item = &'a Group>) -> Universe {
    let extra: Vec<&Expr> = groups.into_iter().flat_map(Group::selectors).collect();
    Universe::with_extra(set, &extra)
}

/// Every ordered pair of distinct groups (indexes) where one end is policed, in (from, to)
/// order: flows between two unpoliced ends (network sets, the world) never cross a Calico
/// endpoint, so no policy can say anything about them.
pub fn policed_pairs(groups: &[Group]) -> Vec<(usize, usize)> {
    let policed = |i: usize| groups.get(i).is_some_and(|g| g.policed);
    (0..groups.len())
        .flat_map(|a| {
            (0..groups.len())
                .filter(move |&b| b != a)
                .map(move |b| (a, b))
        })
        .filter(|&(a, b)| policed(a) || policed(b))
        .collect()
}

/// What one edge of the reachability graph allows (its ends are the graph's nodes).
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub verdict: Verdict,
    pub allowed: Vec<AllowedProtocol>,
}

/// The groups (node `i` is the `i`-th group given to [`graph`]) and an edge for every allowed
/// or partly allowed pair, added in (from, to) order.
pub type ReachGraph = DiGraph<Group, Edge>;

/// The edge from group `from` to group `to` (indexes of the groups given), if any.
pub fn edge_between(graph: &ReachGraph, from: usize, to: usize) -> Option<&Edge> {
    graph
        .find_edge(NodeIndex::new(from), NodeIndex::new(to))
        .and_then(|e| graph.edge_weight(e))
}

/// Every allowed (or partially allowed) pair of distinct groups, in (from, to) order.
pub fn graph(set: &PolicySet, groups: &[Group], timeout_ms: u32) -> (ReachGraph, usize) {
    graph_with(set, groups, timeout_ms, &crate::progress::NoProgress)
}

/// [`graph`], reporting one unit of progress per pair of groups (stage `graph pairs`).
pub fn graph_with(
    set: &PolicySet,
    groups: &[Group],
    timeout_ms: u32,
    progress: &dyn crate::progress::Progress,
) -> (ReachGraph, usize) {
    let universe = universe_for(set, groups);
    let pairs = policed_pairs(groups);
    progress.stage("graph pairs", pairs.len());
    let refs: Vec<&Group> = groups.iter().collect();
    let answers = pair_summaries(set, &universe, &refs, &pairs, timeout_ms, progress);
    let mut undecided = 0;
    let mut graph = ReachGraph::with_capacity(groups.len(), pairs.len());
    let nodes: Vec<NodeIndex> = groups.iter().map(|g| graph.add_node(g.clone())).collect();
    for (&(from, to), (answer, und)) in pairs.iter().zip(answers) {
        undecided += und;
        if let Some((verdict, allowed)) = answer {
            if verdict != Verdict::Denied {
                if let (Some(&from), Some(&to)) = (nodes.get(from), nodes.get(to)) {
                    graph.add_edge(from, to, Edge { verdict, allowed });
                }
            }
        }
    }
    (graph, undecided)
}

/// A pair's verdict and allowed list (`None`: undecided), with its count of undecided queries.
pub type PairAnswer = (Option<(Verdict, Vec<AllowedProtocol>)>, usize);

/// What every pair of a list of groups is asked with, computed once for the list: per group
/// the policies that may select it and its peer-selector matches, and the policy set's index
/// of peer selectors.
pub struct PairInputs<'a> {
    set: &'a PolicySet,
    groups: &'a [&'a Group],
    /// Per group, filled on first use: a diff asks about a few groups of many.
    selectable: Vec<std::sync::OnceLock<Vec<bool>>>,
    index: PeerIndex<'a>,
    peers: Vec<PeerGroup<'a>>,
}

impl<'a> PairInputs<'a> {
    pub fn new(set: &'a PolicySet, groups: &'a [&'a Group]) -> PairInputs<'a> {
        PairInputs {
            set,
            groups,
            selectable: groups.iter().map(|_| std::sync::OnceLock::new()).collect(),
            index: PeerIndex::new(set),
            peers: groups.iter().map(|g| PeerGroup::new(g)).collect(),
        }
    }

    /// The policies that may select group `g`.
    fn selectable(&self, g: usize) -> Option<&[bool]> {
        let group = self.groups.get(g)?;
        let slot = self.selectable.get(g)?;
        Some(slot.get_or_init(|| group.selectable_narrowed(self.set)))
    }

    /// The rules that may match packets from group `a` to group `b` (indexes).
    pub fn rules(&self, (a, b): (usize, usize)) -> PairRules {
        let (Some(pa), Some(pb), Some(fp), Some(tp)) = (
            self.peers.get(a),
            self.peers.get(b),
            self.selectable(a),
            self.selectable(b),
        ) else {
            return PairRules::default();
        };
        PairRules::new(&self.index, (pa, fp), (pb, tp))
    }

    /// The two ends of pair `(a, b)`, each with the policies that may select it.
    pub fn ends(&self, (a, b): (usize, usize)) -> Option<PairEnds<'_>> {
        Some((
            (*self.groups.get(a)?, self.selectable(a)?),
            (*self.groups.get(b)?, self.selectable(b)?),
        ))
    }

    pub fn set(&self) -> &'a PolicySet {
        self.set
    }
}

/// A pair's two groups, each with the policies that may select it.
pub type PairEnds<'g> = ((&'g Group, &'g [bool]), (&'g Group, &'g [bool]));

/// [`pair_summary`] for each of `pairs` (indexes into `groups`), in order, one solver session
/// per worker; one unit of progress per pair. Pairs that ask the same question ([`PairKey`])
/// are solved once, by the first of them in `pairs` order, and its answer (with its count of
/// undecided queries) is given to each of them. Verdicts and port classes are yes/no answers,
/// identical whatever a worker solved before, so thread-local sessions are safe here (no
/// witnesses are shown).
pub fn pair_summaries(
    set: &PolicySet,
    universe: &super::solver::Universe,
    groups: &[&Group],
    pairs: &[(usize, usize)],
    timeout_ms: u32,
    progress: &dyn crate::progress::Progress,
) -> Vec<PairAnswer> {
    pair_summaries_with(
        &PairInputs::new(set, groups),
        universe,
        pairs,
        timeout_ms,
        progress,
    )
}

/// [`pair_summaries`] with the pair inputs already computed.
pub fn pair_summaries_with(
    inputs: &PairInputs<'_>,
    universe: &super::solver::Universe,
    pairs: &[(usize, usize)],
    timeout_ms: u32,
    progress: &dyn crate::progress::Progress,
) -> Vec<PairAnswer> {
    use super::lazy_session::LazySession;
    use rayon::prelude::*;
    let set = inputs.set;
    let tiers = TierPolicies::new(set);
    let pair_rules = |pair: &(usize, usize)| inputs.rules(*pair);
    let ends = |pair: &(usize, usize)| inputs.ends(*pair);
    // Per pair: the pair whose answer it takes (itself when it is solved). Keys are made a
    // chunk at a time and only the first pair of each is kept: a graph of a thousand workloads
    // has close to a million pairs, and their keys (rule lists) do not all fit in memory.
    const CHUNK: usize = 4096;
    let mut first_with: HashMap<PairKey, usize> = HashMap::new();
    let mut answered_by: Vec<usize> = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(CHUNK) {
        let keys: Vec<Option<PairKey>> = chunk
            .par_iter()
            .map(|pair| {
                let (from, to) = ends(pair)?;
                PairKey::of(set, &tiers, from, to, &pair_rules(pair))
            })
            .collect();
        for key in keys {
            let i = answered_by.len();
            answered_by.push(match key {
                Some(k) => *first_with.entry(k).or_insert(i),
                None => i,
            });
        }
    }
    drop(first_with);
    let solved: Vec<usize> = (0..pairs.len())
        .filter(|&i| answered_by.get(i) == Some(&i))
        .collect();
    progress.advance(pairs.len() - solved.len());
    let walks = super::decided_pair::WalkCache::new();
    let answers: HashMap<usize, PairAnswer> = solved
        .par_iter()
        .map_init(
            || LazySession::new(universe, set, timeout_ms),
            |s, &i| {
                progress.advance(1);
                let Some((pair, (from, to))) = pairs.get(i).and_then(|p| Some((p, ends(p)?)))
                else {
                    return (i, (None, 0));
                };
                (i, pair_summary(s, set, from, to, &pair_rules(pair), &walks))
            },
        )
        .collect();
    answered_by
        .iter()
        .map(|j| answers.get(j).cloned().unwrap_or((None, 0)))
        .collect()
}
