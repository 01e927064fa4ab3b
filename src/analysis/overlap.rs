//! Interval prefilter over the match fields of two rules: IP family, protocol, and each
//! side's nets and numeric ports seen as intervals. [`may_overlap`] answers `false` only when
//! no packet can match both rules, so a caller may skip a solver query (or leave a rule out
//! of a solver frame) on `false`; `true` promises nothing. Selectors, named ports, services
//! and HTTP paths are not looked at (they can only make the answer `true`).
//!
//! The facts used are those both the Z3 encoding and [`super::concrete`] share: a rule with
//! `nets` matches only addresses inside one of them (of that net's family), `notNets` none
//! inside any, numeric `ports` only ports inside one range, `notPorts` none inside any;
//! `icmp`/`notICMP` with a type means the ICMP protocol of the family (1 or 58), `http`
//! means TCP.

use super::ir::{CompiledRule, Entity, PortMatch};
use crate::model::net::Cidr;

/// Whether some packet may match both `a` and `b` (`false` is a proof that none does).
pub(crate) fn may_overlap(a: &CompiledRule, b: &CompiledRule) -> bool {
    families_overlap(a, b)
        && protocols_overlap(a, b)
        && protocols_overlap(b, a)
        && entities_overlap(&a.source, &b.source)
        && entities_overlap(&a.destination, &b.destination)
}

fn families_overlap(a: &CompiledRule, b: &CompiledRule) -> bool {
    (a.v4 && b.v4) || (a.v6 && b.v6)
}

/// The protocols `b` requires are not excluded by `a` (one direction of the check).
fn protocols_overlap(a: &CompiledRule, b: &CompiledRule) -> bool {
    if let (Some(x), Some(y)) = (a.protocol, b.protocol) {
        if x != y {
            return false;
        }
    }
    if let (Some(x), Some(y)) = (a.protocol, b.not_protocol) {
        if x == y {
            return false;
        }
    }
    // `icmp` matches ICMP packets only (protocol 1 for IPv4, 58 for IPv6).
    if a.icmp.is_some() && b.protocol.is_some_and(|p| p != 1 && p != 58) {
        return false;
    }
    // `http` matches TCP packets only.
    if a.http.is_some() && b.protocol.is_some_and(|p| p != 6) {
        return false;
    }
    true
}

fn cidrs_intersect(x: &Cidr, y: &Cidr) -> bool {
    x.family == y.family && x.first() <= y.last() && y.first() <= x.last()
}

/// Numeric ranges of a port list, or `None` when it names a port (whose number the
/// endpoint decides).
fn ranges(ports: &[PortMatch]) -> Option<Vec<(u16, u16)>> {
    ports
        .iter()
        .map(|p| match p {
            PortMatch::Range(lo, hi) => Some((*lo, *hi)),
            PortMatch::Named(_) => None,
        })
        .collect()
}

fn entities_overlap(a: &Entity, b: &Entity) -> bool {
    nets_overlap(a, b) && nets_overlap(b, a) && ports_overlap(a, b) && ports_overlap(b, a)
}

/// The addresses `a.nets` allows are not all excluded by `b` (one direction).
fn nets_overlap(a: &Entity, b: &Entity) -> bool {
    if a.nets.is_empty() {
        return true;
    }
    if !b.nets.is_empty()
        && !a
            .nets
            .iter()
            .any(|x| b.nets.iter().any(|y| cidrs_intersect(x, y)))
    {
        return false;
    }
    // Every net of `a` lies inside one of `b`'s `notNets`.
    !a.nets
        .iter()
        .all(|x| b.not_nets.iter().any(|y| y.contains(*x)))
}

/// The ports `a.ports` allows are not all excluded by `b` (one direction).
fn ports_overlap(a: &Entity, b: &Entity) -> bool {
    let Some(ra) = ranges(&a.ports).filter(|r| !r.is_empty()) else {
        return true;
    };
    if let Some(rb) = ranges(&b.ports).filter(|r| !r.is_empty()) {
        if !ra
            .iter()
            .any(|x| rb.iter().any(|y| x.0 <= y.1 && y.0 <= x.1))
        {
            return false;
        }
    }
    // Every range of `a` lies inside one numeric range of `b`'s `notPorts`.
    let not_b: Vec<(u16, u16)> = b
        .not_ports
        .iter()
        .filter_map(|p| match p {
            PortMatch::Range(lo, hi) => Some((*lo, *hi)),
            PortMatch::Named(_) => None,
        })
        .collect();
    !ra.iter()
        .all(|x| not_b.iter().any(|y| y.0 <= x.0 && x.1 <= y.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::concrete::{Packet, Side, rule_matches};
    use crate::model::net::parse_cidr;
    use crate::model::resource::Action;

    fn rule(protocol: Option<u8>, nets: &[&str], ports: &[(u16, u16)]) -> CompiledRule {
        CompiledRule {
            index: 0,
            pointer: crate::pointer::Pointer::root(),
            action: Action::Allow,
            v4: true,
            v6: true,
            protocol,
            not_protocol: None,
            icmp: None,
            not_icmp: None,
            source: Entity {
                nets: nets.iter().map(|n| parse_cidr(n).expect("cidr")).collect(),
                ..Entity::default()
            },
            destination: Entity {
                ports: ports.iter().map(|&(l, h)| PortMatch::Range(l, h)).collect(),
                ..Entity::default()
            },
            http: None,
        }
    }

    #[test]
    fn disjoint_fields_are_recognised() {
        let a = rule(Some(6), &["10.0.0.0/8"], &[(80, 80)]);
        assert!(may_overlap(
            &a,
            &rule(Some(6), &["10.1.0.0/16"], &[(70, 90)])
        ));
        assert!(!may_overlap(
            &a,
            &rule(Some(17), &["10.1.0.0/16"], &[(80, 80)])
        ));
        assert!(!may_overlap(
            &a,
            &rule(Some(6), &["11.0.0.0/8"], &[(80, 80)])
        ));
        assert!(!may_overlap(
            &a,
            &rule(Some(6), &["10.0.0.0/8"], &[(81, 90)])
        ));
        assert!(!may_overlap(
            &a,
            &rule(Some(6), &["2001:db8::/32"], &[(80, 80)])
        ));
        let mut b = rule(None, &[], &[]);
        b.source.not_nets = vec![parse_cidr("10.0.0.0/7").expect("cidr")];
        assert!(!may_overlap(&a, &b));
        b.source.not_nets = vec![parse_cidr("10.0.0.0/9").expect("cidr")];
        assert!(may_overlap(&a, &b));
        let mut c = rule(None, &[], &[]);
        c.destination.not_ports = vec![PortMatch::Range(1, 100)];
        assert!(!may_overlap(&a, &c));
        c.destination.ports = vec![PortMatch::Named("http".into())];
        c.destination.not_ports = vec![];
        assert!(may_overlap(&a, &c));
    }

    /// `false` is a proof: brute force over a small packet space finds no common packet.
    #[test]
    fn a_negative_answer_is_never_wrong() {
        let nets = [
            "10.0.0.0/8",
            "10.0.0.0/30",
            "10.0.0.2/31",
            "11.0.0.0/8",
            "0.0.0.0/0",
        ];
        let port_sets: [&[(u16, u16)]; 4] = [&[], &[(1, 2)], &[(2, 3)], &[(4, 4), (1, 1)]];
        let mut rules = Vec::new();
        for proto in [None, Some(6), Some(17)] {
            for n in &nets {
                for ps in &port_sets {
                    rules.push(rule(proto, &[n], ps));
                    let mut r = rule(proto, &[], ps);
                    r.source.not_nets = vec![parse_cidr(n).expect("cidr")];
                    rules.push(r);
                }
            }
        }
        let packets: Vec<Packet> = [6u8, 17]
            .iter()
            .flat_map(|&protocol| {
                [
                    0x0A00_0001u128,
                    0x0A00_0002,
                    0x0A00_0003,
                    0x0B00_0000,
                    0x0C00_0000,
                ]
                .into_iter()
                .flat_map(move |ip| {
                    (0u16..=5).map(move |port| Packet {
                        protocol,
                        src: Side {
                            ip,
                            ..Side::default()
                        },
                        dst: Side {
                            port,
                            ..Side::default()
                        },
                        ..Packet::default()
                    })
                })
            })
            .collect();
        for a in &rules {
            for b in &rules {
                if !may_overlap(a, b) {
                    assert!(
                        !packets
                            .iter()
                            .any(|p| rule_matches(a, p) && rule_matches(b, p)),
                        "{a:?} / {b:?}"
                    );
                }
            }
        }
    }
}
