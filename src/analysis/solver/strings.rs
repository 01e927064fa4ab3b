//! Label keys used with `starts with`, `ends with` and `contains`, without Z3's string theory.
//!
//! The only thing that matters about a label value is which of the predicates mentioned
//! anywhere in the tree it satisfies (equality with each mentioned value, and each string
//! predicate on the key). So the value is encoded as a choice among the satisfiable
//! combinations of those predicates, each witnessed by a concrete string: exact, not an
//! approximation.
//!
//! The satisfiable combinations are found by a breadth-first search over a finite automaton
//! that reads a value character by character and tracks exactly what decides the predicates:
//! - the longest prefix of the value that is a prefix of some equality value or `starts with`
//!   needle (and whether the value has already left that trie);
//! - the longest suffix of the value that is a prefix of some `ends with`/`contains` needle
//!   (Aho-Corasick's state: the needles that are suffixes of it end at this position);
//! - the `contains` needles seen so far.
//!
//! Characters that occur in no mentioned string all act alike (they leave the trie and reset
//! the suffix state), so the alphabet is the mentioned characters plus one fresh character:
//! every value's combination is reached by some word over it. The search is bounded
//! ([`MAX_STATES`]); past the bound the key falls back to Z3 strings.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

/// A string operator of the selector language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum StrOp {
    StartsWith,
    EndsWith,
    Contains,
}

impl StrOp {
    pub(super) fn holds(self, value: &str, needle: &str) -> bool {
        match self {
            StrOp::StartsWith => value.starts_with(needle),
            StrOp::EndsWith => value.ends_with(needle),
            StrOp::Contains => value.contains(needle),
        }
    }
}

/// Automaton states explored before giving up on a key (it then uses Z3 strings).
const MAX_STATES: usize = 50_000;

/// The predicates mentioned for one key, and the classes of values they tell apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Classes {
    /// Values compared with `==`, `!=`, `in`, `not in`.
    pub eqs: Vec<String>,
    pub preds: Vec<(StrOp, String)>,
    /// One witness per satisfiable combination except `other`'s, sorted.
    pub reps: Vec<String>,
    /// The witness of the class every index outside `reps` stands for.
    pub other: String,
}

impl Classes {
    /// Which mentioned predicates `value` satisfies.
    pub fn signature(&self, value: &str) -> Vec<bool> {
        signature(&self.eqs, &self.preds, value)
    }
}

fn signature(eqs: &[String], preds: &[(StrOp, String)], value: &str) -> Vec<bool> {
    eqs.iter()
        .map(|e| e == value)
        .chain(preds.iter().map(|(op, n)| op.holds(value, n)))
        .collect()
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct State {
    /// Longest prefix of the word that is a prefix of an equality value or prefix needle.
    head: String,
    /// The word is longer than `head` (it left the trie).
    left: bool,
    /// Longest suffix of the word that is a prefix of a suffix or contains needle.
    tail: String,
    /// `contains` needles seen (indexes into the contains list).
    seen: Vec<bool>,
}

/// The classes of values for a key with these equality values and string predicates, or
/// `None` when the automaton has more than [`MAX_STATES`] states.
pub(super) fn classes(
    eqs: &BTreeSet<String>,
    preds: &BTreeSet<(StrOp, String)>,
) -> Option<Classes> {
    let eqs: Vec<String> = eqs.iter().cloned().collect();
    let preds: Vec<(StrOp, String)> = preds.iter().cloned().collect();
    let heads: Vec<&str> = eqs
        .iter()
        .map(String::as_str)
        .chain(
            preds
                .iter()
                .filter(|(op, _)| *op == StrOp::StartsWith)
                .map(|(_, n)| n.as_str()),
        )
        .collect();
    let mut head_prefixes: HashSet<String> = heads.iter().flat_map(|h| prefixes(h)).collect();
    head_prefixes.insert(String::new());
    let tails: Vec<&str> = preds
        .iter()
        .filter(|(op, _)| *op != StrOp::StartsWith)
        .map(|(_, n)| n.as_str())
        .collect();
    let mut tail_prefixes: HashSet<String> = tails.iter().flat_map(|t| prefixes(t)).collect();
    tail_prefixes.insert(String::new());
    let contains: Vec<&str> = preds
        .iter()
        .filter(|(op, _)| *op == StrOp::Contains)
        .map(|(_, n)| n.as_str())
        .collect();

    let mut alphabet: BTreeSet<char> = heads.iter().chain(&tails).flat_map(|s| s.chars()).collect();
    if let Some(fresh) = ('a'..='z')
        .chain('0'..='9')
        .chain('A'..='Z')
        .chain(['-', '_', '.'])
        .find(|c| !alphabet.contains(c))
    {
        alphabet.insert(fresh);
    } else {
        // Every label character is mentioned: any other character is fresh.
        alphabet.insert('~');
    }

    // The signature of the word that ends in `s`.
    let sig = |s: &State| -> Vec<bool> {
        let mut seen = s.seen.clone();
        for (i, c) in contains.iter().enumerate() {
            if s.tail.ends_with(c) {
                if let Some(x) = seen.get_mut(i) {
                    *x = true;
                }
            }
        }
        let mut ci = 0;
        eqs.iter()
            .map(|e| !s.left && s.head == *e)
            .chain(preds.iter().map(|(op, n)| match op {
                StrOp::StartsWith => s.head.starts_with(n.as_str()),
                StrOp::EndsWith => s.tail.ends_with(n.as_str()),
                StrOp::Contains => {
                    let v = seen.get(ci).copied().unwrap_or(false);
                    ci += 1;
                    v
                }
            }))
            .collect()
    };
    let step = |s: &State, c: char| -> State {
        let (head, left) = if s.left {
            (s.head.clone(), true)
        } else {
            let mut h = s.head.clone();
            h.push(c);
            if head_prefixes.contains(&h) {
                (h, false)
            } else {
                (s.head.clone(), true)
            }
        };
        let mut tail = s.tail.clone();
        tail.push(c);
        while !tail_prefixes.contains(&tail) {
            let mut chars = tail.chars();
            chars.next();
            tail = chars.as_str().to_string();
        }
        let mut seen = s.seen.clone();
        for (i, n) in contains.iter().enumerate() {
            if tail.ends_with(n) {
                if let Some(x) = seen.get_mut(i) {
                    *x = true;
                }
            }
        }
        State {
            head,
            left,
            tail,
            seen,
        }
    };

    let start = State {
        head: String::new(),
        left: false,
        tail: String::new(),
        seen: contains.iter().map(|c| c.is_empty()).collect(),
    };
    let mut witnesses: BTreeMap<Vec<bool>, String> = BTreeMap::new();
    let mut visited: HashSet<State> = HashSet::new();
    let mut queue = VecDeque::new();
    visited.insert(start.clone());
    queue.push_back((start, String::new()));
    while let Some((s, word)) = queue.pop_front() {
        witnesses.entry(sig(&s)).or_insert_with(|| word.clone());
        for &c in &alphabet {
            let next = step(&s, c);
            if visited.contains(&next) {
                continue;
            }
            if visited.len() >= MAX_STATES {
                return None;
            }
            visited.insert(next.clone());
            let mut w = word.clone();
            w.push(c);
            queue.push_back((next, w));
        }
    }

    // "other" (or "other-N") witnesses the class outside the listed ones, as for keys
    // without string operators.
    let other = (0..)
        .map(|i| {
            if i == 0 {
                "other".to_string()
            } else {
                format!("other-{i}")
            }
        })
        .find(|c| !eqs.contains(c))
        .unwrap_or_default();
    let other_sig = signature(&eqs, &preds, &other);
    witnesses.remove(&other_sig);
    let mut reps: Vec<String> = witnesses.into_values().collect();
    reps.sort();
    Some(Classes {
        eqs,
        preds,
        reps,
        other,
    })
}

/// Every prefix of `s` (at character boundaries), the empty one and `s` included.
fn prefixes(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut acc = String::new();
    for c in s.chars() {
        acc.push(c);
        out.push(acc.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Every probe's combination of predicates is some class's (the domain is exact), and
    /// every class's witness has a combination no other witness has.
    fn assert_exact(eqs: &[&str], preds: &[(StrOp, &str)], probes: &[&str]) {
        let preds: BTreeSet<(StrOp, String)> =
            preds.iter().map(|(o, n)| (*o, n.to_string())).collect();
        let c = classes(&set(eqs), &preds).expect("small domain");
        let sigs: Vec<Vec<bool>> = c
            .reps
            .iter()
            .chain([&c.other])
            .map(|r| c.signature(r))
            .collect();
        let distinct: BTreeSet<&Vec<bool>> = sigs.iter().collect();
        assert_eq!(distinct.len(), sigs.len(), "duplicate classes: {c:?}");
        for p in probes {
            assert!(
                sigs.contains(&c.signature(p)),
                "no class for {p:?} in {c:?}"
            );
        }
    }

    #[test]
    fn classes_cover_every_value() {
        let probes = [
            "",
            "a",
            "ab",
            "abc",
            "abab",
            "ba",
            "aba",
            "bab",
            "xab",
            "abx",
            "cab",
            "other",
            "app1",
            "app10",
            "app1-worker",
            "app-worker",
            "-worker",
            "app",
            "v1.2-rc1",
            "rc",
            "abcab",
            "bc",
            "cc",
            "ca",
            "other-1",
        ];
        assert_exact(
            &["ab", "app1", "other"],
            &[
                (StrOp::StartsWith, "a"),
                (StrOp::StartsWith, "ab"),
                (StrOp::EndsWith, "b"),
                (StrOp::EndsWith, "ab"),
                (StrOp::Contains, "ba"),
                (StrOp::Contains, "bc"),
                (StrOp::Contains, ""),
            ],
            &probes,
        );
        assert_exact(
            &["app1", "app2"],
            &[
                (StrOp::StartsWith, "app1"),
                (StrOp::EndsWith, "-worker"),
                (StrOp::Contains, "rc"),
            ],
            &probes,
        );
        // Exhaustively over short words of a small alphabet.
        let preds = [
            (StrOp::StartsWith, "ab"),
            (StrOp::EndsWith, "ba"),
            (StrOp::Contains, "aa"),
            (StrOp::Contains, "bab"),
        ];
        // All 1,093 words of up to 6 letters over {a, b, c}.
        let mut words = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|w| ['a', 'b', 'c'].map(|c| format!("{w}{c}")))
                .collect();
            words.extend(last.iter().cloned());
        }
        let probes: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_exact(&["ab", "b"], &preds, &probes);
    }

    #[test]
    fn witnesses_satisfy_exactly_their_class() {
        let preds: BTreeSet<(StrOp, String)> =
            [(StrOp::StartsWith, "v1."), (StrOp::Contains, "rc")]
                .iter()
                .map(|(o, n)| (*o, n.to_string()))
                .collect();
        let c = classes(&set(&["v1.0"]), &preds).expect("small");
        // v1.0; v1.* with rc; v1.* without; rc without v1.; neither (other).
        assert_eq!(c.reps.len() + 1, 5, "{c:?}");
        assert!(c.reps.contains(&"v1.0".to_string()));
        assert_eq!(c.other, "other");
    }
}
