//! The box engine for pairs whose labels decide every selector (`analysis::decided_pair`)
//! against the solver (`reach::pair_summary_solved`): verdict and allowed list (protocols and
//! destination ports) for every pair of random decided groups over random policy sets,
//! enriched with every construct the engine handles — ICMP and notICMP, named ports in ports
//! and notPorts, source ports, IPv6 nets, policy classes — and the ones it leaves to the
//! solver (services, HTTP, selector groups), which must be answered `None`.

mod common;

use calint::analysis::decided_pair::{WalkCache, examples, region};
use calint::analysis::graph::{PairInputs, policed_pairs, universe_for};
use calint::analysis::groups::{Group, GroupKind, Identity, Member};
use calint::analysis::ir::{Http, Icmp, PolicyClass, PolicySet, PortMatch};
use calint::analysis::pair_rules::{PairRules, PeerGroup, PeerIndex};
use calint::analysis::reach::{Verdict, pair_summary_solved};
use calint::analysis::solver::Session;
use calint::model::net::{Cidr, IpFamily};
use common::{BASE, Gen, KEYS, VALUES, policy_set};
use std::collections::BTreeMap;

const NAMED: [(&str, (u8, u16)); 3] = [("http", (6, 2)), ("dns", (17, 3)), ("web", (6, 4))];

fn v6_of(c: Cidr) -> Cidr {
    Cidr {
        family: IpFamily::V6,
        addr: (0xfd00u128 << 112) | c.addr,
        prefix: c.prefix + 96,
    }
}

/// Add what `common::policy_set` does not generate.
fn enrich(set: &mut PolicySet, g: &mut Gen) {
    let names: Vec<&str> = NAMED.iter().map(|(n, _)| *n).chain(["missing"]).collect();
    for p in &mut set.policies {
        if g.chance(15) {
            p.class = *g.pick(&[
                PolicyClass::ApplyOnForward,
                PolicyClass::DoNotTrack,
                PolicyClass::PreDnat,
            ]);
        }
        for r in p.ingress.iter_mut().chain(p.egress.iter_mut()) {
            if g.chance(15) {
                let v6 = g.chance(50);
                r.protocol = Some(if v6 { 58 } else { 1 });
                r.icmp = Some(Icmp {
                    icmp_type: *g.pick(&[None, Some(0), Some(8)]),
                    code: *g.pick(&[None, Some(0), Some(1)]),
                });
                r.destination.ports.clear();
                r.destination.not_ports.clear();
            } else if g.chance(10) {
                r.not_icmp = Some(Icmp {
                    icmp_type: *g.pick(&[None, Some(8)]),
                    code: *g.pick(&[None, Some(0)]),
                });
            }
            if r.protocol.is_some() && g.chance(25) {
                r.destination
                    .ports
                    .push(PortMatch::Named(g.pick(&names).to_string()));
            }
            if r.protocol.is_some() && g.chance(15) {
                r.destination
                    .not_ports
                    .push(PortMatch::Named(g.pick(&names).to_string()));
            }
            if r.protocol.is_some() && g.chance(15) {
                let lo = g.below(3) as u16;
                r.source.ports.push(PortMatch::Range(lo, lo + 1));
            }
            if r.protocol.is_some() && g.chance(8) {
                r.source
                    .ports
                    .push(PortMatch::Named(g.pick(&names).to_string()));
            }
            // Some rules with nets move to IPv6 (and are rendered for IPv6 only).
            let has_nets = [&r.source, &r.destination]
                .iter()
                .any(|e| !e.nets.is_empty() || !e.not_nets.is_empty());
            if has_nets && g.chance(30) {
                for e in [&mut r.source, &mut r.destination] {
                    e.nets = e.nets.iter().map(|c| v6_of(*c)).collect();
                    e.not_nets = e.not_nets.iter().map(|c| v6_of(*c)).collect();
                }
                r.v4 = false;
                r.v6 = true;
            }
        }
    }
}

fn labels(g: &mut Gen) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for k in KEYS {
        if g.chance(70) {
            out.insert(k.to_string(), g.pick(&VALUES).to_string());
        }
    }
    out
}

fn cidr(addr: u32, prefix: u8) -> Cidr {
    Cidr {
        family: IpFamily::V4,
        addr: u128::from(addr),
        prefix,
    }
}

/// A group of one member whose labels decide every selector: a workload (policed) or an
/// address range outside every endpoint (not policed).
fn decided_group(g: &mut Gen, name: &str) -> Group {
    let nets = match g.below(4) {
        0 => vec![cidr(BASE, 31)],
        1 => vec![v6_of(cidr(BASE + 2, 31))],
        _ => vec![],
    };
    let (identity, policed) = if g.chance(75) {
        (
            Identity {
                entity: true,
                fixed: labels(g),
                closed: true,
                open_prefixes: vec![],
                closed_prefixes: vec![],
                selector: None,
            },
            true,
        )
    } else {
        (
            Identity {
                entity: false,
                fixed: BTreeMap::new(),
                closed: true,
                open_prefixes: vec![],
                closed_prefixes: vec![],
                selector: None,
            },
            false,
        )
    };
    let named_ports = Some(
        NAMED
            .iter()
            .filter(|_| g.chance(50))
            .map(|(n, p)| (n.to_string(), *p))
            .collect(),
    );
    let not_nets = if !policed && g.chance(50) {
        vec![cidr(BASE, 32)]
    } else {
        vec![]
    };
    Group {
        name: name.into(),
        kind: if policed {
            GroupKind::Workload
        } else {
            GroupKind::World
        },
        policed,
        concrete: true,
        members: vec![Member {
            identity,
            nets,
            not_nets,
            named_ports,
        }],
        resource: None,
    }
}

/// (engine's answer, solver's answer) for every ordered pair of `groups` with a policed end.
#[allow(clippy::type_complexity)]
fn answers(
    set: &PolicySet,
    groups: &[Group],
) -> Vec<(String, Option<(Verdict, String)>, Option<(Verdict, String)>)> {
    let universe = universe_for(set, groups);
    let refs: Vec<&Group> = groups.iter().collect();
    let inputs = PairInputs::new(set, &refs);
    let walks = WalkCache::new();
    let mut s = Session::new(&universe, set, 20_000);
    let mut out = Vec::new();
    for pair in policed_pairs(groups) {
        let ((from, fp), (to, tp)) = inputs.ends(pair).expect("a pair of the list");
        let rules = inputs.rules(pair);
        let engine = region(set, (from, fp), (to, tp), &rules, &walks).map(|r| {
            let verdict = r.verdict();
            let allowed = match verdict {
                Verdict::Denied => Vec::new(),
                _ => r.allowed(None, None),
            };
            (verdict, format!("{allowed:?}"))
        });
        let (solved, undecided) = pair_summary_solved(&mut s, set, (from, fp), (to, tp), &rules);
        assert_eq!(undecided, 0, "the solver left a query undecided");
        let solver = solved.map(|(v, allowed)| (v, format!("{allowed:?}")));
        out.push((format!("{} -> {}", from.name, to.name), engine, solver));
    }
    out
}

#[test]
fn decided_pairs_agree_with_the_solver() {
    let seeds: u64 = common::env_number("CALINT_DECIDED_CASES", 150);
    let mut compared = 0;
    let mut seen = BTreeMap::new();
    for seed in 0..seeds {
        let mut g = Gen(seed ^ 0x5eed_dec1_ded0);
        let mut set = policy_set(seed);
        enrich(&mut set, &mut g);
        let groups: Vec<Group> = (0..4)
            .map(|i| decided_group(&mut g, &format!("g{i}")))
            .collect();
        for (pair, engine, solver) in answers(&set, &groups) {
            let Some(engine) = engine else {
                panic!("seed {seed}, {pair}: a decided pair was left to the solver");
            };
            assert_eq!(
                Some(&engine),
                solver.as_ref(),
                "seed {seed}, {pair}: engine and solver disagree\n{set:#?}\n{groups:#?}"
            );
            *seen.entry(format!("{:?}", engine.0)).or_insert(0) += 1;
            compared += 1;
        }
    }
    eprintln!("compared {compared} pairs: {seen:?}");
    for v in ["Allowed", "Denied", "Partial"] {
        assert!(
            seen.get(v).copied().unwrap_or(0) > 0,
            "no {v} pair among {seeds} seeds: {seen:?}"
        );
    }
}

/// The engine's example packets (what `reach` shows for a large decided pair): an allowed one
/// exactly when some packet is allowed, a denied one exactly when some is denied, each
/// evaluating as it says under the concrete evaluator (`examples` checks that itself and a
/// debug build panics when it fails), also for questions about one protocol or port.
#[test]
fn decided_pair_examples_exist_exactly_when_the_region_says() {
    let mut compared = 0;
    for seed in 0..60u64 {
        let mut g = Gen(seed ^ 0x5eed_dec1_ded0);
        let mut set = policy_set(seed);
        enrich(&mut set, &mut g);
        let groups: Vec<Group> = (0..4)
            .map(|i| decided_group(&mut g, &format!("g{i}")))
            .collect();
        let refs: Vec<&Group> = groups.iter().collect();
        let inputs = PairInputs::new(&set, &refs);
        for pair in policed_pairs(&groups) {
            let ((from, fp), (to, tp)) = inputs.ends(pair).expect("a pair of the list");
            let rules = inputs.rules(pair);
            // `reach` indexes only the peers of the rules its two ends' policies apply to
            // them: the same rules take part as with the whole set indexed (`graph`).
            let peers = PeerIndex::for_ends(&set, fp, tp);
            let for_ends = PairRules::new(
                &peers,
                (&PeerGroup::new(from), fp),
                (&PeerGroup::new(to), tp),
            );
            assert_eq!(for_ends.egress, rules.egress, "seed {seed}");
            assert_eq!(for_ends.ingress, rules.ingress, "seed {seed}");
            let whole =
                region(&set, (from, fp), (to, tp), &rules, &WalkCache::new()).expect("decided");
            // The examples' walks go into the cache `reach` then reads the region from: the
            // same region as walked afresh.
            let shared = WalkCache::new();
            let found = examples(
                &set,
                (from, fp),
                (to, tp),
                &rules,
                None,
                None,
                Some(&shared),
            )
            .expect("examples of a decided pair");
            let reused = region(&set, (from, fp), (to, tp), &rules, &shared).expect("decided");
            assert_eq!(reused, whole, "seed {seed}");
            assert_eq!(found.allowed.is_some(), whole.any_allowed, "seed {seed}");
            assert_eq!(found.denied.is_some(), whole.any_denied, "seed {seed}");
            let tcp = whole.allowed(Some(6), Some((2, 2)));
            let on_port = examples(
                &set,
                (from, fp),
                (to, tp),
                &rules,
                Some(6),
                Some((2, 2)),
                Some(&shared),
            )
            .expect("examples of a decided pair");
            // A question narrowed to a port adds nothing to the cache (its walks are not the
            // pair's): the region read from it stays the same.
            let after = region(&set, (from, fp), (to, tp), &rules, &shared).expect("decided");
            assert_eq!(after, whole, "seed {seed}");
            assert_eq!(on_port.allowed.is_some(), !tcp.is_empty(), "seed {seed}");
            if let Some(p) = &on_port.allowed {
                assert_eq!((p.protocol, p.dst.port), (6, 2), "seed {seed}");
            }
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} pairs");
}

#[test]
fn what_the_labels_do_not_decide_is_left_to_the_solver() {
    let mut set = policy_set(3);
    // A rule with a service, one with HTTP criteria.
    let mut g = Gen(7);
    let groups: Vec<Group> = (0..2)
        .map(|i| decided_group(&mut g, &format!("g{i}")))
        .collect();
    for p in &mut set.policies {
        p.selector = calint::model::selector::Expr::All;
        p.ingress_applies = true;
        p.egress_applies = true;
        p.staged = false;
        p.class = PolicyClass::Normal;
    }
    let with = |edit: &dyn Fn(&mut calint::analysis::ir::CompiledRule)| {
        let mut s = set.clone();
        for p in &mut s.policies {
            p.ingress = vec![common_rule()];
            p.egress = vec![common_rule()];
            for r in p.ingress.iter_mut().chain(p.egress.iter_mut()) {
                edit(r);
            }
        }
        s
    };
    let service = with(&|r| r.source.service = Some("ns/svc".into()));
    let http = with(&|r| {
        r.http = Some(Http {
            methods: vec!["GET".into()],
            ..Http::default()
        })
    });
    let plain = with(&|_| {});
    let mut policed = groups.clone();
    for g in &mut policed {
        g.policed = true;
        g.members[0].identity.entity = true;
    }
    let mut selector_group = policed.clone();
    selector_group[0].members[0].identity.selector = Some(calint::model::selector::Expr::All);
    let first = |set: &PolicySet, groups: &[Group]| answers(set, groups).remove(0).1;
    assert!(first(&plain, &policed).is_some(), "a plain pair is decided");
    assert!(
        first(&service, &policed).is_none(),
        "services are the solver's"
    );
    assert!(
        first(&http, &policed).is_none(),
        "HTTP criteria are the solver's"
    );
    assert!(
        first(&plain, &selector_group).is_none(),
        "selector groups are the solver's"
    );
}

fn common_rule() -> calint::analysis::ir::CompiledRule {
    calint::analysis::ir::CompiledRule {
        index: 0,
        pointer: "/spec/ingress/0".into(),
        action: calint::model::resource::Action::Allow,
        v4: true,
        v6: true,
        protocol: Some(6),
        not_protocol: None,
        icmp: None,
        not_icmp: None,
        source: Default::default(),
        destination: Default::default(),
        http: None,
    }
}

/// `head`: `base` with one random change — a rule's ports, action or source nets edited, a
/// rule removed or repeated elsewhere, a policy's selector or direction flags changed, two
/// policies swapped in evaluation order, or a tier's default flipped.
fn mutate(base: &PolicySet, g: &mut Gen) -> PolicySet {
    let mut head = base.clone();
    let n = head.policies.len();
    let pi = g.below(n as u64) as usize;
    let kind = g.below(9);
    let p = &mut head.policies[pi];
    let rules = if g.chance(50) {
        &mut p.ingress
    } else {
        &mut p.egress
    };
    let ri = (!rules.is_empty()).then(|| g.below(rules.len() as u64) as usize);
    match (kind, ri) {
        (0, Some(i)) => {
            let lo = g.below(5) as u16;
            rules[i].destination.ports = vec![PortMatch::Range(lo, lo + g.below(3) as u16)];
        }
        (1, Some(i)) => {
            use calint::model::resource::Action;
            rules[i].action = *g.pick(&[Action::Allow, Action::Deny, Action::Pass, Action::Log]);
        }
        (2, Some(i)) => {
            rules.remove(i);
        }
        (3, Some(i)) => {
            let copy = rules[i].clone();
            let at = g.below(rules.len() as u64 + 1) as usize;
            rules.insert(at, copy);
        }
        (4, Some(i)) => {
            rules[i].source.nets = vec![cidr(BASE + g.below(4) as u32, 31)];
        }
        (5, _) => p.selector = common::selector(g),
        (6, _) => {
            p.ingress_applies = !p.ingress_applies;
        }
        (7, _) if n > 1 => {
            let other = (pi + 1) % n;
            head.policies.swap(pi, other);
        }
        _ => {
            if let Some(t) = head.tiers.first_mut() {
                t.default_pass = !t.default_pass;
            }
        }
    }
    head
}

/// `diff`'s change screen (`decided_pair::ChangeScreen`) says a pair is unchanged only when
/// the engine finds the same verdict and allowed list on both sides, over random changes to
/// random policy sets; and it does screen pairs out, also pairs that the change touched.
#[test]
fn change_screen_never_hides_a_change() {
    use calint::analysis::decided_pair::{ChangeScreen, ScreenSide};
    let seeds: u64 = common::env_number("CALINT_CHANGE_CASES", 400);
    let (mut screened, mut changed, mut kept_unchanged) = (0, 0, 0);
    for seed in 0..seeds {
        let mut g = Gen(seed ^ 0xc4a6_e5c3_ee70);
        let mut base = policy_set(seed);
        enrich(&mut base, &mut g);
        let head = mutate(&base, &mut g);
        let groups: Vec<Group> = (0..4)
            .map(|i| decided_group(&mut g, &format!("g{i}")))
            .collect();
        let refs: Vec<&Group> = groups.iter().collect();
        let sel_b: Vec<Vec<bool>> = groups
            .iter()
            .map(|g| g.selectable_narrowed(&base))
            .collect();
        let sel_h: Vec<Vec<bool>> = groups
            .iter()
            .map(|g| g.selectable_narrowed(&head))
            .collect();
        let screen = ChangeScreen::new(
            ScreenSide {
                set: &base,
                groups: &refs,
                selectable: &sel_b,
            },
            ScreenSide {
                set: &head,
                groups: &refs,
                selectable: &sel_h,
            },
        );
        let (inputs_b, inputs_h) = (PairInputs::new(&base, &refs), PairInputs::new(&head, &refs));
        let answer = |inputs: &PairInputs<'_>, pair: (usize, usize)| {
            let (from, to) = inputs.ends(pair).expect("a pair of the list");
            region(
                inputs.set(),
                from,
                to,
                &inputs.rules(pair),
                &WalkCache::new(),
            )
        };
        for pair in policed_pairs(&groups) {
            let (a, b) = pair;
            let (before, after) = (answer(&inputs_b, pair), answer(&inputs_h, pair));
            let unchanged = screen.unchanged(a, b);
            if unchanged {
                screened += 1;
                assert_eq!(
                    before, after,
                    "seed {seed}, g{a} -> g{b}: screened out, but the answers differ\n\
                         base {base:#?}\nhead {head:#?}\ngroups {groups:#?}"
                );
            } else if before != after {
                changed += 1;
            } else {
                kept_unchanged += 1;
            }
        }
    }
    eprintln!("screened {screened}, changed {changed}, solved but unchanged {kept_unchanged}");
    assert!(
        screened > 500 && changed > 100,
        "{screened} screened, {changed} changed"
    );
}
