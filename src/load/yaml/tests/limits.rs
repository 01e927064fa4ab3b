//! Parser limits: node count, alias budget (billion laughs), nesting depth, and deep input
//! parsed on a small stack.

use super::*;
use std::time::Duration;

fn billion_laughs() -> String {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    text
}

#[test]
fn node_limit_cuts_the_file_and_keeps_earlier_documents() {
    let text = "a: 1\n---\nb: [1, 2, 3, 4, 5, 6, 7, 8]\n---\nc: 3\n";
    let limits = ParseLimits {
        max_nodes: 8,
        ..ParseLimits::default()
    };
    let file = parse(text, &limits);
    assert_spans_valid(text, &file);
    assert_eq!(file.documents.len(), 1, "{:?}", file.documents);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    let p = &file.problems[0];
    assert!(
        p.message.contains("more than 8 YAML nodes"),
        "{}",
        p.message
    );
    assert_eq!(src(text, p.span), "5");
    // Alias copies count too.
    let text = "a: &x [1, 2, 3]\nb: *x\nc: *x\n";
    let limits = ParseLimits {
        max_nodes: 12,
        ..ParseLimits::default()
    };
    let file = parse(text, &limits);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    assert!(file.documents.is_empty());
}

#[test]
fn alias_expansion_respects_the_budget() {
    let text = "base: &b {x: 1, y: [2, 3]}\nuse1: *b\nuse2: *b\n";
    // {x: 1, y: [2, 3]} is 7 nodes: one expansion fits in 10, two do not.
    let limits = ParseLimits {
        max_alias_nodes: 10,
        ..ParseLimits::default()
    };
    let file = parse(text, &limits);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(
        root.get("use1").unwrap().get("x").unwrap().scalar_str(),
        Some("1")
    );
    assert_eq!(root.get("use2").unwrap().kind, NodeKind::Alias("b".into()));
    assert_eq!(file.problems.len(), 1);
    assert_eq!(file.problems[0].message, ALIAS_LIMIT_MESSAGE);
    assert_eq!(src(text, file.problems[0].span), "*b");
    // With the default budget both expand.
    let file = parse_default(text);
    assert!(file.problems.is_empty());
    assert_eq!(root_get_map_len(&file, "use2"), 2);
}

fn root_get_map_len(file: &ParsedFile, key: &str) -> usize {
    root(file).get(key).unwrap().as_map().unwrap().len()
}

#[test]
fn billion_laughs_is_cut_short() {
    let text = billion_laughs();
    let (file, elapsed) = parse_timed(&text);
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert_eq!(file.documents.len(), 1);
    let limit_problems = file
        .problems
        .iter()
        .filter(|p| p.message == ALIAS_LIMIT_MESSAGE)
        .count();
    assert_eq!(limit_problems, 1, "{:?}", file.problems);
    let (size, _) = measure(root(&file));
    assert!(size < 30_000, "tree has {size} nodes");
}

#[test]
fn depth_limit_drops_the_deep_subtree() {
    let text = "a:\n  b:\n    c: [[1, 2], [3]]\n    d: ok\n";
    let limits = ParseLimits {
        max_depth: 3,
        ..ParseLimits::default()
    };
    let file = parse(text, &limits);
    assert_spans_valid(text, &file);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    assert!(file.problems[0].message.contains("deeper than 3"));
    assert_eq!(src(text, file.problems[0].span), "[");
    assert_eq!(file.problems[0].span.start, text.find("[[").unwrap());
    let b = root(&file).get("a").unwrap().get("b").unwrap();
    let c = b.get("c").unwrap();
    assert!(c.is_null());
    assert_eq!(src(text, c.span), "[[1, 2], [3]]");
    assert_eq!(c.as_seq(), None);
    assert_eq!(b.get("d").unwrap().scalar_str(), Some("ok"));
}

#[test]
fn alias_expansion_cannot_exceed_the_depth_limit() {
    let text = "a: &a [[x]]\nb: [[*a]]\n";
    let limits = ParseLimits {
        max_depth: 3,
        ..ParseLimits::default()
    };
    let file = parse(text, &limits);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    assert!(file.problems[0].message.contains("would nest deeper"));
    let (_, height) = measure(root(&file));
    assert!(height <= 3);
}

/// Runs `f` on a thread with a 256 KiB stack: deep input must not recurse.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn very_deep_flow_nesting_on_a_small_stack() {
    on_small_stack(|| {
        // saphyr refuses flow nesting past 255 levels with a syntax error.
        let n = 10_000;
        let text = format!("{}x{}", "[".repeat(n), "]".repeat(n));
        let file = parse_default(&text);
        assert!(file.documents.is_empty());
        assert!(
            file.problems
                .iter()
                .any(|p| p.message.contains("recursion limit"))
        );
        // Below that, the depth limit applies.
        let n = 250;
        let text = format!("{}x{}", "[".repeat(n), "]".repeat(n));
        let file = parse_default(&text);
        assert_eq!(file.documents.len(), 1);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        assert_eq!(file.problems[0].span.start, 128);
        let (_, height) = measure(root(&file));
        assert_eq!(height, 128);
        // Unclosed, with mappings too.
        let text = "{a: [".repeat(n);
        let file = parse_default(&text);
        assert!(!file.problems.is_empty());
    });
}

#[test]
fn very_deep_block_nesting_on_a_small_stack() {
    on_small_stack(|| {
        // Block sequences nest compactly: `- - - x`.
        let n = 10_000;
        let text = format!("{}x\n", "- ".repeat(n));
        let file = parse_default(&text);
        assert_eq!(file.documents.len(), 1);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        // Block mappings need one more indentation step per level.
        let n = 10_000;
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&" ".repeat(i));
            text.push_str("k:\n");
        }
        let file = parse_default(&text);
        assert_eq!(file.documents.len(), 1);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        let (_, height) = measure(root(&file));
        assert_eq!(height, 128);
    });
}
