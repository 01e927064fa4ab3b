//! Stable finding identities for SARIF `partialFingerprints` (and anything else that must
//! recognise "the same finding" across runs).
//!
//! The identity hashes what a finding *is*, not where it currently is: code, file, resource,
//! pointer and message. Line and column are left out so a finding keeps its identity when lines
//! are added above it; line numbers that a message quotes (`first at a.yaml:12`) are blanked
//! for the same reason.

use crate::finding::Finding;
use crate::project::Project;

/// FNV-1a, 64 bits: tiny, fast, and stable across Rust versions and platforms (unlike
/// `std::hash`, whose output may change between releases).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

/// The position-independent identity of a finding.
pub fn identity(project: &Project, f: &Finding) -> u64 {
    let file = project
        .sources
        .get(f.location.file)
        .map_or("", |s| s.name.as_str());
    identity_in(file, f)
}

/// [`identity`] with the file named `file` (a baseline names files relative to itself, so it
/// does not depend on the directory calint runs from). A finding made in a view (see
/// `check::views`) includes the view's name; other findings hash exactly as before views
/// existed.
pub fn identity_in(file: &str, f: &Finding) -> u64 {
    let resource = f
        .resource
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let fields = [
        f.code,
        file,
        &resource,
        f.pointer.as_deref().unwrap_or(""),
        &without_line_numbers(&f.message),
    ];
    let mut text = fields.join("\0");
    if let Some(view) = &f.view {
        text.push_str("\0view\0");
        text.push_str(view);
    }
    fnv1a64(text.as_bytes())
}

/// Blank the line (and column) numbers of `file.yaml:12:5`-style references in a message.
pub fn without_line_numbers(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = find_reference(rest) {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        out.push(':');
        let digits = tail
            .get(1..)
            .unwrap_or("")
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
        out.push('_');
        rest = digits;
    }
    out.push_str(rest);
    out
}

/// Byte offset of the `:` of the first `.yaml:<digit>`/`.yml:`/`.json:` in `s`.
fn find_reference(s: &str) -> Option<usize> {
    [".yaml:", ".yml:", ".json:"]
        .iter()
        .filter_map(|ext| {
            s.match_indices(ext)
                .map(|(i, m)| i + m.len() - 1)
                .find(|&colon| {
                    s.get(colon + 1..)
                        .and_then(|t| t.chars().next())
                        .is_some_and(|c| c.is_ascii_digit())
                })
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn line_numbers_are_blanked() {
        assert_eq!(
            without_line_numbers("defined twice (first at a/b.yaml:12); x.json:3:4 y.yaml:z"),
            "defined twice (first at a/b.yaml:_); x.json:_ y.yaml:z"
        );
        assert_eq!(without_line_numbers("port 80:90"), "port 80:90");
    }
}
