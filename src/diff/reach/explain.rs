//! Why a changed pair changed: a packet allowed on one side and denied on the other (checked
//! with the concrete evaluator on both sides) and the rules that decide it on each side.

use super::Summary;
use crate::analysis::concrete::{self, Packet};
use crate::analysis::graph::PairInputs;
use crate::analysis::groups::Group;
use crate::analysis::ir::PolicySet;
use crate::analysis::reach::{
    AllowedProtocol, Decision, ReachOptions, ReachResult, decisions_for, engine_example, reach,
};
use crate::diff::Side;
use crate::model::port::FlowProtocol;
use crate::model::resource::Direction;

/// Whether the concrete evaluator allows `pkt` from `from` to `to` under `set`.
fn allows(set: &PolicySet, from: &Group, to: &Group, pkt: &Packet) -> bool {
    let at = |d: Direction| concrete::evaluate(set, d, pkt, |_| {}).allowed();
    (!from.policed || at(Direction::Egress)) && (!to.policed || at(Direction::Ingress))
}

fn decisions(set: &PolicySet, from: &Group, to: &Group, pkt: &Packet) -> Vec<Decision> {
    let mut out = Vec::new();
    if from.policed {
        out.extend(decisions_for(set, Direction::Egress, pkt, "example"));
    }
    if to.policed {
        out.extend(decisions_for(set, Direction::Ingress, pkt, "example"));
    }
    out
}

/// A (protocol, port) allowed on one side only, from the two allowed lists.
fn first_difference(
    a: &[AllowedProtocol],
    b: &[AllowedProtocol],
) -> Option<(FlowProtocol, Option<u16>)> {
    let ports_of = |l: &[AllowedProtocol], p: FlowProtocol| {
        l.iter().find(|(q, _)| *q == p).map(|(_, r)| r.clone())
    };
    for (x, y) in [(a, b), (b, a)] {
        for (p, ranges) in x {
            match (ranges, ports_of(y, *p)) {
                (_, None) => {
                    return Some((*p, ranges.as_ref().and_then(|r| r.first()).map(|r| r.0)));
                }
                (Some(rs), Some(Some(other))) => {
                    let inside =
                        |port: u16| other.iter().any(|(lo, hi)| *lo <= port && port <= *hi);
                    for (lo, hi) in rs {
                        // The first port of the range, or the first port after a range of `other`.
                        let mut port = u32::from(*lo);
                        while port <= u32::from(*hi) {
                            let Ok(p16) = u16::try_from(port) else { break };
                            if !inside(p16) {
                                return Some((*p, Some(p16)));
                            }
                            let next = other
                                .iter()
                                .find(|(l, h)| *l <= p16 && p16 <= *h)
                                .map_or(port + 1, |(_, h)| u32::from(*h) + 1);
                            port = next;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Whether `list` allows `protocol` (on `port`, for protocols with ports).
fn lists(list: &[AllowedProtocol], protocol: FlowProtocol, port: Option<u16>) -> bool {
    list.iter().any(|(p, ranges)| {
        *p == protocol
            && match (ranges, port) {
                (Some(r), Some(port)) => r.iter().any(|(lo, hi)| *lo <= port && port <= *hi),
                _ => true,
            }
    })
}

/// Witness and deciding rules for one changed pair. The cheap way first: a protocol and port
/// allowed on one side only, asked on that side alone; then, when the ports are the same
/// (allowed <-> partial) or no packet was found, full `reach` answers on both sides.
pub(super) fn explain(
    (base, head): (&Side, &Side),
    (inputs_b, inputs_h): (&PairInputs<'_>, &PairInputs<'_>),
    pair: (usize, usize),
    before: &Summary,
    after: &Summary,
    timeout_ms: u32,
) -> (Option<Packet>, Vec<Decision>, Vec<Decision>, usize) {
    let (Some(ends_b), Some(ends_h)) = (inputs_b.ends(pair), inputs_h.ends(pair)) else {
        return (None, Vec::new(), Vec::new(), 0);
    };
    let ((gb_from, _), (gb_to, _)) = ends_b;
    let ((gh_from, _), (gh_to, _)) = ends_h;
    let differs =
        |p: &Packet| allows(&base.set, gb_from, gb_to, p) != allows(&head.set, gh_from, gh_to, p);
    let candidates = |r: &ReachResult| [r.allowed_example.clone(), r.denied_example.clone()];
    let mut undecided = 0;
    let mut example = None;
    if let Some((protocol, port)) = first_difference(&before.allowed, &after.allowed) {
        let o = ReachOptions {
            protocol: protocol.number(),
            port,
            timeout_ms,
        };
        let (set, f, t, inputs, ends) = if lists(&after.allowed, protocol, port) {
            (&head.set, gh_from, gh_to, inputs_h, ends_h)
        } else {
            (&base.set, gb_from, gb_to, inputs_b, ends_b)
        };
        // A pair the labels decide: a packet of that protocol and port the side allows, from
        // the box engine (a change to a cluster-wide policy can change thousands of pairs,
        // and the solver's examples take a good part of a second each).
        let rules = inputs.rules(pair);
        example =
            engine_example(set, ends, &rules, (protocol.number(), port), true).filter(&differs);
        if example.is_none() {
            let r = reach(set, f, t, &o);
            undecided += r.undecided;
            example = candidates(&r).into_iter().flatten().find(|p| differs(p));
        }
    }
    if let Some(p) = &example {
        return (
            example.clone(),
            decisions(&base.set, gb_from, gb_to, p),
            decisions(&head.set, gh_from, gh_to, p),
            undecided,
        );
    }
    let opts = ReachOptions {
        protocol: None,
        port: None,
        timeout_ms,
    };
    let rb = reach(&base.set, gb_from, gb_to, &opts);
    let rh = reach(&head.set, gh_from, gh_to, &opts);
    undecided += rb.undecided + rh.undecided;
    let example = candidates(&rh)
        .into_iter()
        .chain(candidates(&rb))
        .flatten()
        .find(|p| differs(p));
    match &example {
        Some(p) => (
            example.clone(),
            decisions(&base.set, gb_from, gb_to, p),
            decisions(&head.set, gh_from, gh_to, p),
            undecided,
        ),
        None => (None, rb.decisions, rh.decisions, undecided),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_finds_a_port_on_one_side_only() {
        use FlowProtocol::Number;
        let a: Vec<AllowedProtocol> = vec![(Number(6), Some(vec![(80, 80), (443, 443)]))];
        let b: Vec<AllowedProtocol> = vec![(Number(6), Some(vec![(80, 80)]))];
        assert_eq!(first_difference(&a, &b), Some((Number(6), Some(443))));
        assert_eq!(first_difference(&b, &a), Some((Number(6), Some(443))));
        let c: Vec<AllowedProtocol> = vec![(Number(6), Some(vec![(0, 65535)]))];
        assert_eq!(first_difference(&c, &b), Some((Number(6), Some(0))));
        let d: Vec<AllowedProtocol> = vec![(Number(6), Some(vec![(80, 80)])), (Number(1), None)];
        assert_eq!(first_difference(&d, &b), Some((Number(1), None)));
        assert_eq!(first_difference(&a, &a), None);
    }
}
