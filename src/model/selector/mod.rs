//! Calico label selectors: parser, evaluator, canonical printer (spec §3).
//!
//! * `lexer` and `parser` implement the grammar of spec §3.1–§3.2 exactly as Calico's
//!   v3.30+ tokenizer and parser accept it (with a nesting limit, [`MAX_NESTING`]);
//! * [`Expr::eval`] implements §3.3, [`Expr::canonical`] §3.4;
//! * [`Selector::label_restrictions`] is Calico's `LabelRestrictions()` (§3.8), and
//!   [`Selector::never_matches`] a stronger, still sound, unsatisfiability check.
//!
//! Nothing here panics on any input string: all indexing is checked, and parse depth is
//! bounded, which bounds every recursive walk over a parsed tree.

mod canonical;
mod error;
mod expr;
mod labels;
mod lexer;
mod never;
mod parser;
mod restrict;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

pub use error::SelectorError;
pub use expr::Expr;
pub use labels::Labels;
pub use lexer::MAX_LABEL_LEN;
pub use parser::MAX_NESTING;
pub use restrict::LabelRestriction;

/// Default of [`SelectorLimits::max_bytes`]: 16 KiB. Calico itself caps selectors at 1024
/// characters since v3.33; older releases have no cap.
pub const DEFAULT_MAX_SELECTOR_BYTES: usize = 16 * 1024;

/// Default of [`SelectorLimits::max_terms`].
pub const DEFAULT_MAX_SELECTOR_TERMS: usize = 1024;

/// Bounds on the selectors calint parses and reasons about: a selector beyond them is reported
/// (CAL002) and not analyzed, so that a hostile manifest cannot make the analysis slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectorLimits {
    /// Longest selector text, in bytes, that is parsed at all.
    pub max_bytes: usize,
    /// Most terms (see [`Selector::terms`]) a parsed selector may have.
    pub max_terms: usize,
}

impl Default for SelectorLimits {
    fn default() -> Self {
        SelectorLimits {
            max_bytes: DEFAULT_MAX_SELECTOR_BYTES,
            max_terms: DEFAULT_MAX_SELECTOR_TERMS,
        }
    }
}

impl SelectorLimits {
    /// Why `src` (with its parse result) is beyond these limits, if it is.
    pub fn check(&self, src: &str, parsed: Option<&Selector>) -> Option<String> {
        if src.len() > self.max_bytes {
            return Some(format!(
                "selector is {} bytes long, more than calint's limit of {} bytes",
                src.len(),
                self.max_bytes
            ));
        }
        let terms = parsed.map_or(0, Selector::terms);
        (terms > self.max_terms).then(|| {
            format!(
                "selector has {terms} terms, more than calint's limit of {}",
                self.max_terms
            )
        })
    }
}

/// A parsed selector: its expression plus the text it was parsed from.
///
/// Equality and hashing look at the expression only, so `a=='b'` equals `a == "b"`.
#[derive(Clone, Debug)]
pub struct Selector {
    expr: Expr,
    source: String,
}

impl Selector {
    /// Parses a selector. An empty or blank (spaces/tabs only) string is `all()`.
    pub fn parse(src: &str) -> Result<Selector, SelectorError> {
        Ok(Selector {
            expr: parser::parse(src)?,
            source: src.to_string(),
        })
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The text this selector was parsed from (for [`Selector::prefixed`]: its canonical form).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Does the selector match this label map? (spec §3.3)
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        self.expr.eval(labels)
    }

    /// The canonical form (spec §3.4), as Calico prints it.
    pub fn canonical(&self) -> String {
        self.expr.canonical()
    }

    /// True for `all()`, an empty/blank selector, or `all()` in parentheses.
    pub fn is_all(&self) -> bool {
        self.expr == Expr::All
    }

    /// Calico's `LabelRestrictions()` (spec §3.8), exactly, including its blind spots.
    pub fn label_restrictions(&self) -> BTreeMap<String, LabelRestriction> {
        restrict::label_restrictions(&self.expr)
    }

    /// `Some(reason)` when no label map can match this selector; never `Some` for a
    /// selector that some label map matches.
    ///
    /// Catches everything [`Selector::label_restrictions`] proves unsatisfiable plus
    /// `k in {}`, `!all()` and more (see the `never` module). The selector is analysed as a
    /// plain expression: for fields where Calico textually rewrites `all()` (spec §3.7),
    /// analyse the rewritten selector instead.
    pub fn never_matches(&self) -> Option<String> {
        never::never_matches(&self.expr)
    }

    /// `||` alternatives that can never match while the selector as a whole can, outermost
    /// first, each with the reason (the alternatives of a dead alternative are not repeated).
    pub fn dead_alternatives(&self) -> Vec<(String, String)> {
        if self.never_matches().is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut stack = vec![&self.expr];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Or(items) => {
                    for item in items.iter().rev() {
                        match never::never_matches(item) {
                            Some(why) => out.push((item.canonical(), why)),
                            None => stack.push(item),
                        }
                    }
                }
                Expr::And(items) => stack.extend(items.iter().rev()),
                Expr::Not(inner) => stack.push(inner),
                _ => {}
            }
        }
        out
    }

    /// Every label name `k` rewritten to `prefix + k` (Calico's `PrefixVisitor`, spec §3.7).
    /// The result's [`Selector::source`] is its canonical form.
    pub fn prefixed(&self, prefix: &str) -> Selector {
        let expr = self.expr.map_labels(&|k| format!("{prefix}{k}"));
        let source = expr.canonical();
        Selector { expr, source }
    }

    /// Every label name the selector mentions.
    pub fn labels_used(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.expr.for_each_node(|e| {
            if let Some(k) = e.label() {
                out.insert(k.to_string());
            }
        });
        out
    }

    /// Size of the expression as the analysis sees it: one per leaf test (`has(k)`,
    /// `k == 'v'`, `all()`, ...), plus one per value of an `in`/`not in` set beyond the first.
    pub fn terms(&self) -> usize {
        let mut n = 0usize;
        self.expr.for_each_node(|e| {
            n = n.saturating_add(match e {
                Expr::Not(_) | Expr::And(_) | Expr::Or(_) => 0,
                Expr::In(_, vs) | Expr::NotIn(_, vs) => vs.len().max(1),
                _ => 1,
            });
        });
        n
    }

    /// Does `global()` appear anywhere in the expression? (String literals do not count.)
    pub fn contains_global(&self) -> bool {
        let mut found = false;
        self.expr.for_each_node(|e| found |= *e == Expr::Global);
        found
    }
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Selector {}

impl std::hash::Hash for Selector {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// The empty selector, `all()`.
impl Default for Selector {
    fn default() -> Self {
        Selector {
            expr: Expr::All,
            source: String::new(),
        }
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

#[cfg(test)]
mod tests;
