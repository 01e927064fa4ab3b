//! Parser for the selector grammar (spec §3.2).
//!
//! ```text
//! selector := <empty> | or_expr EOF
//! or_expr  := and_expr { "||" and_expr }
//! and_expr := unary { "&&" unary }
//! unary    := { "!" } primary            -- parity of the "!" run decides negation
//! primary  := HAS | "all()" | "global()" | "(" or_expr ")"
//!           | LABEL ( "==" | "!=" | "contains" | "starts with" | "ends with" ) STRING
//!           | LABEL ( "in" | "not in" ) "{" [ STRING { "," STRING } [ "," ] ] "}"
//! ```
//!
//! The parser is iterative: each open parenthesis pushes a [`Group`] on an explicit stack,
//! so hostile input cannot exhaust the call stack.
//!
//! Nesting is capped at [`MAX_NESTING`], counted two ways: open parentheses, and nested
//! `!` / `&&` / `||` nodes on any path of the parsed tree. The second bounds the recursion of
//! every walk over a parsed tree (analyses, `Clone`, `Drop`); because the canonical form's
//! parentheses come only from `&&`/`||` nodes, the canonical form of every accepted selector
//! is accepted too.

use super::error::{SelectorError, snippet};
use super::expr::Expr;
use super::lexer::{Lexer, Tok, Token};

/// Deepest nesting accepted, both of parentheses and of `!`/`&&`/`||` in the parsed tree.
///
/// Calico itself has no limit; real selectors nest a few levels at most. 256 keeps every
/// recursive walk over a parsed tree well within a 1 MiB stack even in debug builds.
pub const MAX_NESTING: usize = 256;

pub(crate) fn parse(src: &str) -> Result<Expr, SelectorError> {
    let mut lexer = Lexer::new(src);
    let cur = lexer.next_token()?;
    let mut p = Parser { lexer, cur };
    if p.cur.tok == Tok::Eof {
        return Ok(Expr::All);
    }
    let expr = p.expression()?;
    match p.cur.tok {
        Tok::Eof => Ok(expr),
        Tok::RParen => Err(SelectorError::new(
            p.cur.start,
            "unexpected `)`: it has no matching `(`",
        )),
        other => Err(SelectorError::new(
            p.cur.start,
            format!(
                "unexpected {} after a complete expression (join expressions with `&&` or `||`)",
                other.describe()
            ),
        )),
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The lookahead token.
    cur: Token<'a>,
}

/// An `or_expr` being built: the whole selector, or the inside of one pair of parentheses.
/// Depths count `!`/`&&`/`||` nodes on the deepest path (a leaf has depth 0).
#[derive(Default)]
struct Group {
    /// Finished `&&` chains, one per `||` operand, and the deepest of them.
    or_items: Vec<Expr>,
    or_depth: usize,
    /// Operands of the `&&` chain in progress, and the deepest of them.
    and_items: Vec<Expr>,
    and_depth: usize,
    /// For a parenthesised group: where its `(` is and whether a `!` run negates it.
    open: Option<(usize, bool)>,
}

/// Folds operands into a chain node, leaving a single operand unwrapped.
fn chain(mut items: Vec<Expr>, node: fn(Vec<Expr>) -> Expr) -> Option<Expr> {
    match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(node(items)),
    }
}

impl Group {
    fn push(&mut self, operand: Expr, depth: usize) {
        self.and_items.push(operand);
        self.and_depth = self.and_depth.max(depth);
    }

    fn end_and_chain(&mut self) {
        let depth = self.and_depth + usize::from(self.and_items.len() > 1);
        if let Some(e) = chain(std::mem::take(&mut self.and_items), Expr::And) {
            self.or_items.push(e);
            self.or_depth = self.or_depth.max(depth);
        }
        self.and_depth = 0;
    }

    /// The group's expression and its depth (including the `!` in front of it, if any).
    /// Only called after at least one operand was parsed. `top_start` locates errors for the
    /// top-level group, which has no `(`.
    fn finish(mut self, top_start: usize) -> Result<(Expr, usize), SelectorError> {
        self.end_and_chain();
        let (at, negated) = self.open.unwrap_or((top_start, false));
        let depth = self.or_depth + usize::from(self.or_items.len() > 1) + usize::from(negated);
        if depth > MAX_NESTING {
            return Err(SelectorError::new(
                at,
                format!(
                    "selector nested too deeply: `!`, `&&` and `||` nest more than {MAX_NESTING} levels deep in the expression starting here"
                ),
            ));
        }
        let e = chain(self.or_items, Expr::Or).unwrap_or(Expr::All);
        Ok((if negated { Expr::Not(Box::new(e)) } else { e }, depth))
    }
}

const TERM: &str = "a label comparison, `has(label)`, `all()`, `global()`, `!` or `(`";

impl<'a> Parser<'a> {
    /// Consumes the lookahead token, returning it.
    fn advance(&mut self) -> Result<Token<'a>, SelectorError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.cur, next))
    }

    /// `or_expr`, stopping at the first token that cannot continue it at the top level.
    fn expression(&mut self) -> Result<Expr, SelectorError> {
        let top_start = self.cur.start;
        let mut open: Vec<Group> = Vec::new();
        let mut group = Group::default();
        loop {
            // An operand: `!`* followed by a primary or an opening parenthesis.
            let mut negated = false;
            while self.cur.tok == Tok::Not {
                negated = !negated;
                self.advance()?;
            }
            if self.cur.tok == Tok::LParen {
                if open.len() >= MAX_NESTING {
                    return Err(SelectorError::new(
                        self.cur.start,
                        format!(
                            "selector nested too deeply: more than {MAX_NESTING} levels of parentheses"
                        ),
                    ));
                }
                let start = self.cur.start;
                self.advance()?;
                open.push(std::mem::replace(
                    &mut group,
                    Group {
                        open: Some((start, negated)),
                        ..Group::default()
                    },
                ));
                continue;
            }
            let e = self.primary()?;
            if negated {
                group.push(Expr::Not(Box::new(e)), 1);
            } else {
                group.push(e, 0);
            }

            // After an operand: `&&`, `||`, or the end of one or more groups.
            loop {
                match self.cur.tok {
                    Tok::And => {
                        self.advance()?;
                        break;
                    }
                    Tok::Or => {
                        self.advance()?;
                        group.end_and_chain();
                        break;
                    }
                    _ => {}
                }
                let Some((start, _)) = group.open else {
                    // Top level: the caller checks for the end of input.
                    return Ok(group.finish(top_start)?.0);
                };
                if self.cur.tok != Tok::RParen {
                    return Err(SelectorError::new(
                        self.cur.start,
                        format!(
                            "expected `)` to close the `(` at byte {start}, found {}",
                            self.cur.tok.describe()
                        ),
                    ));
                }
                self.advance()?;
                let Some(parent) = open.pop() else {
                    return Ok(group.finish(top_start)?.0);
                };
                let (inner, depth) = std::mem::replace(&mut group, parent).finish(top_start)?;
                group.push(inner, depth);
            }
        }
    }

    /// A primary other than a parenthesised expression.
    fn primary(&mut self) -> Result<Expr, SelectorError> {
        let tok = self.cur;
        match tok.tok {
            Tok::Has(label) => {
                self.advance()?;
                Ok(Expr::Has(label.to_string()))
            }
            Tok::All => {
                self.advance()?;
                Ok(Expr::All)
            }
            Tok::Global => {
                self.advance()?;
                Ok(Expr::Global)
            }
            Tok::Label(label) => {
                self.advance()?;
                self.comparison(label)
            }
            Tok::Str(_) => Err(SelectorError::new(
                tok.start,
                format!(
                    "expected {TERM}, found {}: the left side of a comparison must be an unquoted label name",
                    tok.tok.describe()
                ),
            )),
            Tok::Eof => Err(SelectorError::new(
                tok.start,
                format!("unexpected end of selector: expected {TERM}"),
            )),
            other => Err(SelectorError::new(
                tok.start,
                format!("expected {TERM}, found {}", other.describe()),
            )),
        }
    }

    /// After a LABEL: an operator and its right-hand side.
    fn comparison(&mut self, label: &str) -> Result<Expr, SelectorError> {
        let op = self.cur;
        let k = label.to_string();
        match op.tok {
            Tok::Eq | Tok::Ne | Tok::Contains | Tok::StartsWith | Tok::EndsWith => {
                self.advance()?;
                let v = self.string_after(op.tok)?;
                Ok(match op.tok {
                    Tok::Eq => Expr::Eq(k, v),
                    Tok::Ne => Expr::Ne(k, v),
                    Tok::Contains => Expr::Contains(k, v),
                    Tok::StartsWith => Expr::StartsWith(k, v),
                    _ => Expr::EndsWith(k, v),
                })
            }
            Tok::In | Tok::NotIn => {
                self.advance()?;
                let values = self.set_after(op.tok)?;
                Ok(if op.tok == Tok::In {
                    Expr::In(k, values)
                } else {
                    Expr::NotIn(k, values)
                })
            }
            other => Err(SelectorError::new(
                op.start,
                format!(
                    "expected an operator (`==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`) after the label `{}`, found {}",
                    snippet(label, 40),
                    other.describe()
                ),
            )),
        }
    }

    fn string_after(&mut self, op: Tok<'_>) -> Result<String, SelectorError> {
        match self.cur.tok {
            Tok::Str(v) => {
                self.advance()?;
                Ok(v.to_string())
            }
            other => {
                let hint = match other {
                    Tok::Label(l) => format!(" (values must be quoted: \"{}\")", snippet(l, 40)),
                    _ => String::new(),
                };
                Err(SelectorError::new(
                    self.cur.start,
                    format!(
                        "expected a quoted string after {}, found {}{hint}",
                        op.describe(),
                        other.describe()
                    ),
                ))
            }
        }
    }

    /// `{ [ STRING { "," STRING } [ "," ] ] }`; returns the values sorted and de-duplicated.
    fn set_after(&mut self, op: Tok<'_>) -> Result<Vec<String>, SelectorError> {
        if self.cur.tok != Tok::LBrace {
            return Err(SelectorError::new(
                self.cur.start,
                format!(
                    "expected a set such as {{\"a\", \"b\"}} after {}, found {}",
                    op.describe(),
                    self.cur.tok.describe()
                ),
            ));
        }
        self.advance()?;
        let mut values = Vec::new();
        loop {
            match self.cur.tok {
                Tok::RBrace => break,
                Tok::Str(v) => {
                    values.push(v.to_string());
                    self.advance()?;
                }
                other => {
                    let what = if values.is_empty() {
                        "a quoted string or `}`"
                    } else {
                        "a quoted string or `}` after `,`"
                    };
                    return Err(SelectorError::new(
                        self.cur.start,
                        format!("expected {what} in set, found {}", other.describe()),
                    ));
                }
            }
            match self.cur.tok {
                Tok::Comma => {
                    self.advance()?;
                }
                Tok::RBrace => break,
                other => {
                    return Err(SelectorError::new(
                        self.cur.start,
                        format!("expected `,` or `}}` in set, found {}", other.describe()),
                    ));
                }
            }
        }
        self.advance()?;
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Expr {
        parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
    }

    fn err(src: &str) -> SelectorError {
        match parse(src) {
            Ok(e) => panic!("{src:?} should not parse, got {e:?}"),
            Err(e) => e,
        }
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn empty_and_blank_are_all() {
        assert_eq!(ok(""), Expr::All);
        assert_eq!(ok(" \t "), Expr::All);
        assert_eq!(ok(" (all() )"), Expr::All);
    }

    #[test]
    fn precedence() {
        let e = ok("!a == 'b' && c == 'd' || has(e)");
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::And(vec![
                    Expr::Not(Box::new(Expr::Eq(s("a"), s("b")))),
                    Expr::Eq(s("c"), s("d")),
                ]),
                Expr::Has(s("e")),
            ])
        );
    }

    #[test]
    fn parentheses_are_kept_as_structure() {
        let e = ok("(has(a) && has(b)) && has(c)");
        assert_eq!(
            e,
            Expr::And(vec![
                Expr::And(vec![Expr::Has(s("a")), Expr::Has(s("b"))]),
                Expr::Has(s("c")),
            ])
        );
        assert_eq!(ok("((has(a)))"), Expr::Has(s("a")));
    }

    #[test]
    fn not_parity() {
        assert_eq!(ok("!!has(b)"), Expr::Has(s("b")));
        assert_eq!(ok("!! ! has(a)"), Expr::Not(Box::new(Expr::Has(s("a")))));
        assert_eq!(
            ok("!(!has(a))"),
            Expr::Not(Box::new(Expr::Not(Box::new(Expr::Has(s("a"))))))
        );
        assert_eq!(ok("!!(has(a))"), Expr::Has(s("a")));
    }

    #[test]
    fn sets() {
        assert_eq!(ok("a in {}"), Expr::In(s("a"), vec![]));
        assert_eq!(ok("a in {'x',}"), Expr::In(s("a"), vec![s("x")]));
        assert_eq!(
            ok("a notin {'y', \"x\", 'y'}"),
            Expr::NotIn(s("a"), vec![s("x"), s("y")])
        );
        assert_eq!(err("a in {,}").offset, 6);
        assert_eq!(err("a in {'x' 'y'}").offset, 10);
        assert_eq!(err("a in {'x',,}").offset, 10);
        assert_eq!(err("foo in \"\"").offset, 7);
        assert_eq!(err("foo in {\"\", ||").offset, 12);
        assert_eq!(err("a in {'x'").offset, 9);
    }

    #[test]
    fn contextual_keywords() {
        assert_eq!(ok("all == 'x'"), Expr::Eq(s("all"), s("x")));
        assert_eq!(ok("global == 'x'"), Expr::Eq(s("global"), s("x")));
        assert_eq!(ok("has == 'x'"), Expr::Eq(s("has"), s("x")));
        assert_eq!(
            ok("contains contains \"contains\""),
            Expr::Contains(s("contains"), s("contains"))
        );
        assert_eq!(ok("in in {}"), Expr::In(s("in"), vec![]));
        assert_eq!(ok("not notin {}"), Expr::NotIn(s("not"), vec![]));
    }

    #[test]
    fn error_offsets_point_at_the_problem() {
        for (src, at) in [
            ("b == b", 5),
            ("b contains b", 11),
            ("'b1' == b", 0),
            ("b", 1),
            ("a ", 2),
            ("!", 1),
            ("foo != ||", 7),
            ("(", 1),
            ("(a == \"foo\"", 11),
            (")", 0),
            ("()", 1),
            ("%", 0),
            ("a == \"b\" && %", 12),
            ("has(foo) &&", 11),
            ("(a == 'b'))", 10),
            ("a == 'b' c == 'd'", 9),
            ("a (", 2),
            ("has(a) has(b)", 7),
            ("a == 'b' || && c", 12),
        ] {
            let e = err(src);
            assert_eq!(e.offset, at, "{src:?}: {e}");
        }
    }

    #[test]
    fn error_messages() {
        assert!(err("b == b").message.contains("values must be quoted"));
        assert!(err("(a == 'b'))").message.contains("no matching `(`"));
        assert!(
            err("a == 'b' c == 'd'")
                .message
                .contains("after a complete expression")
        );
        assert!(
            err("(has(a)")
                .message
                .contains("to close the `(` at byte 0")
        );
        assert!(
            err("'b1' == b")
                .message
                .contains("must be an unquoted label")
        );
    }

    #[test]
    fn paren_nesting_limit() {
        let deepest = format!(
            "{}has(a){}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert_eq!(ok(&deepest), Expr::Has(s("a")));
        let too_deep = format!(
            "{}has(a){}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        let e = err(&too_deep);
        assert_eq!(e.offset, MAX_NESTING);
        assert!(
            e.message.contains("more than 256 levels of parentheses"),
            "{e}"
        );
        assert_eq!(err(&"(".repeat(100_000)).offset, MAX_NESTING);
        assert_eq!(err(&"!(".repeat(100_000)).offset, 2 * MAX_NESTING + 1);
    }

    /// Depth of `!`/`&&`/`||` nodes on the deepest path of the tree.
    fn depth(e: &Expr) -> usize {
        match e {
            Expr::Not(inner) => 1 + depth(inner),
            Expr::And(items) | Expr::Or(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn tree_nesting_limit() {
        // `!(!(...!(has(a))...))`: one level per parenthesis.
        let nots = format!(
            "{}has(a){}",
            "!(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert_eq!(depth(&ok(&nots)), MAX_NESTING);
        // Three levels per parenthesis: the tree limit bites before the paren limit.
        let mut src = "has(z)".to_string();
        for _ in 0..MAX_NESTING / 3 {
            src = format!("!(has(a) || has(b) && {src})");
        }
        assert_eq!(depth(&ok(&src)), MAX_NESTING / 3 * 3);
        let at_limit = format!("(has(c) && {src})");
        assert_eq!(depth(&ok(&at_limit)), MAX_NESTING);
        let over = format!("!{at_limit}");
        let e = err(&over);
        assert_eq!(e.offset, 1, "{e}");
        assert!(e.message.contains("nest more than 256 levels"), "{e}");
        let over = format!("  has(d) || {at_limit}");
        assert_eq!(err(&over).offset, 2);
        let mut src = "has(z)".to_string();
        for _ in 0..MAX_NESTING {
            src = format!("!(has(a) || has(b) && {src})");
        }
        let e = err(&src);
        assert_eq!(src.as_bytes().get(e.offset), Some(&b'('), "{e}");
    }

    #[test]
    fn long_flat_chains() {
        let src = vec!["a == 'b'"; 10_000].join(" && ");
        match ok(&src) {
            Expr::And(items) => assert_eq!(items.len(), 10_000),
            other => panic!("expected And, got {other:?}"),
        }
        let src = vec!["has(x)"; 10_000].join("||");
        match ok(&src) {
            Expr::Or(items) => assert_eq!(items.len(), 10_000),
            other => panic!("expected Or, got {other:?}"),
        }
    }
}
