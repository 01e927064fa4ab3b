//! Tidy test (in the manner of rust-analyzer's `tidy.rs`): the library's layers only import
//! downwards.
//!
//! Every file under `src/` (but the binary: `main.rs` and `cli/`, the top layer) is read as
//! text; every path that names a top-level module of the crate (`crate::analysis::…`,
//! `use crate::{model, …}`, or `super::` climbing out of its own top-level module) is checked
//! against [`LAYERS`]. A module may use modules of its own layer or below, never above.
//! Test-only code (from a `#[cfg(test)]` module to the end of the file) may use anything:
//! unit tests run the whole pipeline to build their input.
//!
//! The layer table is the one `ARCHITECTURE.md` draws; change both together.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules of the library, bottom up. Modules on one line are one layer.
const LAYERS: &[&[&str]] = &[
    &["source", "pointer", "finding", "diagnostic", "progress"],
    &["load"],
    &["model"],
    &["validate"],
    &["project"],
    &["analysis"],
    &["posture"],
    &["lints"],
    &["fix"],
    &["config"],
    &["check"],
    &["diff"],
    &["report"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// One import that runs up the layers.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "src/{}:{}: `{}` (layer {}) uses `{}` (layer {}), a layer above it",
            self.file,
            self.line,
            self.from,
            layer_of(&self.from).map_or(0, |l| l),
            self.to,
            layer_of(&self.to).map_or(0, |l| l),
        )
    }
}

/// The code of a file without comments, string literals' contents and test modules; line
/// breaks kept so positions still give line numbers.
fn code_only(text: &str) -> String {
    without_test_modules(&without_comments_and_strings(text))
}

/// `code` without the bodies of `#[cfg(test)] mod name { … }` (brace-matched, so code after a
/// test module still counts); line breaks kept.
fn without_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let item = after.trim_start();
        let is_module = item.starts_with("mod ") || item.starts_with("pub mod ");
        let open = item.find(['{', ';']);
        match open {
            Some(i) if is_module && item.as_bytes()[i] == b'{' => {
                out.push_str(&rest[..at]);
                let body_start = rest.len() - item.len() + i;
                let mut depth = 0usize;
                let mut end = rest.len();
                for (j, c) in rest[body_start..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = body_start + j + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                out.extend(rest[at..end].chars().filter(|&c| c == '\n'));
                rest = &rest[end..];
            }
            _ => {
                let keep = at + "#[cfg(test)]".len();
                out.push_str(&rest[..keep]);
                rest = &rest[keep..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn without_comments_and_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                // Skip a string literal (escapes included), keeping its line breaks.
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            '\'' => {
                // A char literal ('"', '\'', 'x') or a lifetime ('a): skip the literal only.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    let end = rest.find('\'').map_or(0, |i| i + 1).max(3);
                    for _ in 0..end.min(rest.len()) {
                        chars.next();
                    }
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file names, with the line of each mention. `module_path` is the
/// file's module path (`["model", "lower", "reader"]`).
fn used_modules(code: &str, module_path: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let preceded_by_ident = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
            rest = &rest[at + "crate::".len()..];
            if preceded_by_ident {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::c, d::{e, f}}`: the first segment of each top-level item.
                // (a group spanning lines is read by `grouped_uses` below.)
                for item in top_level_items(group) {
                    out.push((n + 1, item));
                }
            } else {
                out.push((n + 1, ident_at(rest).to_string()));
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find("super::") {
            let preceded_by_ident = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            let mut tail = &rest[at..];
            let mut climbs = 0;
            while let Some(t) = tail.strip_prefix("super::") {
                climbs += 1;
                tail = t;
            }
            rest = tail;
            if preceded_by_ident || climbs < module_path.len() {
                // Stays inside the file's own top-level module.
                continue;
            }
            out.push((n + 1, ident_at(tail).to_string()));
        }
    }
    // `use crate::{\n a::b,\n c,\n};` over several lines.
    let mut search = code;
    let mut offset = 0;
    while let Some(at) = search.find("crate::{") {
        let start = offset + at + "crate::{".len();
        let line = code[..start].matches('\n').count() + 1;
        if let Some(group) = code.get(start..) {
            if group
                .find('\n')
                .is_some_and(|nl| group[..nl].matches('}').count() == 0)
            {
                for item in top_level_items(group) {
                    out.push((line, item));
                }
            }
        }
        offset = start;
        search = &code[start..];
    }
    out.retain(|(_, m)| !m.is_empty() && m != "self");
    out
}

/// First segments of the comma-separated items of a `{…}` group (up to its closing brace).
fn top_level_items(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut expect_item = true;
    let mut i = 0;
    let bytes = group.as_bytes();
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_item = true,
            c if expect_item && depth == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                items.push(ident_at(&group[i..]).to_string());
                expect_item = false;
            }
            _ => {}
        }
        i += 1;
    }
    items
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

fn violations_in(rel: &str, text: &str) -> Vec<Violation> {
    let path = module_path(Path::new(rel));
    let Some(from) = path.first() else {
        return Vec::new();
    };
    let Some(from_layer) = layer_of(from) else {
        return Vec::new();
    };
    let mut found = BTreeSet::new();
    for (line, to) in used_modules(&code_only(text), &path) {
        if let Some(to_layer) = layer_of(&to) {
            if to_layer > from_layer {
                found.insert(Violation {
                    file: rel.to_string(),
                    line,
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn layers_only_import_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut unknown = BTreeSet::new();
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        let top = module_path(rel);
        match top.first().map(String::as_str) {
            // The binary is the top layer; lib.rs only declares the modules.
            None | Some("main") | Some("cli") => continue,
            Some(m) if layer_of(m).is_none() => {
                unknown.insert(m.to_string());
                continue;
            }
            _ => {}
        }
        let text = std::fs::read_to_string(file).expect("read source");
        violations.extend(violations_in(&rel_str, &text));
        checked += 1;
    }
    assert!(
        unknown.is_empty(),
        "top-level modules missing from LAYERS in tests/tidy.rs (place them in the stack \
         and in ARCHITECTURE.md): {unknown:?}"
    );
    assert!(checked > 100, "only {checked} files checked");
    let report: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        violations.is_empty(),
        "{} import(s) run up the layers (see LAYERS in tests/tidy.rs):\n{}",
        violations.len(),
        report.join("\n")
    );
}

#[test]
fn the_checker_sees_every_spelling_of_an_upward_import() {
    let up = |rel: &str, text: &str| -> Vec<(usize, String)> {
        violations_in(rel, text)
            .into_iter()
            .map(|v| (v.line, v.to))
            .collect()
    };
    // Plain paths, in `use` and inline.
    assert_eq!(
        up("model/x.rs", "use crate::validate::Violation;"),
        [(1, "validate".into())]
    );
    assert_eq!(
        up("model/x.rs", "fn f() { crate::check::run(); }"),
        [(1, "check".into())]
    );
    // Groups, on one line and over several, nested.
    assert_eq!(
        up("load/x.rs", "use crate::{source::Span, model::{a, b}};"),
        [(1, "model".into())]
    );
    assert_eq!(
        up(
            "load/x.rs",
            "use crate::{\n    source::Span,\n    report::{a, b},\n};"
        ),
        [(1, "report".into())]
    );
    // `super::` climbing out of the top-level module.
    assert_eq!(
        up(
            "model/lower/reader.rs",
            "use super::super::super::validate::V;"
        ),
        [(1, "validate".into())]
    );
    assert_eq!(
        up("model/lower/reader.rs", "use super::super::resource::R;"),
        []
    );
    assert_eq!(
        up("check.rs", "use super::report::run;"),
        [(1, "report".into())]
    );
    // Downwards and sideways are fine; comments, strings and test modules do not count.
    assert_eq!(up("report/x.rs", "use crate::{check, model};"), []);
    assert_eq!(
        up(
            "model/x.rs",
            "// crate::check::run\nlet s = \"crate::check\";"
        ),
        []
    );
    assert_eq!(
        up(
            "model/x.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n use crate::check;\n}"
        ),
        []
    );
    // Another crate's `crate::` (a macro's `$crate::`) is not ours.
    assert_eq!(up("model/x.rs", "$crate::check::x"), []);
}
