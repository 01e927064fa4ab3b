//! Fault-tolerant reading of span-tree nodes into typed values.
//!
//! Every reader reports what is wrong (wrong type, unknown field with a "did you mean" hint,
//! undecodable value) into the [`Reader`]'s problem list and returns `None` (or skips the
//! element), so one bad field never hides the rest of the resource.

use crate::diagnostic::Diagnostic;
use crate::load::tree::{Entry, Node, NodeKind, ScalarValue};
use crate::model::port::{Port, Protocol, port_from_int, port_from_str};
use crate::model::resource::SelectorField;
use crate::model::selector::SelectorLimits;
use crate::pointer::{Lazy, Pointer};
use crate::source::{Span, Spanned};

/// Collects problems while lowering one resource.
#[derive(Default)]
pub struct Reader {
    pub problems: Vec<Diagnostic>,
    /// When false, unknown fields are accepted silently (Kubernetes workloads, of which calint
    /// reads only a few fields).
    pub strict: bool,
    /// Selectors beyond these are kept unparsed (and reported by validation).
    pub selector_limits: SelectorLimits,
    /// (Peer, port) entries made so far converting a Kubernetes policy (see
    /// [`super::MAX_CONVERTED_PORT_ENTRIES`]).
    pub converted: usize,
}

/// JSON Pointers are built by `crate::pointer` (the one definition).
pub use crate::pointer::{child, escape as escape_pointer, index};

/// The entries of a mapping, with unknown keys already reported.
pub struct Fields<'n> {
    entries: &'n [Entry],
    pub span: Span,
    /// Where the mapping is; pointers are written only for problems (and the model's rules),
    /// not for every field read.
    pub ptr: Lazy<'n>,
}

impl<'n> Fields<'n> {
    /// The value of `key` (first occurrence) and its pointer. Explicit nulls count as absent.
    pub fn get<'s>(&'s self, key: &'s str) -> Option<(&'n Node, Lazy<'s>)> {
        self.entries
            .iter()
            .find(|e| e.key.scalar_str() == Some(key))
            .filter(|e| !e.value.is_null())
            .map(|e| (&e.value, self.ptr.child(key)))
    }

    /// Span of `key` itself (for "missing"/"not allowed" messages about a present field).
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|e| e.key.scalar_str() == Some(key))
            .map(|e| e.key.span)
    }

    pub fn has(&self, key: &str) -> bool {
        self.key_span(key).is_some()
    }

    pub fn entries(&self) -> &'n [Entry] {
        self.entries
    }
}

impl Reader {
    pub fn new(strict: bool) -> Self {
        Reader {
            problems: Vec::new(),
            strict,
            selector_limits: SelectorLimits::default(),
            converted: 0,
        }
    }

    /// A selector field, read under this reader's [`SelectorLimits`].
    pub fn selector(&self, raw: Spanned<String>) -> SelectorField {
        SelectorField::with_limits(raw, &self.selector_limits)
    }

    pub fn report(&mut self, span: Span, ptr: impl Into<Pointer>, message: impl Into<String>) {
        self.problems.push(Diagnostic::new(span, ptr, message));
    }

    fn wrong_type(&mut self, node: &Node, ptr: Lazy<'_>, expected: &str) {
        let found = node.describe();
        let msg = match &node.kind {
            NodeKind::Alias(name) => {
                format!("expected {expected}, found an unexpanded alias `*{name}`")
            }
            _ => format!("expected {expected}, found {found}"),
        };
        self.report(node.span, ptr, msg);
    }

    /// Read a mapping and report keys not in `known`.
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        ptr: impl Into<Lazy<'n>>,
        what: &str,
        known: &[&str],
    ) -> Option<Fields<'n>> {
        let ptr = ptr.into();
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                self.wrong_type(node, ptr, &format!("a mapping for {what}"));
            }
            return None;
        };
        if self.strict {
            for entry in entries {
                let Some(key) = entry.key.scalar_str() else {
                    self.report(entry.key.span, ptr, format!("{what} keys must be strings"));
                    continue;
                };
                if !known.contains(&key) {
                    let mut v = Diagnostic::new(
                        entry.key.span,
                        ptr.child(key),
                        format!("unknown field `{key}` in {what}"),
                    );
                    if ENTERPRISE_FIELDS.contains(&key) {
                        v = v.with_help(format!(
                            "`{key}` is a Calico Enterprise field; Calico Open Source rejects it"
                        ));
                    } else if let Some(suggestion) = did_you_mean(key, known) {
                        // Only a unique closest name is offered as "the" fix (`--fix` renames
                        // the key to it); a tie names every candidate.
                        let tied = tied_suggestions(key, known, suggestion);
                        v = v.with_help(if tied.len() > 1 {
                            format!("did you mean one of `{}`?", tied.join("`, `"))
                        } else {
                            format!("did you mean `{suggestion}`?")
                        });
                    } else {
                        v = v.with_help(format!("known fields: {}", known.join(", ")));
                    }
                    self.problems.push(v);
                }
            }
        }
        Some(Fields {
            entries,
            span: node.span,
            ptr,
        })
    }

    pub fn string<'p>(&mut self, node: &Node, ptr: impl Into<Lazy<'p>>) -> Option<Spanned<String>> {
        match node.as_scalar().map(|s| s.typed()) {
            Some(ScalarValue::Str(s)) => Some(Spanned::new(s.to_string(), node.span)),
            Some(ScalarValue::Null) => None,
            _ => {
                self.wrong_type(node, ptr.into(), "a string");
                None
            }
        }
    }

    pub fn opt_string(&mut self, f: &Fields<'_>, key: &str) -> Option<Spanned<String>> {
        let (node, ptr) = f.get(key)?;
        self.string(node, ptr)
    }

    pub fn int<'p>(&mut self, node: &Node, ptr: impl Into<Lazy<'p>>) -> Option<Spanned<i64>> {
        match node.as_scalar().map(|s| s.typed()) {
            Some(ScalarValue::Int(i)) => Some(Spanned::new(i, node.span)),
            Some(ScalarValue::Null) => None,
            _ => {
                self.wrong_type(node, ptr.into(), "an integer");
                None
            }
        }
    }

    pub fn opt_int(&mut self, f: &Fields<'_>, key: &str) -> Option<Spanned<i64>> {
        let (node, ptr) = f.get(key)?;
        self.int(node, ptr)
    }

    pub fn opt_number(&mut self, f: &Fields<'_>, key: &str) -> Option<Spanned<f64>> {
        let (node, ptr) = f.get(key)?;
        match node.as_scalar().map(|s| s.typed()) {
            Some(ScalarValue::Int(i)) => Some(Spanned::new(i as f64, node.span)),
            Some(ScalarValue::Float(x)) if x.is_finite() => Some(Spanned::new(x, node.span)),
            _ => {
                self.wrong_type(node, ptr, "a finite number");
                None
            }
        }
    }

    pub fn opt_bool(&mut self, f: &Fields<'_>, key: &str) -> Option<Spanned<bool>> {
        let (node, ptr) = f.get(key)?;
        match node.as_scalar().map(|s| s.typed()) {
            Some(ScalarValue::Bool(b)) => Some(Spanned::new(b, node.span)),
            _ => {
                self.wrong_type(node, ptr, "a boolean (true or false)");
                None
            }
        }
    }

    /// A list, with `each` called on every element and its pointer.
    pub fn list<'n, 'p, T>(
        &mut self,
        node: &'n Node,
        ptr: impl Into<Lazy<'p>>,
        mut each: impl FnMut(&mut Reader, &'n Node, Lazy<'_>) -> Option<T>,
    ) -> Vec<T> {
        let ptr = ptr.into();
        let Some(items) = node.as_seq() else {
            if !node.is_null() {
                self.wrong_type(node, ptr, "a list");
            }
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| each(self, item, ptr.index(i)))
            .collect()
    }

    pub fn opt_list<'n, T>(
        &mut self,
        f: &Fields<'n>,
        key: &str,
        each: impl FnMut(&mut Reader, &'n Node, Lazy<'_>) -> Option<T>,
    ) -> Vec<T> {
        match f.get(key) {
            Some((node, ptr)) => self.list(node, ptr, each),
            None => Vec::new(),
        }
    }

    pub fn string_list(&mut self, f: &Fields<'_>, key: &str) -> Vec<Spanned<String>> {
        self.opt_list(f, key, |r, n, p| r.string(n, p))
    }

    /// A string → string map (labels, annotations). Values must be strings: Kubernetes rejects
    /// `version: 1.0` unquoted.
    pub fn string_map(
        &mut self,
        f: &Fields<'_>,
        key: &str,
    ) -> Vec<(Spanned<String>, Spanned<String>)> {
        let Some((node, ptr)) = f.get(key) else {
            return Vec::new();
        };
        let Some(entries) = node.as_map() else {
            self.wrong_type(node, ptr, "a mapping of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries {
            let Some(k) = entry.key.scalar_str() else {
                self.report(entry.key.span, ptr, "keys must be strings");
                continue;
            };
            let entry_ptr = ptr.child(k);
            let value = match entry.value.as_scalar().map(|s| s.typed()) {
                Some(ScalarValue::Str(s)) => s.to_string(),
                Some(ScalarValue::Null) => String::new(),
                _ => {
                    let mut v = Diagnostic::new(
                        entry.value.span,
                        entry_ptr,
                        format!(
                            "value of `{k}` must be a string, found {}",
                            entry.value.describe()
                        ),
                    );
                    if entry.value.as_scalar().is_some() {
                        v = v.with_help("quote the value");
                    }
                    self.problems.push(v);
                    continue;
                }
            };
            out.push((
                Spanned::new(k.to_string(), entry.key.span),
                Spanned::new(value, entry.value.span),
            ));
        }
        out
    }

    pub fn port<'p>(&mut self, node: &Node, ptr: impl Into<Lazy<'p>>) -> Option<Spanned<Port>> {
        let ptr = ptr.into();
        let decoded = match node.as_scalar().map(|s| s.typed()) {
            Some(ScalarValue::Int(i)) => port_from_int(i),
            Some(ScalarValue::Str(s)) => port_from_str(s),
            _ => {
                self.wrong_type(node, ptr, "a port (number, `min:max` range, or name)");
                return None;
            }
        };
        match decoded {
            Ok(p) => Some(Spanned::new(p, node.span)),
            Err(msg) => {
                self.report(node.span, ptr, msg);
                None
            }
        }
    }

    pub fn protocol(&mut self, f: &Fields<'_>, key: &str) -> Option<Spanned<Protocol>> {
        let (node, ptr) = f.get(key)?;
        let decoded = match node.as_scalar().map(|s| s.typed()) {
            Some(ScalarValue::Int(i)) => Protocol::from_int(i),
            Some(ScalarValue::Str(s)) => Ok(Protocol::from_str(s)),
            _ => {
                self.wrong_type(node, ptr, "a protocol name or number");
                return None;
            }
        };
        match decoded {
            Ok(p) => Some(Spanned::new(p, node.span)),
            Err(msg) => {
                self.report(node.span, ptr, msg);
                None
            }
        }
    }
}

/// Fields that exist only in Calico Enterprise's API (seen in its documentation), so the
/// "unknown field" message can say why rather than guess a typo.
const ENTERPRISE_FIELDS: &[&str] = &[
    "domains",
    "allowedEgressDomains",
    "headers",
    "egressGateway",
];

/// The closest known name, when it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| {
            let d = if k.to_ascii_lowercase() == lower {
                0
            } else {
                levenshtein(&lower, &k.to_ascii_lowercase())
            };
            (d, *k)
        })
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

/// Every known name exactly as close to `key` as `best` (`best` included).
fn tied_suggestions<'a>(key: &str, known: &[&'a str], best: &str) -> Vec<&'a str> {
    let distance = |k: &str| {
        let (a, b) = (key.to_ascii_lowercase(), k.to_ascii_lowercase());
        if a == b { 0 } else { levenshtein(&a, &b) }
    };
    let d = distance(best);
    known.iter().copied().filter(|k| distance(k) == d).collect()
}

/// Edit distance in characters (strsim's, the one clap uses for its suggestions too).
fn levenshtein(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = [
            "selector",
            "namespaceSelector",
            "ingress",
            "egress",
            "types",
        ];
        assert_eq!(did_you_mean("selecter", &known), Some("selector"));
        assert_eq!(did_you_mean("Ingress", &known), Some("ingress"));
        assert_eq!(
            did_you_mean("namespaceSelecter", &known),
            Some("namespaceSelector")
        );
        assert_eq!(did_you_mean("banana", &known), None);
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(
            child("/metadata/labels", "app.kubernetes.io/name"),
            "/metadata/labels/app.kubernetes.io~1name"
        );
        assert_eq!(escape_pointer("a~b"), "a~0b");
    }
}
