//! Selector parse errors: a byte offset into the selector string plus a message.

use std::fmt;

/// A selector that could not be parsed.
///
/// `offset` is a byte offset into the selector string that was parsed; it always lies on a
/// `char` boundary and is at most the string's length (the length itself means "at the end").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    /// Byte offset of the offending character or token.
    pub offset: usize,
    /// What is wrong, in words meant for the user.
    pub message: String,
}

impl SelectorError {
    pub fn new(offset: usize, message: impl Into<String>) -> Self {
        SelectorError {
            offset,
            message: message.into(),
        }
    }

    /// Renders the line of `src` that holds the error, with a caret under the offending
    /// character followed by the message:
    ///
    /// ```text
    /// a == "b" & has(foo)
    ///          ^ expected `&&` ...
    /// ```
    ///
    /// Tabs before the offset are kept in the caret line so the caret lines up. Never panics,
    /// even if `src` is not the string the error came from.
    pub fn display_with_caret(&self, src: &str) -> String {
        let mut offset = self.offset.min(src.len());
        while offset > 0 && !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let (before, after) = src.split_at(offset);
        let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let line_end = after.find(['\n', '\r']).map_or(src.len(), |i| offset + i);
        let line = src.get(line_start..line_end).unwrap_or("");
        let lead = src.get(line_start..offset).unwrap_or("");
        let pad: String = lead
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{line}\n{pad}^ {}", self.message)
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for SelectorError {}

/// Shortens `s` to at most `max` characters for use in a message, marking the cut with `…`.
pub(crate) fn snippet(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => {
            let mut out = s.get(..cut).unwrap_or("").to_string();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_offset() {
        let e = SelectorError::new(9, "expected `&&`");
        assert_eq!(
            e.display_with_caret("a == \"b\" & has(foo)"),
            "a == \"b\" & has(foo)\n         ^ expected `&&`"
        );
    }

    #[test]
    fn caret_keeps_tabs_and_counts_chars() {
        let e = SelectorError::new("\té == 'x' %".find('%').unwrap_or(0), "bad");
        assert_eq!(
            e.display_with_caret("\té == 'x' %"),
            "\té == 'x' %\n\t         ^ bad"
        );
    }

    #[test]
    fn caret_at_end_and_on_later_lines() {
        let e = SelectorError::new(3, "end");
        assert_eq!(e.display_with_caret("has"), "has\n   ^ end");
        let e = SelectorError::new(8, "newline");
        assert_eq!(
            e.display_with_caret("a == 'b'\nc"),
            "a == 'b'\n        ^ newline"
        );
        let e = SelectorError::new(10, "x");
        assert_eq!(e.display_with_caret("a == 'b'\nc %"), "c %\n ^ x");
    }

    #[test]
    fn caret_never_panics_on_bad_offsets() {
        let e = SelectorError::new(2, "mid-char");
        assert_eq!(e.display_with_caret("éé"), "éé\n ^ mid-char");
        let e = SelectorError::new(99, "past end");
        assert_eq!(e.display_with_caret("ab"), "ab\n  ^ past end");
        assert_eq!(e.display_with_caret(""), "\n^ past end");
    }

    #[test]
    fn snippet_cuts_on_char_boundaries() {
        assert_eq!(snippet("abc", 5), "abc");
        assert_eq!(snippet("ééé", 2), "éé…");
        assert_eq!(snippet("abc", 3), "abc");
    }
}
