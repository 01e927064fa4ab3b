//! Canonical printing (spec §3.4, Calico's `collectFragments`).
//!
//! * `all()`, `global()`, `has(k)` verbatim;
//! * comparisons as `k == "v"`, `k != "v"`, `k contains "v"`, `k starts with "v"`,
//!   `k ends with "v"`; a value is wrapped in `"` unless it contains `"`, then in `'`;
//! * sets as `k in {"a", "b"}` / `k not in {...}`, sorted by bytes and de-duplicated;
//! * `&&`/`||` chains of two or more operands as `(x && y)` / `(x || y)`;
//! * `!` directly before its operand.

use std::collections::BTreeSet;
use std::fmt;

use super::expr::Expr;

/// Appends `v` quoted the way Calico prints it.
pub(crate) fn push_quoted(out: &mut String, v: &str) {
    let q = if v.contains('"') { '\'' } else { '"' };
    out.push(q);
    out.push_str(v);
    out.push(q);
}

pub(crate) fn quoted(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    push_quoted(&mut out, v);
    out
}

fn push_set(out: &mut String, label: &str, op: &str, values: &[String]) {
    out.push_str(label);
    out.push(' ');
    out.push_str(op);
    out.push_str(" {");
    let sorted: BTreeSet<&str> = values.iter().map(String::as_str).collect();
    for (i, v) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_quoted(out, v);
    }
    out.push('}');
}

fn push_cmp(out: &mut String, label: &str, op: &str, value: &str) {
    out.push_str(label);
    out.push_str(op);
    push_quoted(out, value);
}

impl Expr {
    /// The canonical text of this expression (spec §3.4).
    ///
    /// Iterative, linear in the size of the output. Hand-built empty chains print as
    /// `all()` (empty `And`) and `!all()` (empty `Or`), matching their evaluation.
    pub fn canonical(&self) -> String {
        enum Work<'e> {
            Node(&'e Expr),
            Text(&'static str),
        }
        let mut out = String::new();
        let mut stack = vec![Work::Node(self)];
        while let Some(work) = stack.pop() {
            let node = match work {
                Work::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Work::Node(node) => node,
            };
            match node {
                Expr::All => out.push_str("all()"),
                Expr::Global => out.push_str("global()"),
                Expr::Has(k) => {
                    out.push_str("has(");
                    out.push_str(k);
                    out.push(')');
                }
                Expr::Eq(k, v) => push_cmp(&mut out, k, " == ", v),
                Expr::Ne(k, v) => push_cmp(&mut out, k, " != ", v),
                Expr::Contains(k, v) => push_cmp(&mut out, k, " contains ", v),
                Expr::StartsWith(k, v) => push_cmp(&mut out, k, " starts with ", v),
                Expr::EndsWith(k, v) => push_cmp(&mut out, k, " ends with ", v),
                Expr::In(k, vs) => push_set(&mut out, k, "in", vs),
                Expr::NotIn(k, vs) => push_set(&mut out, k, "not in", vs),
                Expr::Not(inner) => {
                    out.push('!');
                    stack.push(Work::Node(inner));
                }
                Expr::And(items) | Expr::Or(items) => {
                    let (sep, empty) = match node {
                        Expr::And(_) => (" && ", "all()"),
                        _ => (" || ", "!all()"),
                    };
                    match items.as_slice() {
                        [] => out.push_str(empty),
                        [only] => stack.push(Work::Node(only)),
                        _ => {
                            out.push('(');
                            stack.push(Work::Text(")"));
                            for (i, item) in items.iter().enumerate().rev() {
                                stack.push(Work::Node(item));
                                if i > 0 {
                                    stack.push(Work::Text(sep));
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn leaves() {
        assert_eq!(Expr::All.canonical(), "all()");
        assert_eq!(Expr::Global.canonical(), "global()");
        assert_eq!(Expr::Has(s("a/b")).canonical(), "has(a/b)");
        assert_eq!(Expr::Eq(s("a"), s("'")).canonical(), r#"a == "'""#);
        assert_eq!(Expr::Eq(s("a"), s("\"")).canonical(), r#"a == '"'"#);
        assert_eq!(Expr::Ne(s("a"), s("")).canonical(), r#"a != """#);
        assert_eq!(
            Expr::Contains(s("a"), s("x")).canonical(),
            r#"a contains "x""#
        );
        assert_eq!(
            Expr::StartsWith(s("a"), s("\"")).canonical(),
            r#"a starts with '"'"#
        );
        assert_eq!(
            Expr::EndsWith(s("a"), s("'")).canonical(),
            r#"a ends with "'""#
        );
    }

    #[test]
    fn sets_sorted_deduped_and_quoted_per_value() {
        let vs = vec![s("z"), s("z"), s("x"), s("\""), s("B"), s("a")];
        assert_eq!(
            Expr::In(s("k"), vs.clone()).canonical(),
            r#"k in {'"', "B", "a", "x", "z"}"#
        );
        assert_eq!(
            Expr::NotIn(s("k"), vs).canonical(),
            r#"k not in {'"', "B", "a", "x", "z"}"#
        );
        assert_eq!(Expr::In(s("k"), vec![]).canonical(), "k in {}");
    }

    #[test]
    fn chains_and_negation() {
        let h = |k: &str| Expr::Has(s(k));
        let e = Expr::Not(Box::new(Expr::Or(vec![
            h("b"),
            Expr::Not(Box::new(h("a"))),
            Expr::And(vec![h("c"), h("d")]),
        ])));
        assert_eq!(e.canonical(), "!(has(b) || !has(a) || (has(c) && has(d)))");
        assert_eq!(Expr::And(vec![h("a")]).canonical(), "has(a)");
        assert_eq!(Expr::And(vec![]).canonical(), "all()");
        assert_eq!(Expr::Or(vec![]).canonical(), "!all()");
        assert_eq!(
            Expr::Not(Box::new(Expr::Not(Box::new(h("a"))))).to_string(),
            "!!has(a)"
        );
    }

    #[test]
    fn long_chains_are_linear() {
        let e = Expr::And((0..20_000).map(|i| Expr::Has(format!("l{i}"))).collect());
        let c = e.canonical();
        assert!(c.starts_with("(has(l0) && has(l1) && "));
        assert!(c.ends_with("has(l19999))"));
    }
}
