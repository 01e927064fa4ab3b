//! The policy set's vocabulary (label keys and their value domains, HTTP methods and path
//! classes, named ports, services) and the injective string encoding passed to Z3.

use super::strings::{self, Classes, StrOp};
use crate::analysis::ir::{PolicySet, PortMatch};
use crate::model::selector::Expr;
use std::collections::{BTreeMap, BTreeSet};

/// The value domain of one label key across the whole policy set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum KeyDomain {
    /// Values mentioned; index `len()` stands for every other value.
    Finite(Vec<String>),
    /// Keys used with string operators: one value per satisfiable combination of the
    /// predicates mentioned on the key (see `strings`); an index outside `reps` stands for
    /// the class of `other`.
    Classes(Classes),
    /// Keys whose classes are too many to enumerate: Z3 strings (values and needles).
    Strings(Vec<String>),
}

/// How selectors use one label key: the values compared with `==`/`in` (and their
/// negations), and the string predicates.
#[derive(Clone, Debug, Default)]
struct KeyUse {
    values: BTreeSet<String>,
    preds: BTreeSet<(StrOp, String)>,
}

/// Everything the encoding needs to know about the policy set's vocabulary. Plain data:
/// built once, shared by every worker thread.
#[derive(Clone, Debug, Default)]
pub struct Universe {
    pub(super) keys: BTreeMap<String, KeyDomain>,
    pub(super) methods: Vec<String>,
    pub(super) named_ports: BTreeSet<String>,
    pub(super) services: BTreeSet<String>,
    /// One representative HTTP path per class of paths the rules can tell apart.
    pub(super) paths: Vec<String>,
}

/// HTTP paths are only compared for equality and for segment-boundary prefixes, so one
/// representative per class of equivalent paths is exact: each exact path, each prefix, a
/// path one fresh segment below each prefix, and a path matching nothing.
pub(super) fn path_representatives(
    exact: &BTreeSet<String>,
    prefixes: &BTreeSet<String>,
) -> Vec<String> {
    if exact.is_empty() && prefixes.is_empty() {
        return Vec::new();
    }
    // A segment no pattern contains, so it creates no extra prefix relation.
    let fresh = (0..)
        .map(|i| format!("calint-{i}"))
        .find(|f| !exact.iter().chain(prefixes).any(|p| p.contains(f.as_str())))
        .unwrap_or_default();
    let mut reps: BTreeSet<String> = exact.iter().chain(prefixes).cloned().collect();
    for p in prefixes {
        let sep = if p.ends_with('/') { "" } else { "/" };
        reps.insert(format!("{p}{sep}{fresh}"));
    }
    reps.insert(format!("/{fresh}-unmatched"));
    // Not even under `/` (a request target such as `*`).
    reps.insert(String::new());
    reps.into_iter().collect()
}

fn visit_expr(e: &Expr, values: &mut BTreeMap<String, KeyUse>) {
    // Called for every selector of the tree, mostly with keys and values already noted: look
    // them up before copying them.
    fn note<'v>(values: &'v mut BTreeMap<String, KeyUse>, k: &str) -> Option<&'v mut KeyUse> {
        if !values.contains_key(k) {
            values.insert(k.to_string(), KeyUse::default());
        }
        values.get_mut(k)
    }
    fn note_values<'s>(
        values: &mut BTreeMap<String, KeyUse>,
        k: &str,
        vs: impl Iterator<Item = &'s String>,
    ) {
        if let Some(entry) = note(values, k) {
            for v in vs {
                if !entry.values.contains(v) {
                    entry.values.insert(v.clone());
                }
            }
        }
    }
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        let pred = |op: StrOp, k: &str, v: &String, values: &mut BTreeMap<String, KeyUse>| {
            if let Some(entry) = note(values, k) {
                entry.preds.insert((op, v.clone()));
            }
        };
        match e {
            Expr::Has(k) => note_values(values, k, std::iter::empty()),
            Expr::Eq(k, v) | Expr::Ne(k, v) => note_values(values, k, std::iter::once(v)),
            Expr::In(k, vs) | Expr::NotIn(k, vs) => note_values(values, k, vs.iter()),
            Expr::Contains(k, v) => pred(StrOp::Contains, k, v, values),
            Expr::StartsWith(k, v) => pred(StrOp::StartsWith, k, v, values),
            Expr::EndsWith(k, v) => pred(StrOp::EndsWith, k, v, values),
            Expr::Not(inner) => stack.push(inner),
            Expr::And(items) | Expr::Or(items) => stack.extend(items),
            Expr::All | Expr::Global => {}
        }
    }
}

/// What [`Universe::with_extra`] collects from the policies, before the domains are built.
#[derive(Default)]
struct Vocabulary {
    values: BTreeMap<String, KeyUse>,
    named_ports: BTreeSet<String>,
    services: BTreeSet<String>,
    methods: BTreeSet<String>,
    exact_paths: BTreeSet<String>,
    prefix_paths: BTreeSet<String>,
}

impl Vocabulary {
    fn add_policy(&mut self, p: &super::super::ir::CompiledPolicy) {
        visit_expr(&p.selector, &mut self.values);
        for r in p.ingress.iter().chain(&p.egress) {
            for e in [&r.source, &r.destination] {
                for s in [&e.selector, &e.not_selector].into_iter().flatten() {
                    visit_expr(s, &mut self.values);
                }
                for pm in e.ports.iter().chain(&e.not_ports) {
                    if let PortMatch::Named(n) = pm {
                        self.named_ports.insert(n.clone());
                    }
                }
                if let Some(s) = &e.service {
                    self.services.insert(s.clone());
                }
            }
            if let Some(h) = &r.http {
                (self.methods).extend(h.methods.iter().filter(|m| *m != "*").cloned());
                self.exact_paths.extend(h.exact_paths.iter().cloned());
                self.prefix_paths.extend(h.prefix_paths.iter().cloned());
            }
        }
    }

    fn merge(mut self, other: Vocabulary) -> Vocabulary {
        for (key, used) in other.values {
            match self.values.entry(key) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(used);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    o.get_mut().values.extend(used.values);
                    o.get_mut().preds.extend(used.preds);
                }
            }
        }
        self.named_ports.extend(other.named_ports);
        self.services.extend(other.services);
        self.methods.extend(other.methods);
        self.exact_paths.extend(other.exact_paths);
        self.prefix_paths.extend(other.prefix_paths);
        self
    }
}

impl Universe {
    pub fn new(set: &PolicySet) -> Universe {
        Universe::with_extra(set, &[])
    }

    /// The vocabulary of `set` plus extra selectors (reachability group selectors).
    pub fn with_extra(set: &PolicySet, extra: &[&Expr]) -> Universe {
        use rayon::prelude::*;
        // Policies are read in parallel, each thread into its own sets, merged at the end:
        // sets, so the result does not depend on how the work was split.
        let mut seen = set
            .policies
            .par_iter()
            .fold(Vocabulary::default, |mut v, p| {
                v.add_policy(p);
                v
            })
            .reduce(Vocabulary::default, Vocabulary::merge);
        for e in extra {
            visit_expr(e, &mut seen.values);
        }
        let Vocabulary {
            mut values,
            named_ports,
            services,
            methods,
            exact_paths,
            prefix_paths,
        } = seen;
        let mut u = Universe {
            named_ports,
            services,
            ..Universe::default()
        };
        u.methods = methods.into_iter().collect();
        u.paths = path_representatives(&exact_paths, &prefix_paths);
        // Labels Calico derives from one another share one value domain (see
        // `Encoder::derived_label_consistency`).
        // Two passes: the namespace label is paired with two derived labels.
        for (a, b) in [
            (
                crate::analysis::ir::NAMESPACE_LABEL,
                "pcns.projectcalico.org/name",
            ),
            (
                crate::analysis::ir::NAMESPACE_LABEL,
                crate::analysis::ir::K8S_NAMESPACE_NAME_LABEL,
            ),
            (
                crate::analysis::ir::SERVICE_ACCOUNT_LABEL,
                "pcsa.projectcalico.org/name",
            ),
        ]
        .repeat(2)
        {
            if let (Some(ua), Some(ub)) = (values.get(a).cloned(), values.get(b).cloned()) {
                let union = KeyUse {
                    values: ua.values.union(&ub.values).cloned().collect(),
                    preds: ua.preds.union(&ub.preds).cloned().collect(),
                };
                values.insert(a.to_string(), union.clone());
                values.insert(b.to_string(), union);
            }
        }
        u.keys = values
            .into_par_iter()
            .map(|(k, used)| {
                let domain = if used.preds.is_empty() {
                    KeyDomain::Finite(used.values.into_iter().collect())
                } else {
                    match strings::classes(&used.values, &used.preds) {
                        Some(c) => KeyDomain::Classes(c),
                        None => {
                            let mut vs = used.values;
                            vs.extend(used.preds.into_iter().map(|(_, n)| n));
                            KeyDomain::Strings(vs.into_iter().collect())
                        }
                    }
                };
                (k, domain)
            })
            .collect();
        u
    }

    /// A value of `key` mentioned nowhere, for witnesses.
    pub(super) fn other_value(&self, key: &str) -> String {
        let used: BTreeSet<&str> = match self.keys.get(key) {
            Some(KeyDomain::Finite(v) | KeyDomain::Strings(v)) => {
                v.iter().map(String::as_str).collect()
            }
            Some(KeyDomain::Classes(c)) => return c.other.clone(),
            None => BTreeSet::new(),
        };
        (0..)
            .map(|i| {
                if i == 0 {
                    "other".to_string()
                } else {
                    format!("other-{i}")
                }
            })
            .find(|c| !used.contains(c.as_str()))
            .unwrap_or_default()
    }
}

/// Characters passed to Z3 as themselves (everything else is escaped).
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~')
}

/// The 16 "digits" of an escape: none is plain, `%`, a quote or a backslash, so no encoded
/// needle can match inside an escape.
const ESCAPE_DIGITS: &[u8; 16] = b"!#$&()*+,:;<=>?@";

/// Injective, alignment-safe encoding of a string as ASCII for Z3: plain characters (letters,
/// digits, `/-._~`) stand for themselves, any other as `%` and 6 escape digits (the code point
/// in base 16). The code is prefix-free and a needle can only match at a character boundary,
/// so equality, prefix, suffix and containment mean the same on encodings as on strings.
/// (Paths and label values are mostly plain: Z3's string solver is much faster on short
/// constants than it was on a fixed 7 characters per character.)
pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_plain(c) {
            out.push(c);
        } else {
            out.push('%');
            let code = u32::from(c);
            for shift in (0..6).rev() {
                let digit = (code >> (4 * shift)) & 0xF;
                let d = ESCAPE_DIGITS.get(digit as usize).copied().unwrap_or(b'!');
                out.push(char::from(d));
            }
        }
    }
    out
}

pub(super) fn decode(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if is_plain(c) {
            out.push(c);
            continue;
        }
        if c != '%' {
            return None;
        }
        let mut code = 0u32;
        for _ in 0..6 {
            let d = chars.next()?;
            let digit = ESCAPE_DIGITS.iter().position(|&x| char::from(x) == d)?;
            code = code * 16 + digit as u32;
        }
        out.push(char::from_u32(code)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path's truth assignment over the patterns is the assignment of some
    /// representative, so the finite path domain is exact.
    #[test]
    fn path_representatives_cover_every_class() {
        use crate::analysis::concrete::path_prefix_matches;
        let exact: BTreeSet<String> = ["/a/b", "/pub", "/x/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let prefixes: BTreeSet<String> = ["/a", "/a/b", "/pub", "/x/", "/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let reps = path_representatives(&exact, &prefixes);
        let signature = |path: &str| -> Vec<bool> {
            exact
                .iter()
                .map(|e| e == path)
                .chain(prefixes.iter().map(|p| path_prefix_matches(p, path)))
                .collect()
        };
        let rep_sigs: Vec<Vec<bool>> = reps.iter().map(|r| signature(r)).collect();
        let probes = [
            "/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/bc", "/ab", "/pub", "/public",
            "/pub/x", "/x", "/x/", "/x/y", "/y", "", "a", "/a//b",
        ];
        for p in probes {
            assert!(
                rep_sigs.contains(&signature(p)),
                "no representative for {p:?}"
            );
        }
        assert!(path_representatives(&BTreeSet::new(), &BTreeSet::new()).is_empty());
    }

    #[test]
    fn string_encoding_round_trips_and_is_alignment_safe() {
        for s in [
            "",
            "abc",
            "é\"'\\x00",
            "日本",
            "/api/v1?x=%20",
            "\u{10ffff}",
        ] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
        assert_eq!(encode("/api/v1"), "/api/v1");
        // "ba" must not be found inside "abab" shifted by half a character, nor a plain
        // needle inside an escape.
        assert!(encode("abab").contains(&encode("ba")));
        assert!(!encode("ab").contains(&encode("ba")));
        for (hay, needle) in [("é", "00"), ("%", "25"), ("a b", "!"), ("日", "e")] {
            assert!(!encode(hay).contains(&encode(needle)), "{hay} / {needle}");
        }
        assert!(encode("x é y").contains(&encode(" é ")));
        assert!(decode("a\u{0}").is_none());
    }
}
