//! "This selector can never match" analysis.
//!
//! Calico's label restrictions (spec §3.8, [`super::restrict`]) are sound but blind to some
//! obvious contradictions. This analysis follows the same idea — collect, per label, facts
//! that every matching label map must satisfy — and strengthens it while staying sound:
//!
//! * negation is pushed inwards (De Morgan), so `!(a != "x")` pins `a` to `"x"` and
//!   `!(has(a) || b == "c")` requires `a` to be absent;
//! * `k in {}` (and `!k not in {}`, and `!all()`) can never match;
//! * `!=`, `not in` and the string tests are kept as filters on a known value set, so
//!   `a == "x" && a != "x"` and `a in {"x", "y"} && a starts with "z"` are caught;
//! * an `||` alternative that can never match is ignored when combining the others.
//!
//! Every fact is a *necessary* condition for a match, so a contradiction proves that no
//! label map matches. `global()` is treated as unknown in both polarities (it is always true
//! as a plain expression, but some fields rewrite it, spec §3.7), so `!global()` is never
//! reported.

use std::collections::{BTreeMap, BTreeSet};

use super::canonical::quoted;
use super::error::snippet;
use super::expr::Expr;

/// Where a fact comes from: a subexpression, possibly under an odd number of `!`.
#[derive(Clone, Copy)]
struct Src<'a> {
    expr: &'a Expr,
    negated: bool,
}

impl Src<'_> {
    fn render(&self) -> String {
        let text = self.expr.canonical();
        let text = if self.negated {
            format!("!{text}")
        } else {
            text
        };
        snippet(&text, 80)
    }

    /// The value this part pins its label to, when it is a plain equality.
    fn equality(&self) -> Option<&str> {
        match (self.expr, self.negated) {
            (Expr::Eq(_, v), false) | (Expr::Ne(_, v), true) => Some(v),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum Test<'a> {
    Equals(&'a str),
    OneOf(&'a [String]),
    Contains(&'a str),
    StartsWith(&'a str),
    EndsWith(&'a str),
}

impl Test<'_> {
    fn on(&self, v: &str) -> bool {
        match self {
            Test::Equals(x) => v == *x,
            Test::OneOf(xs) => xs.iter().any(|x| x == v),
            Test::Contains(x) => v.contains(x),
            Test::StartsWith(x) => v.starts_with(x),
            Test::EndsWith(x) => v.ends_with(x),
        }
    }
}

/// "If the label is present, `test(value) == holds`."
#[derive(Clone, Copy)]
struct Pred<'a> {
    test: Test<'a>,
    holds: bool,
    src: Src<'a>,
}

impl Pred<'_> {
    fn allows(&self, v: &str) -> bool {
        self.test.on(v) == self.holds
    }
}

/// "The label is present and its value is in `set`."
struct Part<'a> {
    src: Src<'a>,
    set: BTreeSet<&'a str>,
}

/// Necessary conditions on one label.
#[derive(Default)]
struct Fact<'a> {
    present: Option<Src<'a>>,
    absent: Option<Src<'a>>,
    /// Intersection of the sets of `parts`; `None` when no part constrains the value.
    values: Option<BTreeSet<&'a str>>,
    parts: Vec<Part<'a>>,
    preds: Vec<Pred<'a>>,
}

impl<'a> Fact<'a> {
    fn merge(&mut self, other: Fact<'a>) {
        self.present = self.present.or(other.present);
        self.absent = self.absent.or(other.absent);
        if let Some(theirs) = other.values {
            self.values = Some(match self.values.take() {
                None => theirs,
                Some(mut ours) => {
                    ours.retain(|v| theirs.contains(v));
                    ours
                }
            });
        }
        self.parts.extend(other.parts);
        self.preds.extend(other.preds);
    }

    /// The values still possible once the filters are applied.
    fn allowed_values(&self) -> Option<BTreeSet<&'a str>> {
        self.values.as_ref().map(|vs| {
            vs.iter()
                .copied()
                .filter(|v| self.preds.iter().all(|p| p.allows(v)))
                .collect()
        })
    }
}

type Facts<'a> = BTreeMap<&'a str, Fact<'a>>;

/// `Err(reason)` when the (possibly negated) expression can never match.
type Outcome<'a> = Result<Facts<'a>, String>;

/// `Some(reason)` when no label map can match `e`. Sound; recursion depth is the tree's depth.
pub(crate) fn never_matches(e: &Expr) -> Option<String> {
    analyze(e, false).err()
}

fn single<'a>(label: &'a str, fact: Fact<'a>) -> Facts<'a> {
    Facts::from([(label, fact)])
}

/// The recursive walk. Kept small (leaves and the combination of `||` alternatives live in
/// separate functions) because its frame is paid once per tree level.
fn analyze(e: &Expr, negated: bool) -> Outcome<'_> {
    match (e, negated) {
        (Expr::Not(inner), _) => analyze(inner, !negated),
        (Expr::And(items), false) | (Expr::Or(items), true) => conjunction(items, negated),
        (Expr::Or(items), false) | (Expr::And(items), true) => {
            disjunction(Src { expr: e, negated }, items, negated)
        }
        _ => leaf(Src { expr: e, negated }),
    }
}

fn leaf(src: Src<'_>) -> Outcome<'_> {
    let pred = |k, test, holds| {
        single(
            k,
            Fact {
                preds: vec![Pred { test, holds, src }],
                ..Fact::default()
            },
        )
    };
    Ok(match (src.expr, src.negated) {
        (Expr::All, false) | (Expr::Global, _) => Facts::new(),
        (Expr::All, true) => return Err("`!all()` never matches anything".into()),
        (Expr::Has(k), false) => single(
            k,
            Fact {
                present: Some(src),
                ..Fact::default()
            },
        ),
        (Expr::Has(k), true) => single(
            k,
            Fact {
                absent: Some(src),
                ..Fact::default()
            },
        ),
        (Expr::Eq(k, v), false) | (Expr::Ne(k, v), true) => {
            single(k, value_fact(src, std::slice::from_ref(v)))
        }
        (Expr::Eq(k, v), true) | (Expr::Ne(k, v), false) => pred(k, Test::Equals(v), false),
        (Expr::In(k, vs), false) | (Expr::NotIn(k, vs), true) => {
            if vs.is_empty() {
                return Err(empty_set_reason(src));
            }
            single(k, value_fact(src, vs))
        }
        (Expr::In(k, vs), true) | (Expr::NotIn(k, vs), false) => pred(k, Test::OneOf(vs), false),
        (Expr::Contains(k, s), _) => string_test(k, Test::Contains(s), src),
        (Expr::StartsWith(k, s), _) => string_test(k, Test::StartsWith(s), src),
        (Expr::EndsWith(k, s), _) => string_test(k, Test::EndsWith(s), src),
        // Composite nodes are handled by `analyze`.
        (Expr::Not(_) | Expr::And(_) | Expr::Or(_), _) => Facts::new(),
    })
}

fn value_fact<'a>(src: Src<'a>, vs: &'a [String]) -> Fact<'a> {
    let set: BTreeSet<&str> = vs.iter().map(String::as_str).collect();
    Fact {
        present: Some(src),
        values: Some(set.clone()),
        parts: vec![Part { src, set }],
        ..Fact::default()
    }
}

/// `contains` / `starts with` / `ends with`: when positive they also require presence.
fn string_test<'a>(k: &'a str, test: Test<'a>, src: Src<'a>) -> Facts<'a> {
    single(
        k,
        Fact {
            present: (!src.negated).then_some(src),
            preds: vec![Pred {
                test,
                holds: !src.negated,
                src,
            }],
            ..Fact::default()
        },
    )
}

fn empty_set_reason(src: Src<'_>) -> String {
    if src.negated {
        let inner = Src {
            expr: src.expr,
            negated: false,
        };
        format!(
            "`{}` never matches: `{}` matches every label map",
            src.render(),
            inner.render()
        )
    } else {
        format!(
            "`{}` never matches: its set of values is empty",
            src.render()
        )
    }
}

fn conjunction(items: &[Expr], negated: bool) -> Outcome<'_> {
    let mut acc = Facts::new();
    for item in items {
        for (k, fact) in analyze(item, negated)? {
            acc.entry(k).or_default().merge(fact);
        }
    }
    for (k, fact) in &acc {
        check(k, fact)?;
    }
    Ok(acc)
}

fn check(label: &str, fact: &Fact<'_>) -> Result<(), String> {
    if let (Some(p), Some(a)) = (fact.present, fact.absent) {
        return Err(format!(
            "label `{label}` must be both present (required by `{}`) and absent (required by `{}`)",
            p.render(),
            a.render()
        ));
    }
    if fact.allowed_values().is_some_and(|vs| vs.is_empty()) {
        return Err(value_conflict(label, &fact.parts, &fact.preds));
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Item<'f, 'a> {
    Part(&'f Part<'a>),
    Pred(&'f Pred<'a>),
}

impl<'a> Item<'_, 'a> {
    fn src(&self) -> Src<'a> {
        match self {
            Item::Part(p) => p.src,
            Item::Pred(p) => p.src,
        }
    }
}

/// True when the value sets and filters in `items` leave no possible value.
fn contradictory(items: &[Item<'_, '_>]) -> bool {
    let mut sets = items.iter().filter_map(|i| match i {
        Item::Part(p) => Some(&p.set),
        Item::Pred(_) => None,
    });
    let Some(first) = sets.next() else {
        return false;
    };
    let others: Vec<_> = sets.collect();
    !first.iter().any(|v| {
        others.iter().all(|s| s.contains(v))
            && items.iter().all(|i| match i {
                Item::Pred(p) => p.allows(v),
                Item::Part(_) => true,
            })
    })
}

/// Explains why no value of `label` is possible, naming a small set of culprits.
fn value_conflict(label: &str, parts: &[Part<'_>], preds: &[Pred<'_>]) -> String {
    let mut items: Vec<Item<'_, '_>> = parts
        .iter()
        .map(Item::Part)
        .chain(preds.iter().map(Item::Pred))
        .collect();
    // Greedily drop parts that are not needed for the contradiction (bounded effort).
    if items.len() <= 64 {
        let mut i = 0;
        while i < items.len() {
            let mut trial = items.clone();
            trial.remove(i);
            if contradictory(&trial) {
                items = trial;
            } else {
                i += 1;
            }
        }
    }
    if let [Item::Part(a), Item::Part(b)] = items.as_slice()
        && let (Some(x), Some(y)) = (a.src.equality(), b.src.equality())
    {
        return format!(
            "label `{label}` must equal both {} and {}",
            quoted(&snippet(x, 60)),
            quoted(&snippet(y, 60))
        );
    }
    let mut names: Vec<String> = Vec::new();
    for item in &items {
        let name = format!("`{}`", item.src().render());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let shown = names.len().min(4);
    let rest = names.split_off(shown);
    let list = match (names.as_slice(), rest.len()) {
        ([only], 0) => only.clone(),
        ([a, b], 0) => format!("both {a} and {b}"),
        (_, 0) => {
            let (last, init) = names
                .split_last()
                .map_or((String::new(), &[][..]), |(l, i)| (l.clone(), i));
            format!("all of {} and {last}", init.join(", "))
        }
        (_, n) => format!("all of {} and {n} more", names.join(", ")),
    };
    format!("no value of label `{label}` satisfies {list}")
}

fn disjunction<'a>(src: Src<'a>, items: &'a [Expr], negated: bool) -> Outcome<'a> {
    let mut branches = Vec::new();
    let mut first_reason = None;
    for item in items {
        match analyze(item, negated) {
            Ok(facts) => branches.push(facts),
            Err(reason) => {
                first_reason.get_or_insert(reason);
            }
        }
    }
    if branches.len() > 1 {
        return Ok(combine_alternatives(src, branches));
    }
    match (branches.pop(), first_reason) {
        (Some(only), _) => Ok(only),
        (None, Some(reason)) if items.len() == 1 => Err(reason),
        (None, Some(reason)) => Err(format!(
            "no alternative of `{}` can match (the first fails because {reason})",
            src.render()
        )),
        (None, None) => Err(format!(
            "`{}` has no alternatives, so it never matches",
            src.render()
        )),
    }
}

/// Facts common to every alternative (at least two, none of them contradictory).
fn combine_alternatives<'a>(src: Src<'a>, branches: Vec<Facts<'a>>) -> Facts<'a> {
    /// What one alternative requires of a label, with filters applied to the value set.
    struct Summary<'a> {
        present: bool,
        absent: bool,
        values: Option<BTreeSet<&'a str>>,
    }
    fn summarize<'a>(f: &Fact<'a>) -> Summary<'a> {
        Summary {
            present: f.present.is_some(),
            absent: f.absent.is_some(),
            values: f.allowed_values(),
        }
    }

    let mut branches = branches.into_iter();
    let mut acc: BTreeMap<&str, Summary<'_>> = branches
        .next()
        .map(|facts| facts.iter().map(|(k, f)| (*k, summarize(f))).collect())
        .unwrap_or_default();
    for branch in branches {
        acc.retain(|k, s| {
            let Some(other) = branch.get(k).map(summarize) else {
                return false;
            };
            s.present &= other.present;
            s.absent &= other.absent;
            s.values = match (s.values.take(), other.values) {
                (Some(mut ours), Some(theirs)) if s.present => {
                    ours.extend(theirs);
                    Some(ours)
                }
                _ => None,
            };
            s.present || s.absent
        });
    }
    acc.into_iter()
        .map(|(k, s)| {
            let fact = Fact {
                present: s.present.then_some(src),
                absent: s.absent.then_some(src),
                parts: s
                    .values
                    .iter()
                    .map(|set| Part {
                        src,
                        set: set.clone(),
                    })
                    .collect(),
                values: s.values,
                preds: Vec::new(),
            };
            (k, fact)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::selector::parser::parse;

    fn never(src: &str) -> Option<String> {
        match parse(src) {
            Ok(e) => never_matches(&e),
            Err(e) => panic!("{src:?}: {e}"),
        }
    }

    fn reason(src: &str) -> String {
        never(src).unwrap_or_else(|| panic!("{src:?} should never match"))
    }

    #[test]
    fn satisfiable_selectors_are_not_reported() {
        for src in [
            "",
            "all()",
            "global()",
            "!global()",
            "a == 'x'",
            "a == 'x' && b == 'y'",
            "a == 'x' || a == 'y'",
            "has(a) || !has(a)",
            "(a == 'x' && a == 'y') || has(b)",
            "a in {} || has(b)",
            "!(a in {})",
            "a not in {}",
            "a != 'x' && a != 'y'",
            "a != 'x' && !has(a)",
            "a starts with 'x' && a ends with 'y'",
            "a in {'x', 'y'} && a != 'x'",
            "!(!has(a)) && has(a)",
            "a contains '' && a == ''",
            "!(a contains 'x') && a == 'y'",
            "(a == 'x' || b == 'y') && a == 'y'",
            "!(has(a) && has(b)) && has(a)",
        ] {
            assert_eq!(never(src), None, "{src}");
        }
    }

    #[test]
    fn calico_restriction_conflicts() {
        assert_eq!(
            reason("tier == 'a' && tier == 'b'"),
            "label `tier` must equal both \"a\" and \"b\""
        );
        assert_eq!(
            reason("has(a) && !has(a)"),
            "label `a` must be both present (required by `has(a)`) and absent (required by `!has(a)`)"
        );
        assert_eq!(
            reason("a in {'v1','v2'} && a in {'v3'}"),
            "no value of label `a` satisfies both `a in {\"v1\", \"v2\"}` and `a in {\"v3\"}`"
        );
        assert_eq!(
            reason("a == 'x' && !has(a)"),
            "label `a` must be both present (required by `a == \"x\"`) and absent (required by `!has(a)`)"
        );
    }

    #[test]
    fn empty_sets_and_negated_all() {
        assert_eq!(
            reason("a in {}"),
            "`a in {}` never matches: its set of values is empty"
        );
        assert_eq!(
            reason("has(b) && a in {}"),
            "`a in {}` never matches: its set of values is empty"
        );
        assert_eq!(
            reason("!a not in {}"),
            "`!a not in {}` never matches: `a not in {}` matches every label map"
        );
        assert_eq!(reason("!all()"), "`!all()` never matches anything");
        assert_eq!(
            reason("has(a) && !all()"),
            "`!all()` never matches anything"
        );
        assert_eq!(
            reason("!(all() || has(a))"),
            "`!all()` never matches anything"
        );
    }

    #[test]
    fn stronger_than_calico() {
        assert_eq!(
            reason("a == 'x' && a != 'x'"),
            "no value of label `a` satisfies both `a == \"x\"` and `a != \"x\"`"
        );
        assert_eq!(
            reason("!(a != 'x') && a == 'y'"),
            "label `a` must equal both \"x\" and \"y\""
        );
        assert_eq!(
            reason("a in {'x', 'y'} && a starts with 'z'"),
            "no value of label `a` satisfies both `a in {\"x\", \"y\"}` and `a starts with \"z\"`"
        );
        assert_eq!(
            reason("!(has(a) || b == 'c') && a == 'd'"),
            "label `a` must be both present (required by `a == \"d\"`) and absent (required by `!has(a)`)"
        );
        assert_eq!(
            reason("(a == 'x' || a == 'y') && a == 'z'"),
            "no value of label `a` satisfies both `(a == \"x\" || a == \"y\")` and `a == \"z\"`"
        );
        assert_eq!(
            reason("(a == 'x' && a == 'y') || !all()"),
            "no alternative of `((a == \"x\" && a == \"y\") || !all())` can match (the first fails because label `a` must equal both \"x\" and \"y\")"
        );
        assert_eq!(
            reason("((a == 'x' && has(b)) || (a in {'y'} && a != 'y') || a == 'z') && a == 'q'"),
            "no value of label `a` satisfies both `((a == \"x\" && has(b)) || (a in {\"y\"} && a != \"y\") || a == \"z\")` and `a == \"q\"`"
        );
    }

    #[test]
    fn minimal_culprits_are_named() {
        assert_eq!(
            reason("a == 'x' && has(b) && a != 'q' && b == 'c' && a == 'y'"),
            "label `a` must equal both \"x\" and \"y\""
        );
        assert_eq!(
            reason("a in {'x','y','z'} && a != 'x' && a != 'y' && a != 'z' && a != 'w'"),
            "no value of label `a` satisfies all of `a in {\"x\", \"y\", \"z\"}`, `a != \"x\"`, `a != \"y\"` and `a != \"z\"`"
        );
    }

    #[test]
    fn long_chains_are_fast() {
        let src = (0..10_000)
            .map(|i| format!("l{i} == 'v' && a != 'x{i}'"))
            .collect::<Vec<_>>()
            .join(" && ");
        assert_eq!(never(&src), None);
        let src = format!("{src} && a == 'x9999'");
        assert!(never(&src).is_some());
        let src = (0..10_000)
            .map(|i| format!("a == 'v{i}'"))
            .collect::<Vec<_>>()
            .join(" || ");
        assert_eq!(never(&src), None);
        assert!(never(&format!("({src}) && a == 'w'")).is_some());
    }
}
