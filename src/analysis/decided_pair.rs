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

mod change;
mod examples;
mod rule_boxes;

pub use change::{ChangeScreen, ScreenSide};
pub use examples::{Examples, examples};

use super::classes::Chain;
use super::flow::{AllowedProtocol, NAMED_PROTOCOLS, PORT_PROTOCOLS, Verdict};
use super::groups::{Group, Member, labels_decide};
use super::ir::PolicySet;
use super::pair_rules::{PairRules, RuleMask};
use super::region::{Box7, Entry, FIELDS, Field, Step, TierEntries, Values, coalesce, walk};
use crate::model::net::IpFamily;
use crate::model::port::FlowProtocol;
use crate::model::resource::{Action, Direction};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Pairs of pieces one pair may meet (both families) before the solver takes over. Like
/// [`WALK_BUDGET`], a guard against a pathological tree (about a second of work), not a
/// limit real pairs meet: a pair this large would take the solver far longer.
const BUDGET: u64 = 50_000_000;

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

/// What an end declares besides labels: whether it is an entity, and its named ports.
type EndFacts = (bool, Option<BTreeMap<String, (u8, u16)>>);

/// What one direction's walk depends on: the direction and family, the pair's space, what
/// the two ends declare besides labels (entity or not, named ports), and the rules taking
/// part, tier by tier, with each tier's end.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WalkKey {
    d: Direction,
    fam: IpFamily,
    space: Box7,
    ends: [EndFacts; 2],
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

impl Walked {
    /// The walk of a key from what [`Pair::pieces`] found over the key's whole space: the
    /// allowed pieces and whether any was denied.
    fn of(found: Option<(Vec<Box7>, bool)>) -> Walked {
        match found {
            Some((allowed, any_denied)) => Walked {
                allowed: Some(coalesce(allowed).into_iter().map(Piece::new).collect()),
                any_denied,
            },
            None => Walked {
                allowed: None,
                any_denied: false,
            },
        }
    }
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

/// Steps one direction's walk may take before the solver takes over the pair (the receiver
/// of a 10,000-policy tree, 670 policies and 1,900 rules taking part: a few million).
const WALK_BUDGET: u64 = 50_000_000;

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
        // The two directions' walks are independent: one on each core.
        let (egress, ingress) = rayon::join(
            || direction(from.policed, Direction::Egress, fp, &rules.egress),
            || direction(to.policed, Direction::Ingress, tp, &rules.ingress),
        );
        let (egress, ingress) = (egress?, ingress?);
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

/// Whether policy `p` (index `pi`) applies at the decided member `local` in direction `d`
/// for workload verdicts: one of the `candidates`, enforced (not staged), in the normal list,
/// applying in `d`, and selecting the member (`None`: the labels do not decide the selector).
fn selects_end(
    p: &crate::analysis::ir::CompiledPolicy,
    candidates: &[bool],
    pi: usize,
    local: &Member,
    d: Direction,
) -> Option<bool> {
    if !candidates.get(pi).copied().unwrap_or(false)
        || p.staged
        || !Chain::Normal.includes(p.class)
        || !p.applies(d)
    {
        return Some(false);
    }
    Some(local.identity.entity && labels_decide(&local.identity, &p.selector)?)
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
        // One pass over the policies, the cheap test of whether one takes part first (most
        // do not), and the tier names compared only for those that do.
        let mut tiers: Vec<(bool, Vec<(usize, usize)>)> =
            vec![(false, Vec::new()); set.tiers.len()];
        let in_a_tier = |p: &crate::analysis::ir::CompiledPolicy| {
            set.tiers.iter().any(|tier| tier.name == p.tier)
        };
        for (pi, p) in set.policies.iter().enumerate() {
            // A policy of no tier of the set takes no part (and its selector is not read).
            match selects_end(p, candidates, pi, local, d) {
                Some(true) if in_a_tier(p) => {}
                Some(_) => continue,
                None if in_a_tier(p) => return None,
                None => continue,
            }
            let mut taking_part = Vec::new();
            for (position, r) in p.rules(d).iter().enumerate() {
                if !r.is_terminal() || !mask.keeps(pi, position) {
                    continue;
                }
                // Undecided parts are found here, before any walk; a rule whose selectors the
                // labels decide false is left out, so equal keys mean equal boxes.
                if self.takes_part(r)? {
                    taking_part.push((pi, position));
                }
            }
            for (_, (applies, taking)) in
                (set.tiers.iter().zip(&mut tiers)).filter(|(tier, _)| tier.name == p.tier)
            {
                *applies = true;
                taking.extend_from_slice(&taking_part);
            }
        }
        let out = (set.tiers.iter().zip(tiers))
            .filter(|(_, (applies, _))| *applies)
            .map(|(tier, (_, taking_part))| {
                let end = if tier.default_pass {
                    Step::Pass
                } else {
                    Step::Deny
                };
                (taking_part, end)
            })
            .collect();
        Some(out)
    }

    /// Walk the chain `key` names over its space.
    fn walk(&self, set: &PolicySet, key: &WalkKey) -> Walked {
        let found = self.pieces(set, key, key.space.clone(), false);
        Walked::of(found.map(|(allowed, denied)| (allowed, !denied.is_empty())))
    }

    /// The pieces of `region` the chain `key` names allows and denies (the denied ones only
    /// when `keep_denied`, else at most one); `None`: over the walk budget.
    fn pieces(
        &self,
        set: &PolicySet,
        key: &WalkKey,
        region: Box7,
        keep_denied: bool,
    ) -> Option<(Vec<Box7>, Vec<Box7>)> {
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
        let (mut allowed, mut denied) = (Vec::new(), Vec::new());
        let mut budget = WALK_BUDGET;
        walk(&tiers, region, &mut budget, &mut |piece, ok| {
            if ok {
                allowed.push(piece);
            } else if keep_denied || denied.is_empty() {
                denied.push(piece);
            }
        })
        .ok()?;
        Some((allowed, denied))
    }
}

#[derive(Clone, Copy)]
enum Side {
    Src,
    Dst,
}
