//! Reading and decoding one file, before any YAML: bounded reads (regular files only, never
//! past the size limit), UTF-16 with a byte order mark, invalid UTF-8, lone carriage returns,
//! and the strict JSON kubectl applies to files starting with `{`. `check` calls this for
//! files on disk, standard input, in-memory text and git revisions alike.

use super::json;
use super::tree::{Document, ParsedFile};
use super::yaml::{self, ParseLimits};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use std::io::Read;
use std::path::Path;

/// Read a whole file, refusing anything that is not a regular file or is larger than `max`
/// bytes (also when it grows while being read).
pub fn read_file(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let describe = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => {
            "cannot read file: it no longer exists (removed after it was found)".to_string()
        }
        _ => format!("cannot read file: {e}"),
    };
    // Look before opening: opening a named pipe for reading would block.
    let meta = std::fs::metadata(path).map_err(describe)?;
    if !meta.is_file() {
        return Err("not a regular file (a named pipe, socket or device); it was not read".into());
    }
    if let Some(message) = too_large(meta.len(), max) {
        return Err(message);
    }
    let file = std::fs::File::open(path).map_err(describe)?;
    let capacity = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(describe)?;
    if let Some(message) = too_large(bytes.len() as u64, max) {
        return Err(message);
    }
    Ok(bytes)
}

/// Text of a file that starts with a UTF-16 byte order mark (YAML allows UTF-16, and so do
/// the YAML decoders of kubectl and calicoctl), decoded to UTF-8; spans then refer to the
/// decoded text. `None` without such a mark; `Err` with the byte offset of an unpaired
/// surrogate (a trailing odd byte counts as one).
fn decode_utf16(bytes: &[u8]) -> Option<Result<String, usize>> {
    let big_endian = match bytes {
        [0xFF, 0xFE, ..] => false,
        [0xFE, 0xFF, ..] => true,
        _ => return None,
    };
    if bytes.len() % 2 == 1 {
        return Some(Err(bytes.len() - 1));
    }
    let units = bytes.chunks_exact(2).map(|pair| match pair {
        [a, b] if big_endian => u16::from_be_bytes([*a, *b]),
        [a, b] => u16::from_le_bytes([*a, *b]),
        _ => 0,
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    let mut offset = 0;
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                offset += c.len_utf16() * 2;
                text.push(c);
            }
            Err(_) => return Some(Err(offset)),
        }
    }
    Some(Ok(text))
}

/// YAML reads a lone carriage return (classic Mac line endings) as a line break, but lines are
/// numbered by `\n` when reporting: turn each lone `\r` into `\n`. Every byte offset stays the
/// same, and so does the YAML (both are line breaks).
fn lone_cr_to_lf(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let mut bytes = text.into_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let lf_next = bytes.get(i + 1) == Some(&b'\n');
        if b == b'\r' && !lf_next {
            if let Some(slot) = bytes.get_mut(i) {
                *slot = b'\n';
            }
        }
        i += 1;
    }
    // One ASCII byte replaced by another: still UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

/// A file "looks like a manifest" when it mentions `apiVersion`: only then are its parse
/// problems worth reporting (other YAML in a GitOps repo is not ours to lint).
fn looks_like_manifest(text: &str) -> bool {
    text.contains("apiVersion")
}

/// The refusal for a file of `len` bytes when the limit is `max`, if it is too large.
pub fn too_large(len: u64, max: u64) -> Option<String> {
    (len > max).then(|| {
        format!("file is {len} bytes, larger than the {max}-byte limit; it was not analyzed")
    })
}

/// A file whose bytes are not text: what can be shown of it and why.
#[derive(Debug)]
pub struct Undecodable {
    /// The valid prefix, so the location can be shown.
    pub prefix: String,
    pub problems: Vec<Diagnostic>,
}

/// Decode and parse one file's bytes: its text (UTF-8, or UTF-16 with a byte order mark, lone
/// carriage returns made line feeds), its documents and its problems (reported only for files
/// that look like manifests).
pub fn parse_bytes(
    bytes: Vec<u8>,
    limits: &ParseLimits,
) -> Result<(String, Vec<Document>, Vec<Diagnostic>), Undecodable> {
    let decoded = match decode_utf16(&bytes) {
        Some(Ok(text)) => Ok(text),
        Some(Err(offset)) => {
            let problem = Diagnostic::new(
                Span::default(),
                "",
                format!(
                    "file starts with a UTF-16 byte order mark but is not valid UTF-16 \
                     (unpaired surrogate at byte offset {offset})"
                ),
            );
            return Err(Undecodable {
                prefix: String::new(),
                problems: vec![problem],
            });
        }
        None => String::from_utf8(bytes),
    };
    let text = match decoded {
        Ok(t) => t,
        Err(e) => {
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let offset = e.utf8_error().valid_up_to();
            let problems = if looks_like_manifest(&lossy) {
                vec![Diagnostic::new(
                    Span::new(offset, offset),
                    "",
                    format!("file is not valid UTF-8 (invalid byte at offset {offset})"),
                )]
            } else {
                Vec::new()
            };
            let prefix = String::from_utf8_lossy(e.as_bytes().get(..offset).unwrap_or_default())
                .into_owned();
            return Err(Undecodable { prefix, problems });
        }
    };
    let text = lone_cr_to_lf(text);
    let ParsedFile {
        documents,
        mut problems,
    } = yaml::parse(&text, limits);
    // YAML is more lenient than the JSON decoder kubectl uses for files starting with `{`.
    if problems.is_empty() && json::is_json_stream(&text) {
        problems.extend(json::first_error(&text));
    }
    if !looks_like_manifest(&text) {
        problems.clear();
    }
    Ok((text, documents, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_carriage_returns_become_line_feeds() {
        assert_eq!(lone_cr_to_lf("a\rb\r\nc\r".into()), "a\nb\r\nc\n");
        assert_eq!(lone_cr_to_lf("é\r\r\n".into()), "é\n\r\n");
        assert_eq!(lone_cr_to_lf("plain\n".into()), "plain\n");
    }

    #[test]
    fn utf16_is_decoded() {
        let le: Vec<u8> = "\u{feff}a: é\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode_utf16(&le), Some(Ok("\u{feff}a: é\n".to_string())));
        let be: Vec<u8> = "\u{feff}k"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(decode_utf16(&be), Some(Ok("\u{feff}k".to_string())));
        assert_eq!(decode_utf16(b"a: b"), None);
        // Odd length, unpaired surrogate.
        assert_eq!(decode_utf16(&[0xFF, 0xFE, 0x61]), Some(Err(2)));
        assert_eq!(
            decode_utf16(&[0xFF, 0xFE, 0x61, 0x00, 0x00, 0xD8]),
            Some(Err(4))
        );
    }
}
