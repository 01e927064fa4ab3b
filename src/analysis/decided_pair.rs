//! Pairs of endpoints whose labels decide every selector, answered without the solver.
//!
//! For a discovered workload (one member, labels all known) every policy selector and peer
//! selector is a constant, so each rule of the pair's verdict is a condition on the packet's
//! fields only: a union of boxes ([`super::region`]). Walking the sender's egress chain, then
//! the receiver's ingress chain over the pieces egress allows, splits the pair's whole packet
//! space (both IP families) into pieces decided alike: exactly the allowed region, with the
//! semantics of `analysis::concrete` (which the solver is tested against), at the cost of the
//! rules that cut the region. Anything the labels do not decide (a selector group, a service,
//! a named port of an end whose ports are unknown, HTTP criteria), or a walk over the work
//! budget, answers `None` and the caller asks the solver; the budget counts steps, never time,
//! so the choice is the same on every machine.

use super::classes::Chain;
use super::groups::{Group, Member, labels_decide};
use super::ir::{CompiledRule, Entity, Icmp, PolicySet, PortMatch};
use super::pair_rules::{PairRules, RuleMask};
use super::reach::{AllowedProtocol, NAMED_PROTOCOLS, Verdict};
use super::region::{Box7, Entry, FIELDS, Field, Step, TierEntries, Values, coalesce, walk};
use crate::model::net::IpFamily;
use crate::model::port::FlowProtocol;
use crate::model::resource::{Action, Direction};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Pairs of pieces one pair may meet (both families) before the solver takes over.
const BUDGET: u64 = 2_000_000;

const PORT_PROTOCOLS: [u8; 3] = [6, 17, 132];

/// What a decided pair allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairRegion {
    /// Some packet is allowed / some packet is denied.
    pub any_allowed: bool,
    pub any_denied: bool,
    /// Protocols of the allowed packets.
    protocols: Values,
    /// Allowed destination ports of TCP, UDP and SCTP packets.
    ports: [Values; 3],
}

impl PairRegion {
    pub fn verdict(&self) -> Verdict {
        match (self.any_allowed, self.any_denied) {
            (false, _) => Verdict::Denied,
            (true, false) => Verdict::Allowed,
            (true, true) => Verdict::Partial,
        }
    }

    /// The allowed list as `reach::allowed_list` gives it: protocol `protocol` only when
    /// given (otherwise the named protocols, then `0` for every other), destination ports of
    /// the port protocols within `ports`.
    pub fn allowed(&self, protocol: Option<u8>, ports: Option<(u16, u16)>) -> Vec<AllowedProtocol> {
        let (lo, hi) = ports.unwrap_or((0, u16::MAX));
        let within = Values::range(u128::from(lo), u128::from(hi));
        let asked: Vec<u8> = match protocol {
            Some(p) => vec![p],
            None => NAMED_PROTOCOLS.to_vec(),
        };
        let mut out = Vec::new();
        for p in asked {
            if let Some(i) = PORT_PROTOCOLS.iter().position(|x| *x == p) {
                let open = self.ports.get(i).map(|v| v.intersect(&within));
                let ranges: Vec<(u16, u16)> = open
                    .iter()
                    .flat_map(|v| v.ranges())
                    .filter_map(|&(a, b)| Some((u16::try_from(a).ok()?, u16::try_from(b).ok()?)))
                    .collect();
                if !ranges.is_empty() {
                    out.push((FlowProtocol::Number(p), Some(ranges)));
                }
            } else if self.protocols.contains(u128::from(p)) {
                out.push((FlowProtocol::Number(p), None));
            }
        }
        let named = Values::from_ranges(
            NAMED_PROTOCOLS
                .iter()
                .map(|p| (u128::from(*p), u128::from(*p))),
        );
        if protocol.is_none() && !self.protocols.minus(&named).is_empty() {
            out.push((FlowProtocol::Other, None));
        }
        out
    }
}

/// The single member of a group whose labels decide every selector, if it has one.
fn decided_member(g: &Group) -> Option<&Member> {
    match g.members.as_slice() {
        [m] if !m.identity.entity || m.identity.selector.is_none() => Some(m),
        _ => None,
    }
}

/// Walks already done, shared by every pair of one run (across threads): a direction's walk
/// depends only on [`WalkKey`], so pairs whose sender (or receiver) sees the same rules over
/// the same space reuse it. Answers do not depend on which pair walked first, nor on what the
/// cache still holds: when it would hold more than [`CACHED_PIECES`] pieces it is emptied,
/// which bounds memory and costs only walks done again.
#[derive(Default)]
pub struct WalkCache {
    walks: Mutex<CachedWalks>,
}

#[derive(Default)]
struct CachedWalks {
    walks: HashMap<WalkKey, Arc<Walked>>,
    pieces: usize,
}

/// Pieces the cache may hold (each a few hundred bytes: about half a GiB at most).
const CACHED_PIECES: usize = 1_000_000;

impl WalkCache {
    pub fn new() -> WalkCache {
        WalkCache::default()
    }

    fn get_or_walk(&self, key: WalkKey, walk: impl FnOnce(&WalkKey) -> Walked) -> Arc<Walked> {
        if let Some(w) = self
            .walks
            .lock()
            .ok()
            .and_then(|c| c.walks.get(&key).cloned())
        {
            return w;
        }
        let w = Arc::new(walk(&key));
        let pieces = w.allowed.as_ref().map_or(0, Vec::len) + 1;
        if let Ok(mut c) = self.walks.lock() {
            if c.pieces + pieces > CACHED_PIECES {
                c.walks.clear();
                c.pieces = 0;
            }
            if !c.walks.contains_key(&key) {
                c.pieces += pieces;
                c.walks.insert(key, w.clone());
            }
        }
        w
    }
}

/// What one direction's walk depends on: the direction and family, the pair's space, what
/// the two ends declare besides labels (entity or not, named ports), and the rules taking
/// part, tier by tier, with each tier's end.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WalkKey {
    d: Direction,
    fam: IpFamily,
    space: Box7,
    ends: [(bool, Option<BTreeMap<String, (u8, u16)>>); 2],
    tiers: Vec<(Vec<(usize, usize)>, Step)>,
}

/// One direction's answer over the pair's space: the allowed pieces, whether some packet is
/// denied; `None` pieces: the walk ran out of work.
struct Walked {
    allowed: Option<Vec<Piece>>,
    any_denied: bool,
}

/// An allowed piece, with a summary of its protocols and destination ports that rules most
/// pairs of pieces out at once ([`Piece::may_meet`]).
struct Piece {
    region: Box7,
    /// Bit 0-2: TCP, UDP, SCTP; bit 3: any other protocol.
    protocols: u8,
    /// Bit `i`: some destination port in `[1024 i, 1024 i + 1023]`.
    ports: u64,
}

impl Piece {
    fn new(region: Box7) -> Piece {
        let p = region.get(Field::Protocol);
        let mut protocols = 0u8;
        for (bit, proto) in PORT_PROTOCOLS.iter().enumerate() {
            if p.contains(u128::from(*proto)) {
                protocols |= 1 << bit;
            }
        }
        let ports_only = Values::from_ranges(
            PORT_PROTOCOLS
                .iter()
                .map(|x| (u128::from(*x), u128::from(*x))),
        );
        if !p.within(&ports_only) {
            protocols |= 1 << 3;
        }
        let mut ports = 0u64;
        for &(lo, hi) in region.get(Field::DstPort).ranges() {
            let (a, b) = ((lo >> 10).min(63), (hi >> 10).min(63));
            for bucket in a..=b {
                ports |= 1 << bucket;
            }
        }
        Piece {
            region,
            protocols,
            ports,
        }
    }

    /// False only when the two pieces share no packet.
    fn may_meet(&self, other: &Piece) -> bool {
        self.protocols & other.protocols != 0 && self.ports & other.ports != 0
    }
}

/// Steps one direction's walk may take before the solver takes over the pair.
const WALK_BUDGET: u64 = 1_000_000;

/// The allowed region of the pair (`from` may be selected by the policies `fp` marks, `to`
/// by `tp`; `rules` keeps the rules that may match its packets), reusing and adding to
/// `cache`'s walks. `None`: something is not decided by the labels, or a walk or the meeting
/// of the two directions ran over its budget.
pub fn region(
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    cache: &WalkCache,
) -> Option<PairRegion> {
    let (src, dst) = (decided_member(from)?, decided_member(to)?);
    let mut acc = Accumulator::default();
    let mut budget = BUDGET;
    for fam in [IpFamily::V4, IpFamily::V6] {
        let pair = Pair { fam, src, dst };
        let space = pair.space();
        if space.is_empty() {
            continue;
        }
        let direction = |policed: bool, d: Direction, candidates: &[bool], mask: &RuleMask| {
            if !policed {
                return Some(Arc::new(Walked {
                    allowed: Some(vec![Piece::new(space.clone())]),
                    any_denied: false,
                }));
            }
            let key = WalkKey {
                d,
                fam,
                space: space.clone(),
                ends: [src, dst].map(|m| (m.identity.entity, m.named_ports.clone())),
                tiers: pair.chain(set, d, candidates, mask)?,
            };
            let walked = cache.get_or_walk(key, |key| pair.walk(set, key));
            walked.allowed.is_some().then_some(walked)
        };
        let egress = direction(from.policed, Direction::Egress, fp, &rules.egress)?;
        let ingress = direction(to.policed, Direction::Ingress, tp, &rules.ingress)?;
        acc.any_denied |= egress.any_denied || ingress.any_denied;
        let (Some(out), Some(into)) = (&egress.allowed, &ingress.allowed) else {
            return None;
        };
        for e in out {
            for i in into.iter().filter(|i| e.may_meet(i)) {
                budget = budget.checked_sub(1)?;
                let (e, i) = (&e.region, &i.region);
                if (0..FIELDS).all(|f| e.0[f].meets(&i.0[f])) {
                    let protocols = e.get(Field::Protocol).intersect(i.get(Field::Protocol));
                    let ports = e.get(Field::DstPort).intersect(i.get(Field::DstPort));
                    acc.allowed(&protocols, &ports);
                }
            }
        }
    }
    Some(acc.finish())
}

/// Pieces decided so far.
#[derive(Default)]
struct Accumulator {
    any_allowed: bool,
    any_denied: bool,
    protocols: Vec<(u128, u128)>,
    ports: [Vec<(u128, u128)>; 3],
}

impl Accumulator {
    /// Some packet of these protocols, and (for a port protocol) these destination ports, is
    /// allowed.
    fn allowed(&mut self, protocols: &Values, ports: &Values) {
        self.any_allowed = true;
        self.protocols.extend_from_slice(protocols.ranges());
        for (i, p) in PORT_PROTOCOLS.iter().enumerate() {
            if protocols.contains(u128::from(*p)) {
                if let Some(acc) = self.ports.get_mut(i) {
                    acc.extend_from_slice(ports.ranges());
                }
            }
        }
    }

    fn finish(self) -> PairRegion {
        PairRegion {
            any_allowed: self.any_allowed,
            any_denied: self.any_denied,
            protocols: Values::from_ranges(self.protocols),
            ports: self.ports.map(Values::from_ranges),
        }
    }
}

/// One IP family of a pair of decided members.
struct Pair<'m> {
    fam: IpFamily,
    src: &'m Member,
    dst: &'m Member,
}

fn everything() -> Box7 {
    let byte = || Values::range(0, 255);
    let port = || Values::range(0, u128::from(u16::MAX));
    let ip = || Values::range(0, u128::MAX);
    Box7([byte(), byte(), byte(), ip(), ip(), port(), port()])
}

fn icmp_protocol(fam: IpFamily) -> u128 {
    match fam {
        IpFamily::V4 => 1,
        IpFamily::V6 => 58,
    }
}

impl Pair<'_> {
    fn ip_field(&self, side: Side) -> Field {
        match side {
            Side::Src => Field::SrcIp,
            Side::Dst => Field::DstIp,
        }
    }

    fn member(&self, side: Side) -> &Member {
        match side {
            Side::Src => self.src,
            Side::Dst => self.dst,
        }
    }

    /// The addresses of `nets` in this family.
    fn addresses(&self, nets: &[crate::model::net::Cidr]) -> Values {
        Values::from_ranges(
            nets.iter()
                .filter(|c| c.family == self.fam)
                .map(|c| (c.first(), c.last())),
        )
    }

    /// Every packet of the family between the two members.
    fn space(&self) -> Box7 {
        let mut b = everything();
        let family = Values::range(0, u128::MAX >> (128 - u32::from(self.fam.bits())));
        for side in [Side::Src, Side::Dst] {
            let (m, f) = (self.member(side), self.ip_field(side));
            b.narrow(f, &family);
            if !m.nets.is_empty() {
                b.narrow(f, &self.addresses(&m.nets));
            }
            b.exclude(f, &self.addresses(&m.not_nets));
        }
        b
    }

    /// The applying tiers of direction `d` at the local end: the rules taking part (policy
    /// index, position in the direction's list) and the tier's end; `None`: undecided.
    #[allow(clippy::type_complexity)]
    fn chain(
        &self,
        set: &PolicySet,
        d: Direction,
        candidates: &[bool],
        mask: &RuleMask,
    ) -> Option<Vec<(Vec<(usize, usize)>, Step)>> {
        let local = match d {
            Direction::Egress => self.src,
            Direction::Ingress => self.dst,
        };
        let mut out = Vec::new();
        for tier in &set.tiers {
            let mut applies = false;
            let mut taking_part = Vec::new();
            for (pi, p) in set.policies.iter().enumerate() {
                if !candidates.get(pi).copied().unwrap_or(false)
                    || p.tier != tier.name
                    || p.staged
                    || !Chain::Normal.includes(p.class)
                    || !p.applies(d)
                {
                    continue;
                }
                if !(local.identity.entity && labels_decide(&local.identity, &p.selector)?) {
                    continue;
                }
                applies = true;
                for (position, r) in p.rules(d).iter().enumerate() {
                    if !r.is_terminal() || !mask.keeps(pi, position) {
                        continue;
                    }
                    // Undecided parts are found here, before any walk; a rule whose
                    // selectors the labels decide false is left out, so equal keys mean
                    // equal boxes.
                    if self.takes_part(r)? {
                        taking_part.push((pi, position));
                    }
                }
            }
            if applies {
                let end = if tier.default_pass {
                    Step::Pass
                } else {
                    Step::Deny
                };
                out.push((taking_part, end));
            }
        }
        Some(out)
    }

    /// Walk the chain `key` names over its space.
    fn walk(&self, set: &PolicySet, key: &WalkKey) -> Walked {
        let tiers: Vec<TierEntries> = key
            .tiers
            .iter()
            .map(|(rules, end)| TierEntries {
                entries: rules
                    .iter()
                    .filter_map(|&(pi, position)| set.policies.get(pi)?.rules(key.d).get(position))
                    .flat_map(|r| {
                        let step = match r.action {
                            Action::Allow => Step::Allow,
                            Action::Pass => Step::Pass,
                            _ => Step::Deny,
                        };
                        self.rule(r)
                            .unwrap_or_default()
                            .into_iter()
                            .map(move |when| Entry { when, step })
                    })
                    .collect(),
                end: *end,
            })
            .collect();
        let mut allowed = Vec::new();
        let mut any_denied = false;
        let mut budget = WALK_BUDGET;
        let done = walk(&tiers, key.space.clone(), &mut budget, &mut |piece, ok| {
            if ok {
                allowed.push(piece);
            } else {
                any_denied = true;
            }
        });
        Walked {
            allowed: done
                .ok()
                .map(|()| coalesce(allowed).into_iter().map(Piece::new).collect()),
            any_denied,
        }
    }

    /// Whether `r` may match a packet of this family between the two members, as far as
    /// their labels go (`None`: undecided): [`Pair::rule`]'s decisions, in its order, without
    /// building boxes. When it is `Some(true)`, the boxes depend only on the rule, the family
    /// and what the ends declare besides labels.
    fn takes_part(&self, r: &CompiledRule) -> Option<bool> {
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
    fn rule(&self, r: &CompiledRule) -> Option<Vec<Box7>> {
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
    fn icmp_fields(&self, m: &Icmp) -> Vec<(Field, Values)> {
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
    fn not_icmp(&self, m: &Icmp) -> Vec<Box7> {
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
    fn entity(
        &self,
        side: Side,
        e: &Entity,
        base: &mut Box7,
        alternatives: &mut Vec<Vec<Box7>>,
    ) -> Option<bool> {
        let m = self.member(side);
        let id = &m.identity;
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
    fn port_term(&self, m: &Member, pm: &PortMatch) -> Option<Option<(Option<u8>, Values)>> {
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
    fn not_ports(&self, m: &Member, not_ports: &[PortMatch], port: Field) -> Option<Vec<Box7>> {
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

#[derive(Clone, Copy)]
enum Side {
    Src,
    Dst,
}
