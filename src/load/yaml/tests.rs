use super::*;
use std::time::{Duration, Instant};

mod limits;

fn parse_default(text: &str) -> ParsedFile {
    parse(text, &ParseLimits::default())
}

/// Parse `text` with the default limits, printing how long saphyr alone takes; returns the
/// parse and how long it took.
fn parse_timed(text: &str) -> (ParsedFile, Duration) {
    let started = Instant::now();
    let events = Parser::new_from_str(text).count();
    eprintln!("saphyr alone: {events} events in {:?}", started.elapsed());
    let started = Instant::now();
    let file = parse_default(text);
    (file, started.elapsed())
}

fn src(text: &str, span: Span) -> &str {
    &text[span.range()]
}

fn root(file: &ParsedFile) -> &Node {
    &file.documents[0].root
}

/// Every span of the tree lies inside the text, on char boundaries, with start <= end.
fn assert_spans_valid(text: &str, file: &ParsedFile) {
    let check = |span: Span| {
        assert!(span.start <= span.end, "{span:?}");
        assert!(span.end <= text.len(), "{span:?} past {}", text.len());
        assert!(text.is_char_boundary(span.start), "{span:?}");
        assert!(text.is_char_boundary(span.end), "{span:?}");
    };
    for p in &file.problems {
        check(p.span);
        for r in &p.related {
            check(r.span);
        }
    }
    let mut todo: Vec<&Node> = file.documents.iter().map(|d| &d.root).collect();
    while let Some(n) = todo.pop() {
        check(n.span);
        match &n.kind {
            NodeKind::Seq(items) => todo.extend(items),
            NodeKind::Map(entries) => {
                for e in entries {
                    todo.push(&e.key);
                    todo.push(&e.value);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn spans_of_keys_and_values() {
    let text = "apiVersion: projectcalico.org/v3\n\
                    kind: 'NetworkPolicy'\n\
                    spec:\n  selector: \"app == 'web'\"\n  order: 10\n  types: [Ingress, Egress]\n  tagged: !!str 80\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(src(text, root.span), text.trim_end());
    let entries = root.as_map().unwrap();
    assert_eq!(src(text, entries[0].key.span), "apiVersion");
    assert_eq!(src(text, entries[0].value.span), "projectcalico.org/v3");
    assert_eq!(src(text, entries[1].value.span), "'NetworkPolicy'");
    assert_eq!(entries[1].value.scalar_str(), Some("NetworkPolicy"));
    let spec = root.get("spec").unwrap();
    assert!(src(text, spec.span).starts_with("selector:"));
    assert!(src(text, spec.span).ends_with("!!str 80"));
    let sel = spec.get("selector").unwrap();
    assert_eq!(src(text, sel.span), "\"app == 'web'\"");
    assert_eq!(sel.as_scalar().unwrap().style, ScalarStyle::DoubleQuoted);
    assert_eq!(src(text, spec.get("order").unwrap().span), "10");
    let types = spec.get("types").unwrap();
    assert_eq!(src(text, types.span), "[Ingress, Egress]");
    assert_eq!(src(text, types.as_seq().unwrap()[1].span), "Egress");
    let tagged = spec.get("tagged").unwrap();
    assert_eq!(src(text, tagged.span), "80");
    let scalar = tagged.as_scalar().unwrap();
    assert_eq!(scalar.tag.as_deref(), Some("!!str"));
    assert_eq!(scalar.typed(), ScalarValue::Str("80"));
}

#[test]
fn block_sequences_and_block_scalars() {
    let text = "egress:\n- action: Allow\n  nets:\n    - 10.0.0.0/8\nnote: |\n  line one\n  line two\n\nfolded: >-\n  a\n  b\nempty:\nlast: x\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    let egress = root.get("egress").unwrap();
    assert_eq!(
        src(text, egress.span),
        "- action: Allow\n  nets:\n    - 10.0.0.0/8"
    );
    let rule = &egress.as_seq().unwrap()[0];
    assert_eq!(
        src(text, rule.span),
        "action: Allow\n  nets:\n    - 10.0.0.0/8"
    );
    let note = root.get("note").unwrap();
    assert_eq!(note.scalar_str(), Some("line one\nline two\n"));
    assert_eq!(src(text, note.span), "line one\n  line two");
    assert_eq!(src(text, root.get("folded").unwrap().span), "a\n  b");
    let empty = root.get("empty").unwrap();
    assert!(empty.is_null());
    assert!(empty.span.start == empty.span.end);
    assert_eq!(src(text, root.get("last").unwrap().span), "x");
}

#[test]
fn quoted_scalars_end_at_their_closing_quote() {
    let text = "a: \"x\\\"y\" # note\nb: 'it''s'   \nc: [\"p\" , 'q' ]\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(src(text, root.get("a").unwrap().span), "\"x\\\"y\"");
    assert_eq!(root.get("a").unwrap().scalar_str(), Some("x\"y"));
    assert_eq!(src(text, root.get("b").unwrap().span), "'it''s'");
    let c = root.get("c").unwrap().as_seq().unwrap();
    assert_eq!(src(text, c[0].span), "\"p\"");
    assert_eq!(src(text, c[1].span), "'q'");
    assert!(file.problems.is_empty(), "{:?}", file.problems);

    let text = "- - x\n  - y\n- z\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let outer = &file.documents[0].root;
    assert_eq!(src(text, outer.span), "- - x\n  - y\n- z");
    assert_eq!(src(text, outer.as_seq().unwrap()[0].span), "- x\n  - y");
}

#[test]
fn anchors_and_tags_are_not_part_of_the_content_span() {
    let text = "a: &base\n  x: 1\nb: !!map &m {y: 2}\nc: &s !!str |\n  text\nd: *base\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(src(text, root.get("a").unwrap().span), "x: 1");
    assert_eq!(src(text, root.get("b").unwrap().span), "{y: 2}");
    let c = root.get("c").unwrap();
    assert_eq!(src(text, c.span), "text");
    assert_eq!(c.as_scalar().unwrap().tag.as_deref(), Some("!!str"));
    // The alias is expanded; the copy's root points at the alias, its children at the anchor.
    let d = root.get("d").unwrap();
    assert_eq!(src(text, d.span), "*base");
    assert_eq!(d.get("x").unwrap().scalar_str(), Some("1"));
    assert_eq!(src(text, d.as_map().unwrap()[0].key.span), "x");
    assert_eq!(d.as_map().unwrap()[0].key.span.start, 11);
}

#[test]
fn multi_document_indices_skip_empty_documents() {
    let text = "---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n---\n~\n--- [c]\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let docs: Vec<(usize, &str)> = file
        .documents
        .iter()
        .map(|d| (d.index, src(text, d.root.span)))
        .collect();
    assert_eq!(docs, vec![(0, "a: 1"), (3, "b: 2"), (5, "[c]")]);
}

#[test]
fn empty_and_comment_only_files() {
    for text in [
        "",
        "\n\n",
        "# nothing here\n",
        "---\n",
        "---\n...\n",
        "\u{feff}",
    ] {
        let file = parse_default(text);
        assert!(file.documents.is_empty(), "{text:?}: {file:?}");
        assert!(file.problems.is_empty(), "{text:?}: {file:?}");
    }
}

#[test]
fn json_documents() {
    let text = r#"{
  "kind": "GlobalNetworkPolicy",
  "metadata": {"name": "d\u00e9ny-\"all\"", "labels": {}},
  "spec": {"order": 100.5, "ports": [80, -1, 1e3], "nested": [[1, [2]], {"k": null}], "ok": true}
}
"#;
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(src(text, root.span), text.trim_end());
    let entries = root.as_map().unwrap();
    assert_eq!(src(text, entries[0].key.span), "\"kind\"");
    assert_eq!(src(text, entries[0].value.span), "\"GlobalNetworkPolicy\"");
    let name = root.get("metadata").unwrap().get("name").unwrap();
    assert_eq!(name.scalar_str(), Some("dény-\"all\""));
    assert_eq!(src(text, name.span), r#""d\u00e9ny-\"all\"""#);
    let labels = root.get("metadata").unwrap().get("labels").unwrap();
    assert_eq!(src(text, labels.span), "{}");
    assert_eq!(labels.as_map().map(<[Entry]>::len), Some(0));
    let spec = root.get("spec").unwrap();
    assert_eq!(
        spec.get("order").unwrap().as_scalar().unwrap().typed(),
        ScalarValue::Float(100.5)
    );
    let ports = spec.get("ports").unwrap();
    assert_eq!(src(text, ports.span), "[80, -1, 1e3]");
    assert_eq!(src(text, ports.as_seq().unwrap()[2].span), "1e3");
    let nested = spec.get("nested").unwrap();
    assert_eq!(src(text, nested.span), r#"[[1, [2]], {"k": null}]"#);
    assert_eq!(src(text, nested.as_seq().unwrap()[0].span), "[1, [2]]");
    assert!(nested.as_seq().unwrap()[1].get("k").unwrap().is_null());
    assert_eq!(
        spec.get("ok").unwrap().as_scalar().unwrap().typed(),
        ScalarValue::Bool(true)
    );
}

#[test]
fn flawed_json_never_panics() {
    // YAML accepts trailing commas in flow collections.
    let text = "{\"a\": [1, 2,], \"b\": 1,}\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    assert_eq!(src(text, root(&file).span), "{\"a\": [1, 2,], \"b\": 1,}");
    assert_eq!(src(text, root(&file).get("a").unwrap().span), "[1, 2,]");
    for text in [
        "{\"a\": 1",
        "{\"a\": [1, 2}",
        "{\"a\" 1}",
        "[1, 2]]",
        "{\"a\": \"unterminated}",
        "{,}",
        "{\"a\": 1}}",
    ] {
        let file = parse_default(text);
        assert_spans_valid(text, &file);
        assert!(!file.problems.is_empty(), "{text:?} should be a problem");
    }
}

#[test]
fn duplicate_keys_are_kept_and_reported() {
    let text = "spec:\n  order: 10\n  selector: a\n  \"order\": 20\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    let spec = root(&file).get("spec").unwrap();
    assert_eq!(spec.as_map().unwrap().len(), 3);
    assert_eq!(spec.get("order").unwrap().scalar_str(), Some("10"));
    assert_eq!(file.problems.len(), 1);
    let p = &file.problems[0];
    assert_eq!(p.message, "duplicate key `order`");
    assert_eq!(src(text, p.span), "\"order\"");
    let (first, label) = (p.related[0].span, &p.related[0].message);
    assert_eq!(p.related.len(), 1);
    assert_eq!(src(text, first), "order");
    assert_eq!(first.start, 8);
    assert_eq!(label, "first defined here");
}

#[test]
fn merge_keys_are_resolved() {
    let text = "base: &b {action: Allow, protocol: TCP}\n\
                    rule:\n  <<: *b\n  action: Deny\n\
                    multi:\n  <<: [{a: 1, b: 1}, {b: 2, c: 2}]\n  c: 3\n\
                    quoted:\n  \"<<\": *b\n\
                    bad:\n  <<: scalar\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    let rule = root(&file).get("rule").unwrap();
    let keys: Vec<_> = rule
        .as_map()
        .unwrap()
        .iter()
        .map(|e| (e.key.scalar_str().unwrap(), e.value.scalar_str().unwrap()))
        .collect();
    assert_eq!(keys, [("action", "Deny"), ("protocol", "TCP")]);
    // The merged entry keeps the span of its definition.
    let protocol = rule.get("protocol").unwrap();
    assert_eq!(src(text, protocol.span), "TCP");
    assert!(protocol.span.start < 40);
    let multi = root(&file).get("multi").unwrap();
    let get = |k| multi.get(k).and_then(Node::scalar_str);
    assert_eq!(
        (get("a"), get("b"), get("c")),
        (Some("1"), Some("1"), Some("3"))
    );
    // A quoted `<<` is an ordinary key.
    assert!(root(&file).get("quoted").unwrap().get("<<").is_some());
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    assert!(file.problems[0].message.contains("merge key"));
    assert!(root(&file).get("bad").unwrap().get("<<").is_some());
}

#[test]
fn duplicate_keys_in_large_mappings() {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("k{i}: {i}\n"));
    }
    text.push_str("k7: again\nk39: again\n");
    let file = parse_default(&text);
    let dups: Vec<(&str, &str)> = file
        .problems
        .iter()
        .map(|p| (src(&text, p.span), src(&text, p.related[0].span)))
        .collect();
    assert_eq!(dups, vec![("k7", "k7"), ("k39", "k39")]);
    let first = file.problems[0].related[0].span;
    assert_eq!(first.start, text.find("k7:").unwrap());
    assert_eq!(file.problems[0].span.start, text.find("k7: again").unwrap());
}

#[test]
fn unknown_alias_is_kept_and_parsing_continues() {
    let text = "a: *nope\nb: c\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    let root = root(&file);
    let a = root.get("a").unwrap();
    assert_eq!(a.kind, NodeKind::Alias("nope".into()));
    assert_eq!(src(text, a.span), "*nope");
    assert_eq!(root.get("b").unwrap().scalar_str(), Some("c"));
    assert_eq!(file.problems.len(), 1);
    assert!(file.problems[0].message.contains("unknown alias `*nope`"));
    assert_eq!(src(text, file.problems[0].span), "*nope");
}

#[test]
fn aliases_do_not_cross_documents_and_recursion_is_caught() {
    let text = "a: &x 1\n---\nb: *x\n---\nc: &r [1, *r]\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    assert_eq!(file.documents.len(), 3);
    let b = file.documents[1].root.get("b").unwrap();
    assert_eq!(b.kind, NodeKind::Alias("x".into()));
    let c = file.documents[2].root.get("c").unwrap();
    assert_eq!(c.as_seq().unwrap()[1].kind, NodeKind::Alias("r".into()));
    let messages: Vec<&str> = file.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("unknown alias `*x`"));
    assert!(messages[1].contains("recursive alias `*r`"));
}

#[test]
fn syntax_error_keeps_earlier_documents() {
    let text = "a: 1\n---\nb: 2\n---\nc: [1, 2\nd: 3\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    let indices: Vec<usize> = file.documents.iter().map(|d| d.index).collect();
    assert_eq!(indices, vec![0, 1]);
    assert_eq!(file.problems.len(), 1);
    let p = &file.problems[0];
    assert!(
        p.message.starts_with("YAML syntax error: "),
        "{}",
        p.message
    );
    assert!(!p.message.contains("byte"), "{}", p.message);
    assert!(!p.message.contains("line"), "{}", p.message);
    // saphyr points at the `:` that cannot start a mapping inside the open flow sequence.
    assert_eq!(p.span.start, text.find("d: 3").unwrap() + 1);
    assert_eq!(src(text, p.span), ":");
}

#[test]
fn error_after_a_complete_root_keeps_the_document() {
    let text = "[1]\nfoo\n";
    let file = parse_default(text);
    assert_eq!(file.documents.len(), 1);
    assert_eq!(src(text, root(&file).span), "[1]");
    assert_eq!(file.problems.len(), 1);
    assert_eq!(src(text, file.problems[0].span), "f");
}

#[test]
fn error_at_end_of_text_has_an_empty_span() {
    let text = "a: [1,";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    assert_eq!(file.problems.len(), 1);
    assert_eq!(file.problems[0].span, Span::new(text.len(), text.len()));
}

#[test]
fn tabs_in_indentation_are_a_problem() {
    let text = "a:\n\tb: c\n";
    let file = parse_default(text);
    assert_spans_valid(text, &file);
    assert!(file.documents.is_empty());
    assert_eq!(file.problems.len(), 1);
    assert!(file.problems[0].message.contains("tab"));
    // saphyr reports the position right after the tab.
    assert_eq!(file.problems[0].span.start, 4);
}

#[test]
fn byte_order_mark_is_skipped() {
    let text = "\u{feff}kind: Tier\nname: \"é\"\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(root.span.start, 3);
    let entries = root.as_map().unwrap();
    assert_eq!(src(text, entries[0].key.span), "kind");
    assert_eq!(src(text, entries[0].value.span), "Tier");
    assert_eq!(src(text, entries[1].value.span), "\"é\"");
}

#[test]
fn crlf_line_endings() {
    let text = "a: 1\r\nb:\r\n  - x\r\n  - \"y\"\r\nc: |\r\n  lit\r\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(src(text, root.get("a").unwrap().span), "1");
    let b = root.get("b").unwrap();
    assert_eq!(src(text, b.span), "- x\r\n  - \"y\"");
    assert_eq!(src(text, b.as_seq().unwrap()[1].span), "\"y\"");
    assert_eq!(root.get("c").unwrap().scalar_str(), Some("lit\n"));
    assert_eq!(src(text, root.get("c").unwrap().span), "lit");
}

#[test]
fn non_ascii_text_before_nodes() {
    let text =
        "# Politique réseau — 日本語 🚀\nname: \"ünïcødé\" # ç\nnext: 🚀rocket\nlist: [é, ß]\n";
    let file = parse_default(text);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_spans_valid(text, &file);
    let root = root(&file);
    assert_eq!(src(text, root.get("name").unwrap().span), "\"ünïcødé\"");
    let entries = root.as_map().unwrap();
    assert_eq!(src(text, entries[1].key.span), "next");
    assert_eq!(src(text, entries[1].value.span), "🚀rocket");
    let list = root.get("list").unwrap();
    assert_eq!(src(text, list.span), "[é, ß]");
    assert_eq!(src(text, list.as_seq().unwrap()[1].span), "ß");
    // Enough non-ASCII text to cross many checkpoints of the char→byte table.
    let long = format!("# {}\nkey: value\n", "ñ".repeat(1000));
    let file = parse_default(&long);
    let e = &root_entries(&file)[0];
    assert_eq!(src(&long, e.key.span), "key");
    assert_eq!(src(&long, e.value.span), "value");
}

fn root_entries(file: &ParsedFile) -> &[Entry] {
    root(file).as_map().unwrap()
}

#[test]
fn char_to_byte_conversion() {
    let text = "aé日🚀b";
    let conv = CharToByte::new(text);
    let expected = [0, 1, 3, 6, 10, 11];
    for (ci, b) in expected.iter().enumerate() {
        assert_eq!(conv.byte(ci), *b);
    }
    assert_eq!(conv.byte(100), text.len());
    let ascii = CharToByte::new("abc");
    assert_eq!(ascii.byte(2), 2);
    assert_eq!(ascii.byte(9), 3);
}

/// A tiny deterministic generator, so the mutation test needs no extra crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_input_never_panics_and_spans_stay_valid() {
    let base = "\u{feff}apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: &m\n  name: é-1\n  labels: {a: \"b\", 'c': d}\nspec:\n  selector: app == 'x'\n  ingress:\n  - action: Allow\n    source: {nets: [10.0.0.0/8, \"::1/128\"]}\n    note: |\n      日本\n  copy: *m\n---\n[1, {x: !!str 2}]\n";
    let pieces = [
        "\t",
        "\n",
        "\r\n",
        ":",
        " ",
        "-",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "&a",
        "*a",
        "!!str",
        "|",
        ">",
        "#",
        "---",
        "...",
        "?",
        "é",
        "🚀",
        "%YAML 1.2",
        "\\",
        "@",
        "`",
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2_000 {
        let mut text = base.to_string();
        for _ in 0..1 + rng.below(4) {
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            let at = boundaries[rng.below(boundaries.len())];
            match rng.below(3) {
                0 => text.insert_str(at, pieces[rng.below(pieces.len())]),
                1 => {
                    let end = boundaries
                        .iter()
                        .copied()
                        .find(|&b| b > at + rng.below(6))
                        .unwrap_or(text.len());
                    text.replace_range(at..end, "");
                }
                _ => text.truncate(at),
            }
        }
        let file = parse_default(&text);
        assert_spans_valid(&text, &file);
        assert!(
            !file
                .problems
                .iter()
                .any(|p| p.message.contains("internal error")),
            "{text:?}"
        );
    }
}

/// `cargo test --release -- --ignored large_multi_document_file --nocapture`
#[test]
#[ignore = "timing test; run in release mode"]
fn large_multi_document_file() {
    let doc = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: allow-web-NNN\n  namespace: prod\n  labels: {team: web, tier: frontend}\nspec:\n  order: 100\n  selector: app == 'web' && tier in {'frontend', 'edge'}\n  types: [Ingress, Egress]\n  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n      selector: role == 'lb'\n      nets: [10.0.0.0/8, 192.168.0.0/16]\n    destination:\n      ports: [80, 443, \"8000:8080\"]\n  egress:\n  - action: Allow\n    protocol: UDP\n    destination:\n      selector: k8s-app == 'kube-dns'\n      ports: [53]\n";
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 12 * 1024 * 1024 {
        text.push_str("---\n");
        text.push_str(&doc.replace("NNN", &i.to_string()));
        i += 1;
    }
    let (file, elapsed) = parse_timed(&text);
    eprintln!(
        "{} MB, {} documents in {elapsed:?}",
        text.len() / 1_000_000,
        file.documents.len()
    );
    assert_eq!(file.documents.len(), i);
    assert!(file.problems.is_empty());
    assert!(elapsed < Duration::from_secs(1));
}

#[test]
fn an_indentless_sequence_whose_first_item_starts_with_a_dash_spans_from_its_indicator() {
    let text = "k:\n- -1\n- x\n";
    let parsed = parse(text, &ParseLimits::default());
    let NodeKind::Map(entries) = &parsed.documents[0].root.kind else {
        panic!("{parsed:?}");
    };
    assert_eq!(
        &text[entries[0].value.span.start..entries[0].value.span.end],
        "- -1\n- x"
    );
    assert_eq!(parse_with_saphyr(text, &ParseLimits::default()), parsed);
}

#[test]
fn an_indentless_sequence_whose_first_item_follows_a_comment_spans_from_its_indicator() {
    for (text, seq) in [
        ("k:\n- # note\n  a: 1\n", "- # note\n  a: 1"),
        ("k:\n-\n  # note\n\n  a: 1\n", "-\n  # note\n\n  a: 1"),
    ] {
        let parsed = parse(text, &ParseLimits::default());
        let NodeKind::Map(entries) = &parsed.documents[0].root.kind else {
            panic!("{parsed:?}");
        };
        let span = entries[0].value.span;
        assert_eq!(&text[span.start..span.end], seq, "{text:?}");
        assert_eq!(parse_with_saphyr(text, &ParseLimits::default()), parsed);
    }
}
