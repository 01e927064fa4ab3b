//! The selector AST and its evaluation (spec §3.3).

use super::labels::Labels;

/// A parsed selector expression.
///
/// The parser produces `And`/`Or` only with two or more operands, keeps the
/// parenthesisation of the source (`(a && b) && c` is an `And` inside an `And`), collapses
/// runs of `!` tokens by parity, and stores `In`/`NotIn` sets sorted and de-duplicated.
/// Hand-built values may break these conventions; every method still gives a sensible
/// answer (an empty `And` is true, an empty `Or` is false).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `all()` (also the empty selector): always true.
    All,
    /// `global()`: always true as a plain expression (see spec §3.7 for its special role).
    Global,
    /// `has(k)`
    Has(String),
    /// `k == "v"`
    Eq(String, String),
    /// `k != "v"`: true when `k` is absent.
    Ne(String, String),
    /// `k in {...}`
    In(String, Vec<String>),
    /// `k not in {...}`: true when `k` is absent.
    NotIn(String, Vec<String>),
    /// `k contains "s"`
    Contains(String, String),
    /// `k starts with "s"`
    StartsWith(String, String),
    /// `k ends with "s"`
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// The label a leaf tests, if this is a leaf that tests one.
    pub fn label(&self) -> Option<&str> {
        match self {
            Expr::Has(k)
            | Expr::Eq(k, _)
            | Expr::Ne(k, _)
            | Expr::In(k, _)
            | Expr::NotIn(k, _)
            | Expr::Contains(k, _)
            | Expr::StartsWith(k, _)
            | Expr::EndsWith(k, _) => Some(k),
            Expr::All | Expr::Global | Expr::Not(_) | Expr::And(_) | Expr::Or(_) => None,
        }
    }

    /// Evaluates the expression against a label map (spec §3.3).
    ///
    /// Iterative, with `&&`/`||` short-circuiting, so any depth of hand-built tree is fine.
    pub fn eval<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        enum Frame<'e> {
            Not,
            And(&'e [Expr], usize),
            Or(&'e [Expr], usize),
        }
        // Evaluated millions of times per check (concrete refutation, exposure): the frames of
        // a usual selector fit on the stack.
        let mut stack: smallvec::SmallVec<[Frame<'_>; 8]> = smallvec::SmallVec::new();
        let mut node = self;
        'descend: loop {
            let mut result = match node {
                Expr::Not(inner) => {
                    stack.push(Frame::Not);
                    node = inner;
                    continue 'descend;
                }
                Expr::And(items) => match items.first() {
                    Some(first) => {
                        stack.push(Frame::And(items, 0));
                        node = first;
                        continue 'descend;
                    }
                    None => true,
                },
                Expr::Or(items) => match items.first() {
                    Some(first) => {
                        stack.push(Frame::Or(items, 0));
                        node = first;
                        continue 'descend;
                    }
                    None => false,
                },
                leaf => eval_leaf(leaf, labels),
            };
            loop {
                match stack.pop() {
                    None => return result,
                    Some(Frame::Not) => result = !result,
                    Some(Frame::And(items, i)) => {
                        if let (true, Some(next)) = (result, items.get(i + 1)) {
                            stack.push(Frame::And(items, i + 1));
                            node = next;
                            continue 'descend;
                        }
                    }
                    Some(Frame::Or(items, i)) => {
                        if let (false, Some(next)) = (result, items.get(i + 1)) {
                            stack.push(Frame::Or(items, i + 1));
                            node = next;
                            continue 'descend;
                        }
                    }
                }
            }
        }
    }

    /// Calls `f` on every node, parents before children (iterative).
    pub(crate) fn for_each_node<'e>(&'e self, mut f: impl FnMut(&'e Expr)) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            match e {
                Expr::Not(inner) => stack.push(inner),
                Expr::And(items) | Expr::Or(items) => stack.extend(items.iter().rev()),
                _ => {}
            }
        }
    }

    /// A copy with every label name `k` replaced by `f(k)`. Recursion depth is the tree's depth.
    pub(crate) fn map_labels(&self, f: &impl Fn(&str) -> String) -> Expr {
        match self {
            Expr::All => Expr::All,
            Expr::Global => Expr::Global,
            Expr::Has(k) => Expr::Has(f(k)),
            Expr::Eq(k, v) => Expr::Eq(f(k), v.clone()),
            Expr::Ne(k, v) => Expr::Ne(f(k), v.clone()),
            Expr::In(k, vs) => Expr::In(f(k), vs.clone()),
            Expr::NotIn(k, vs) => Expr::NotIn(f(k), vs.clone()),
            Expr::Contains(k, v) => Expr::Contains(f(k), v.clone()),
            Expr::StartsWith(k, v) => Expr::StartsWith(f(k), v.clone()),
            Expr::EndsWith(k, v) => Expr::EndsWith(f(k), v.clone()),
            Expr::Not(inner) => Expr::Not(Box::new(inner.map_labels(f))),
            Expr::And(items) => Expr::And(items.iter().map(|e| e.map_labels(f)).collect()),
            Expr::Or(items) => Expr::Or(items.iter().map(|e| e.map_labels(f)).collect()),
        }
    }
}

fn eval_leaf<L: Labels + ?Sized>(leaf: &Expr, labels: &L) -> bool {
    match leaf {
        Expr::All | Expr::Global => true,
        Expr::Has(k) => labels.label(k).is_some(),
        Expr::Eq(k, v) => labels.label(k) == Some(v.as_str()),
        Expr::Ne(k, v) => labels.label(k) != Some(v.as_str()),
        Expr::In(k, vs) => labels.label(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Expr::NotIn(k, vs) => !labels.label(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Expr::Contains(k, s) => labels.label(k).is_some_and(|x| x.contains(s.as_str())),
        Expr::StartsWith(k, s) => labels.label(k).is_some_and(|x| x.starts_with(s.as_str())),
        Expr::EndsWith(k, s) => labels.label(k).is_some_and(|x| x.ends_with(s.as_str())),
        // Not reached: eval handles composite nodes itself.
        Expr::Not(inner) => !inner.eval(labels),
        Expr::And(items) => items.iter().all(|e| e.eval(labels)),
        Expr::Or(items) => items.iter().any(|e| e.eval(labels)),
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
        let l = [("a", "hello"), ("e", "")];
        assert!(Expr::All.eval(&l));
        assert!(Expr::Global.eval(&l));
        assert!(Expr::Has(s("e")).eval(&l));
        assert!(!Expr::Has(s("z")).eval(&l));
        assert!(Expr::Eq(s("a"), s("hello")).eval(&l));
        assert!(!Expr::Eq(s("z"), s("")).eval(&l));
        assert!(Expr::Ne(s("z"), s("x")).eval(&l));
        assert!(!Expr::Ne(s("a"), s("hello")).eval(&l));
        assert!(!Expr::In(s("a"), vec![]).eval(&l));
        assert!(Expr::NotIn(s("a"), vec![]).eval(&l));
        assert!(Expr::NotIn(s("z"), vec![s("x")]).eval(&l));
        assert!(Expr::Contains(s("a"), s("ell")).eval(&l));
        assert!(Expr::Contains(s("e"), s("")).eval(&l));
        assert!(!Expr::Contains(s("z"), s("")).eval(&l));
        assert!(Expr::StartsWith(s("a"), s("he")).eval(&l));
        assert!(!Expr::StartsWith(s("a"), s("lo")).eval(&l));
        assert!(Expr::EndsWith(s("a"), s("lo")).eval(&l));
    }

    #[test]
    fn composites_and_empty_chains() {
        let l = [("a", "1")];
        let t = || Expr::Has(s("a"));
        let f = || Expr::Has(s("b"));
        assert!(Expr::And(vec![]).eval(&l));
        assert!(!Expr::Or(vec![]).eval(&l));
        assert!(Expr::And(vec![t(), t(), t()]).eval(&l));
        assert!(!Expr::And(vec![t(), f(), t()]).eval(&l));
        assert!(Expr::Or(vec![f(), f(), t()]).eval(&l));
        assert!(!Expr::Or(vec![f(), f()]).eval(&l));
        assert!(Expr::Not(Box::new(f())).eval(&l));
        assert!(!Expr::Not(Box::new(Expr::Not(Box::new(f())))).eval(&l));
        let nested = Expr::Or(vec![
            Expr::And(vec![t(), Expr::Not(Box::new(t()))]),
            Expr::Not(Box::new(Expr::Or(vec![f(), Expr::And(vec![])]))),
            Expr::And(vec![Expr::Or(vec![f(), t()]), t()]),
        ]);
        assert!(nested.eval(&l));
    }

    #[test]
    fn deep_hand_built_trees_evaluate_iteratively() {
        let mut e = Expr::Has(s("a"));
        for i in 0..50_000 {
            e = if i % 2 == 0 {
                Expr::Not(Box::new(e))
            } else {
                Expr::And(vec![Expr::All, e])
            };
        }
        assert!(e.eval(&[("a", "x")]));
        // Drop is recursive; tear the tree down by hand to keep this test's stack small.
        let mut stack = vec![e];
        while let Some(node) = stack.pop() {
            match node {
                Expr::Not(inner) => stack.push(*inner),
                Expr::And(items) | Expr::Or(items) => stack.extend(items),
                _ => {}
            }
        }
    }

    #[test]
    fn map_labels_and_for_each_node() {
        let e = Expr::And(vec![
            Expr::Has(s("a")),
            Expr::Not(Box::new(Expr::In(s("b"), vec![s("x")]))),
        ]);
        let p = e.map_labels(&|k| format!("p.{k}"));
        let mut labels = Vec::new();
        p.for_each_node(|n| labels.extend(n.label()));
        assert_eq!(labels, ["p.a", "p.b"]);
    }
}
