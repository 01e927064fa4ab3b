//! Cheap, sound overlap tests that run before any solver call: two selectors whose label
//! restrictions contradict (different namespaces, `app == 'a'` vs `app == 'b'`, `has(x)` vs
//! `!has(x)`) can never select a common endpoint, so no query about them is needed.

use crate::model::selector::Expr;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Restriction {
    present: bool,
    absent: bool,
    /// The label must have one of these values (`None`: any).
    values: Option<BTreeSet<String>>,
}

/// What every label map matching a selector must satisfy (an over-approximation of the
/// selector's matches). `None` means the selector matches nothing. The second field is a
/// 64-bit summary of the restricted keys (a bit per key hash), so that two restrictions
/// without a key in common are known to overlap without looking at their maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restrictions(Option<BTreeMap<String, Restriction>>, u64);

/// The bit of `key` in [`Restrictions`]' key summary (FNV-1a, stable across runs).
fn key_bit(key: &str) -> u64 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1 << (hash % 64)
}

fn merge_and(
    mut a: BTreeMap<String, Restriction>,
    b: BTreeMap<String, Restriction>,
) -> Option<BTreeMap<String, Restriction>> {
    for (k, rb) in b {
        let ra = a.entry(k).or_default();
        ra.present |= rb.present;
        ra.absent |= rb.absent;
        ra.values = match (ra.values.take(), rb.values) {
            (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
            (x, y) => x.or(y),
        };
        if (ra.present && ra.absent) || ra.values.as_ref().is_some_and(BTreeSet::is_empty) {
            return None;
        }
    }
    Some(a)
}

fn merge_or(branches: Vec<BTreeMap<String, Restriction>>) -> BTreeMap<String, Restriction> {
    let mut iter = branches.into_iter();
    let Some(first) = iter.next() else {
        return BTreeMap::new();
    };
    let mut acc = first;
    for b in iter {
        acc = acc
            .into_iter()
            .filter_map(|(k, ra)| {
                let rb = b.get(&k)?;
                let r = Restriction {
                    present: ra.present && rb.present,
                    absent: ra.absent && rb.absent,
                    values: match (ra.values, &rb.values) {
                        (Some(x), Some(y)) => Some(x.union(y).cloned().collect()),
                        _ => None,
                    },
                };
                (r != Restriction::default()).then_some((k, r))
            })
            .collect();
    }
    acc
}

fn leaf(k: &str, r: Restriction) -> Option<BTreeMap<String, Restriction>> {
    Some(BTreeMap::from([(k.to_string(), r)]))
}

fn compute(e: &Expr) -> Option<BTreeMap<String, Restriction>> {
    let present = |vals: Option<BTreeSet<String>>| Restriction {
        present: true,
        absent: false,
        values: vals,
    };
    match e {
        Expr::Eq(k, v) => leaf(k, present(Some(BTreeSet::from([v.clone()])))),
        Expr::In(k, vs) if vs.is_empty() => None,
        Expr::In(k, vs) => leaf(k, present(Some(vs.iter().cloned().collect()))),
        Expr::Has(k) | Expr::Contains(k, _) | Expr::StartsWith(k, _) | Expr::EndsWith(k, _) => {
            leaf(k, present(None))
        }
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Has(k) => leaf(
                k,
                Restriction {
                    present: false,
                    absent: true,
                    values: None,
                },
            ),
            Expr::All | Expr::Global => None,
            _ => Some(BTreeMap::new()),
        },
        Expr::And(items) => {
            let mut acc = BTreeMap::new();
            for i in items {
                acc = merge_and(acc, compute(i)?)?;
            }
            Some(acc)
        }
        Expr::Or(items) => {
            let live: Vec<_> = items.iter().filter_map(compute).collect();
            if live.is_empty() {
                return None;
            }
            Some(merge_or(live))
        }
        Expr::All | Expr::Global | Expr::Ne(..) | Expr::NotIn(..) => Some(BTreeMap::new()),
    }
}

impl Restrictions {
    pub fn of(e: &Expr) -> Restrictions {
        let map = compute(e);
        let keys = map.iter().flatten().fold(0, |m, (k, _)| m | key_bit(k));
        Restrictions(map, keys)
    }

    /// False only when no label map can satisfy both.
    pub fn may_overlap(&self, other: &Restrictions) -> bool {
        // `merge_and(a, b).is_some()` without building the merged map (this runs for
        // every pair of candidate policies): merging contradicts only at a key of `b`.
        match (&self.0, &other.0) {
            // Every restriction of a satisfiable map is satisfiable on its own (`merge_and`
            // and `merge_or` keep them so): without a common key there is no contradiction.
            (Some(_), Some(_)) if self.1 & other.1 == 0 => true,
            (Some(a), Some(b)) => b.iter().all(|(k, rb)| match a.get(k) {
                None => {
                    !((rb.present && rb.absent)
                        || rb.values.as_ref().is_some_and(BTreeSet::is_empty))
                }
                Some(ra) => {
                    let present = ra.present || rb.present;
                    let absent = ra.absent || rb.absent;
                    let empty = match (&ra.values, &rb.values) {
                        (Some(x), Some(y)) => x.is_disjoint(y),
                        (Some(x), None) | (None, Some(x)) => x.is_empty(),
                        (None, None) => false,
                    };
                    !((present && absent) || empty)
                }
            }),
            _ => false,
        }
    }

    /// The one value `key` must have, when the selector pins it (e.g. the namespace label of
    /// a namespaced policy).
    pub fn single_value(&self, key: &str) -> Option<&str> {
        let r = self.0.as_ref()?.get(key)?;
        match &r.values {
            Some(v) if v.len() == 1 => v.iter().next().map(String::as_str),
            _ => None,
        }
    }

    pub fn may_match(&self) -> bool {
        self.0.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::selector::Selector;

    fn r(s: &str) -> Restrictions {
        Restrictions::of(
            Selector::parse(s)
                .map(|s| s.expr().clone())
                .as_ref()
                .unwrap_or(&Expr::All),
        )
    }

    #[test]
    fn overlap_is_sound() {
        assert!(!r("app == 'a'").may_overlap(&r("app == 'b'")));
        assert!(r("app == 'a'").may_overlap(&r("app in {'a', 'b'}")));
        assert!(!r("has(x)").may_overlap(&r("!has(x)")));
        assert!(r("app == 'a' || app == 'b'").may_overlap(&r("app == 'b'")));
        assert!(!r("(app == 'a' || app == 'c') && x == 'y'").may_overlap(&r("app == 'b'")));
        assert!(r("app != 'a'").may_overlap(&r("app == 'a' && has(z)")));
        assert!(!r("a in {}").may_match());
        assert!(!r("!all()").may_match());
    }

    /// The allocation-free test agrees with merging the two maps.
    #[test]
    fn overlap_agrees_with_merging() {
        let sels = [
            "app == 'a'",
            "app in {'a', 'b'}",
            "app in {'c'} && has(x)",
            "!has(x)",
            "has(x) && x == 'y'",
            "x in {'y', 'z'} || app == 'a'",
            "all()",
            "!has(app)",
            "app != 'a'",
            // Keys the others do not use (the key summary's fast answer), and branches that
            // disagree on a key.
            "env == 'prod' && !has(debug)",
            "team == 't' || !has(team)",
            "(b == '1' && has(c)) || (b == '2' && !has(c))",
            "has(debug)",
        ];
        for a in sels {
            for b in sels {
                let (ra, rb) = (r(a), r(b));
                let merged = match (&ra.0, &rb.0) {
                    (Some(x), Some(y)) => merge_and(x.clone(), y.clone()).is_some(),
                    _ => false,
                };
                assert_eq!(ra.may_overlap(&rb), merged, "{a} / {b}");
            }
        }
    }
}
