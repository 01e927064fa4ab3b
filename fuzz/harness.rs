//! The fuzz harnesses: one function per cargo-fuzz target.
//!
//! This file is shared, through `#[path]`, by the targets in `fuzz/fuzz_targets/` and by the
//! regression test `tests/fuzz_regressions.rs`, which replays every committed crasher in
//! `fixtures/fuzz-regressions/<target>/` through the very same function on each `cargo test`.
//!
//! Besides "no panic, no hang", each harness asserts invariants that the rest of calint relies
//! on: spans inside the text and on character boundaries, canonical selectors that parse back
//! to an equivalent selector, a never-matches verdict that no label map contradicts, reports
//! that render and JSON that parses.

#![allow(dead_code)]

use calint::analysis::AnalysisOptions;
use calint::check::{CheckOptions, check_bytes};
use calint::load::tree::{Node, NodeKind};
use calint::load::yaml::{ParseLimits, parse};
use calint::model::lower::{Lowered, lower_file_with};
use calint::model::selector::{Expr, Selector, SelectorLimits};
use calint::report;
use calint::source::Span;
use calint::validate::{ValidateOptions, validate_resource};
use std::collections::BTreeMap;

/// Per-query solver timeout of the `check` target: small, so that one input stays fast.
pub const CHECK_SOLVER_TIMEOUT_MS: u32 = 50;

/// Analysis budget of the `check` target.
pub const CHECK_BUDGET_MS: u64 = 2_000;

fn assert_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what}: span {span:?} outside the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} splits a character"
    );
}

/// Target `selector`: parse, print, re-parse, evaluate, analyse.
pub fn selector(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let sel = match Selector::parse(src) {
        Ok(sel) => sel,
        Err(e) => {
            assert!(
                e.offset <= src.len(),
                "error offset {} past the end",
                e.offset
            );
            assert!(
                src.is_char_boundary(e.offset),
                "error offset splits a character"
            );
            assert!(!e.message.is_empty());
            let _ = e.display_with_caret(src);
            return;
        }
    };
    let _ = sel.terms();
    let _ = sel.label_restrictions();
    let _ = sel.labels_used();
    let _ = sel.contains_global();
    let _ = SelectorLimits::default().check(src, Some(&sel));
    let never = sel.never_matches();

    // The canonical form parses, to a selector that matches exactly the same label maps, and
    // printing is a fixed point from there on.
    let canonical = sel.canonical();
    let again = Selector::parse(&canonical)
        .unwrap_or_else(|e| panic!("canonical form {canonical:?} of {src:?} does not parse: {e}"));
    let twice = again.canonical();
    let third = Selector::parse(&twice)
        .map(|s| s.canonical())
        .unwrap_or_else(|e| panic!("{twice:?} does not parse: {e}"));
    assert_eq!(
        twice, third,
        "canonical printing is not a fixed point for {src:?}"
    );
    // (Not re-parsed: the prefix may push a label past the length limit, as in Calico.)
    let _ = sel.prefixed("pcns.").canonical();

    for labels in label_maps(sel.expr()) {
        let m = sel.matches(&labels);
        assert_eq!(
            m,
            again.matches(&labels),
            "{src:?} and its canonical form {canonical:?} disagree on {labels:?}"
        );
        if let Some(reason) = &never {
            assert!(
                !m,
                "{src:?} is said never to match ({reason}) but matches {labels:?}"
            );
        }
    }
}

/// A few label maps that exercise the selector's own labels and values.
fn label_maps(expr: &Expr) -> Vec<BTreeMap<String, String>> {
    let mut keys = Vec::new();
    let mut values = vec![String::new()];
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Not(inner) => stack.push(inner),
            Expr::And(items) | Expr::Or(items) => stack.extend(items.iter()),
            Expr::Has(k) => keys.push(k.clone()),
            Expr::Eq(k, v)
            | Expr::Ne(k, v)
            | Expr::Contains(k, v)
            | Expr::StartsWith(k, v)
            | Expr::EndsWith(k, v) => {
                keys.push(k.clone());
                values.push(v.clone());
                values.push(format!("{v}x"));
                values.push(format!("x{v}"));
            }
            Expr::In(k, vs) | Expr::NotIn(k, vs) => {
                keys.push(k.clone());
                values.extend(vs.iter().cloned());
            }
            Expr::All | Expr::Global => {}
        }
    }
    keys.sort();
    keys.dedup();
    keys.truncate(8);
    values.sort();
    values.dedup();
    values.truncate(8);
    let mut maps = vec![BTreeMap::new()];
    // Every key set to each value (one map per value), and each key alone with each value.
    for v in &values {
        maps.push(keys.iter().map(|k| (k.clone(), v.clone())).collect());
        for k in &keys {
            maps.push(BTreeMap::from([(k.clone(), v.clone())]));
        }
    }
    maps
}

/// Every node of a tree, without recursion.
fn for_each_node(root: &Node, mut f: impl FnMut(&Node)) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        f(n);
        match &n.kind {
            NodeKind::Seq(items) => stack.extend(items.iter()),
            NodeKind::Map(entries) => {
                for e in entries {
                    stack.push(&e.key);
                    stack.push(&e.value);
                }
            }
            NodeKind::Scalar(_) | NodeKind::Alias(_) => {}
        }
    }
}

/// Target `yaml_lower`: parse, lower and validate one file.
pub fn yaml_lower(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(text, &ParseLimits::default());
    for p in &parsed.problems {
        // `parse` catches panics (outside the fuzzer, where the panic hook aborts first) and
        // reports them: here that is a crash.
        assert!(!p.message.starts_with("internal error"), "{}", p.message);
        assert_span(text, p.span, &format!("problem {:?}", p.message));
        for related in &p.related {
            assert_span(text, related.span, "related span of a parse problem");
        }
    }
    for doc in &parsed.documents {
        for_each_node(&doc.root, |n| assert_span(text, n.span, "node"));
    }
    let mut lowered = Lowered::default();
    lower_file_with(
        calint::source::FileId(0),
        &parsed.documents,
        &SelectorLimits::default(),
        &mut lowered,
    );
    for p in &lowered.problems {
        assert_span(
            text,
            p.violation.span,
            &format!("lowering problem {:?}", p.violation.message),
        );
    }
    for r in &lowered.resources {
        assert_span(text, r.span, "resource");
        for v in validate_resource(r, &ValidateOptions::default()) {
            assert_span(text, v.span, &format!("violation {:?}", v.message));
        }
    }
}

/// Options of the `check` target: the whole pipeline, Z3 included, with a small timeout.
pub fn check_options() -> CheckOptions {
    CheckOptions {
        analysis: Some(AnalysisOptions {
            solver_timeout_ms: CHECK_SOLVER_TIMEOUT_MS,
            budget_ms: Some(CHECK_BUDGET_MS),
            ..AnalysisOptions::default()
        }),
        ..CheckOptions::default()
    }
}

/// Target `check`: the whole pipeline on one in-memory file, and both report formats.
pub fn check(data: &[u8]) {
    let (project, findings) = check_bytes("fuzz.yaml", data, &check_options());
    for f in &findings {
        assert!(!f.message.starts_with("internal error"), "{}", f.message);
        let src = project.sources.get(f.location.file);
        assert!(src.is_some(), "finding in an unknown file: {f:?}");
        if let Some(src) = src {
            assert!(
                f.location.span.end <= src.text.len(),
                "finding outside its file: {f:?}"
            );
        }
    }
    let human = report::human::render(&project, &findings, false);
    assert!(findings.is_empty() || !human.is_empty());
    let json = report::json::render(&project, &findings);
    let value: serde_json::Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the JSON report does not parse: {e}"));
    assert_eq!(
        value["findings"].as_array().map(Vec::len),
        Some(findings.len())
    );
}
