//! Mappings once their entries are read: `<<` merge keys resolved as the YAML 1.1 decoders of
//! kubectl and calicoctl do, and duplicate keys reported (kept in the tree).

use std::collections::HashMap;

use super::problem;
use crate::diagnostic::{Diagnostic, RelatedSpan};
use crate::load::tree::{Entry, Node, NodeKind, ScalarStyle};

/// A plain `<<` key (YAML 1.1 merge key, or one tagged `!!merge`).
pub(super) fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, NodeKind::Scalar(s)
    if s.value == "<<"
        && match &s.tag {
            None => s.style == ScalarStyle::Plain,
            Some(t) => matches!(&**t, "!!merge" | "tag:yaml.org,2002:merge"),
        })
}

/// Resolve `<<` merge keys as the YAML 1.1 decoders of kubectl and calicoctl do: the entries of
/// the merged mapping (or of each mapping of a merged sequence, earlier ones first) are added
/// unless the mapping, or an earlier merged mapping, already has the key. Merged entries keep
/// the spans of their definition. A `<<` whose value is not a mapping (or sequence of mappings)
/// is reported and kept as an ordinary key.
pub(super) fn merge_keys(entries: Vec<Entry>, problems: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for e in entries {
        if !is_merge_key(&e.key) {
            own.push(e);
            continue;
        }
        let sources: Vec<Node> = match e.value.kind {
            NodeKind::Map(_) => vec![e.value],
            NodeKind::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => items,
            // An alias left unexpanded has been reported already.
            NodeKind::Alias(_) => {
                own.push(e);
                continue;
            }
            _ => {
                problems.push(problem(
                    e.value.span,
                    "the value of a merge key `<<` must be a mapping or a list of mappings",
                ));
                own.push(Entry {
                    key: e.key,
                    value: e.value,
                });
                continue;
            }
        };
        for source in sources {
            if let NodeKind::Map(inner) = source.kind {
                merged.extend(inner);
            }
        }
    }
    let mut seen: std::collections::HashSet<String> = own
        .iter()
        .filter_map(|e| e.key.scalar_str().map(str::to_string))
        .collect();
    for e in merged {
        let fresh = match e.key.scalar_str() {
            Some(k) => seen.insert(k.to_string()),
            None => true,
        };
        if fresh {
            own.push(e);
        }
    }
    own
}

/// Report duplicate scalar keys of one mapping.
pub(super) fn check_duplicates(entries: &[Entry], problems: &mut Vec<Diagnostic>) {
    let mut report = |first: &Node, dup: &Node, key: &str| {
        problems.push(
            problem(dup.span, format!("duplicate key `{key}`"))
                .with_related(RelatedSpan::new("first defined here", first.span)),
        );
    };
    if entries.len() <= 16 {
        for (i, e) in entries.iter().enumerate() {
            let Some(k) = e.key.scalar_str() else {
                continue;
            };
            let first = entries
                .iter()
                .take(i)
                .find(|earlier| earlier.key.scalar_str() == Some(k));
            if let Some(first) = first {
                report(&first.key, &e.key, k);
            }
        }
    } else {
        let mut seen: HashMap<&str, &Node> = HashMap::with_capacity(entries.len());
        for e in entries {
            let Some(k) = e.key.scalar_str() else {
                continue;
            };
            match seen.get(k) {
                Some(first) => report(first, &e.key, k),
                None => {
                    seen.insert(k, &e.key);
                }
            }
        }
    }
}
