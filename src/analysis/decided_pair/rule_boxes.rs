//! A rule of a decided pair as boxes: what is left of it once the two members' labels have
//! decided its selectors (a condition on the packet's fields, per IP family), and the test
//! of whether the labels decide it at all.

use super::{Pair, Side, everything, icmp_protocol};
use crate::analysis::groups::{Member, labels_decide};
use crate::analysis::ir::{CompiledRule, Entity, Icmp, PortMatch};
use crate::analysis::region::{Box7, FIELDS, Field, Values};
use crate::model::net::IpFamily;

/// Whether the entity part `e` of a rule may match a packet on the side of a member with
/// identity `id`, as far as its selectors go: its selector holds and its `notSelector` does
/// not (an address outside every entity matches no selector). `None`: the labels do not
/// decide a selector, or `e` names a service (left to the solver).
fn labels_admit(id: &crate::analysis::groups::Identity, e: &Entity) -> Option<bool> {
    if let Some(sel) = &e.selector {
        if !(id.entity && labels_decide(id, sel)?) {
            return Some(false);
        }
    }
    if let Some(sel) = &e.not_selector {
        if id.entity && labels_decide(id, sel)? {
            return Some(false);
        }
    }
    if e.service.is_some() {
        return None;
    }
    Some(true)
}

impl Pair<'_> {
    /// Whether `r` may match a packet of this family between the two members, as far as
    /// their labels go (`None`: undecided): [`Pair::rule`]'s decisions, in its order, without
    /// building boxes. When it is `Some(true)`, the boxes depend only on the rule, the family
    /// and what the ends declare besides labels.
    pub(super) fn takes_part(&self, r: &CompiledRule) -> Option<bool> {
        let rendered = match self.fam {
            IpFamily::V4 => r.v4,
            IpFamily::V6 => r.v6,
        };
        if !rendered {
            return Some(false);
        }
        if r.http.is_some() {
            return None;
        }
        for (side, e) in [(Side::Src, &r.source), (Side::Dst, &r.destination)] {
            let id = &self.member(side).identity;
            if !labels_admit(id, e)? {
                return Some(false);
            }
            let named = e
                .ports
                .iter()
                .chain(&e.not_ports)
                .any(|p| matches!(p, PortMatch::Named(_)));
            if named && id.entity && self.member(side).named_ports.is_none() {
                return None;
            }
        }
        Some(true)
    }

    /// The packets of this family `r` matches, as a union of boxes (`None`: undecided).
    pub(super) fn rule(&self, r: &CompiledRule) -> Option<Vec<Box7>> {
        let rendered = match self.fam {
            IpFamily::V4 => r.v4,
            IpFamily::V6 => r.v6,
        };
        if !rendered {
            return Some(Vec::new());
        }
        if r.http.is_some() {
            return None;
        }
        let mut base = everything();
        if let Some(p) = r.protocol {
            base.narrow(Field::Protocol, &Values::single(u128::from(p)));
        }
        if let Some(p) = r.not_protocol {
            base.exclude(Field::Protocol, &Values::single(u128::from(p)));
        }
        if let Some(m) = &r.icmp {
            for (f, v) in self.icmp_fields(m) {
                base.narrow(f, &v);
            }
        }
        let mut alternatives: Vec<Vec<Box7>> = Vec::new();
        if let Some(m) = &r.not_icmp {
            alternatives.push(self.not_icmp(m));
        }
        for (side, e) in [(Side::Src, &r.source), (Side::Dst, &r.destination)] {
            if !self.entity(side, e, &mut base, &mut alternatives)? {
                return Some(Vec::new());
            }
        }
        let mut boxes = vec![base];
        for alts in alternatives {
            let mut next = Vec::new();
            for b in &boxes {
                for a in &alts {
                    let mut both = b.clone();
                    for f in 0..FIELDS {
                        both.0[f] = both.0[f].intersect(&a.0[f]);
                    }
                    if !both.is_empty() {
                        next.push(both);
                    }
                }
            }
            boxes = next;
        }
        boxes.retain(|b| !b.is_empty());
        Some(boxes)
    }

    /// The ICMP fields a match fixes: the family's ICMP protocol, and type and code if given.
    pub(super) fn icmp_fields(&self, m: &Icmp) -> Vec<(Field, Values)> {
        let mut out = vec![(Field::Protocol, Values::single(icmp_protocol(self.fam)))];
        if let Some(t) = m.icmp_type {
            out.push((Field::IcmpType, Values::single(u128::from(t))));
        }
        if let Some(c) = m.code {
            out.push((Field::IcmpCode, Values::single(u128::from(c))));
        }
        out
    }

    /// Every packet that is not an ICMP packet of the family with `m`'s type and code: not
    /// that protocol, or that protocol but another type, or that type but another code.
    pub(super) fn not_icmp(&self, m: &Icmp) -> Vec<Box7> {
        let fields = self.icmp_fields(m);
        (0..fields.len())
            .filter_map(|i| {
                let mut b = everything();
                for (j, (f, v)) in fields.iter().enumerate() {
                    if j < i {
                        b.narrow(*f, v);
                    } else if j == i {
                        b.exclude(*f, v);
                    }
                }
                (!b.is_empty()).then_some(b)
            })
            .collect()
    }

    /// Narrow `base` by the entity part of a rule on `side`, and add its port alternatives;
    /// `Some(false)`: the entity matches no packet of the pair; `None`: undecided.
    pub(super) fn entity(
        &self,
        side: Side,
        e: &Entity,
        base: &mut Box7,
        alternatives: &mut Vec<Vec<Box7>>,
    ) -> Option<bool> {
        let m = self.member(side);
        if !labels_admit(&m.identity, e)? {
            return Some(false);
        }
        let ip = self.ip_field(side);
        if !e.nets.is_empty() {
            base.narrow(ip, &self.addresses(&e.nets));
        }
        base.exclude(ip, &self.addresses(&e.not_nets));
        let port = match side {
            Side::Src => Field::SrcPort,
            Side::Dst => Field::DstPort,
        };
        if !e.ports.is_empty() {
            // Ranges match whatever the protocol: one box for all of them; a named port fixes
            // its protocol: one box each.
            let mut ranges = Vec::new();
            let mut alts = Vec::new();
            for pm in &e.ports {
                match self.port_term(m, pm)? {
                    Some((None, v)) => ranges.extend_from_slice(v.ranges()),
                    Some((Some(p), v)) => {
                        let mut b = everything();
                        b.narrow(Field::Protocol, &Values::single(u128::from(p)));
                        b.narrow(port, &v);
                        alts.push(b);
                    }
                    None => {}
                }
            }
            if !ranges.is_empty() {
                let mut b = everything();
                b.narrow(port, &Values::from_ranges(ranges));
                alts.push(b);
            }
            if alts.is_empty() {
                return Some(false);
            }
            alternatives.push(alts);
        }
        if !e.not_ports.is_empty() {
            alternatives.push(self.not_ports(m, &e.not_ports, port)?);
        }
        Some(true)
    }

    /// The packets a port match admits: (protocol if the match fixes one, ports); `Some(None)`
    /// when it admits none.
    #[allow(clippy::type_complexity)]
    pub(super) fn port_term(
        &self,
        m: &Member,
        pm: &PortMatch,
    ) -> Option<Option<(Option<u8>, Values)>> {
        Some(match pm {
            PortMatch::Range(lo, hi) => {
                Some((None, Values::range(u128::from(*lo), u128::from(*hi))))
            }
            PortMatch::Named(name) => {
                if !m.identity.entity {
                    return Some(None);
                }
                m.named_ports
                    .as_ref()?
                    .get(name)
                    .map(|(p, port)| (Some(*p), Values::single(u128::from(*port))))
            }
        })
    }

    /// Packets whose port on the side is none of `not_ports`: per protocol a named port
    /// names, the ports neither a range nor such a named port covers; for every other
    /// protocol, the ports no range covers.
    pub(super) fn not_ports(
        &self,
        m: &Member,
        not_ports: &[PortMatch],
        port: Field,
    ) -> Option<Vec<Box7>> {
        let mut ranges = Values::empty();
        let mut named: Vec<(u8, Values)> = Vec::new();
        for pm in not_ports {
            match self.port_term(m, pm)? {
                Some((None, v)) => {
                    ranges = Values::from_ranges(ranges.ranges().iter().chain(v.ranges()).copied())
                }
                Some((Some(p), v)) => named.push((p, v)),
                None => {}
            }
        }
        let all_ports = Values::range(0, u128::from(u16::MAX));
        let mut protocols: Vec<u8> = named.iter().map(|(p, _)| *p).collect();
        protocols.sort_unstable();
        protocols.dedup();
        let mut out = Vec::new();
        for p in &protocols {
            let excluded = Values::from_ranges(
                ranges.ranges().iter().copied().chain(
                    named
                        .iter()
                        .filter(|(q, _)| q == p)
                        .flat_map(|(_, v)| v.ranges().to_vec()),
                ),
            );
            let mut b = everything();
            b.narrow(Field::Protocol, &Values::single(u128::from(*p)));
            b.narrow(port, &all_ports.minus(&excluded));
            out.push(b);
        }
        let mut rest = everything();
        rest.exclude(
            Field::Protocol,
            &Values::from_ranges(protocols.iter().map(|p| (u128::from(*p), u128::from(*p)))),
        );
        rest.narrow(port, &all_ports.minus(&ranges));
        out.push(rest);
        out.retain(|b| !b.is_empty());
        Some(out)
    }
}
