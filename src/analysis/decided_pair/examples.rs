//! Example packets for a pair its labels decide, from the box engine: an allowed one and a
//! denied one, read the way the solver's examples are preferred (IPv4 before IPv6, TCP, then
//! UDP; documentation addresses, client ports from 1024), so `reach` can explain a pair whose
//! verdict formula is too large to ask Z3 for a model in interactive time.
//!
//! Each example is run through the concrete evaluator before it is given; one that does not
//! evaluate as it should (a bug, never expected) gives no examples, and the caller asks the
//! solver.

use super::{BUDGET, Pair, WalkCache, WalkKey, Walked, decided_member};
use crate::analysis::concrete::{self, Packet, Side};
use crate::analysis::groups::{Group, Member};
use crate::analysis::ir::PolicySet;
use crate::analysis::pair_rules::PairRules;
use crate::analysis::region::{Box7, FIELDS, Field, Values};
use crate::model::net::IpFamily;
use crate::model::resource::Direction;

/// An allowed and a denied packet of the question (`None`: there is none).
#[derive(Clone, Debug, PartialEq)]
pub struct Examples {
    pub allowed: Option<Packet>,
    pub denied: Option<Packet>,
}

/// Examples for packets from `from` to `to` of protocol `protocol` and destination ports
/// `ports` when given. `None`: the labels do not decide the pair, a walk ran over its budget,
/// or an example did not evaluate as expected.
///
/// Without a protocol or ports, a direction's walk here is the walk [`super::region`] does
/// for the pair (same key, same space; only the denied pieces are kept too): it goes into
/// `cache`, so `reach` walks each direction once for both examples and allowed ports.
pub fn examples(
    set: &PolicySet,
    (from, fp): (&Group, &[bool]),
    (to, tp): (&Group, &[bool]),
    rules: &PairRules,
    protocol: Option<u8>,
    ports: Option<(u16, u16)>,
    cache: Option<&WalkCache>,
) -> Option<Examples> {
    let whole_space = protocol.is_none() && ports.is_none();
    let (src, dst) = (decided_member(from)?, decided_member(to)?);
    let mut allowed: Option<Best> = None;
    let mut denied: Option<Best> = None;
    let mut budget = BUDGET;
    for fam in [IpFamily::V4, IpFamily::V6] {
        let pair = Pair { fam, src, dst };
        let mut space = pair.space();
        if let Some(p) = protocol {
            space.narrow(Field::Protocol, &Values::single(u128::from(p)));
        }
        if let Some((lo, hi)) = ports {
            space.narrow(
                Field::DstPort,
                &Values::range(u128::from(lo), u128::from(hi)),
            );
        }
        if space.is_empty() {
            continue;
        }
        let direction = |policed: bool, d: Direction, candidates: &[bool], mask| {
            if !policed {
                return Some((vec![space.clone()], Vec::new()));
            }
            let key = WalkKey {
                d,
                fam,
                space: space.clone(),
                ends: [src, dst].map(|m| (m.identity.entity, m.named_ports.clone())),
                tiers: pair.chain(set, d, candidates, mask)?,
            };
            let found = pair.pieces(set, &key, space.clone(), true);
            if let (true, Some(cache)) = (whole_space, cache) {
                let walked =
                    || Walked::of(found.as_ref().map(|(ok, no)| (ok.clone(), !no.is_empty())));
                cache.get_or_walk(key, |_| walked());
            }
            found
        };
        // The two directions' walks are independent: one on each core.
        let (out, into) = rayon::join(
            || direction(from.policed, Direction::Egress, fp, &rules.egress),
            || direction(to.policed, Direction::Ingress, tp, &rules.ingress),
        );
        let ((out_ok, out_no), (in_ok, in_no)) = (out?, into?);
        // Every pair of an egress and an ingress piece counts against the budget, as if all
        // were met: where the search below stops must not change the answer.
        let meets = u64::try_from(out_ok.len().checked_mul(in_ok.len() + in_no.len())?).ok()?;
        budget = budget.checked_sub(meets)?;
        for b in out_no {
            offer(&mut denied, fam, b);
        }
        for (into, best) in [(&in_ok, &mut allowed), (&in_no, &mut denied)] {
            'pieces: for e in &out_ok {
                for i in into {
                    if settled(best) {
                        break 'pieces;
                    }
                    if let Some(both) = meet(e, i) {
                        offer(best, fam, both);
                    }
                }
            }
        }
    }
    let allowed = allowed.map(|b| packet(b.fam, &b.piece, src, dst));
    let denied = denied.map(|b| packet(b.fam, &b.piece, src, dst));
    let passes = |pkt: &Packet| {
        (!from.policed || concrete::allows_among(set, Direction::Egress, pkt, fp))
            && (!to.policed || concrete::allows_among(set, Direction::Ingress, pkt, tp))
    };
    let sound = allowed.as_ref().is_none_or(passes) && denied.as_ref().is_none_or(|p| !passes(p));
    debug_assert!(sound, "a box-engine example did not evaluate as expected");
    sound.then_some(Examples { allowed, denied })
}

/// The packets both boxes hold, if any.
fn meet(a: &Box7, b: &Box7) -> Option<Box7> {
    let mut both = a.clone();
    for f in 0..FIELDS {
        both.0[f] = a.0[f].intersect(&b.0[f]);
        if both.0[f].is_empty() {
            return None;
        }
    }
    Some(both)
}

/// The piece examples are read from: IPv4 before IPv6, then one holding TCP, then UDP; the
/// first such piece in walk order (deterministic).
struct Best {
    rank: (bool, u8),
    fam: IpFamily,
    piece: Box7,
}

fn rank(fam: IpFamily, b: &Box7) -> (bool, u8) {
    let p = b.get(Field::Protocol);
    let protocol = if p.contains(6) {
        0
    } else if p.contains(17) {
        1
    } else {
        2
    };
    (fam == IpFamily::V6, protocol)
}

/// Keep `piece` (the next in walk order) if it reads better than the best so far.
fn offer(best: &mut Option<Best>, fam: IpFamily, piece: Box7) {
    let r = rank(fam, &piece);
    if best.as_ref().is_none_or(|b| r < b.rank) {
        *best = Some(Best {
            rank: r,
            fam,
            piece,
        });
    }
}

/// Nothing later in walk order can read better: an IPv4 TCP piece was found.
fn settled(best: &Option<Best>) -> bool {
    best.as_ref().is_some_and(|b| b.rank == (false, 0))
}

/// The documentation addresses the solver's examples prefer (RFC 5737, RFC 3849).
const SRC_DOC: (u128, u128) = (0xc000_020a, 0x2001_0db8 << 96 | 0x10);
const DST_DOC: (u128, u128) = (0xc633_6414, 0x2001_0db8 << 96 | 0x20);

/// An address of `set`: the documentation address when it is in, else the first address
/// that is not a network's first or last (low byte 1-254), else the first.
fn address(set: &Values, fam: IpFamily, doc: (u128, u128)) -> u128 {
    let doc = match fam {
        IpFamily::V4 => doc.0,
        IpFamily::V6 => doc.1,
    };
    if set.contains(doc) {
        return doc;
    }
    set.ranges()
        .iter()
        .find_map(|&(lo, hi)| {
            (0..3u128)
                .map(|k| lo.saturating_add(k))
                .find(|x| *x <= hi && (1..=254).contains(&(x & 0xff)))
        })
        .or_else(|| set.first())
        .unwrap_or(0)
}

/// The first value of `set` from `at_least` on, else its first.
fn value_from(set: &Values, at_least: u128) -> u128 {
    set.ranges()
        .iter()
        .find(|r| r.1 >= at_least)
        .map(|r| r.0.max(at_least))
        .or_else(|| set.first())
        .unwrap_or(0)
}

fn byte(v: u128) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn port(v: u128) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn side(m: &Member, ip: u128, port: u16) -> Side {
    Side {
        is_entity: m.identity.entity,
        labels: if m.identity.entity {
            m.identity.fixed.clone()
        } else {
            Default::default()
        },
        ip,
        port,
        named_ports: m.named_ports.clone().unwrap_or_default(),
        services: Default::default(),
    }
}

/// One packet of the piece, read as the solver's examples prefer.
fn packet(fam: IpFamily, b: &Box7, src: &Member, dst: &Member) -> Packet {
    let p = b.get(Field::Protocol);
    let protocol = [6u128, 17]
        .into_iter()
        .find(|x| p.contains(*x))
        .or_else(|| p.first())
        .unwrap_or(0);
    Packet {
        v6: fam == IpFamily::V6,
        protocol: byte(protocol),
        icmp_type: byte(b.get(Field::IcmpType).first().unwrap_or(0)),
        icmp_code: byte(b.get(Field::IcmpCode).first().unwrap_or(0)),
        src: side(
            src,
            address(b.get(Field::SrcIp), fam, SRC_DOC),
            port(value_from(b.get(Field::SrcPort), 1024)),
        ),
        dst: side(
            dst,
            address(b.get(Field::DstIp), fam, DST_DOC),
            port(value_from(b.get(Field::DstPort), 1)),
        ),
        http_method: String::new(),
        http_path: String::new(),
    }
}
