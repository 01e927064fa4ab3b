//! Regions of the packet space as products of interval sets ("boxes"), and the first-match
//! walk of an ordered list of boxes over a region.
//!
//! Once every selector of a pair of endpoints is decided by their labels, what is left of a
//! rule is a condition on the packet's fields alone (protocol, ICMP type and code, addresses,
//! ports), and each such condition is a union of boxes: one set of values per field. The
//! verdict of a tier chain over a box is then found by splitting the box along the first rule
//! that cuts it, never by enumerating values ([`walk`]), exactly and without a solver. The
//! pair engine that builds the boxes is `analysis::decided_pair`.

use smallvec::{SmallVec, smallvec};

/// Ranges of one set: most sets of a walk have one or two, kept inline (no allocation).
type Ranges = SmallVec<[(u128, u128); 2]>;

/// A set of `u128` values as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Values(Ranges);

impl Values {
    pub fn empty() -> Values {
        Values(Ranges::new())
    }

    pub fn range(lo: u128, hi: u128) -> Values {
        if lo > hi {
            Values::empty()
        } else {
            Values(smallvec![(lo, hi)])
        }
    }

    pub fn single(v: u128) -> Values {
        Values(smallvec![(v, v)])
    }

    /// The union of `ranges` (in any order, overlapping or not; empty ranges are ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128)>) -> Values {
        let mut rs: Ranges = ranges.into_iter().filter(|(lo, hi)| lo <= hi).collect();
        rs.sort_unstable();
        let mut out = Ranges::with_capacity(rs.len());
        for (lo, hi) in rs {
            match out.last_mut() {
                Some(last) if last.1 == u128::MAX || last.1 + 1 >= lo => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Values(out)
    }

    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, v: u128) -> bool {
        let i = self.0.partition_point(|r| r.1 < v);
        self.0.get(i).is_some_and(|r| r.0 <= v)
    }

    pub fn intersect(&self, other: &Values) -> Values {
        let (mut i, mut j) = (0, 0);
        let mut out = Ranges::new();
        while let (Some(&(a_lo, a_hi)), Some(&(b_lo, b_hi))) = (self.0.get(i), other.0.get(j)) {
            let (lo, hi) = (a_lo.max(b_lo), a_hi.min(b_hi));
            if lo <= hi {
                out.push((lo, hi));
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        Values(out)
    }

    /// The values of `self` not in `other`.
    pub fn minus(&self, other: &Values) -> Values {
        let mut out = Ranges::new();
        let mut j = 0;
        for &(lo, hi) in &self.0 {
            let mut lo = lo;
            // Ranges of `other` wholly below `lo` can be skipped for good: `self` is sorted.
            while other.0.get(j).is_some_and(|r| r.1 < lo) {
                j += 1;
            }
            let mut k = j;
            let mut open = true;
            while let Some(&(o_lo, o_hi)) = other.0.get(k) {
                if o_lo > hi {
                    break;
                }
                if o_lo > lo {
                    out.push((lo, o_lo - 1));
                }
                if o_hi >= hi {
                    open = false;
                    break;
                }
                lo = o_hi + 1;
                k += 1;
            }
            if open {
                out.push((lo, hi));
            }
        }
        Values(out)
    }

    /// Is every value of `self` in `other`?
    pub fn within(&self, other: &Values) -> bool {
        let mut j = 0;
        self.0.iter().all(|&(lo, hi)| {
            while other.0.get(j).is_some_and(|r| r.1 < lo) {
                j += 1;
            }
            // Ranges of `other` are non-adjacent, so one of them must hold all of [lo, hi].
            other.0.get(j).is_some_and(|r| r.0 <= lo && hi <= r.1)
        })
    }

    /// Do the two sets share a value?
    pub fn meets(&self, other: &Values) -> bool {
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a_lo, a_hi)), Some(&(b_lo, b_hi))) = (self.0.get(i), other.0.get(j)) {
            if a_lo.max(b_lo) <= a_hi.min(b_hi) {
                return true;
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    /// The smallest value, if any.
    pub fn first(&self) -> Option<u128> {
        self.0.first().map(|r| r.0)
    }
}

/// The packet fields a box constrains, in the order regions are split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Protocol = 0,
    IcmpType = 1,
    IcmpCode = 2,
    SrcIp = 3,
    DstIp = 4,
    SrcPort = 5,
    DstPort = 6,
}

pub const FIELDS: usize = 7;

/// A product of one value set per field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Box7(pub [Values; FIELDS]);

impl Box7 {
    pub fn get(&self, f: Field) -> &Values {
        &self.0[f as usize]
    }

    /// Narrow field `f` to the values also in `v`.
    pub fn narrow(&mut self, f: Field, v: &Values) {
        let slot = &mut self.0[f as usize];
        *slot = slot.intersect(v);
    }

    /// Remove the values of `v` from field `f`.
    pub fn exclude(&mut self, f: Field, v: &Values) {
        let slot = &mut self.0[f as usize];
        *slot = slot.minus(v);
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().any(Values::is_empty)
    }
}

/// The same region as `pieces` in fewer boxes: pieces equal in every field but one become
/// one piece (its values in that field are the union of theirs), field by field.
pub fn coalesce(mut pieces: Vec<Box7>) -> Vec<Box7> {
    for f in 0..FIELDS {
        if pieces.len() < 2 {
            break;
        }
        // Field by field but `f`, each field's ranges compared as a slice.
        let others = |a: &Box7, b: &Box7| {
            (0..FIELDS)
                .filter(|&g| g != f)
                .map(|g| a.0[g].ranges().cmp(b.0[g].ranges()))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        // A piece is seven small vectors (about 500 bytes): sort positions, not pieces. An
        // unstable sort is enough: pieces equal in every other field become one piece, and
        // the union of their values (normalised by `from_ranges`) is the same in any order.
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        order.sort_unstable_by(|&a, &b| others(&pieces[a], &pieces[b]));
        let mut out: Vec<Box7> = Vec::with_capacity(pieces.len());
        for i in order {
            let Some(piece) = pieces.get_mut(i).map(std::mem::take) else {
                continue;
            };
            match out.last_mut() {
                Some(last) if others(last, &piece).is_eq() => {
                    last.0[f] = Values::from_ranges(
                        last.0[f]
                            .ranges()
                            .iter()
                            .chain(piece.0[f].ranges())
                            .copied(),
                    );
                }
                _ => out.push(piece),
            }
        }
        pieces = out;
    }
    pieces
}

/// What a matching entry does with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Allow,
    Deny,
    /// On to the next tier.
    Pass,
}

/// One rule's condition (a box) and what it does.
#[derive(Clone, Debug)]
pub struct Entry {
    pub when: Box7,
    pub step: Step,
}

/// One applying tier: its entries in evaluation order, and what happens to packets none of
/// them decides (`Deny`: the end-of-tier deny; `Pass`: a tier whose default is Pass).
#[derive(Clone, Debug)]
pub struct TierEntries {
    pub entries: Vec<Entry>,
    pub end: Step,
}

/// The work budget of one walk ran out (the caller falls back to the solver).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfWork;

/// Split `region` into pieces each decided alike by `tiers` (in order; a packet that passes
/// every tier is allowed, as the profiles of an endpoint that no tier decides), calling
/// `decided` with each piece and whether it is allowed. Each unit of `budget` is one piece
/// examined against one entry; none left: [`OutOfWork`] (pieces already reported stand).
pub fn walk(
    tiers: &[TierEntries],
    region: Box7,
    budget: &mut u64,
    decided: &mut dyn FnMut(Box7, bool),
) -> Result<(), OutOfWork> {
    // Pieces still to decide: (piece, tier, entry).
    let mut todo: Vec<(Box7, usize, usize)> = vec![(region, 0, 0)];
    while let Some((mut piece, mut tier, mut entry)) = todo.pop() {
        loop {
            let Some(t) = tiers.get(tier) else {
                decided(piece, true);
                break;
            };
            let Some(e) = t.entries.get(entry) else {
                match t.end {
                    Step::Pass => {
                        tier += 1;
                        entry = 0;
                        continue;
                    }
                    Step::Allow | Step::Deny => {
                        decided(piece, t.end == Step::Allow);
                        break;
                    }
                }
            };
            *budget = budget.checked_sub(1).ok_or(OutOfWork)?;
            if !(0..FIELDS).all(|f| piece.0[f].meets(&e.when.0[f])) {
                entry += 1;
                continue;
            }
            // The first field the entry cuts: the part inside goes on at this entry (other
            // fields may cut it too), the part outside skips it.
            let cut = (0..FIELDS).find(|&f| !piece.0[f].within(&e.when.0[f]));
            match cut {
                Some(f) => {
                    let mut inside = piece.clone();
                    inside.0[f] = piece.0[f].intersect(&e.when.0[f]);
                    piece.0[f] = piece.0[f].minus(&e.when.0[f]);
                    todo.push((inside, tier, entry));
                    entry += 1;
                }
                None => match e.step {
                    Step::Allow | Step::Deny => {
                        decided(piece, e.step == Step::Allow);
                        break;
                    }
                    Step::Pass => {
                        tier += 1;
                        entry = 0;
                    }
                },
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(rs: &[(u128, u128)]) -> Values {
        Values::from_ranges(rs.iter().copied())
    }

    #[test]
    fn set_operations_agree_with_membership() {
        let a = v(&[(0, 10), (20, 30), (40, 40)]);
        let b = v(&[(5, 22), (30, 45)]);
        for x in 0..=50u128 {
            let (ia, ib) = (a.contains(x), b.contains(x));
            assert_eq!(a.intersect(&b).contains(x), ia && ib, "∩ at {x}");
            assert_eq!(a.minus(&b).contains(x), ia && !ib, "− at {x}");
        }
        assert!(a.meets(&b));
        assert!(!v(&[(0, 4)]).meets(&v(&[(5, 9)])));
        assert!(v(&[(6, 8)]).within(&b));
        assert_eq!(v(&[(0, 4), (5, 9)]), v(&[(0, 9)]), "adjacent ranges merge");
        assert_eq!(
            Values::range(0, u128::MAX).minus(&Values::single(u128::MAX)),
            Values::range(0, u128::MAX - 1)
        );
    }

    fn full() -> Box7 {
        Box7(std::array::from_fn(|_| Values::range(0, 100)))
    }

    #[test]
    fn first_match_walk_splits_only_where_rules_cut() {
        // Tier 1: allow ports 10-20, pass ports 30-40, end: deny. Tier 2: allow everything.
        let when = |lo, hi| {
            let mut b = full();
            b.narrow(Field::DstPort, &Values::range(lo, hi));
            b
        };
        let tiers = [
            TierEntries {
                entries: vec![
                    Entry {
                        when: when(10, 20),
                        step: Step::Allow,
                    },
                    Entry {
                        when: when(30, 40),
                        step: Step::Pass,
                    },
                ],
                end: Step::Deny,
            },
            TierEntries {
                entries: vec![Entry {
                    when: full(),
                    step: Step::Allow,
                }],
                end: Step::Deny,
            },
        ];
        let mut allowed = Values::empty();
        let mut denied = Values::empty();
        let mut budget = 1_000;
        walk(&tiers, full(), &mut budget, &mut |b, ok| {
            let ports = b.get(Field::DstPort).clone();
            let into = if ok { &mut allowed } else { &mut denied };
            *into = Values::from_ranges(into.ranges().iter().chain(ports.ranges()).copied());
        })
        .expect("enough budget");
        assert_eq!(allowed, v(&[(10, 20), (30, 40)]));
        assert_eq!(denied, v(&[(0, 9), (21, 29), (41, 100)]));
        let mut none = 2;
        assert_eq!(
            walk(&tiers, full(), &mut none, &mut |_, _| {}),
            Err(OutOfWork)
        );
    }
}
