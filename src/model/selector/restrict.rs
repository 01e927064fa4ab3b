//! Calico's label-restriction analysis (spec §3.8; `ast.go` `LabelRestrictions()`).
//!
//! Reproduced exactly, including its blind spots (`a in {}` gives no value set, `!(…)`
//! other than `!has(k)` gives nothing). [`super::never`] builds a stronger analysis on top of
//! the same idea for "can never match" warnings.

use std::collections::{BTreeMap, BTreeSet};

use super::expr::Expr;

/// What a selector requires of one label, as Calico computes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelRestriction {
    /// The label must be present for the selector to match (e.g. `has(k)`, `k == "v"`).
    pub must_be_present: bool,
    /// The label must be absent for the selector to match (e.g. `!has(k)`).
    pub must_be_absent: bool,
    /// When `Some`, the label's value must be one of these. `Some(empty)` means the
    /// selector cannot match anything (e.g. `k == "a" && k == "b"`).
    pub must_have_one_of_values: Option<BTreeSet<String>>,
}

impl LabelRestriction {
    fn present() -> Self {
        LabelRestriction {
            must_be_present: true,
            ..Default::default()
        }
    }

    /// Calico's `PossibleToSatisfy()`.
    pub fn possible_to_satisfy(&self) -> bool {
        let contradictory_presence = self.must_be_present && self.must_be_absent;
        let no_possible_value = self
            .must_have_one_of_values
            .as_ref()
            .is_some_and(BTreeSet::is_empty);
        !contradictory_presence && !no_possible_value
    }
}

pub(crate) type Restrictions = BTreeMap<String, LabelRestriction>;

/// Recursion depth equals the tree's depth (bounded by the parser's nesting limit).
pub(crate) fn label_restrictions(e: &Expr) -> Restrictions {
    let one = |k: &str, r: LabelRestriction| Restrictions::from([(k.to_string(), r)]);
    match e {
        Expr::Eq(k, v) => one(
            k,
            LabelRestriction {
                must_be_present: true,
                must_be_absent: false,
                must_have_one_of_values: Some(BTreeSet::from([v.clone()])),
            },
        ),
        // Calico builds the set of `{}` as a nil slice: no value restriction at all.
        Expr::In(k, vs) => one(
            k,
            LabelRestriction {
                must_be_present: true,
                must_be_absent: false,
                must_have_one_of_values: (!vs.is_empty()).then(|| vs.iter().cloned().collect()),
            },
        ),
        Expr::Has(k) | Expr::Contains(k, _) | Expr::StartsWith(k, _) | Expr::EndsWith(k, _) => {
            one(k, LabelRestriction::present())
        }
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Has(k) => one(
                k,
                LabelRestriction {
                    must_be_absent: true,
                    ..Default::default()
                },
            ),
            _ => Restrictions::new(),
        },
        Expr::Ne(..) | Expr::NotIn(..) | Expr::All | Expr::Global => Restrictions::new(),
        Expr::And(items) => {
            let mut acc = Restrictions::new();
            for item in items {
                for (k, r) in label_restrictions(item) {
                    let base = acc.entry(k).or_default();
                    base.must_be_present |= r.must_be_present;
                    base.must_be_absent |= r.must_be_absent;
                    base.must_have_one_of_values = match (
                        base.must_have_one_of_values.take(),
                        r.must_have_one_of_values,
                    ) {
                        (None, theirs) => theirs,
                        (Some(ours), None) => Some(ours),
                        (Some(mut ours), Some(theirs)) => {
                            ours.retain(|v| theirs.contains(v));
                            Some(ours)
                        }
                    };
                }
            }
            acc
        }
        Expr::Or(items) => {
            let Some((first, rest)) = items.split_first() else {
                return Restrictions::new();
            };
            let mut acc = label_restrictions(first);
            for item in rest {
                if acc.is_empty() {
                    break;
                }
                let mut theirs = label_restrictions(item);
                acc.retain(|k, r| {
                    let other = theirs.remove(k).unwrap_or_default();
                    r.must_be_present &= other.must_be_present;
                    r.must_have_one_of_values = if !r.must_be_present {
                        None
                    } else {
                        match (
                            r.must_have_one_of_values.take(),
                            other.must_have_one_of_values,
                        ) {
                            (Some(mut ours), Some(theirs)) => {
                                ours.extend(theirs);
                                Some(ours)
                            }
                            // One side only requires presence: no value limit survives.
                            _ => None,
                        }
                    };
                    r.must_be_absent &= other.must_be_absent;
                    r.must_be_present || r.must_be_absent
                });
            }
            acc
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::selector::parser::parse;

    fn lr(src: &str) -> Restrictions {
        match parse(src) {
            Ok(e) => label_restrictions(&e),
            Err(e) => panic!("{src:?}: {e}"),
        }
    }

    fn r(present: bool, absent: bool, values: Option<&[&str]>) -> LabelRestriction {
        LabelRestriction {
            must_be_present: present,
            must_be_absent: absent,
            must_have_one_of_values: values.map(|vs| vs.iter().map(|v| v.to_string()).collect()),
        }
    }

    /// `labelRestrictionsTests` of `label_restriction_test.go`, each also checked with an
    /// `all() && (...)` prefix as upstream does.
    #[test]
    fn upstream_label_restriction_table() {
        let v = |vs: &'static [&'static str]| Some(vs);
        let cases: Vec<(&str, Vec<(&str, LabelRestriction)>)> = vec![
            ("", vec![]),
            ("all()", vec![]),
            ("global()", vec![]),
            ("a == 'value'", vec![("a", r(true, false, v(&["value"])))]),
            ("has(a)", vec![("a", r(true, false, None))]),
            (
                "a in {'v1','v2'}",
                vec![("a", r(true, false, v(&["v1", "v2"])))],
            ),
            ("a not in {'v1','v2'}", vec![]),
            ("a contains 'foo'", vec![("a", r(true, false, None))]),
            ("a ends with 'foo'", vec![("a", r(true, false, None))]),
            ("a starts with 'foo'", vec![("a", r(true, false, None))]),
            ("a != 'value'", vec![]),
            (
                "a == 'v1' && a == 'v1'",
                vec![("a", r(true, false, v(&["v1"])))],
            ),
            (
                "a == 'v1' && a == 'v2'",
                vec![("a", r(true, false, v(&[])))],
            ),
            (
                "a == 'v1' && has(a)",
                vec![("a", r(true, false, v(&["v1"])))],
            ),
            (
                "a in {'v1','v2'} && a in {'v2','v3'} ",
                vec![("a", r(true, false, v(&["v2"])))],
            ),
            (
                "a in {'v1','v2', 'v3'} && a in {'v2','v3'} ",
                vec![("a", r(true, false, v(&["v2", "v3"])))],
            ),
            (
                "has(a) && a == 'v1'",
                vec![("a", r(true, false, v(&["v1"])))],
            ),
            ("has(a) && !has(a)", vec![("a", r(true, true, None))]),
            (
                "a == 'v1' && b == 'v2'",
                vec![
                    ("a", r(true, false, v(&["v1"]))),
                    ("b", r(true, false, v(&["v2"]))),
                ],
            ),
            (
                "a == 'v1' && all()",
                vec![("a", r(true, false, v(&["v1"])))],
            ),
            (
                "all() && a == 'v1'",
                vec![("a", r(true, false, v(&["v1"])))],
            ),
            (
                "a == 'v1' || a == 'v2'",
                vec![("a", r(true, false, v(&["v1", "v2"])))],
            ),
            ("has(a) || a == 'v2'", vec![("a", r(true, false, None))]),
            ("a=='v2' || has(a)", vec![("a", r(true, false, None))]),
            ("a=='v2' || has(b)", vec![]),
            (
                "a=='v2' || (has(b) && has(a))",
                vec![("a", r(true, false, None))],
            ),
            ("a == 'v1' || b == 'v2'", vec![]),
            ("a == 'v1' || all()", vec![]),
            ("all() || b == 'v2'", vec![]),
            ("!(a == 'value')", vec![]),
            ("!has(a)", vec![("a", r(false, true, None))]),
            ("!!has(a)", vec![("a", r(true, false, None))]),
        ];
        for (src, want) in cases {
            let want: Restrictions = want.into_iter().map(|(k, r)| (k.to_string(), r)).collect();
            assert_eq!(lr(src), want, "{src}");
            if !src.is_empty() {
                assert_eq!(lr(&format!("all() && ({src})")), want, "all() && ({src})");
            }
        }
    }

    #[test]
    fn calico_blind_spots_are_kept() {
        assert_eq!(lr("a in {}")["a"], r(true, false, None));
        assert!(lr("a in {}")["a"].possible_to_satisfy());
        assert_eq!(lr("!(!has(a))"), Restrictions::new());
        assert_eq!(lr("!all()"), Restrictions::new());
        assert_eq!(
            lr("a == 'x' && a != 'x'")["a"],
            r(true, false, Some(&["x"]))
        );
    }

    #[test]
    fn or_details() {
        assert_eq!(lr("!has(a) || !has(a)")["a"], r(false, true, None));
        assert_eq!(lr("!has(a) || has(a)"), Restrictions::new());
        assert_eq!(
            lr("a in {'x'} || (a == 'y' && a == 'z')")["a"],
            r(true, false, Some(&["x"]))
        );
        assert_eq!(
            lr("a == 'x' || a == 'y' || a == 'x'")["a"],
            r(true, false, Some(&["x", "y"]))
        );
        assert!(!lr("has(a) && !has(a)")["a"].possible_to_satisfy());
        assert!(!lr("a == 'v1' && a == 'v2'")["a"].possible_to_satisfy());
        assert!(lr("a == 'v1'")["a"].possible_to_satisfy());
    }
}
