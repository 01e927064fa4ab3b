//! The fast reader of plain block YAML (`load::yaml::parse_plain_block`) against saphyr
//! (`load::yaml::parse_with_saphyr`): whenever the fast reader accepts a text, both must build
//! the same documents, spans and problems. Inputs: every YAML/JSON file of the public corpus,
//! the fixtures and the examples; generated sparse and dense policy trees; and mutations of
//! all of those (characters inserted, deleted or replaced, lines re-indented, duplicated or
//! swapped), which is where a reader of a subset goes wrong: accepting what it should decline.
//!
//! `CALINT_YAML_CASES` sets the number of mutated texts (default 6,000), `CALINT_YAML_SEED`
//! their random seed.

mod common;
#[path = "../tools/tree_gen.rs"]
mod tree_gen;

use calint::load::yaml::{ParseLimits, parse_plain_block, parse_with_saphyr};
use common::Gen;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.yaml`, `.yml` and `.json` file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "yaml" | "yml" | "json") || !entry.file_type().is_file() {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            out.push((path.display().to_string(), text));
        }
    }
    out
}

fn repository_texts() -> Vec<(String, String)> {
    let mut texts = files_under(&root().join("../shared/corpus"));
    texts.extend(files_under(&root().join("fixtures")));
    texts.extend(files_under(&root().join("examples")));
    texts
}

fn generated_texts() -> Vec<(String, String)> {
    let (sparse, _) = tree_gen::generate(150, 4, 7);
    let dense = tree_gen::generate_dense(150, 4, 11, Some(20));
    sparse.into_iter().chain(dense.files).collect()
}

/// `Some(accepted)`: the fast reader accepted `text` (and agreed with saphyr).
#[track_caller]
fn agree(name: &str, text: &str) -> bool {
    let limits = ParseLimits::default();
    match parse_plain_block(text, &limits) {
        None => false,
        Some(fast) => {
            let reference = parse_with_saphyr(text, &limits);
            assert_eq!(fast, reference, "{name}: the readers disagree on\n{text}");
            true
        }
    }
}

#[test]
fn the_readers_agree_on_every_repository_file_and_the_fast_one_reads_most() {
    let texts = repository_texts();
    assert!(
        texts.len() > 200,
        "corpus, fixtures and examples: {}",
        texts.len()
    );
    let accepted = texts.iter().filter(|(n, t)| agree(n, t)).count();
    eprintln!("fast reader accepted {accepted} of {} files", texts.len());
    // Most real files are plain block YAML; the rest are still read, by saphyr.
    assert!(accepted * 2 > texts.len(), "{accepted} of {}", texts.len());
}

#[test]
fn the_readers_agree_on_generated_policy_trees_and_the_fast_one_reads_all_of_them() {
    for (name, text) in generated_texts() {
        assert!(agree(&name, &text), "{name}: declined");
    }
}

/// A position below `n` (`common::Gen` draws are `u64`).
fn below(rng: &mut Gen, n: usize) -> usize {
    usize::try_from(rng.below(n.max(1) as u64)).unwrap_or(0)
}

/// Bytes that mean something to YAML, and a few that do not.
const ALPHABET: &[u8] = b" \n:-#'\"[]{},&*!|>?%@`~.\\\tab1 ";

fn mutate(text: &str, rng: &mut Gen) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    for _ in 0..1 + below(rng, 3) {
        let i = below(rng, lines.len());
        match below(rng, 7) {
            0 => {
                let line = &mut lines[i];
                let at = below(rng, line.len() + 1);
                let b = ALPHABET[below(rng, ALPHABET.len())];
                line.insert(at, char::from(b));
            }
            1 => {
                let line = &mut lines[i];
                if !line.is_empty() {
                    line.remove(below(rng, line.len()));
                }
            }
            2 => {
                let line = &mut lines[i];
                if !line.is_empty() {
                    let at = below(rng, line.len());
                    let b = ALPHABET[below(rng, ALPHABET.len())];
                    line.replace_range(at..=at, &char::from(b).to_string());
                }
            }
            3 => lines[i].insert_str(0, &" ".repeat(1 + below(rng, 3))),
            4 => {
                let trimmed = lines[i].trim_start().to_string();
                let keep = below(rng, lines[i].len() - trimmed.len() + 1);
                lines[i] = format!("{}{trimmed}", " ".repeat(keep));
            }
            5 => {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
            _ => {
                let j = below(rng, lines.len());
                lines.swap(i, j);
            }
        }
    }
    let mut out = lines.join("\n");
    if below(rng, 4) != 0 {
        out.push('\n');
    }
    out
}

#[test]
fn the_readers_agree_on_mutated_texts() {
    let cases: usize = common::env_number("CALINT_YAML_CASES", 6_000);
    // Seeds: the repository's smaller files the fast reader accepts, and the generated ones
    // cut into pieces of a few documents.
    let mut seeds: Vec<String> = repository_texts()
        .into_iter()
        .filter(|(_, t)| t.len() < 4_000 && agree("seed", t))
        .map(|(_, t)| t)
        .collect();
    for (_, text) in generated_texts().into_iter().take(6) {
        seeds.extend(text.split("---\n").take(8).map(str::to_string));
    }
    assert!(seeds.len() > 50, "{} seeds", seeds.len());
    let seed = common::env_number("CALINT_YAML_SEED", 0x9e37_79b9_7f4a_7c15_u64);
    let mut rng = Gen(seed);
    let mut accepted = 0;
    for case in 0..cases {
        let seed = &seeds[below(&mut rng, seeds.len())];
        let text = mutate(seed, &mut rng);
        if agree(&format!("mutation case {case}"), &text) {
            accepted += 1;
        }
    }
    eprintln!("{accepted} of {cases} mutated texts read by the fast reader");
    // The mutations must reach the fast reader, not only its early refusals.
    assert!(accepted * 4 > cases, "{accepted} of {cases}");
}
