//! Where nodes start and end: saphyr's character markers become byte offsets
//! ([`CharToByte`]), and the span rules of the parent module's doc (properties skipped,
//! quoted scalars to their closing quote, indentless sequences from their `-`, collections to
//! their last value or closing bracket) are found here in the text.

use saphyr_parser::{Span as SaphyrSpan, Tag};

use super::Builder;
use crate::source::Span;

/// Converts saphyr's character indices to byte offsets.
///
/// ASCII text (the common case) needs no table. Otherwise the byte offset of every
/// `STRIDE`-th character is stored, and at most `STRIDE - 1` characters are decoded per lookup,
/// which keeps the table small for large files.
pub(super) struct CharToByte<'t> {
    text: &'t str,
    checkpoints: Option<Vec<usize>>,
}

impl<'t> CharToByte<'t> {
    const STRIDE: usize = 16;

    pub(super) fn new(text: &'t str) -> Self {
        let checkpoints = if text.is_ascii() {
            None
        } else {
            Some(
                text.char_indices()
                    .step_by(Self::STRIDE)
                    .map(|(b, _)| b)
                    .collect(),
            )
        };
        CharToByte { text, checkpoints }
    }

    /// Byte offset of the character with index `ci`; the text length for indices past the end.
    pub(super) fn byte(&self, ci: usize) -> usize {
        let Some(cps) = &self.checkpoints else {
            return ci.min(self.text.len());
        };
        let Some(&base) = cps.get(ci / Self::STRIDE) else {
            return self.text.len();
        };
        let rest = ci % Self::STRIDE;
        self.text
            .get(base..)
            .and_then(|s| s.char_indices().nth(rest))
            .map_or(self.text.len(), |(off, _)| base + off)
    }

    pub(super) fn span(&self, span: SaphyrSpan) -> (usize, usize) {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(start);
        (start, end)
    }
}

pub(super) fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

pub(super) fn is_yaml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The shorthand form of a resolved tag, used only when the tag's source text cannot be found.
pub(super) fn tag_shorthand(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" || tag.handle.is_empty() {
        format!("!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

impl Builder<'_> {
    /// The span of the character at `start` (empty at the end of the text).
    pub(super) fn char_at(&self, start: usize) -> Span {
        let end = start
            + self
                .text
                .get(start..)
                .and_then(|s| s.chars().next())
                .map_or(0, char::len_utf8);
        Span::new(start, end)
    }

    pub(super) fn byte_at(&self, pos: usize) -> Option<u8> {
        self.text.as_bytes().get(pos).copied()
    }

    /// Start of a node's content: skips `&anchor` and `!tag` properties (and the spaces and
    /// comments after them) at `start`. Returns the content start and the tag's source text.
    pub(super) fn skip_properties(&self, mut pos: usize, end: usize) -> (usize, Option<String>) {
        let bytes = self.text.as_bytes();
        let mut tag = None;
        while let Some(&b) = bytes.get(pos) {
            if pos >= end || (b != b'&' && b != b'!') {
                break;
            }
            let token_start = pos;
            if bytes.get(pos + 1) == Some(&b'<') {
                // Verbatim tag `!<...>`.
                while let Some(&c) = bytes.get(pos) {
                    pos += 1;
                    if c == b'>' {
                        break;
                    }
                }
            } else {
                while let Some(&c) = bytes.get(pos) {
                    if is_yaml_space(c) || is_flow_indicator(c) {
                        break;
                    }
                    pos += 1;
                }
            }
            if b == b'!' {
                tag = self.text.get(token_start..pos).map(str::to_string);
            }
            pos = self.skip_space_and_comments(pos);
        }
        (pos.min(end), tag)
    }

    pub(super) fn skip_space_and_comments(&self, mut pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(pos) {
                Some(&c) if is_yaml_space(c) => pos += 1,
                Some(b'#') => {
                    while let Some(&c) = bytes.get(pos) {
                        if c == b'\n' {
                            break;
                        }
                        pos += 1;
                    }
                }
                _ => return pos,
            }
        }
    }

    /// Offset of the quote closing the quoted scalar that starts at `start`, searched up to
    /// `end`.
    pub(super) fn closing_quote(&self, start: usize, end: usize) -> Option<usize> {
        let bytes = self.text.as_bytes().get(..end)?;
        let quote = *bytes.get(start)?;
        let mut pos = start + 1;
        match quote {
            b'"' => {
                while let Some(&c) = bytes.get(pos) {
                    match c {
                        b'\\' => pos += 2,
                        b'"' => return Some(pos),
                        _ => pos += 1,
                    }
                }
            }
            b'\'' => {
                while let Some(&c) = bytes.get(pos) {
                    if c == b'\'' {
                        if bytes.get(pos + 1) == Some(&b'\'') {
                            pos += 2;
                            continue;
                        }
                        return Some(pos);
                    }
                    pos += 1;
                }
            }
            _ => {}
        }
        None
    }

    /// saphyr places the start of an indentless block sequence (`key:\n- item`) at its first
    /// item; move it back to the `-` indicator, over blanks and comments (`- # note\n  a: 1`).
    /// An item may itself start with `-` (`- -1`): only a `-` followed by a blank is the
    /// indicator.
    pub(super) fn sequence_start(&self, start: usize) -> usize {
        let bytes = self.text.as_bytes();
        let indicator = bytes.get(start) == Some(&b'-')
            && bytes.get(start + 1).is_none_or(|&c| is_yaml_space(c));
        if indicator || bytes.get(start) == Some(&b'[') {
            return start;
        }
        // Line by line backwards, from the text before `start` on its own line: each is blank
        // or a comment (go on), or code ending in the indicator.
        let mut end = start;
        loop {
            let line_start = (bytes.get(..end).unwrap_or_default().iter())
                .rposition(|&c| c == b'\n' || c == b'\r')
                .map_or(0, |i| i + 1);
            let line = bytes.get(line_start..end).unwrap_or_default();
            let code = (0..line.len())
                .find(|&i| {
                    line.get(i) == Some(&b'#')
                        && (i == 0 || matches!(line.get(i - 1), Some(b' ' | b'\t')))
                })
                .unwrap_or(line.len());
            let code = line.get(..code).unwrap_or_default().trim_ascii_end();
            if code.ends_with(b"-") {
                return line_start + code.len() - 1;
            }
            if !code.is_empty() || line_start == 0 {
                return start;
            }
            end = line_start - 1;
        }
    }

    /// End of a collection whose closing event starts at byte `close_start`: the closing
    /// bracket of a flow collection, else the end of its last child.
    pub(super) fn collection_end(
        &self,
        close_start: usize,
        flow_close: Option<u8>,
        last_end: usize,
    ) -> usize {
        if let Some(bracket) = flow_close {
            // The closing event usually points at the bracket; after a trailing comma it points
            // at the comma, so look a little further.
            let bytes = self.text.as_bytes();
            let mut pos = close_start;
            while bytes
                .get(pos)
                .is_some_and(|&c| is_yaml_space(c) || c == b',')
            {
                pos += 1;
            }
            if bytes.get(pos) == Some(&bracket) {
                return (pos + 1).max(last_end);
            }
        }
        last_end
    }
}
