//! Differential test: every verdict of the Z3 analysis (CAL110, CAL111, CAL201/CAL204/CAL127,
//! CAL202, CAL203, and the pairwise anomalies of CAL205/CAL206/CAL208) against exhaustive enumeration with the concrete evaluator, on small random policy
//! sets over small label, port, protocol and address domains.
//!
//! The enumerated universe covers every equivalence class the generated policies can
//! distinguish (each label absent / `x` / `y` / another value; each address class of the
//! CIDRs used plus an outside and an IPv6 address; each port 1-4 plus another; TCP, UDP and
//! another protocol), so "no packet in the universe" means "no packet at all".
//!
//! Felix's per-endpoint policy lists (spec §4.8) are enumerated list by list: a rule is
//! "never reached" only when no packet reaches it in any list its policy is in, and
//! doNotTrack / preDNAT policies never take part in the normal list.
//!
//! Two generators feed it: random compiled policy sets (`common::policy_set`, with policy
//! classes assigned here) and random policy *trees* (`differential/trees.rs`: YAML text with
//! host-endpoint flags, policy-level namespace / service-account selectors, staged actions,
//! duplicates and invalid tiers), which go through the whole pipeline and whose compiled set is
//! first checked against the generator's own expectation.
//!
//! `cargo test` runs a bounded number of cases; set `CALINT_DIFF_CASES=10000` (release mode
//! recommended) for the long run.

mod common;
#[path = "differential/trees.rs"]
mod trees;

use calint::analysis::anomaly::PairKind;
use calint::analysis::classes::Chain;
use calint::analysis::concrete::{
    Outcome, Packet, Side, evaluate_chain, policy_selects, rule_matches,
};
use calint::analysis::ir::{CompiledPolicy, CompiledRule, PolicyClass, PolicySet};
use calint::analysis::{AnalysisOptions, PolicyId, RuleId, analyze_set};
use calint::model::resource::Direction;
use common::{BASE, Gen, KEYS, policy_set};
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
    let v4: Vec<u128> = [BASE, BASE + 1, BASE + 2, BASE + 3, 0x0b00_0000]
        .iter()
        .map(|a| u128::from(*a))
        .collect();
    packets(&label_maps, &label_maps, &v4, 5)
}

/// The universe of the tree cases: endpoints over `a` and the namespace / service-account
/// labels; peers over `a` and the namespace label.
fn tree_universe() -> Vec<Packet> {
    let locals = trees::local_label_maps();
    let mut peers = Vec::new();
    for a in [None, Some("x"), Some("y")] {
        for ns in [None, Some("ns"), Some("other")] {
            let mut m = BTreeMap::new();
            if let Some(a) = a {
                m.insert("a".to_string(), a.to_string());
            }
            if let Some(ns) = ns {
                m.insert("projectcalico.org/namespace".to_string(), ns.to_string());
            }
            peers.push(m);
        }
    }
    let v4 = [u128::from(BASE + 1), 0x0b00_0000];
    packets(&locals, &peers, &v4, 4)
}

/// Both directions: every local label map, every peer (labeled or not), every peer address
/// (plus one IPv6 address), destination ports 1..=`ports`, TCP, UDP and ICMP.
fn packets(
    locals: &[BTreeMap<String, String>],
    peer_maps: &[BTreeMap<String, String>],
    v4: &[u128],
    ports: u16,
) -> Vec<Packet> {
    let mut peers: Vec<(bool, BTreeMap<String, String>)> =
        peer_maps.iter().map(|m| (true, m.clone())).collect();
    peers.push((false, BTreeMap::new()));
    let mut out = Vec::new();
    for d in [Direction::Ingress, Direction::Egress] {
        for local in locals {
            for (is_entity, peer_labels) in &peers {
                for (v6, ip) in v4.iter().map(|ip| (false, *ip)).chain([(true, 1u128)]) {
                    for port in 1..=ports {
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
    unsat_selectors: BTreeSet<PolicyId>,
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
                && p.dst.port >= 1
                && p.dst.ip != p.src.ip
                && p.dst.is_entity
                && p.dst.ip == if p.v6 { 2 } else { u128::from(BASE + 9) }
        }
        Direction::Egress => {
            p.src.is_entity && p.src.ip == if p.v6 { 2 } else { u128::from(BASE + 9) }
        }
    }
}

/// The lists (§4.8) a policy of `class` is in.
fn chains_of(class: PolicyClass) -> Vec<Chain> {
    Chain::ALL
        .into_iter()
        .filter(|c| c.includes(class))
        .collect()
}

/// Whether policy `pi` is in a tier the set does not define (its ordering findings are left
/// out, issue 13 item 11).
fn in_undefined_tier(set: &PolicySet, pi: usize) -> bool {
    set.policies
        .get(pi)
        .and_then(|p| set.tier(&p.tier))
        .is_some_and(|t| !t.defined)
}

fn brute_force(set: &PolicySet, packets: &[Packet]) -> Verdicts {
    let mut v = Verdicts::default();
    for (pi, p) in set.policies.iter().enumerate() {
        if !packets
            .iter()
            .any(|pkt| p.selector.eval(&pkt.dst.labels) && pkt.dst.is_entity)
        {
            v.unsat_selectors.insert(PolicyId(pi));
        }
    }
    for d in [Direction::Ingress, Direction::Egress] {
        let pkts: Vec<&Packet> = packets.iter().filter(|p| local_dir(p, d)).collect();
        // Per list in use, per packet: the evaluation trace (a list without policies
        // reaches nothing).
        let traces: BTreeMap<Chain, Vec<BTreeSet<(usize, usize)>>> = set
            .chains_in_use()
            .into_iter()
            .map(|chain| {
                let per_packet = pkts
                    .iter()
                    .map(|pkt| {
                        let mut seen = BTreeSet::new();
                        let _: Outcome = evaluate_chain(set, chain, d, pkt, |r| {
                            seen.insert(r);
                        });
                        seen
                    })
                    .collect();
                (chain, per_packet)
            })
            .collect();
        let trace = |chain: Chain, i: usize| traces.get(&chain).and_then(|t| t.get(i));
        for (pi, p) in set.policies.iter().enumerate() {
            if v.unsat_selectors.contains(&PolicyId(pi)) || !p.applies(d) {
                continue;
            }
            for r in p.rules(d) {
                let id = RuleId {
                    policy: PolicyId(pi),
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
                let never_reached = chains_of(p.class).into_iter().all(|chain| {
                    matching
                        .iter()
                        .all(|&i| !trace(chain, i).is_some_and(|t| t.contains(&(pi, r.index))))
                });
                if !p.staged && never_reached && !in_undefined_tier(set, pi) {
                    v.shadowed_by_policy.insert(id);
                }
            }
        }
        // Pairwise anomalies among the rules not found dead.
        for (pi, p) in set.policies.iter().enumerate() {
            if v.unsat_selectors.contains(&PolicyId(pi)) || !p.applies(d) {
                continue;
            }
            let id = |r: &CompiledRule| RuleId {
                policy: PolicyId(pi),
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
        // Conflicts, in any list holding both policies.
        for (p1i, p1) in set.policies.iter().enumerate() {
            for (p2i, p2) in set.policies.iter().enumerate().skip(p1i + 1) {
                let tie = p1.tier == p2.tier && p1.order == p2.order;
                if !tie || p1.staged || p2.staged || !p1.applies(d) || !p2.applies(d) {
                    continue;
                }
                if in_undefined_tier(set, p1i) || in_undefined_tier(set, p2i) {
                    continue;
                }
                let shared: Vec<Chain> = Chain::ALL
                    .into_iter()
                    .filter(|c| c.includes(p1.class) && c.includes(p2.class))
                    .collect();
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
                                && shared
                                    .iter()
                                    .any(|&c| trace(c, i).is_some_and(|t| t.contains(&(p1i, 0))))
                        });
                        if hit {
                            v.conflicts.insert((
                                RuleId {
                                    policy: PolicyId(p1i),
                                    direction: d,
                                    rule: r1.index,
                                },
                                RuleId {
                                    policy: PolicyId(p2i),
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

/// `common::policy_set` with Felix list classes given to its global policies (preDNAT ones
/// lose egress, as validation requires).
fn classed_policy_set(seed: u64) -> PolicySet {
    let mut set = policy_set(seed);
    let mut g = Gen(seed ^ 0x05ee_dc1a_55e5);
    for p in &mut set.policies {
        if p.kind != calint::model::resource::Kind::GlobalNetworkPolicy {
            continue;
        }
        p.class = *g.pick(&[
            PolicyClass::Normal,
            PolicyClass::ApplyOnForward,
            PolicyClass::DoNotTrack,
            PolicyClass::PreDnat,
        ]);
        if p.class == PolicyClass::PreDnat {
            p.egress_applies = false;
            p.egress.clear();
        }
    }
    set
}

/// Cases checked so far, per generator; every 500th is reported on stderr (`--nocapture`)
/// so a long run that is stopped still says how far it got.
fn progress(counter: &std::sync::atomic::AtomicUsize, what: &str) {
    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    if n % 500 == 0 {
        eprintln!("differential: {n} {what} cases agree");
    }
}

static SET_CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static TREE_CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn check_seed(seed: u64, packets: &[Packet]) {
    let set = classed_policy_set(seed);
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
    progress(&SET_CASES, "policy-set");
}

/// The compiled set of a generated tree, checked against the generator's expectation.
fn compiled_tree(seed: u64) -> (String, PolicySet) {
    let (yaml, expect) = trees::tree(seed);
    let opts = calint::check::CheckOptions {
        analysis: None,
        ..calint::check::CheckOptions::default()
    };
    let (project, _) = calint::check::check_text("tree.yaml", &yaml, &opts);
    let set = PolicySet::from_project(&project);
    let ctx = || format!("seed {seed}:\n{yaml}\n{set:#?}");
    // Which definitions survive (duplicates: the later; staged Delete: none).
    let got: BTreeSet<(String, String)> = set
        .policies
        .iter()
        .map(|p| (p.kind.name().to_string(), p.name.clone()))
        .collect();
    let want: BTreeSet<(String, String)> = expect
        .policies
        .keys()
        .map(|(k, n)| (k.to_string(), n.clone()))
        .collect();
    assert_eq!(got, want, "surviving policies, {}", ctx());
    let locals = trees::local_label_maps();
    for p in &set.policies {
        let e = &expect.policies[&(p.kind.name(), p.name.clone())];
        assert_eq!(p.class, e.class, "class of {}, {}", p.name, ctx());
        assert_eq!(p.staged, e.staged, "staged {}, {}", p.name, ctx());
        assert_eq!(p.tier, e.tier, "tier of {}, {}", p.name, ctx());
        assert_eq!(
            (p.ingress_applies, p.egress_applies),
            (e.ingress, e.egress),
            "types of {} {}",
            p.name,
            ctx()
        );
        // The selector Calico builds textually, parsed and evaluated on every endpoint.
        let calico = calint::model::selector::Selector::parse(&e.selector)
            .unwrap_or_else(|err| panic!("reference selector {}: {err:?}", e.selector));
        for m in &locals {
            assert_eq!(
                p.selector.eval(m),
                calico.expr().eval(m),
                "selector of {} on {m:?} (Calico: `{}`), {}",
                p.name,
                e.selector,
                ctx()
            );
        }
    }
    // Tier settings: an invalid Tier resource's never apply.
    let t1 = set.tier("t1");
    if let Some(t1) = t1 {
        assert_eq!(t1.defined, expect.t1_defined, "t1 defined, {}", ctx());
        assert_eq!(
            t1.default_pass,
            expect.t1_pass,
            "t1 default action, {}",
            ctx()
        );
    }
    let default = set.tier("default").expect("the default tier always exists");
    assert!(
        !default.default_pass && default.defined,
        "default tier, {}",
        ctx()
    );
    (yaml, set)
}

fn check_tree(seed: u64, packets: &[Packet]) -> Verdicts {
    let (yaml, set) = compiled_tree(seed);
    let expected = brute_force(&set, packets);
    let actual = solver_verdicts(&set);
    assert_eq!(
        actual, expected,
        "tree seed {seed}: solver verdicts differ from exhaustive enumeration for\n{yaml}\n{set:#?}"
    );
    progress(&TREE_CASES, "tree");
    expected
}

/// Seeds that once disagreed (the universe then lacked a namespace no selector names).
#[test]
fn tree_regressions() {
    let packets = tree_universe();
    check_tree(12_433_671_212_912_079_225, &packets);
    // Once generated an empty `spec:` (now always has a selector line).
    check_tree(8_038_991_286_757_699_540, &packets);
    // Once missed a generalization (the 10,000-tree run of 2026-12-04, case 532).
    check_tree(5_445_055_260_731_148_891, &packets);
}

fn cases() -> u32 {
    common::env_number("CALINT_DIFF_CASES", 24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn solver_agrees_with_exhaustive_enumeration(seed in any::<u64>()) {
        thread_local! { static PACKETS: Vec<Packet> = universe(); }
        PACKETS.with(|p| check_seed(seed, p));
    }

    #[test]
    fn trees_compile_as_calico_and_solver_agrees(seed in any::<u64>()) {
        thread_local! { static PACKETS: Vec<Packet> = tree_universe(); }
        PACKETS.with(|p| { check_tree(seed, p); });
    }
}

fn count(seen: &mut [usize; 8], v: &Verdicts) {
    for (n, c) in seen.iter_mut().zip([
        v.unsat_selectors.len(),
        v.unsat_rules.len(),
        v.shadowed.len(),
        v.shadowed_by_policy.len(),
        v.conflicts.len(),
        count_kind(v, PairKind::Generalization),
        count_kind(v, PairKind::Correlation),
        count_kind(v, PairKind::Superseded),
    ]) {
        *n += c;
    }
}

fn count_kind(v: &Verdicts, kind: PairKind) -> usize {
    v.rule_pairs.iter().filter(|(k, _, _)| *k == kind).count()
}

/// The generator must exercise every verdict, or agreement would prove little.
#[test]
#[ignore = "debugging aid: CALINT_DIFF_SEED=<seed> cargo test --test differential one_seed -- --ignored"]
fn one_seed() {
    let seed = common::env_number("CALINT_DIFF_SEED", 0);
    check_seed(seed, &universe());
}

#[test]
fn fixed_seeds_agree_and_cover_every_verdict() {
    let packets = universe();
    let mut seen = [0usize; 8];
    let mut classes = BTreeSet::new();
    for seed in 0..40 {
        let set = classed_policy_set(seed);
        let expected = brute_force(&set, &packets);
        let actual = solver_verdicts(&set);
        assert_eq!(actual, expected, "seed {seed}:\n{set:#?}");
        count(&mut seen, &expected);
        classes.extend(set.policies.iter().map(|p| p.class));
    }
    eprintln!(
        "verdicts over 40 seeds (unsat selector, unsat rule, shadowed, by policy, conflict, generalization, correlation, superseded): {seen:?}"
    );
    assert!(
        seen.iter().all(|&n| n > 0),
        "some verdict never occurred: {seen:?}"
    );
    assert_eq!(classes.len(), 4, "every policy class occurs: {classes:?}");
}

/// The same for the tree generator, which must also produce every construct it exists for.
#[test]
fn fixed_trees_agree_and_cover_every_construct() {
    let packets = tree_universe();
    let mut seen = [0usize; 8];
    let mut constructs: BTreeSet<&str> = BTreeSet::new();
    for seed in 0..60 {
        let (yaml, _) = trees::tree(seed);
        for (needle, name) in [
            ("doNotTrack: true", "doNotTrack"),
            ("preDNAT: true", "preDNAT"),
            ("  applyOnForward: true\n  ", "applyOnForward"),
            ("namespaceSelector: \"all()\"", "namespaceSelector all()"),
            (
                "serviceAccountSelector: \"all()\"",
                "serviceAccountSelector all()",
            ),
            ("stagedAction: Delete", "staged Delete"),
            ("stagedAction: Learn", "staged Learn"),
            ("bogus: 1", "invalid tier"),
            (
                "name: default}\nspec: {order: 1000000, defaultAction: Pass}",
                "invalid default tier",
            ),
        ] {
            if yaml.contains(needle) {
                constructs.insert(name);
            }
        }
        let names: Vec<&str> = yaml
            .lines()
            .filter(|l| l.starts_with("metadata: {name: p"))
            .collect();
        if names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n))
        {
            constructs.insert("duplicate");
        }
        count(&mut seen, &check_tree(seed, &packets));
    }
    eprintln!("tree verdicts over 60 seeds: {seen:?}; constructs: {constructs:?}");
    assert!(
        seen.iter().all(|&n| n > 0),
        "some verdict never occurred: {seen:?}"
    );
    assert_eq!(
        constructs.len(),
        10,
        "some construct never occurred: {constructs:?}"
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
            .filter(|r| set.policy(r.policy).is_some_and(|p| p.tier != "kube-admin"))
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
            pointer: format!("/spec/{}/{index}", d.as_str()).into(),
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
                resource: calint::project::ResourceId(i),
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
                class: Default::default(),
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

/// The one-sweep port evaluation `reach`, `graph` and `diff` use to open port classes
/// (`concrete::allows_on_classes`) answers, for every class, what evaluating the packet on the
/// class's first port answers — on random policy sets (tiers, Pass, Log, ports and notPorts,
/// named ports) and every packet of the universe, in both directions.
#[test]
fn port_sweep_agrees_with_evaluating_each_port() {
    use calint::analysis::concrete::{allows_among, allows_on_classes};
    let packets = universe();
    for seed in 0..u64::from(cases()) {
        let set = classed_policy_set(seed);
        let everything = vec![true; set.policies.len()];
        let classes = calint::analysis::reach::port_classes(&set, &[], (0, 65535));
        for pkt in &packets {
            for d in [Direction::Ingress, Direction::Egress] {
                let swept = allows_on_classes(&set, d, pkt, &everything, &classes);
                let probed: Vec<bool> = classes
                    .iter()
                    .map(|&(lo, _)| {
                        let mut probe = pkt.clone();
                        probe.dst.port = lo;
                        allows_among(&set, d, &probe, &everything)
                    })
                    .collect();
                assert_eq!(
                    swept, probed,
                    "seed {seed}, {d:?}, packet {pkt:?}\n{set:#?}"
                );
            }
        }
    }
}
