use super::super::{ParseLimits, parse_with_saphyr};
use super::parse;

/// The fast reader reads `text`, and reads it as saphyr does.
#[track_caller]
fn same(text: &str) {
    let limits = ParseLimits::default();
    let fast = parse(text, &limits).unwrap_or_else(|| panic!("declined {text:?}"));
    assert_eq!(fast, parse_with_saphyr(text, &limits), "{text:?}");
}

#[track_caller]
fn declined(text: &str) {
    assert!(parse(text, &ParseLimits::default()).is_none(), "{text:?}");
}

#[test]
fn reads_block_mappings_sequences_and_scalars_as_saphyr_does() {
    for text in [
        "",
        "# only a comment\n",
        "a: 1\n",
        "a: 1",
        "a:\nb: 1\n",
        "a:\n",
        "a:",
        "a:  # comment\nb: x   \n",
        "- \n- x\n",
        "-\n- x\n",
        "- # c\n- x\n",
        "- a\n-",
        "k:\n- a\n- b\nj: 2\n",
        "k:\n  - a\n  -\n  - b\n",
        "k: []\nj: {}\nl: [ ]\n",
        "k: 'it''s'  # c\nj: \"x y\"\n",
        "k: [a, 'b', \"c\", 80, '1:2', a b]\n",
        "'quoted key': 1\n\"dq\": 2\n",
        "# c\n---\na: 1\n---\n",
        "a: 1\n---\n---\nb: 2\n",
        "--- # comment\na: 1\n",
        "- a: 1\n  b:\n- c\n",
        "- a: 1\n  b:\n  - x\n  - y\n- c: [1, 2]\n",
        "a:   \n  b: 1\n",
        "a:\n# x\n  b: 1\n",
        "  a: 1\n  b: 2\n",
        "a: 1\na: 2\n",
        "spec:\n  selector: app in {'a', 'b'} && has(x)\n  image: nginx:1.2\n",
        "a: b#c\nd: -1\ne: ~\nf: true\n",
        "a:\n  b:\n    c:\n      - d: 1\n        e: [x]\n",
        "-\n  a: 1\n-\n  - x\n",
    ] {
        same(text);
    }
}

#[test]
fn declines_what_is_outside_the_subset() {
    for text in [
        "a:\tb\n",
        "a: b\r\n",
        "a: é\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: |\n  text\n",
        "a: >\n  text\n",
        "a: b\n  continued\n",
        "- a\n  continued\n",
        "a: \"esc\\n\"\n",
        "a: 'open\n  close'\n",
        "a: [1,\n  2]\n",
        "? a\n: b\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 1\n...\n",
        "a: b: c\n",
        "- - a\n",
        "plain scalar document\n",
        "[1, 2]\n",
        "{\"a\": 1}\n",
        "a: 1\n b: 2\n",
        "a : 1\n",
        "a: [1, ]\n",
        "a: 'x'y\n",
        "a: 'x'#c\n",
        "---a: 1\n",
    ] {
        declined(text);
    }
}

#[test]
fn a_file_deeper_than_the_limit_or_over_the_node_budget_is_left_to_saphyr() {
    let deep: String = (0..10).map(|d| format!("{}k:\n", "  ".repeat(d))).collect();
    let shallow = ParseLimits {
        max_depth: 6,
        ..ParseLimits::default()
    };
    assert!(parse(&deep, &shallow).is_none());
    assert!(parse(&deep, &ParseLimits::default()).is_some());
    let few = ParseLimits {
        max_nodes: 3,
        ..ParseLimits::default()
    };
    assert!(parse("a: 1\nb: 2\nc: 3\n", &few).is_none());
}

#[test]
fn reads_one_line_flow_mappings_of_scalars() {
    for text in [
        "labels: {feed: blocklist}\n",
        "labels: {a: 1, 'b': \"c\", d: x y}\n",
        "- {a: 1}\n- {}\n",
    ] {
        same(text);
    }
    for text in [
        "a: {b: {c: 1}}\n",
        "a: {b: [1]}\n",
        "a: {b}\n",
        "a: {b:1}\n",
        "a: {b : 1}\n",
        "a: {b: 1,}\n",
        "a: {b: 1]\n",
        "a: [b}\n",
    ] {
        declined(text);
    }
}
