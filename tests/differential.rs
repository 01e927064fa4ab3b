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

// ---------------------------------------------------------------------------------------
// String operators (`starts with`, `ends with`, `contains`) and keys mixing them with `==`,
// `!=`, `in`, `not in` and `has`. Kept apart from the generator above: its own policy sets
// (selectors only, over one label key `s`) and its own universe of label values.
//
// The universe: every word of up to 5 letters over {a, b, c} (every combination of the
// mentioned predicates, whose strings have at most 2 letters over {a, b}, is realised by
// such a word: 2 letters for the prefix, a `c` that starts no needle, 2 for the suffix),
// reduced to one word per combination of the predicates the set mentions, evaluated on the
// strings themselves (the concrete evaluator sees nothing else).
// ---------------------------------------------------------------------------------------

mod strings {
    use super::{Verdicts, brute_force, solver_verdicts};
    use crate::common::{BASE, Gen};
    use calint::analysis::concrete::{Packet, Side};
    use calint::analysis::ir::{CompiledPolicy, CompiledRule, CompiledTier, Entity, PolicySet};
    use calint::model::resource::{Action, Direction, Kind};
    use calint::model::selector::Expr;
    use std::collections::{BTreeMap, BTreeSet};

    const KEY: &str = "s";
    const VALUES: [&str; 4] = ["ab", "ba", "b", "abc"];
    const NEEDLES: [&str; 5] = ["a", "b", "ab", "ba", "bb"];

    fn leaf(g: &mut Gen) -> Expr {
        let k = KEY.to_string();
        let v = g.pick(&VALUES).to_string();
        let n = g.pick(&NEEDLES).to_string();
        match g.below(10) {
            0 => Expr::Eq(k, v),
            1 => Expr::Ne(k, v),
            2 => Expr::In(k, vec![v, g.pick(&VALUES).to_string()]),
            3 => Expr::NotIn(k, vec![v]),
            4 => Expr::Has(k),
            5 => Expr::Not(Box::new(Expr::StartsWith(k, n))),
            6 | 7 => Expr::StartsWith(k, n),
            8 => Expr::EndsWith(k, n),
            _ => Expr::Contains(k, n),
        }
    }

    fn selector(g: &mut Gen) -> Expr {
        match g.below(6) {
            0 => Expr::All,
            1 | 2 => leaf(g),
            3 | 4 => Expr::And(vec![leaf(g), leaf(g)]),
            _ => Expr::Or(vec![leaf(g), leaf(g)]),
        }
    }

    fn rule(g: &mut Gen, index: usize, d: Direction) -> CompiledRule {
        let action = *g.pick(&[Action::Allow, Action::Deny, Action::Pass, Action::Log]);
        let mut peer = Entity::default();
        let mut local = Entity::default();
        if g.chance(70) {
            peer.selector = Some(selector(g));
        }
        if g.chance(15) {
            peer.not_selector = Some(leaf(g));
        }
        if g.chance(10) {
            local.selector = Some(leaf(g));
        }
        let (source, destination) = match d {
            Direction::Ingress => (peer, local),
            Direction::Egress => (local, peer),
        };
        CompiledRule {
            index,
            pointer: format!("/spec/{}/{index}", d.as_str()),
            action,
            v4: true,
            v6: true,
            protocol: None,
            not_protocol: None,
            icmp: None,
            not_icmp: None,
            source,
            destination,
            http: None,
        }
    }

    pub fn policy_set(seed: u64) -> PolicySet {
        let mut g = Gen(seed);
        let n = 1 + g.below(3) as usize;
        let mut policies = Vec::new();
        for i in 0..n {
            let rules = |g: &mut Gen, d: Direction| -> Vec<CompiledRule> {
                (0..g.below(4) as usize).map(|r| rule(g, r, d)).collect()
            };
            let ingress = rules(&mut g, Direction::Ingress);
            let egress = rules(&mut g, Direction::Egress);
            policies.push(CompiledPolicy {
                resource: i,
                kind: Kind::NetworkPolicy,
                namespace: Some("ns".into()),
                name: format!("p{i}"),
                tier: g.pick(&["default", "default", "t1"]).to_string(),
                order: *g.pick(&[None, Some(1.0), Some(1.0), Some(2.0)]),
                staged: false,
                selector: selector(&mut g),
                ingress_applies: g.chance(85),
                egress_applies: g.chance(50),
                ingress,
                egress,
                legacy_key: false,
            });
        }
        let mut set = PolicySet {
            policies,
            tiers: Vec::new(),
        };
        set.tiers.push(CompiledTier {
            name: "t1".into(),
            order: Some(10.0),
            defined: true,
            default_pass: g.chance(30),
        });
        set.finish();
        set
    }

    /// String predicates and values mentioned in a selector.
    fn mentioned(e: &Expr, eqs: &mut BTreeSet<String>, preds: &mut BTreeSet<(u8, String)>) {
        match e {
            Expr::Eq(_, v) | Expr::Ne(_, v) => {
                eqs.insert(v.clone());
            }
            Expr::In(_, vs) | Expr::NotIn(_, vs) => eqs.extend(vs.iter().cloned()),
            Expr::StartsWith(_, n) => {
                preds.insert((0, n.clone()));
            }
            Expr::EndsWith(_, n) => {
                preds.insert((1, n.clone()));
            }
            Expr::Contains(_, n) => {
                preds.insert((2, n.clone()));
            }
            Expr::Not(i) => mentioned(i, eqs, preds),
            Expr::And(items) | Expr::Or(items) => {
                for i in items {
                    mentioned(i, eqs, preds);
                }
            }
            Expr::Has(_) | Expr::All | Expr::Global => {}
        }
    }

    /// One word (of up to 5 letters over {a, b, c}) per combination of the set's predicates.
    fn values(set: &PolicySet) -> Vec<String> {
        let (mut eqs, mut preds) = (BTreeSet::new(), BTreeSet::new());
        for p in &set.policies {
            mentioned(&p.selector, &mut eqs, &mut preds);
            for r in p.ingress.iter().chain(&p.egress) {
                for e in [&r.source, &r.destination] {
                    for s in [&e.selector, &e.not_selector].into_iter().flatten() {
                        mentioned(s, &mut eqs, &mut preds);
                    }
                }
            }
        }
        let mut words = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|w| ['a', 'b', 'c'].map(|c| format!("{w}{c}")))
                .collect();
            words.extend(last.iter().cloned());
        }
        let mut by_signature: BTreeMap<Vec<bool>, String> = BTreeMap::new();
        for w in words {
            let sig: Vec<bool> = eqs
                .iter()
                .map(|e| *e == w)
                .chain(preds.iter().map(|(op, n)| match op {
                    0 => w.starts_with(n.as_str()),
                    1 => w.ends_with(n.as_str()),
                    _ => w.contains(n.as_str()),
                }))
                .collect();
            by_signature.entry(sig).or_insert(w);
        }
        by_signature.into_values().collect()
    }

    /// Packets for both directions: the local endpoint and the peer each without `s` or with
    /// one of `values`, the peer also a non-Calico address (see `local_dir`).
    fn universe(values: &[String]) -> Vec<Packet> {
        let labels: Vec<BTreeMap<String, String>> = std::iter::once(BTreeMap::new())
            .chain(
                values
                    .iter()
                    .map(|v| BTreeMap::from([(KEY.to_string(), v.clone())])),
            )
            .collect();
        let mut peers: Vec<(bool, BTreeMap<String, String>)> =
            labels.iter().map(|m| (true, m.clone())).collect();
        peers.push((false, BTreeMap::new()));
        let mut out = Vec::new();
        for d in [Direction::Ingress, Direction::Egress] {
            for local in &labels {
                for (is_entity, peer_labels) in &peers {
                    let local_side = Side {
                        is_entity: true,
                        labels: local.clone(),
                        ip: u128::from(BASE + 9),
                        port: 1000,
                        ..Side::default()
                    };
                    let peer_side = Side {
                        is_entity: *is_entity,
                        labels: peer_labels.clone(),
                        ip: u128::from(BASE),
                        port: 1000,
                        ..Side::default()
                    };
                    let (src, mut dst) = match d {
                        Direction::Ingress => (peer_side, local_side),
                        Direction::Egress => (local_side, peer_side),
                    };
                    dst.port = 1;
                    out.push(Packet {
                        v6: false,
                        protocol: 6,
                        src,
                        dst,
                        ..Packet::default()
                    });
                }
            }
        }
        out
    }

    pub fn check(seed: u64) -> Verdicts {
        let set = policy_set(seed);
        let expected = brute_force(&set, &universe(&values(&set)));
        let actual = solver_verdicts(&set);
        assert_eq!(
            actual, expected,
            "seed {seed}: solver verdicts differ from exhaustive enumeration for\n{set:#?}"
        );
        expected
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn string_operators_agree_with_exhaustive_enumeration(seed in any::<u64>()) {
        strings::check(seed);
    }
}

/// The string generator exercises every verdict too.
#[test]
fn string_operator_seeds_agree_and_cover_every_verdict() {
    let mut seen = [0usize; 5];
    for seed in 0..60 {
        let v = strings::check(seed);
        for (n, count) in seen.iter_mut().zip([
            v.unsat_selectors.len(),
            v.unsat_rules.len(),
            v.shadowed.len(),
            v.shadowed_by_policy.len(),
            v.conflicts.len(),
        ]) {
            *n += count;
        }
    }
    eprintln!("string verdicts over 60 seeds: {seen:?}");
    assert!(
        seen.iter().all(|&n| n > 0),
        "some verdict never occurred: {seen:?}"
    );
}
