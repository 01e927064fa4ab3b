//! Differential test: every verdict of the Z3 analysis (CAL110, CAL111, CAL201, CAL202,
//! CAL203) against exhaustive enumeration with the concrete evaluator, on small random policy
//! sets over small label, port, protocol and address domains.
//!
//! The enumerated universe covers every equivalence class the generated policies can
//! distinguish (each label absent / `x` / `y` / another value; each address class of the
//! CIDRs used plus an outside and an IPv6 address; each port 1-4 plus another; TCP, UDP and
//! another protocol), so "no packet in the universe" means "no packet at all".
//!
//! `cargo test` runs a bounded number of cases; set `CALINT_DIFF_CASES=10000` (release mode
//! recommended) for the long run.

mod common;

use calint::analysis::concrete::{Outcome, Packet, Side, evaluate, policy_selects, rule_matches};
use calint::analysis::ir::{CompiledPolicy, CompiledRule, PolicySet};
use calint::analysis::{AnalysisOptions, RuleId, analyze_set};
use calint::model::resource::{Action, Direction};
use common::{BASE, KEYS, policy_set};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Every packet of the universe (see the module doc).
fn universe() -> Vec<Packet> {
    let mut label_maps = vec![BTreeMap::new()];
    for k in KEYS {
        let mut next = Vec::new();
        for m in &label_maps {
            for v in [None, Some("x"), Some("y"), Some("z")] {
                let mut m: BTreeMap<String, String> = m.clone();
                if let Some(v) = v {
                    m.insert(k.to_string(), v.to_string());
                }
                next.push(m);
            }
        }
        label_maps = next;
    }
    let mut peers: Vec<(bool, BTreeMap<String, String>)> =
        label_maps.iter().map(|m| (true, m.clone())).collect();
    peers.push((false, BTreeMap::new()));
    let v4: Vec<u128> = [BASE, BASE + 1, BASE + 2, BASE + 3, 0x0b00_0000]
        .iter()
        .map(|a| u128::from(*a))
        .collect();
    let mut out = Vec::new();
    for d in [Direction::Ingress, Direction::Egress] {
        for local in &label_maps {
            for (is_entity, peer_labels) in &peers {
                for (v6, ip) in v4.iter().map(|ip| (false, *ip)).chain([(true, 1u128)]) {
                    for port in 1..=5u16 {
                        for protocol in [6u8, 17, 1] {
                            let local_side = Side {
                                is_entity: true,
                                labels: local.clone(),
                                ip: if v6 { 2 } else { u128::from(BASE + 9) },
                                port: 1000,
                                ..Side::default()
                            };
                            let peer_side = Side {
                                is_entity: *is_entity,
                                labels: peer_labels.clone(),
                                ip,
                                port: 1000,
                                ..Side::default()
                            };
                            let (mut src, mut dst) = match d {
                                Direction::Ingress => (peer_side, local_side),
                                Direction::Egress => (local_side, peer_side),
                            };
                            dst.port = port;
                            src.port = 1000;
                            out.push(Packet {
                                v6,
                                protocol,
                                src,
                                dst,
                                ..Packet::default()
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

#[derive(Debug, Default, PartialEq)]
struct Verdicts {
    unsat_selectors: BTreeSet<usize>,
    unsat_rules: BTreeSet<RuleId>,
    shadowed: BTreeSet<RuleId>,
    shadowed_by_policy: BTreeSet<RuleId>,
    conflicts: BTreeSet<(RuleId, RuleId)>,
}

fn local_dir(p: &Packet, d: Direction) -> bool {
    // Packets are built for one direction: the local side is the one with port 1000 and a
    // non-peer address; both directions are enumerated separately.
    match d {
        Direction::Ingress => {
            p.src.port == 1000
                && p.dst.port <= 5
                && p.dst.ip != p.src.ip
                && p.dst.is_entity
                && p.dst.ip == if p.v6 { 2 } else { u128::from(BASE + 9) }
        }
        Direction::Egress => {
            p.src.is_entity && p.src.ip == if p.v6 { 2 } else { u128::from(BASE + 9) }
        }
    }
}

fn brute_force(set: &PolicySet, packets: &[Packet]) -> Verdicts {
    let mut v = Verdicts::default();
    for (pi, p) in set.policies.iter().enumerate() {
        if !packets
            .iter()
            .any(|pkt| p.selector.eval(&pkt.dst.labels) && pkt.dst.is_entity)
        {
            v.unsat_selectors.insert(pi);
        }
    }
    for d in [Direction::Ingress, Direction::Egress] {
        let pkts: Vec<&Packet> = packets.iter().filter(|p| local_dir(p, d)).collect();
        // Per packet: the evaluation trace.
        let traces: Vec<BTreeSet<(usize, usize)>> = pkts
            .iter()
            .map(|pkt| {
                let mut seen = BTreeSet::new();
                let _: Outcome = evaluate(set, d, pkt, |r| {
                    seen.insert(r);
                });
                seen
            })
            .collect();
        for (pi, p) in set.policies.iter().enumerate() {
            if v.unsat_selectors.contains(&pi) || !p.applies(d) {
                continue;
            }
            for r in p.rules(d) {
                let id = RuleId {
                    policy: pi,
                    direction: d,
                    rule: r.index,
                };
                let matching: Vec<usize> = (0..pkts.len())
                    .filter(|&i| policy_selects(p, d, pkts[i]) && rule_matches(r, pkts[i]))
                    .collect();
                if matching.is_empty() {
                    v.unsat_rules.insert(id);
                    continue;
                }
                let earlier: Vec<&CompiledRule> = p
                    .rules(d)
                    .iter()
                    .take(r.index)
                    .filter(|e| e.is_terminal())
                    .collect();
                if !earlier.is_empty()
                    && matching
                        .iter()
                        .all(|&i| earlier.iter().any(|e| rule_matches(e, pkts[i])))
                {
                    v.shadowed.insert(id);
                    continue;
                }
                if !p.staged
                    && matching
                        .iter()
                        .all(|&i| !traces[i].contains(&(pi, r.index)))
                {
                    v.shadowed_by_policy.insert(id);
                }
            }
        }
        // Conflicts.
        for (p1i, p1) in set.policies.iter().enumerate() {
            for (p2i, p2) in set.policies.iter().enumerate().skip(p1i + 1) {
                let tie = p1.tier == p2.tier && p1.order == p2.order;
                if !tie || p1.staged || p2.staged || !p1.applies(d) || !p2.applies(d) {
                    continue;
                }
                for r1 in p1.rules(d).iter().filter(|r| r.is_terminal()) {
                    for r2 in p2.rules(d).iter().filter(|r| r.is_terminal()) {
                        if (r1.action == Action::Allow) == (r2.action == Action::Allow) {
                            continue;
                        }
                        let first = |p: &CompiledPolicy, r: &CompiledRule, pkt: &Packet| {
                            rule_matches(r, pkt)
                                && p.rules(d)
                                    .iter()
                                    .take(r.index)
                                    .filter(|e| e.is_terminal())
                                    .all(|e| !rule_matches(e, pkt))
                        };
                        let hit = (0..pkts.len()).any(|i| {
                            let pkt = pkts[i];
                            policy_selects(p1, d, pkt)
                                && policy_selects(p2, d, pkt)
                                && first(p1, r1, pkt)
                                && first(p2, r2, pkt)
                                && traces[i].contains(&(p1i, 0))
                        });
                        if hit {
                            v.conflicts.insert((
                                RuleId {
                                    policy: p1i,
                                    direction: d,
                                    rule: r1.index,
                                },
                                RuleId {
                                    policy: p2i,
                                    direction: d,
                                    rule: r2.index,
                                },
                            ));
                        }
                    }
                }
            }
        }
    }
    v
}

fn solver_verdicts(set: &PolicySet) -> Verdicts {
    let a = analyze_set(
        set.clone(),
        &AnalysisOptions {
            solver_timeout_ms: 20_000,
            ..AnalysisOptions::default()
        },
    );
    assert_eq!(a.undecided, 0, "no query may time out in these small cases");
    Verdicts {
        unsat_selectors: a.unsat_selectors.iter().map(|u| u.policy).collect(),
        unsat_rules: a.unsat_rules.iter().map(|u| u.rule).collect(),
        shadowed: a.shadowed.iter().map(|s| s.rule).collect(),
        shadowed_by_policy: a.shadowed_by_policy.iter().map(|s| s.rule).collect(),
        conflicts: a.conflicts.iter().map(|c| (c.winner, c.loser)).collect(),
    }
}

fn check_seed(seed: u64, packets: &[Packet]) {
    let set = policy_set(seed);
    let expected = brute_force(&set, packets);
    let actual = solver_verdicts(&set);
    assert_eq!(
        actual, expected,
        "seed {seed}: solver verdicts differ from exhaustive enumeration for\n{set:#?}"
    );
}

fn cases() -> u32 {
    std::env::var("CALINT_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn solver_agrees_with_exhaustive_enumeration(seed in any::<u64>()) {
        thread_local! { static PACKETS: Vec<Packet> = universe(); }
        PACKETS.with(|p| check_seed(seed, p));
    }
}

/// The generator must exercise every verdict, or agreement would prove little.
#[test]
fn fixed_seeds_agree_and_cover_every_verdict() {
    let packets = universe();
    let mut seen = [0usize; 5];
    for seed in 0..40 {
        let set = policy_set(seed);
        let expected = brute_force(&set, &packets);
        let actual = solver_verdicts(&set);
        assert_eq!(actual, expected, "seed {seed}:\n{set:#?}");
        for (n, count) in seen.iter_mut().zip([
            expected.unsat_selectors.len(),
            expected.unsat_rules.len(),
            expected.shadowed.len(),
            expected.shadowed_by_policy.len(),
            expected.conflicts.len(),
        ]) {
            *n += count;
        }
    }
    eprintln!(
        "verdicts over 40 seeds (unsat selector, unsat rule, shadowed, by policy, conflict): {seen:?}"
    );
    assert!(
        seen.iter().all(|&n| n > 0),
        "some verdict never occurred: {seen:?}"
    );
}

// ---- Cluster-scoped Kubernetes policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy). Kept separate from the generator above: the same random sets, with
// some policies moved into the built-in admin (order 1,000) and baseline (order 10,000,000)
// tiers, whose default action is Pass, as Calico's conversion places them.

/// [`common::policy_set`] with about a third of the policies in `kube-admin` and a third in
/// `kube-baseline`, cluster-scoped, with a priority as order.
fn cluster_policy_set(seed: u64) -> PolicySet {
    use calint::model::resource::Kind;
    let mut set = policy_set(seed);
    let mut g = common::Gen(seed ^ 0x5eed_c1a5_5e7a_11ed);
    for p in &mut set.policies {
        let (kind, tier) = match g.below(3) {
            0 => (Kind::AdminNetworkPolicy, "kube-admin"),
            1 => (
                *g.pick(&[Kind::BaselineAdminNetworkPolicy, Kind::ClusterNetworkPolicy]),
                "kube-baseline",
            ),
            _ => continue,
        };
        p.kind = kind;
        p.tier = tier.to_string();
        p.namespace = None;
        p.staged = false;
        p.order = Some(*g.pick(&[0.0, 5.0, 5.0, 1000.0]));
    }
    set.finish();
    set
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn solver_agrees_with_exhaustive_enumeration_with_cluster_policies(seed in any::<u64>()) {
        thread_local! { static PACKETS: Vec<Packet> = universe(); }
        PACKETS.with(|packets| {
            let set = cluster_policy_set(seed);
            let expected = brute_force(&set, packets);
            assert_eq!(solver_verdicts(&set), expected, "seed {seed}:\n{set:#?}");
        });
    }
}

/// Fixed seeds with cluster policies agree, and rules outside the admin tier are found
/// shadowed by earlier policies or tiers (so the mixed sets exercise CAL202).
#[test]
fn fixed_seeds_with_cluster_policies_agree() {
    let packets = universe();
    let mut by_earlier_tier = 0;
    for seed in 0..40 {
        let set = cluster_policy_set(seed);
        let expected = brute_force(&set, &packets);
        assert_eq!(solver_verdicts(&set), expected, "seed {seed}:\n{set:#?}");
        by_earlier_tier += expected
            .shadowed_by_policy
            .iter()
            .filter(|r| {
                set.policies
                    .get(r.policy)
                    .is_some_and(|p| p.tier != "kube-admin")
            })
            .count();
    }
    assert!(
        by_earlier_tier > 0,
        "no rule was decided by an earlier tier"
    );
}

// ---------------------------------------------------------------------------------------
// Kubernetes NetworkPolicies with multi-peer, multi-protocol rules (issue 13 item 3, sem-b).
// The split rules must agree with enumeration piece by piece, and the grouping the lints use
// (`analysis::pieces::by_source_rule`) must report a Kubernetes rule whole exactly when every
// piece has the verdict.
// ---------------------------------------------------------------------------------------

mod k8s_split_rules {
    use super::*;
    use calint::analysis::pieces::{by_source_rule, siblings};
    use common::k8s::policy_set_with_k8s;

    /// (whole groups, piece reports) over the three per-rule verdicts.
    fn check_grouping(set: &PolicySet, expected: &Verdicts, actual: &Verdicts) -> (usize, usize) {
        let (mut whole, mut pieces) = (0, 0);
        for (name, exp, act) in [
            ("unsat", &expected.unsat_rules, &actual.unsat_rules),
            ("shadowed", &expected.shadowed, &actual.shadowed),
            (
                "by policy",
                &expected.shadowed_by_policy,
                &actual.shadowed_by_policy,
            ),
        ] {
            let ids: Vec<RuleId> = act.iter().copied().collect();
            for (is_whole, group) in by_source_rule(set, &ids, |r| *r) {
                let first = **group.first().expect("non-empty group");
                let all_pieces_qualify =
                    siblings(set, first).all(|i| exp.contains(&RuleId { rule: i, ..first }));
                assert_eq!(
                    is_whole, all_pieces_qualify,
                    "{name}: {first:?} reported whole = {is_whole}\n{set:#?}"
                );
                if is_whole && siblings(set, first).len() > 1 {
                    whole += 1;
                } else if !is_whole {
                    pieces += 1;
                }
            }
        }
        (whole, pieces)
    }

    fn check(seed: u64, packets: &[Packet]) -> (usize, usize) {
        let set = policy_set_with_k8s(seed);
        let expected = brute_force(&set, packets);
        let actual = solver_verdicts(&set);
        assert_eq!(
            actual, expected,
            "seed {seed}: solver verdicts differ from exhaustive enumeration for\n{set:#?}"
        );
        check_grouping(&set, &expected, &actual)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn split_kubernetes_rules_agree_with_enumeration(seed in any::<u64>()) {
            thread_local! { static PACKETS: Vec<Packet> = universe(); }
            PACKETS.with(|p| check(seed, p));
        }
    }

    /// Both groupings must occur: split rules reported whole, and single pieces.
    #[test]
    fn fixed_seeds_report_split_rules_whole_and_by_piece() {
        let packets = universe();
        let (mut whole, mut pieces) = (0, 0);
        for seed in 0..40 {
            let (w, p) = check(seed, &packets);
            whole += w;
            pieces += p;
        }
        eprintln!("split rules over 40 seeds: {whole} reported whole, {pieces} by piece");
        assert!(whole > 0 && pieces > 0, "whole {whole}, pieces {pieces}");
    }
}
