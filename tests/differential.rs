//! Differential test: every verdict of the Z3 analysis (CAL110, CAL111, CAL201/CAL204/CAL127,
//! CAL202, CAL203, and the pairwise anomalies of CAL205/CAL206/CAL208) against exhaustive enumeration with the concrete evaluator, on small random policy
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

use calint::analysis::anomaly::PairKind;
use calint::analysis::concrete::{Outcome, Packet, Side, evaluate, policy_selects, rule_matches};
use calint::analysis::ir::{CompiledPolicy, CompiledRule, PolicySet};
use calint::analysis::{AnalysisOptions, RuleId, analyze_set};
use calint::model::resource::Direction;
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
    rule_pairs: BTreeSet<(PairKind, RuleId, RuleId)>,
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
        // Pairwise anomalies among the rules not found dead.
        for (pi, p) in set.policies.iter().enumerate() {
            if v.unsat_selectors.contains(&pi) || !p.applies(d) {
                continue;
            }
            let id = |r: &CompiledRule| RuleId {
                policy: pi,
                direction: d,
                rule: r.index,
            };
            let dead = |r: &CompiledRule| {
                v.unsat_rules.contains(&id(r))
                    || v.shadowed.contains(&id(r))
                    || v.shadowed_by_policy.contains(&id(r))
            };
            let rules = p.rules(d);
            let live: Vec<&CompiledRule> = rules
                .iter()
                .filter(|r| r.is_terminal() && !dead(r))
                .collect();
            let mut found = Vec::new();
            for (a, ri) in live.iter().enumerate() {
                // Packets at the policy's endpoints that match `ri` and reach it.
                let reach: Vec<&Packet> = pkts
                    .iter()
                    .copied()
                    .filter(|pkt| {
                        policy_selects(p, d, pkt)
                            && rule_matches(ri, pkt)
                            && rules
                                .iter()
                                .take(ri.index)
                                .filter(|e| e.is_terminal())
                                .all(|e| !rule_matches(e, pkt))
                    })
                    .collect();
                let mut superseded = false;
                for rj in &live[a + 1..] {
                    if ri.action == rj.action {
                        if superseded {
                            continue;
                        }
                        let escapes = reach.iter().any(|pkt| {
                            !rule_matches(rj, pkt)
                                || rules[ri.index + 1..rj.index].iter().any(|k| {
                                    k.is_terminal() && k.action != ri.action && rule_matches(k, pkt)
                                })
                        });
                        if !escapes {
                            superseded = true;
                            found.push((PairKind::Superseded, id(ri), id(rj)));
                        }
                        continue;
                    }
                    if !reach.iter().any(|pkt| rule_matches(rj, pkt)) {
                        continue;
                    }
                    let kind = if reach.iter().all(|pkt| rule_matches(rj, pkt)) {
                        PairKind::Generalization
                    } else {
                        PairKind::Correlation
                    };
                    found.push((kind, id(ri), id(rj)));
                }
            }
            v.rule_pairs.extend(found);
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
                        if r1.action == r2.action {
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
        rule_pairs: a
            .rule_pairs
            .iter()
            .map(|p| (p.kind, p.earlier, p.later))
            .collect(),
    }
}

fn check_seed(seed: u64, packets: &[Packet]) {
    let set = policy_set(seed);
    let expected = brute_force(&set, packets);
    let actual = solver_verdicts(&set);
    assert_eq!(
        (&actual.conflicts, &actual.rule_pairs),
        (&expected.conflicts, &expected.rule_pairs),
        "seed {seed}: conflicts or rule pairs differ (solver left, enumeration right)\n{set:#?}"
    );
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

fn count_kind(v: &Verdicts, kind: PairKind) -> usize {
    v.rule_pairs.iter().filter(|(k, _, _)| *k == kind).count()
}

/// The generator must exercise every verdict, or agreement would prove little.
#[test]
#[ignore = "debugging aid: CALINT_DIFF_SEED=<seed> cargo test --test differential one_seed -- --ignored"]
fn one_seed() {
    let seed = std::env::var("CALINT_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    check_seed(seed, &universe());
}

#[test]
fn fixed_seeds_agree_and_cover_every_verdict() {
    let packets = universe();
    let mut seen = [0usize; 8];
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
            count_kind(&expected, PairKind::Generalization),
            count_kind(&expected, PairKind::Correlation),
            count_kind(&expected, PairKind::Superseded),
        ]) {
            *n += count;
        }
    }
    eprintln!(
        "verdicts over 40 seeds (unsat selector, unsat rule, shadowed, by policy, conflict, generalization, correlation, superseded): {seen:?}"
    );
    assert!(
        seen.iter().all(|&n| n > 0),
        "some verdict never occurred: {seen:?}"
    );
}
