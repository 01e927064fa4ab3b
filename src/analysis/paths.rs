//! Multi-hop paths in the reachability graph: the lateral-movement model.
//!
//! A hop `A → B` exists when some packet from A to B is allowed: a workload an attacker has
//! compromised can open any connection its egress allows, and whatever accepts that
//! connection can be compromised next. Chains of such hops are the ways an attacker moves
//! from where they start (the world, a compromised pod) to what they want (the database).
//!
//! Only policed groups (workloads, selector groups) are intermediate hops: network sets and
//! the world are outside the cluster, a start or an end but never a stepping stone here.

use super::exposure::Flow;
use super::groups::Group;
use super::ir::PolicySet;
use super::solver::{Answer, FlowQuestion, Session, with_fresh_session};
use petgraph::Direction as Towards;
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;
use std::collections::VecDeque;

/// Most DFS steps spent enumerating paths (a bound for dense graphs; paths are enumerated
/// shortest first, so the bound only cuts the long tail).
const MAX_SEARCH_STEPS: usize = 2_000_000;

/// The hop graph over `groups`: node weights are indices into `groups`.
pub struct HopGraph {
    pub graph: DiGraph<usize, ()>,
    /// Solver queries that timed out (those pairs have no edge).
    pub undecided: usize,
}

/// Every hop between distinct groups where one end is policed. One yes/no question per
/// pair: answers do not depend on what a worker solved before, so sessions are per thread.
pub fn hop_graph(set: &PolicySet, groups: &[Group], timeout_ms: u32) -> HopGraph {
    let universe = super::graph::universe_for(set, groups);
    let pairs = super::graph::policed_pairs(groups);
    let selectable: Vec<Vec<bool>> = groups.iter().map(|g| g.selectable(set)).collect();
    let answers: Vec<(bool, bool)> = pairs
        .par_iter()
        .map_init(
            || Session::new(&universe, set, timeout_ms),
            |s, &(a, b)| {
                let (Some(from), Some(to), Some(fp), Some(tp)) = (
                    groups.get(a),
                    groups.get(b),
                    selectable.get(a),
                    selectable.get(b),
                ) else {
                    return (false, false);
                };
                let q = FlowQuestion::allowed_between((from, fp), (to, tp), None);
                match s.flow(&q) {
                    Answer::Known(x) => (x.is_some(), false),
                    Answer::Undecided => (false, true),
                }
            },
        )
        .collect();
    let mut graph = DiGraph::with_capacity(groups.len(), 0);
    let nodes: Vec<NodeIndex> = (0..groups.len()).map(|i| graph.add_node(i)).collect();
    let mut undecided = 0;
    for (&(a, b), &(edge, und)) in pairs.iter().zip(&answers) {
        undecided += usize::from(und);
        if let (true, Some(&na), Some(&nb)) = (edge, nodes.get(a), nodes.get(b)) {
            graph.add_edge(na, nb, ());
        }
    }
    HopGraph { graph, undecided }
}

/// Simple paths from `from` to `to` (indices into `groups`) of at most `max_hops` hops,
/// shortest first (then in group order), at most `limit` of them. Intermediate groups are
/// policed ones.
pub fn find_paths(
    hg: &HopGraph,
    groups: &[Group],
    from: usize,
    to: usize,
    max_hops: usize,
    limit: usize,
) -> Vec<Vec<usize>> {
    let g = &hg.graph;
    let n = g.node_count();
    if from >= n || to >= n || from == to || limit == 0 {
        return Vec::new();
    }
    let via = |i: usize| i != from && i != to && groups.get(i).is_some_and(|g| g.policed);
    // Hops still needed from each node to `to`, through allowed intermediates only.
    let mut dist = vec![usize::MAX; n];
    dist[to] = 0;
    let mut queue = VecDeque::from([to]);
    while let Some(v) = queue.pop_front() {
        for u in g.neighbors_directed(NodeIndex::new(v), Towards::Incoming) {
            let u = u.index();
            if dist[u] == usize::MAX && (u == from || via(u)) {
                dist[u] = dist[v] + 1;
                if u != from {
                    queue.push_back(u);
                }
            }
        }
    }
    // Successors in group order, for a deterministic enumeration.
    let succ: Vec<Vec<usize>> = (0..n)
        .map(|v| {
            let mut s: Vec<usize> = g
                .neighbors_directed(NodeIndex::new(v), Towards::Outgoing)
                .map(|x| x.index())
                .filter(|&x| x == to || via(x))
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    let mut out = Vec::new();
    let mut steps = 0usize;
    let shortest = dist[from];
    if shortest == usize::MAX {
        return out;
    }
    let mut on_path = vec![false; n];
    for length in shortest..=max_hops.min(n.saturating_sub(1)) {
        let mut path = vec![from];
        on_path[from] = true;
        exact_length(
            &succ,
            &dist,
            to,
            length,
            &mut path,
            &mut on_path,
            &mut out,
            limit,
            &mut steps,
        );
        on_path[from] = false;
        if out.len() >= limit || steps >= MAX_SEARCH_STEPS {
            break;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn exact_length(
    succ: &[Vec<usize>],
    dist: &[usize],
    to: usize,
    length: usize,
    path: &mut Vec<usize>,
    on_path: &mut [bool],
    out: &mut Vec<Vec<usize>>,
    limit: usize,
    steps: &mut usize,
) {
    let Some(&v) = path.last() else { return };
    let used = path.len() - 1;
    if v == to {
        if used == length {
            out.push(path.clone());
        }
        return;
    }
    let Some(next) = succ.get(v) else { return };
    for &w in next {
        if out.len() >= limit || *steps >= MAX_SEARCH_STEPS {
            return;
        }
        *steps += 1;
        let remaining = length - used - 1;
        let d = dist.get(w).copied().unwrap_or(usize::MAX);
        if on_path.get(w).copied().unwrap_or(true) || d > remaining || (w == to && remaining > 0) {
            continue;
        }
        path.push(w);
        on_path[w] = true;
        exact_length(succ, dist, to, length, path, on_path, out, limit, steps);
        on_path[w] = false;
        path.pop();
    }
}

/// The allowed ports and deciding rules of each hop `(from, to)`, each answered in its own
/// fresh solver context (deterministic examples).
pub fn explain_hops(
    set: &PolicySet,
    groups: &[Group],
    hops: &[(usize, usize)],
    timeout_ms: u32,
) -> Vec<Flow> {
    let universe = super::graph::universe_for(set, groups);
    let selectable: Vec<Vec<bool>> = groups.iter().map(|g| g.selectable(set)).collect();
    hops.par_iter()
        .map(|&(a, b)| {
            match (
                groups.get(a),
                groups.get(b),
                selectable.get(a),
                selectable.get(b),
            ) {
                (Some(from), Some(to), Some(fp), Some(tp)) => {
                    with_fresh_session(&universe, set, timeout_ms, |s| {
                        super::exposure::flow(s, set, (from, fp), (to, tp))
                    })
                }
                _ => Flow {
                    verdict: super::reach::Verdict::Denied,
                    allowed: Vec::new(),
                    by_port: Vec::new(),
                    denied_by: Vec::new(),
                    undecided: 0,
                },
            }
        })
        .collect()
}

/// The nodes of a path search: every discovered group, plus `from` and `to` when they are
/// not one of them (same name or same members). Returns the groups and the two indices.
pub fn nodes(discovered: Vec<Group>, from: Group, to: Group) -> (Vec<Group>, usize, usize) {
    let mut groups = discovered;
    let index_of = |g: Group, groups: &mut Vec<Group>| {
        match groups
            .iter()
            .position(|d| d.name == g.name || d.members == g.members)
        {
            Some(i) => {
                // Keep the name the user asked for.
                if let Some(d) = groups.get_mut(i) {
                    d.name = g.name;
                }
                i
            }
            None => {
                groups.push(g);
                groups.len() - 1
            }
        }
    };
    let f = index_of(from, &mut groups);
    let t = index_of(to, &mut groups);
    (groups, f, t)
}

/// Paths found, with each distinct hop explained.
pub struct PathsResult {
    pub paths: Vec<Vec<usize>>,
    pub hops: std::collections::BTreeMap<(usize, usize), Flow>,
    pub undecided: usize,
}

/// The whole search: hop graph, paths shortest first, then each hop's ports and rules.
pub fn search(
    set: &PolicySet,
    groups: &[Group],
    (from, to): (usize, usize),
    max_hops: usize,
    limit: usize,
    timeout_ms: u32,
) -> PathsResult {
    let hg = hop_graph(set, groups, timeout_ms);
    let paths = find_paths(&hg, groups, from, to, max_hops, limit);
    let mut hops: Vec<(usize, usize)> = paths
        .iter()
        .flat_map(|p| p.windows(2).map(|w| (w[0], w[1])))
        .collect();
    hops.sort_unstable();
    hops.dedup();
    let flows = explain_hops(set, groups, &hops, timeout_ms);
    let undecided = hg.undecided + flows.iter().map(|f| f.undecided).sum::<usize>();
    PathsResult {
        paths,
        hops: hops.into_iter().zip(flows).collect(),
        undecided,
    }
}

/// Blast radius: for each group of a graph of allowed connections (the reachability graph),
/// how many other groups it can reach through chains of them, with the same rule as paths:
/// only policed groups are stepping stones.
pub fn blast_radius<E>(graph: &DiGraph<Group, E>) -> Vec<usize> {
    let n = graph.node_count();
    let policed = |i: usize| {
        graph
            .node_weight(NodeIndex::new(i))
            .is_some_and(|g| g.policed)
    };
    (0..n)
        .map(|start| {
            let mut seen = vec![false; n];
            seen[start] = true;
            let mut queue = VecDeque::from([start]);
            let mut count = 0;
            while let Some(v) = queue.pop_front() {
                if v != start && !policed(v) {
                    continue; // reached, but not a stepping stone
                }
                for w in graph.neighbors_directed(NodeIndex::new(v), Towards::Outgoing) {
                    let w = w.index();
                    if !seen[w] {
                        seen[w] = true;
                        count += 1;
                        queue.push_back(w);
                    }
                }
            }
            count
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::groups::{GroupKind, Member};

    fn group(name: &str, policed: bool) -> Group {
        Group {
            name: name.into(),
            kind: if policed {
                GroupKind::Workload
            } else {
                GroupKind::World
            },
            policed,
            concrete: true,
            members: Vec::<Member>::new(),
            resource: None,
        }
    }

    #[test]
    fn blast_radius_follows_chains_through_policed_groups_only() {
        // world(0) -> a(1) -> b(2) -> c(3); b -> world; d(4) isolated.
        let groups = [
            group("world", false),
            group("a", true),
            group("b", true),
            group("c", true),
            group("d", true),
        ];
        let mut graph = DiGraph::new();
        for g in groups {
            graph.add_node(g);
        }
        for (a, b) in [(0, 1), (1, 2), (2, 3), (2, 0)] {
            graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        // a reaches b, c and the world (via b); b reaches c and the world, but not a
        // through the world.
        assert_eq!(blast_radius(&graph), vec![3, 3, 2, 0, 0]);
    }

    #[test]
    fn paths_are_found_shortest_first_and_only_through_policed_groups() {
        let groups = [
            group("world", false),
            group("a", true),
            group("b", true),
            group("c", true),
            group("net", false),
        ];
        let mut graph = DiGraph::new();
        for i in 0..groups.len() {
            graph.add_node(i);
        }
        for (a, b) in [(0, 1), (1, 2), (2, 3), (1, 3), (0, 4), (4, 3)] {
            graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        let hg = HopGraph {
            graph,
            undecided: 0,
        };
        assert_eq!(
            find_paths(&hg, &groups, 0, 3, 5, 10),
            vec![vec![0, 1, 3], vec![0, 1, 2, 3]],
            "the unpoliced `net` is no stepping stone"
        );
        assert_eq!(
            find_paths(&hg, &groups, 0, 3, 1, 10),
            Vec::<Vec<usize>>::new()
        );
        assert_eq!(find_paths(&hg, &groups, 0, 3, 5, 1), vec![vec![0, 1, 3]]);
    }
}
