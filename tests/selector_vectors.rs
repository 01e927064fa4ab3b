//! Conformance: every entry of `shared/spec/selector-vectors.json` (spec §3.10).
//!
//! For each vector, parsing must succeed exactly when `valid` is true; for valid selectors,
//! every `matches` label map must match and every `non_matches` map must not. The canonical
//! form of each valid selector must parse again and agree on every map.

use std::collections::BTreeMap;
use std::path::Path;

use calint::model::selector::Selector;
use serde_json::Value;

type LabelMap = BTreeMap<String, String>;

fn label_maps(v: &Value, field: &str, index: usize) -> Vec<LabelMap> {
    let Some(items) = v.get(field).and_then(Value::as_array) else {
        panic!("vector {index}: `{field}` is not an array");
    };
    items
        .iter()
        .map(|m| {
            let Some(obj) = m.as_object() else {
                panic!("vector {index}: `{field}` entry is not an object");
            };
            obj.iter()
                .map(|(k, v)| match v.as_str() {
                    Some(s) => (k.clone(), s.to_string()),
                    None => panic!("vector {index}: label `{k}` is not a string"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn all_selector_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/selector-vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let vectors: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    let (mut checked, mut valid_count, mut map_checks) = (0, 0, 0);
    for (index, v) in vectors.iter().enumerate() {
        let Some(src) = v.get("selector").and_then(Value::as_str) else {
            panic!("vector {index}: no `selector` string");
        };
        let Some(valid) = v.get("valid").and_then(Value::as_bool) else {
            panic!("vector {index}: no `valid` bool");
        };
        let matches = label_maps(v, "matches", index);
        let non_matches = label_maps(v, "non_matches", index);
        checked += 1;

        let parsed = Selector::parse(src);
        let sel = match (parsed, valid) {
            (Ok(sel), true) => sel,
            (Err(e), false) => {
                assert!(
                    e.offset <= src.len() && src.is_char_boundary(e.offset),
                    "vector {index} {src:?}: bad error offset {e:?}"
                );
                assert!(matches.is_empty() && non_matches.is_empty());
                continue;
            }
            (Ok(sel), false) => panic!(
                "vector {index}: {src:?} must be rejected, but parsed as {}",
                sel.canonical()
            ),
            (Err(e), true) => panic!(
                "vector {index}: {src:?} must parse, got:\n{}",
                e.display_with_caret(src)
            ),
        };
        valid_count += 1;
        let canonical = Selector::parse(&sel.canonical()).unwrap_or_else(|e| {
            panic!("vector {index}: canonical form of {src:?} does not parse: {e}")
        });
        for m in &matches {
            assert!(sel.matches(m), "vector {index}: {src:?} should match {m:?}");
            assert!(
                canonical.matches(m),
                "vector {index}: canonical form vs {m:?}"
            );
            assert!(sel.never_matches().is_none(), "vector {index}: {src:?}");
            map_checks += 1;
        }
        for m in &non_matches {
            assert!(
                !sel.matches(m),
                "vector {index}: {src:?} should not match {m:?}"
            );
            assert!(
                !canonical.matches(m),
                "vector {index}: canonical form vs {m:?}"
            );
            map_checks += 1;
        }
    }
    assert_eq!(checked, vectors.len());
    assert!(checked > 100, "only {checked} vectors checked");
    assert!(valid_count > 50 && checked - valid_count > 30);
    assert!(map_checks > 90, "only {map_checks} label-map checks");
    eprintln!("{checked} vectors ({valid_count} valid), {map_checks} label-map checks");
}
