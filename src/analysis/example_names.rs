//! Real namespace names in example packets. The solver only knows the namespace names some
//! selector mentions; any other namespace is one value it calls `other`. Every namespace no
//! selector names behaves the same, so an example may show a real one from the tree instead
//! (one whose known labels agree with the example), which reads better than a made-up name.

use super::concrete::{Packet, Side};
use super::ir::{K8S_NAMESPACE_NAME_LABEL, NAMESPACE_LABEL, NAMESPACE_PREFIX, PolicySet};
use crate::model::resource::Kind;
use crate::model::selector::Expr;
use crate::project::Project;
use std::collections::{BTreeMap, BTreeSet};

const PCNS_NAME_LABEL: &str = "pcns.projectcalico.org/name";

/// Replaces namespace names no selector mentions by real names from the tree.
pub struct NamespaceNamer {
    /// Values some selector compares a namespace-name label with.
    mentioned: BTreeSet<String>,
    /// Label keys some selector mentions.
    keys: BTreeSet<String>,
    /// A namespace-name label is tested with `contains` / `starts with` / `ends with`: names
    /// are then not interchangeable, and nothing is replaced.
    string_ops: bool,
    /// Namespaces of the tree no selector names, sorted, with their labels when the
    /// Namespace object is in the tree.
    candidates: Vec<(String, Option<BTreeMap<String, String>>)>,
}

fn visit(e: &Expr, n: &mut NamespaceNamer) {
    // Called for every selector of the tree, mostly with names already noted: look them up
    // before copying them.
    fn note(set: &mut BTreeSet<String>, s: &str) {
        if !set.contains(s) {
            set.insert(s.to_string());
        }
    }
    let mut stack = vec![e];
    let is_ns = |k: &str| [NAMESPACE_LABEL, PCNS_NAME_LABEL, K8S_NAMESPACE_NAME_LABEL].contains(&k);
    while let Some(e) = stack.pop() {
        match e {
            Expr::Has(k) => note(&mut n.keys, k),
            Expr::Eq(k, v) | Expr::Ne(k, v) => {
                note(&mut n.keys, k);
                if is_ns(k) {
                    note(&mut n.mentioned, v);
                }
            }
            Expr::In(k, vs) | Expr::NotIn(k, vs) => {
                note(&mut n.keys, k);
                if is_ns(k) {
                    for v in vs {
                        note(&mut n.mentioned, v);
                    }
                }
            }
            Expr::Contains(k, _) | Expr::StartsWith(k, _) | Expr::EndsWith(k, _) => {
                note(&mut n.keys, k);
                n.string_ops |= is_ns(k);
            }
            Expr::Not(inner) => stack.push(inner),
            Expr::And(items) | Expr::Or(items) => stack.extend(items),
            Expr::All | Expr::Global => {}
        }
    }
}

impl NamespaceNamer {
    /// `extra`: selectors of reachability groups, which the solver also knows.
    pub fn new(project: &Project, set: &PolicySet, extra: &[&Expr]) -> NamespaceNamer {
        use rayon::prelude::*;
        let empty = || NamespaceNamer {
            mentioned: BTreeSet::new(),
            keys: BTreeSet::new(),
            string_ops: false,
            candidates: Vec::new(),
        };
        // In parallel, each thread into its own sets, merged: the same sets however split.
        let mut n = (set.policies.par_iter())
            .fold(empty, |mut n, p| {
                visit(&p.selector, &mut n);
                for r in p.ingress.iter().chain(&p.egress) {
                    for e in [&r.source, &r.destination] {
                        for s in [&e.selector, &e.not_selector].into_iter().flatten() {
                            visit(s, &mut n);
                        }
                    }
                }
                n
            })
            .reduce(empty, |mut a, b| {
                a.mentioned.extend(b.mentioned);
                a.keys.extend(b.keys);
                a.string_ops |= b.string_ops;
                a
            });
        for e in extra {
            visit(e, &mut n);
        }
        let mut names: BTreeMap<String, Option<BTreeMap<String, String>>> = BTreeMap::new();
        for r in &project.resources {
            if r.kind == Kind::Namespace {
                names.insert(r.name().to_string(), Some(r.meta.label_values().collect()));
            } else if let Some(ns) = r.namespace().filter(|ns| !names.contains_key(*ns)) {
                names.insert(ns.to_string(), None);
            }
        }
        n.candidates = names
            .into_iter()
            .filter(|(name, _)| !n.mentioned.contains(name))
            .collect();
        n
    }

    /// Whether namespace `labels` (when known) agree with the inherited labels of `side`.
    fn agrees(&self, side: &Side, labels: Option<&BTreeMap<String, String>>) -> bool {
        let Some(labels) = labels else { return true };
        let inherited = side.labels.iter().filter_map(|(k, v)| {
            let key = k.strip_prefix(NAMESPACE_PREFIX)?;
            (k != PCNS_NAME_LABEL && k != K8S_NAMESPACE_NAME_LABEL).then_some((key, v))
        });
        for (k, v) in inherited {
            if labels.get(k) != Some(v) {
                return false;
            }
        }
        labels.iter().all(|(k, v)| {
            let key = format!("{NAMESPACE_PREFIX}{k}");
            key == K8S_NAMESPACE_NAME_LABEL
                || !self.keys.contains(&key)
                || side.labels.get(&key) == Some(v)
        })
    }

    fn rename(&self, side: &mut Side) {
        if !side.is_entity || self.string_ops {
            return;
        }
        let Some(current) = side.labels.get(NAMESPACE_LABEL).cloned() else {
            return;
        };
        if self.mentioned.contains(&current) || self.candidates.iter().any(|(n, _)| *n == current) {
            return;
        }
        let Some((name, _)) = self
            .candidates
            .iter()
            .find(|(_, labels)| self.agrees(side, labels.as_ref()))
        else {
            return;
        };
        for key in [NAMESPACE_LABEL, PCNS_NAME_LABEL, K8S_NAMESPACE_NAME_LABEL] {
            if key == NAMESPACE_LABEL || side.labels.contains_key(key) {
                side.labels.insert(key.to_string(), name.clone());
            }
        }
    }

    /// Show a real namespace name on each side whose namespace no selector names.
    pub fn apply(&self, p: &mut Packet) {
        self.rename(&mut p.src);
        self.rename(&mut p.dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Labels<'a> = Option<Vec<(&'a str, &'a str)>>;

    fn namer(candidates: Vec<(&str, Labels<'_>)>) -> NamespaceNamer {
        NamespaceNamer {
            mentioned: ["shop".to_string()].into(),
            keys: ["pcns.team".to_string()].into(),
            string_ops: false,
            candidates: candidates
                .into_iter()
                .map(|(n, l)| {
                    (
                        n.to_string(),
                        l.map(|l| {
                            l.into_iter()
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .collect()
                        }),
                    )
                })
                .collect(),
        }
    }

    fn side(labels: &[(&str, &str)]) -> Side {
        Side {
            is_entity: true,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Side::default()
        }
    }

    #[test]
    fn unnamed_namespace_gets_a_real_name_that_agrees() {
        // `ops` has a label a selector tests with another value: not interchangeable.
        let n = namer(vec![
            ("ops", Some(vec![("team", "red")])),
            ("tools", Some(vec![("team", "blue")])),
        ]);
        let mut s = side(&[
            (NAMESPACE_LABEL, "other"),
            ("pcns.team", "blue"),
            (PCNS_NAME_LABEL, "other"),
        ]);
        n.rename(&mut s);
        assert_eq!(
            s.labels.get(NAMESPACE_LABEL).map(String::as_str),
            Some("tools")
        );
        assert_eq!(
            s.labels.get(PCNS_NAME_LABEL).map(String::as_str),
            Some("tools")
        );
        // A named namespace stays.
        let mut s = side(&[(NAMESPACE_LABEL, "shop")]);
        n.rename(&mut s);
        assert_eq!(
            s.labels.get(NAMESPACE_LABEL).map(String::as_str),
            Some("shop")
        );
        // No candidate agrees: unchanged.
        let mut s = side(&[(NAMESPACE_LABEL, "other"), ("pcns.team", "green")]);
        n.rename(&mut s);
        assert_eq!(
            s.labels.get(NAMESPACE_LABEL).map(String::as_str),
            Some("other")
        );
    }
}
