//! Tests of the public API: the spec's canonicalisation and edge-case tables, the
//! convenience methods, robustness on hostile input, and property-style checks.
//! One file (over ~600 lines) on purpose: the tables share the parsing helpers, and each
//! module of the selector language keeps its own unit tests beside it.

use super::*;

fn sel(src: &str) -> Selector {
    Selector::parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
}

fn bad(src: &str) -> SelectorError {
    match Selector::parse(src) {
        Ok(s) => panic!("{src:?} should not parse, got {:?}", s.expr()),
        Err(e) => e,
    }
}

/// Spec §3.10, canonicalisation pairs from `parser_test.go`, plus §3.4's examples.
#[test]
fn canonicalisation_table() {
    for (input, want) in [
        ("", "all()"),
        (" all() ", "all()"),
        (" (all() )", "all()"),
        ("! (has( b)||! has(a ))", "!(has(b) || !has(a))"),
        (
            "! (a == \"b\"&&! c != \"d\")",
            "!(a == \"b\" && !c != \"d\")",
        ),
        ("a == \"'\"", "a == \"'\""),
        ("a == '\"'", "a == '\"'"),
        ("a contains '\"'", "a contains '\"'"),
        ("a contains \"'\"", "a contains \"'\""),
        ("a startswith '\"'", "a starts with '\"'"),
        ("a endswith \"'\"", "a ends with \"'\""),
        ("a!='\"'", "a != '\"'"),
        ("a in {\"d\"}", "a in {\"d\"}"),
        ("a in {\"d\", \"a\", \"b\"}", "a in {\"a\", \"b\", \"d\"}"),
        (
            "a in {\"z\", \"x\", \"y\", \"a\"}",
            "a in {\"a\", \"x\", \"y\", \"z\"}",
        ),
        (
            "a in {\"z\", \"z\", \"x\", \"y\", \"x\", \"a\"}",
            "a in {\"a\", \"x\", \"y\", \"z\"}",
        ),
        ("!!has(b)", "has(b)"),
        ("!!!a == 'b'", "!a == \"b\""),
        ("!(!has(a))", "!!has(a)"),
        ("a notin {'x'}", "a not in {\"x\"}"),
        ("a in {'x',}", "a in {\"x\"}"),
        ("a in {}", "a in {}"),
        ("a == 'b'\t", "a == \"b\""),
        ("has( a )", "has(a)"),
        ("all == 'x'", "all == \"x\""),
        ("global == 'x'", "global == \"x\""),
        ("has == 'x'", "has == \"x\""),
        ("global( )", "global()"),
        (
            "a == 'b' && c == 'd' && e == 'f'",
            "(a == \"b\" && c == \"d\" && e == \"f\")",
        ),
        (
            "a == 'b' || c == 'd' && e == 'f'",
            "(a == \"b\" || (c == \"d\" && e == \"f\"))",
        ),
        (
            "(a == 'b' || c == 'd') && e == 'f'",
            "((a == \"b\" || c == \"d\") && e == \"f\")",
        ),
        ("((has(a)) && (has(b)))", "(has(a) && has(b))"),
        (
            "(has(a) && has(b)) && has(c)",
            "((has(a) && has(b)) && has(c))",
        ),
        ("!(k == 'v')", "!k == \"v\""),
        ("a == 'it''s'", "a == \"it\" "),
    ] {
        if input == "a == 'it''s'" {
            // Two adjacent strings are not a value: this input must be rejected.
            assert_eq!(bad(input).offset, 9);
            continue;
        }
        let s = sel(input);
        assert_eq!(s.canonical(), want, "canonical of {input:?}");
        assert_eq!(s.to_string(), want);
        assert_eq!(s.expr().to_string(), want);
        if input != "!(!has(a))" {
            assert_eq!(
                sel(want).canonical(),
                want,
                "canonical form of {input:?} is stable"
            );
        }
    }
}

/// Spec §3.10's additional edge cases and §3.1/§3.2's rules.
#[test]
fn edge_case_table() {
    for (src, valid) in [
        ("a == 'b'\n", false),
        ("a == 'b' &&\n b == 'c'", false),
        ("a == 'b'\r", false),
        ("\n", false),
        ("a == 'b'\t", true),
        ("has( a )", true),
        ("has (a)", false),
        ("a notin {'x'}", true),
        ("a in {'x',}", true),
        ("a in {,}", false),
        ("a in {'x' 'y'}", false),
        ("a in {}", true),
        ("!!!a == 'b'", true),
        ("all == 'x'", true),
        ("global == 'x'", true),
        ("has == 'x'", true),
        ("(a == 'b'))", false),
        ("contains contains \"contains\"", true),
        ("startswith starts with \"value\"", true),
        ("a contains\"x\"", true),
        ("a startswith'x'", true),
        ("a starts\t with 'x'", true),
        ("a inf {}", false),
        ("a withs 'x'", false),
        ("()", false),
        ("b == b", false),
        ("a b", false),
        ("a == 'b' c == 'd'", false),
        ("foo in \"\"", false),
        ("!", false),
        ("!!", false),
        ("a !== 'b'", false),
        ("a == 'b' && !", false),
        ("'b1' == b", false),
        ("has(a) ||", false),
        ("&& has(a)", false),
        ("a == ''", true),
        ("a in {''}", true),
        ("a/b.c-d_e == 'x'", true),
        ("1 == '2'", true),
        ("-- == '-'", true),
        ("has(./-)", true),
        ("a == 'b' || (c == 'd' && !(e in {'f'}))", true),
    ] {
        assert_eq!(Selector::parse(src).is_ok(), valid, "{src:?}");
    }
}

#[test]
fn errors_point_at_the_offending_character() {
    let cases = [
        ("a == \"b", 5, "unterminated string"),
        ("label = \"value\"", 6, "expected `==`"),
        ("a == 'b' & c", 9, "expected `&&`"),
        ("a == 'b' | c", 9, "expected `||`"),
        ("a == 'b' && %", 12, "unexpected character `%`"),
        ("a == 'b'\n", 8, "line break"),
        ("label squiggles 'x'", 6, "expected an operator"),
        ("has()", 4, "empty `has()`"),
        ("(has(a)", 7, "expected `)`"),
        ("a == b", 5, "expected a quoted string after `==`"),
        ("a in 'x'", 5, "expected a set"),
        ("(a == 'b'))", 10, "no matching `(`"),
        ("a == 'é' %", 10, "unexpected character `%`"),
    ];
    for (src, offset, msg) in cases {
        let e = bad(src);
        assert_eq!(e.offset, offset, "{src:?}: {e}");
        assert!(e.message.contains(msg), "{src:?}: {e}");
    }
    let e = bad("a == 'b' & has(foo)");
    assert_eq!(
        e.display_with_caret("a == 'b' & has(foo)"),
        "a == 'b' & has(foo)\n         ^ expected `&&`: a single `&` is not an operator"
    );
}

#[test]
fn api_helpers() {
    assert!(sel("").is_all());
    assert!(Selector::default().is_all());
    assert_eq!(Selector::default(), sel(""));
    assert!(sel(" ( all() ) ").is_all());
    assert!(!sel("all() && all()").is_all());
    assert!(!sel("global()").is_all());
    assert!(!sel("!all()").is_all());

    let s = sel("a == 'x' && (has(b) || !c in {'y'}) && d.e/f starts with 'z'");
    let used: Vec<String> = s.labels_used().into_iter().collect();
    assert_eq!(used, ["a", "b", "c", "d.e/f"]);
    assert!(sel("all()").labels_used().is_empty());

    assert!(sel("has(a) || global()").contains_global());
    assert!(sel("!(global())").contains_global());
    assert!(!sel("app == 'global()'").contains_global());

    assert_eq!(sel("a==\"b\"").source(), "a==\"b\"");
    assert_eq!(sel("a=='b'"), sel("a == \"b\""));
    assert_ne!(sel("a=='b'"), sel("a == 'c'"));
    let parsed: Selector = "has(x)".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.canonical(), "has(x)");
    assert!("a =".parse::<Selector>().is_err());

    let labels = [("a", "x"), ("b", ""), ("d.e/f", "zz")];
    assert!(s.matches(&labels));
    assert!(s.matches(&labels[..]));
    assert!(!s.matches(&[("a", "x")]));
}

#[test]
fn prefixing() {
    let s = sel(
        "nskey == 'nsvalue' && has(x) || !(y in {'1'}) && z not in {} && w != 'v' && q contains 'c' && r starts with 's' && t ends with 'e' && all() && global()",
    );
    let p = s.prefixed("pcns.");
    assert_eq!(
        p.canonical(),
        "((pcns.nskey == \"nsvalue\" && has(pcns.x)) || (!pcns.y in {\"1\"} && pcns.z not in {} && pcns.w != \"v\" && pcns.q contains \"c\" && pcns.r starts with \"s\" && pcns.t ends with \"e\" && all() && global()))"
    );
    assert_eq!(p.source(), p.canonical());
    assert_eq!(
        sel("key == 'value1'").prefixed("pcsa.").canonical(),
        "pcsa.key == \"value1\""
    );
    assert_eq!(sel("").prefixed("pcns.").canonical(), "all()");
    let l = [("pcns.nskey", "nsvalue"), ("pcns.x", "")];
    assert!(p.matches(&l));
}

#[test]
fn label_restrictions_and_never_matches_via_selector() {
    let s = sel("a == 'v1' && a == 'v2'");
    let lr = s.label_restrictions();
    assert_eq!(lr.get("a").map(|r| r.possible_to_satisfy()), Some(false));
    assert_eq!(
        s.never_matches().as_deref(),
        Some("label `a` must equal both \"v1\" and \"v2\"")
    );
    assert_eq!(sel("a == 'v1' || all()").label_restrictions().len(), 0);
    assert_eq!(sel("a == 'v1' || all()").never_matches(), None);
    assert!(sel("a in {}").never_matches().is_some());
    assert!(sel("!all()").never_matches().is_some());
    assert!(sel("a in {}").label_restrictions()["a"].possible_to_satisfy());
}

/// A label map over `labels`, one `Option<value index>` per label.
fn maps<'v>(labels: &[&'v str], values: &[&'v str]) -> Vec<Vec<(&'v str, &'v str)>> {
    let mut out = vec![Vec::new()];
    for &l in labels {
        let mut next = Vec::new();
        for m in &out {
            next.push(m.clone());
            for &v in values {
                let mut m2 = m.clone();
                m2.push((l, v));
                next.push(m2);
            }
        }
        out = next;
    }
    out
}

/// The deepest tree the parser accepts (`!`, `||` and `&&` at every level) must work with
/// every API on half of the default 2 MiB thread stack, even in debug builds.
#[test]
fn deepest_selector_works_with_every_api_on_a_small_stack() {
    let run = || {
        let mut src = "has(z)".to_string();
        for _ in 0..MAX_NESTING / 3 {
            src = format!("!(has(a) || has(b) && {src})");
        }
        let src = format!("(has(c) && {src})");
        let s = sel(&src);
        assert!(!s.matches(&[("c", "x"), ("a", "x")]));
        assert!(s.matches(&[("c", "x"), ("z", "x")]));
        let c = s.canonical();
        let again = sel(&c);
        assert_eq!(again.canonical(), c);
        assert_eq!(again, s.clone());
        let _ = format!("{:?}", s.expr());
        let _ = s.label_restrictions();
        let _ = s.never_matches();
        let p = s.prefixed("p.");
        assert_eq!(p.labels_used().len(), 4);
        assert!(!p.contains_global());
        assert!(
            bad(&format!("!{src}"))
                .message
                .contains("nested too deeply")
        );
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&s, &mut h);
        drop(p);
        drop(again);
        drop(s);
    };
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(run)
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    assert!(handle.join().is_ok());
}

#[test]
fn hostile_inputs_are_rejected_quickly_without_panicking() {
    for src in [
        "(".repeat(100_000),
        "!(".repeat(100_000),
        format!("{}has(a)", "!".repeat(100_001)),
        format!("{}has(a){}", "(".repeat(100_000), ")".repeat(100_000)),
        "a".repeat(100_000),
        format!("has({})", "a".repeat(100_000)),
        "'".repeat(100_001),
        "é".repeat(10_000),
        "\u{0}\u{7f}\u{feff}".repeat(10),
    ] {
        if let Err(e) = Selector::parse(&src) {
            assert!(e.offset <= src.len() && src.is_char_boundary(e.offset));
            let _ = e.display_with_caret(&src);
        }
    }
    assert!(sel(&format!("{}has(a)", "!".repeat(100_001))).matches(&[("b", "")]));
}

#[test]
fn long_flat_chains_work_with_every_api() {
    let src = (0..10_000)
        .map(|i| format!("l{i} == 'v{i}'"))
        .collect::<Vec<_>>()
        .join(" && ");
    let s = sel(&src);
    let c = s.canonical();
    assert_eq!(sel(&c), s);
    assert_eq!(s.label_restrictions().len(), 10_000);
    assert_eq!(s.never_matches(), None);
    assert_eq!(s.labels_used().len(), 10_000);
    let labels: BTreeMap<String, String> = (0..10_000)
        .map(|i| (format!("l{i}"), format!("v{i}")))
        .collect();
    assert!(s.matches(&labels));
    let s = sel(&src.replace("&&", "||"));
    assert!(s.label_restrictions().is_empty());
    assert!(s.matches(&[("l9999", "v9999")]));
    assert_eq!(s.prefixed("x").labels_used().len(), 10_000);
}

/// Small deterministic PRNG (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const LABELS: [&str; 3] = ["a", "b", "c"];
const VALUES: [&str; 6] = ["", "x", "y", "xy", "it's", "say \"hi\""];
const EXTRA_VALUE: &str = "zz";

fn ws(rng: &mut Rng) -> &'static str {
    rng.pick(&["", "", " ", "  ", "\t"])
}

fn ws1(rng: &mut Rng) -> &'static str {
    rng.pick(&[" ", " ", "  ", "\t", " \t"])
}

fn quote(rng: &mut Rng, v: &str) -> String {
    let q = if v.contains('"') {
        '\''
    } else if v.contains('\'') || rng.below(2) == 0 {
        '"'
    } else {
        '\''
    };
    format!("{q}{v}{q}")
}

fn gen_atom(rng: &mut Rng) -> String {
    let l = rng.pick(&LABELS);
    let v = rng.pick(&VALUES);
    match rng.below(10) {
        0 => format!("has({}{l}{})", ws(rng), ws(rng)),
        1 => match rng.below(4) {
            0 => format!("all({})", ws(rng)),
            1 => format!("global({})", ws(rng)),
            _ => format!("{l}{}=={}{}", ws(rng), ws(rng), quote(rng, v)),
        },
        2 => format!("{l}{}=={}{}", ws(rng), ws(rng), quote(rng, v)),
        3 => format!("{l}{}!={}{}", ws(rng), ws(rng), quote(rng, v)),
        4 | 5 => {
            let op = rng.pick(&["in", "not in", "notin", "not\tin"]);
            let n = rng.below(4);
            let mut items: Vec<String> = (0..n)
                .map(|_| {
                    let v = rng.pick(&VALUES);
                    quote(rng, v)
                })
                .collect();
            if n > 0 && rng.below(3) == 0 {
                items.push(String::new());
            }
            let sep = format!("{},{}", ws(rng), ws(rng));
            format!("{l}{}{op}{}{{{}}}", ws1(rng), ws(rng), items.join(&sep))
        }
        _ => {
            let op = rng.pick(&[
                "contains",
                "starts with",
                "startswith",
                "starts  with",
                "ends with",
                "endswith",
            ]);
            format!("{l}{}{op}{}{}", ws1(rng), ws(rng), quote(rng, v))
        }
    }
}

fn gen_expr(rng: &mut Rng, depth: usize) -> String {
    let nots = "!".repeat(if rng.below(4) == 0 { rng.below(4) } else { 0 });
    let body = if depth == 0 || rng.below(3) == 0 {
        gen_atom(rng)
    } else {
        match rng.below(3) {
            0 | 1 => {
                let op = if rng.below(2) == 0 { "&&" } else { "||" };
                let n = 2 + rng.below(3);
                let parts: Vec<String> = (0..n).map(|_| gen_expr(rng, depth - 1)).collect();
                let sep = format!("{}{op}{}", ws(rng), ws(rng));
                format!("({}{}{})", ws(rng), parts.join(&sep), ws(rng))
            }
            _ => format!("({})", gen_expr(rng, depth - 1)),
        }
    };
    format!("{nots}{}{body}", if nots.is_empty() { "" } else { ws(rng) })
}

fn has_double_not(e: &Expr) -> bool {
    let mut found = false;
    e.for_each_node(|n| {
        if let Expr::Not(inner) = n {
            found |= matches!(**inner, Expr::Not(_));
        }
    });
    found
}

/// canonical(parse(s)) reparses to an equivalent selector with the same canonical form;
/// `never_matches()` and `label_restrictions()` are sound over a brute-forced domain;
/// prefixing commutes with evaluation.
#[test]
fn property_round_trip_and_soundness() {
    let mut rng = Rng(0x5EED_CA11_C0DE);
    let mut values: Vec<&str> = VALUES.to_vec();
    values.push(EXTRA_VALUE);
    let mut never_seen = 0;
    let mut unsatisfiable_seen = 0;
    for round in 0..2500 {
        let src = gen_expr(&mut rng, round % 4);
        let s = sel(&src);
        let c1 = s.canonical();
        let s2 = Selector::parse(&c1)
            .unwrap_or_else(|e| panic!("canonical {c1:?} of {src:?} must reparse: {e}"));
        let c2 = s2.canonical();
        if has_double_not(s.expr()) {
            // `!(!x)` prints as `!!x`, which Calico re-reads as `x` (spec §3.4): one more
            // round reaches a fixed point.
            assert_eq!(sel(&c2).canonical(), c2, "{src:?}");
        } else {
            assert_eq!(c2, c1, "{src:?}");
            assert_eq!(s2.expr(), s.expr(), "{src:?}");
        }

        let used: Vec<String> = s.labels_used().into_iter().collect();
        let used: Vec<&str> = used.iter().map(String::as_str).collect();
        let never = s.never_matches();
        let restrictions = s.label_restrictions();
        let prefixed = s.prefixed("p/");
        let mut any_match = false;
        for m in maps(&used, &values) {
            let matched = s.matches(&m);
            assert_eq!(s2.matches(&m), matched, "{src:?} vs {c1:?} on {m:?}");
            let pm: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (format!("p/{k}"), v.to_string()))
                .collect();
            assert_eq!(prefixed.matches(&pm), matched, "prefixed {src:?} on {m:?}");
            if !matched {
                continue;
            }
            any_match = true;
            assert!(
                never.is_none(),
                "{src:?} matches {m:?} but never_matches says {never:?}"
            );
            for (k, r) in &restrictions {
                let v = m.label(k);
                assert!(
                    !r.must_be_present || v.is_some(),
                    "{src:?}: {k} {r:?} on {m:?}"
                );
                assert!(
                    !r.must_be_absent || v.is_none(),
                    "{src:?}: {k} {r:?} on {m:?}"
                );
                if let Some(allowed) = &r.must_have_one_of_values {
                    assert!(
                        v.is_some_and(|v| allowed.contains(v)),
                        "{src:?}: {k} {r:?} on {m:?}"
                    );
                }
            }
        }
        never_seen += usize::from(never.is_some());
        unsatisfiable_seen += usize::from(!any_match);
    }
    // The generator must actually exercise the interesting cases.
    assert!(
        never_seen > 50,
        "only {never_seen} never-matching selectors generated"
    );
    assert!(unsatisfiable_seen >= never_seen);
}

/// Random token soup (including multi-byte characters and newlines) never panics; errors
/// carry in-range, char-aligned offsets; successes round-trip through the canonical form.
#[test]
fn property_no_panics_on_token_soup() {
    let pieces = [
        "a",
        "b",
        "has(",
        "has",
        "all(",
        "global(",
        ")",
        "(",
        "{",
        "}",
        ",",
        "'",
        "\"",
        "'x'",
        "\"y\"",
        "==",
        "=",
        "!=",
        "!",
        "&&",
        "&",
        "||",
        "|",
        " ",
        "\t",
        "\n",
        "in",
        "not",
        "contains",
        "starts",
        "with",
        "ends",
        "é",
        "\u{1F600}",
        "%",
        "a.b/c-d_e",
        "startswith",
    ];
    let mut rng = Rng(42);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let n = 1 + rng.below(10);
        let src: String = (0..n).map(|_| rng.pick(&pieces)).collect();
        match Selector::parse(&src) {
            Ok(s) => {
                parsed += 1;
                let c = s.canonical();
                let again = sel(&c);
                assert_eq!(sel(&again.canonical()).canonical(), again.canonical());
            }
            Err(e) => {
                assert!(e.offset <= src.len(), "{src:?}: {e}");
                assert!(src.is_char_boundary(e.offset), "{src:?}: {e}");
                assert!(!e.message.is_empty());
            }
        }
    }
    assert!(parsed > 100, "only {parsed} random inputs parsed");
}

#[test]
fn terms_count_leaf_tests_and_set_values() {
    assert_eq!(sel("").terms(), 1);
    assert_eq!(sel("has(a)").terms(), 1);
    assert_eq!(sel("a == 'b' && !(c != 'd' || has(e))").terms(), 3);
    assert_eq!(sel("k in {'a', 'b', 'c'} && k not in {}").terms(), 4);
    let many = vec!["x == 'y'"; 5000].join(" || ");
    assert_eq!(sel(&many).terms(), 5000);
}

#[test]
fn selector_limits() {
    let limits = SelectorLimits {
        max_bytes: 20,
        max_terms: 2,
    };
    assert_eq!(
        limits.check("has(a) && has(b)", Some(&sel("has(a) && has(b)"))),
        None
    );
    let three = "has(a)||has(b)||has(c)";
    let why = limits.check(three, None).unwrap_or_default();
    assert!(
        why.contains("22 bytes") && why.contains("limit of 20 bytes"),
        "{why}"
    );
    let three = "has(a)||b==''||c==''";
    let why = limits.check(three, Some(&sel(three))).unwrap_or_default();
    assert!(why.contains("3 terms"), "{why}");
    assert_eq!(
        SelectorLimits::default().max_bytes,
        DEFAULT_MAX_SELECTOR_BYTES
    );
}

#[test]
fn dead_alternatives_are_found_only_when_the_whole_can_match() {
    let s = Selector::parse("app == 'web' || (app == 'api' && app == 'db')").unwrap();
    let dead = s.dead_alternatives();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].0.contains("api"), "{dead:?}");
    // The whole never matches: that is CAL110/CAL111's business, not a dead alternative.
    let s = Selector::parse("(a == 'x' || b in {}) && a == 'y' && a == 'z'").unwrap();
    assert!(s.dead_alternatives().is_empty());
    // Nested: only the outermost dead alternative is named.
    let s = Selector::parse("has(x) || (b in {} || c in {})").unwrap();
    assert_eq!(s.dead_alternatives().len(), 1);
    // Every alternative can match.
    let s = Selector::parse("a == 'x' || a == 'y'").unwrap();
    assert!(s.dead_alternatives().is_empty());
}
