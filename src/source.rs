//! Source files and byte spans.
//!
//! Every location calint reports is a byte range into the original file text; line and column
//! numbers are computed only when rendering, from a per-file line index.
//!
//! Layer 0: uses nothing of the crate.

use std::path::PathBuf;

/// Index of a file in [`SourceMap`]: its own type, so a file id is not mixed up with the
/// other indexes (resources, policies, rules) that are plain `usize`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub usize);

/// A half-open byte range `start..end` into one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// Smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// A value together with the span of the YAML node it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// One loaded file: its path as shown to users and its full text.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as the user should see it (relative to the working directory when under it).
    pub name: String,
    /// Path used to read the file.
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

/// 1-based line and column (columns count Unicode scalar values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn new(name: String, path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name,
            path,
            text,
            line_starts,
        }
    }

    /// Line and column of a byte offset; offsets past the end or inside a UTF-8 sequence are
    /// clamped to the nearest valid position, so this never panics.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = self.clamp(offset);
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        LineCol {
            line: line_index + 1,
            column,
        }
    }

    /// The largest char boundary `<= offset` within the text.
    pub fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// A span clamped to valid char boundaries of this file.
    pub fn clamp_span(&self, span: Span) -> Span {
        let start = self.clamp(span.start);
        Span::new(start, self.clamp(span.end).max(start))
    }

    /// The part of `span` a source snippet may show, so that hostile input cannot make one
    /// finding print megabytes: a span over more than [`SNIPPET_MAX_LINES`] lines, or over a
    /// line longer than [`SNIPPET_MAX_LINE_BYTES`], is cut to its first line; `None` when even
    /// that line is too long to show (report the location in words instead).
    pub fn snippet_span(&self, span: Span) -> Option<Span> {
        let span = self.clamp_span(span);
        let text = self.text.as_str();
        let line_end = |at: usize| {
            text.get(at..)
                .and_then(|s| s.find('\n'))
                .map_or(text.len(), |i| at + i)
        };
        let line_start = text
            .get(..span.start)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let first_end = line_end(span.start);
        if first_end - line_start > SNIPPET_MAX_LINE_BYTES {
            return None;
        }
        let mut start = line_start;
        for _ in 0..SNIPPET_MAX_LINES {
            let end = line_end(start);
            if end - start > SNIPPET_MAX_LINE_BYTES {
                break;
            }
            if end >= span.end {
                return Some(span);
            }
            start = end + 1;
        }
        Some(Span::new(span.start, first_end.max(span.start)))
    }
}

/// Text that came from the input, made safe to print on a terminal: control characters
/// (other than tab, line feed, and carriage return before a line feed) and
/// bidirectional-override characters are replaced by `?`, one per byte, so that a hostile
/// manifest (or file name) cannot send escape sequences to the reader's terminal, overwrite a
/// line, or reorder what they see; byte offsets into the text stay valid.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_at = |c: char, next: Option<char>| match c {
        '\t' | '\n' => false,
        '\r' => next != Some('\n'),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    };
    let mut chars = s.chars().peekable();
    let mut clean = true;
    while let Some(c) = chars.next() {
        if unsafe_at(c, chars.peek().copied()) {
            clean = false;
            break;
        }
    }
    if clean {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if unsafe_at(c, chars.peek().copied()) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Most lines one label of a source snippet may cover (see [`SourceFile::snippet_span`]).
pub const SNIPPET_MAX_LINES: usize = 20;

/// Longest line a source snippet shows (see [`SourceFile::snippet_span`]).
pub const SNIPPET_MAX_LINE_BYTES: usize = 1000;

/// All files of one run, addressed by [`FileId`]. Cloning is cheap (files are shared), so
/// each view of a tree can hold the whole map and keep file ids.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<std::sync::Arc<SourceFile>>,
}

impl SourceMap {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(std::sync::Arc::new(file));
        FileId(self.files.len() - 1)
    }

    /// The id the next [`SourceMap::add`] gives.
    pub fn next_id(&self) -> FileId {
        FileId(self.files.len())
    }

    /// Add a file shared with another map.
    pub fn add_shared(&mut self, file: std::sync::Arc<SourceFile>) -> FileId {
        self.files.push(file);
        FileId(self.files.len() - 1)
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0).map(|f| &**f)
    }

    /// The shared handle of a file.
    pub fn get_shared(&self, id: FileId) -> Option<std::sync::Arc<SourceFile>> {
        self.files.get(id.0).cloned()
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        (self.files.iter().enumerate()).map(|(i, f)| (FileId(i), &**f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let f = SourceFile::new("a".into(), "a".into(), "ab\nçd: x\n".into());
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        // 'ç' is two bytes; the ':' is the third char of line 2.
        assert_eq!(f.line_col(6), LineCol { line: 2, column: 3 });
        // Inside a multi-byte char and past the end: clamped, no panic.
        assert_eq!(f.line_col(4), LineCol { line: 2, column: 1 });
        assert_eq!(f.line_col(999).line, 3);
    }

    #[test]
    fn printable_replaces_escapes_byte_for_byte() {
        assert!(matches!(
            printable("plain\ttext\r\n"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(printable("a\u{1b}[2Jb"), "a?[2Jb");
        assert_eq!(printable("\u{0}\u{7f}\u{85}é"), "????é");
        assert_eq!(printable("x\u{202e}y"), "x???y");
        for s in ["\u{1b}]8;;", "\u{9b}1m", "ok"] {
            assert_eq!(printable(s).len(), s.len());
        }
    }

    #[test]
    fn snippets_are_bounded() {
        let long = "x".repeat(SNIPPET_MAX_LINE_BYTES + 1);
        let many: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let text = format!("a: 1\nb: {long}\n{many}");
        let f = SourceFile::new("a".into(), "a".into(), text.clone());
        // A short span on a short line is kept.
        assert_eq!(f.snippet_span(Span::new(0, 4)), Some(Span::new(0, 4)));
        // On a line too long to show: nothing.
        assert_eq!(f.snippet_span(Span::new(8, 9)), None);
        // Over a long line: cut to the first line.
        let b = text.find("b:").unwrap_or(0);
        assert_eq!(f.snippet_span(Span::new(0, b + 3)), Some(Span::new(0, 4)));
        // Over many lines: cut to the first line; a few lines are kept.
        let m = text.find("line 0").unwrap_or(0);
        assert_eq!(
            f.snippet_span(Span::new(m, text.len())),
            Some(Span::new(m, m + 6))
        );
        let three = text.find("line 3").unwrap_or(0);
        assert_eq!(
            f.snippet_span(Span::new(m, three)),
            Some(Span::new(m, three))
        );
        // Out of range and empty spans do not panic.
        assert_eq!(
            f.snippet_span(Span::new(9999, 99999)).map(|s| s.start),
            Some(text.len())
        );
        let empty = SourceFile::new("e".into(), "e".into(), String::new());
        assert_eq!(empty.snippet_span(Span::new(0, 0)), Some(Span::new(0, 0)));
    }
}
