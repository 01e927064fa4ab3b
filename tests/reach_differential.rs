//! `reach` verdicts and allowed TCP ports against the concrete evaluator, exhaustively, on
//! small random policy sets and groups (selector groups, groups with known labels, outside
//! address ranges).

mod common;

use calint::analysis::concrete::{Packet, Side, evaluate};
use calint::analysis::groups::{Group, GroupKind, Identity, Member};
use calint::analysis::ir::PolicySet;
use calint::analysis::reach::{ReachOptions, Verdict, reach};
use calint::model::net::{Cidr, IpFamily};
use calint::model::resource::Direction;
use common::{BASE, Gen, KEYS, policy_set, selector};
use std::collections::BTreeMap;

fn label_maps() -> Vec<BTreeMap<String, String>> {
    let mut maps = vec![BTreeMap::new()];
    for k in KEYS {
        let mut next = Vec::new();
        for m in &maps {
            for v in [None, Some("x"), Some("y"), Some("z")] {
                let mut m: BTreeMap<String, String> = m.clone();
                if let Some(v) = v {
                    m.insert(k.to_string(), v.to_string());
                }
                next.push(m);
            }
        }
        maps = next;
    }
    maps
}

fn random_group(g: &mut Gen, name: &str) -> Group {
    let maps = label_maps();
    let (identity, nets, policed) = match g.below(3) {
        0 => (
            Identity {
                entity: true,
                fixed: BTreeMap::new(),
                closed: false,
                open_prefixes: vec![],
                closed_prefixes: vec![],
                selector: Some(selector(g)),
            },
            vec![],
            true,
        ),
        1 => (
            Identity {
                entity: true,
                fixed: g.pick(&maps).clone(),
                closed: true,
                open_prefixes: vec![],
                closed_prefixes: vec![],
                selector: None,
            },
            vec![],
            true,
        ),
        _ => {
            let c = *g.pick(&[
                Cidr {
                    family: IpFamily::V4,
                    addr: u128::from(BASE),
                    prefix: 31,
                },
                Cidr {
                    family: IpFamily::V4,
                    addr: u128::from(BASE + 2),
                    prefix: 32,
                },
                Cidr {
                    family: IpFamily::V4,
                    addr: u128::from(BASE),
                    prefix: 30,
                },
            ]);
            (
                Identity {
                    entity: false,
                    fixed: BTreeMap::new(),
                    closed: true,
                    open_prefixes: vec![],
                    closed_prefixes: vec![],
                    selector: None,
                },
                vec![c],
                false,
            )
        }
    };
    Group {
        name: name.into(),
        kind: if policed {
            GroupKind::Selector
        } else {
            GroupKind::Net
        },
        policed,
        concrete: !policed,
        members: vec![Member {
            identity,
            nets,
            not_nets: vec![],
            named_ports: Some(BTreeMap::new()),
        }],
        resource: None,
    }
}

fn member(g: &Group, s: &Side, v6: bool) -> bool {
    g.members.iter().any(|m| {
        let id = &m.identity;
        let identity_ok = if !id.entity {
            !s.is_entity
        } else {
            s.is_entity
                && (!id.closed || s.labels == id.fixed)
                && id.selector.as_ref().is_none_or(|e| e.eval(&s.labels))
        };
        let ip_ok = m.nets.is_empty()
            || m.nets
                .iter()
                .any(|c| c.contains_addr(if v6 { IpFamily::V6 } else { IpFamily::V4 }, s.ip));
        identity_ok && ip_ok
    })
}

fn sides() -> Vec<(bool, Side)> {
    let mut out = Vec::new();
    let ips: Vec<(bool, u128)> = [BASE, BASE + 1, BASE + 2, BASE + 3, 0x0b00_0000]
        .iter()
        .map(|a| (false, u128::from(*a)))
        .chain([(true, 1u128)])
        .collect();
    for (v6, ip) in ips {
        out.push((
            v6,
            Side {
                is_entity: false,
                ip,
                port: 1000,
                ..Side::default()
            },
        ));
        for labels in label_maps() {
            out.push((
                v6,
                Side {
                    is_entity: true,
                    labels,
                    ip,
                    port: 1000,
                    ..Side::default()
                },
            ));
        }
    }
    out
}

/// (verdict, TCP port classes 1..=5 where something is allowed; 5 stands for every other port)
fn brute(set: &PolicySet, from: &Group, to: &Group) -> (Option<Verdict>, Vec<u16>) {
    let (mut any_allowed, mut any_denied) = (false, false);
    let mut tcp_ports = std::collections::BTreeSet::new();
    let all = sides();
    for (v6, src) in all.iter().filter(|(v6, s)| member(from, s, *v6)) {
        for (_, dst) in all.iter().filter(|(d6, s)| d6 == v6 && member(to, s, *v6)) {
            for protocol in [6u8, 17, 1] {
                for port in 1..=5u16 {
                    let mut dst = dst.clone();
                    dst.port = port;
                    let pkt = Packet {
                        v6: *v6,
                        protocol,
                        src: src.clone(),
                        dst,
                        ..Packet::default()
                    };
                    let egress =
                        !from.policed || evaluate(set, Direction::Egress, &pkt, |_| {}).allowed();
                    let ingress =
                        !to.policed || evaluate(set, Direction::Ingress, &pkt, |_| {}).allowed();
                    if egress && ingress {
                        any_allowed = true;
                        if protocol == 6 {
                            tcp_ports.insert(port);
                        }
                    } else {
                        any_denied = true;
                    }
                }
            }
        }
    }
    let verdict = match (any_allowed, any_denied) {
        (true, false) => Some(Verdict::Allowed),
        (false, true) => Some(Verdict::Denied),
        (true, true) => Some(Verdict::Partial),
        (false, false) => None, // an empty group: nothing to compare
    };
    (verdict, tcp_ports.into_iter().collect())
}

fn solver(set: &PolicySet, from: &Group, to: &Group) -> (Verdict, Vec<u16>) {
    let r = reach(
        set,
        from,
        to,
        &ReachOptions {
            protocol: None,
            port: None,
            timeout_ms: 20_000,
        },
    );
    assert_eq!(r.undecided, 0);
    let tcp = r
        .allowed
        .iter()
        .find(|(p, _)| *p == calint::model::port::FlowProtocol::Number(6))
        .and_then(|(_, ports)| ports.clone())
        .unwrap_or_default();
    let classes: Vec<u16> = (1..=5u16)
        .filter(|&p| {
            let probe = if p == 5 { [5u16, 65535, 0] } else { [p, p, p] };
            probe
                .iter()
                .any(|x| tcp.iter().any(|(lo, hi)| lo <= x && x <= hi))
        })
        .collect();
    (r.verdict, classes)
}

#[test]
fn reach_agrees_with_exhaustive_evaluation() {
    let cases: u64 = common::env_number("CALINT_REACH_CASES", 12);
    let mut compared = 0;
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..cases {
        let set = policy_set(seed);
        let mut g = Gen(seed ^ 0xdead_beef);
        let from = random_group(&mut g, "from");
        let to = random_group(&mut g, "to");
        if !from.policed && !to.policed {
            continue;
        }
        let (expected, ports) = brute(&set, &from, &to);
        let Some(expected) = expected else { continue };
        let (verdict, solver_ports) = solver(&set, &from, &to);
        assert_eq!(
            verdict, expected,
            "seed {seed}: verdict\n{from:#?}\n{to:#?}\n{set:#?}"
        );
        assert_eq!(
            solver_ports, ports,
            "seed {seed}: allowed TCP ports\n{from:#?}\n{to:#?}\n{set:#?}"
        );
        compared += 1;
        seen.insert(verdict.as_str());
    }
    eprintln!("compared {compared} cases, verdicts seen: {seen:?}");
    assert!(
        compared >= cases as usize / 3,
        "too few comparable cases: {compared}"
    );
    assert!(
        seen.len() == 3 || cases < 12,
        "every verdict should occur: {seen:?}"
    );
}
