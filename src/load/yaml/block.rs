//! A fast reader for plain block YAML, the subset nearly every policy file is written in.
//!
//! saphyr scans character by character and allocates per token; on a tree of 10,000 policies it
//! is a third of what `reach` spends. Most manifests use only block mappings and sequences,
//! plain and one-line quoted scalars, one-line flow collections of scalars and comments. This reader handles
//! exactly that, a line at a time, and drives the same [`Builder`] saphyr's events drive, with
//! the byte offsets saphyr's markers would have: spans, duplicate keys, merge keys and document
//! indices come out of one code path.
//!
//! It is a speed-up, never a second dialect: on anything outside the subset (tabs, carriage
//! returns, non-ASCII or control characters, anchors, aliases, tags, block scalars, multi-line
//! scalars or flow collections, nested flow collections, escapes, complex keys, directives, `...`, anything saphyr would
//! reject) it gives up and the file is parsed by saphyr from the start. The tests hold the two
//! readers to the same [`ParsedFile`] on every file of the corpus, the fixtures and generated
//! policy trees, and on thousands of mutated texts.

use super::{Builder, ParseLimits, ScalarStyle};
use crate::load::tree::ParsedFile;
use compact_str::CompactString;

/// Parse `text` if it is plain block YAML; `None` when it is not (parse it with saphyr).
pub(super) fn parse(text: &str, limits: &ParseLimits) -> Option<ParsedFile> {
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b))
    {
        return None;
    }
    let mut reader = Reader {
        text,
        bytes,
        builder: Builder::new(text, *limits),
        stack: Vec::new(),
        pending: None,
        in_document: false,
        rooted: false,
    };
    reader.run()?;
    Some(reader.builder.finish())
}

/// An open block collection.
#[derive(Clone, Copy)]
struct Open {
    /// Column of its keys or `-` indicators.
    indent: usize,
    is_map: bool,
    /// A sequence at the same column as the mapping key it is the value of (`key:\n- item`).
    indentless: bool,
}

/// A key or `-` with nothing after it on its line: its value is null or a block collection on
/// the following lines.
#[derive(Clone, Copy)]
enum Pending {
    /// `key:` at column `indent`; saphyr places a null value at the colon.
    Value { indent: usize, colon: usize },
    /// `-` at column `indent`; saphyr places a null item at the end of the line.
    Item { indent: usize, eol: usize },
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    builder: Builder<'t>,
    stack: Vec<Open>,
    pending: Option<Pending>,
    in_document: bool,
    /// The current document's root collection was opened.
    rooted: bool,
}

/// Longest key read here: YAML limits an implicit key to 1,024 characters, and saphyr reports
/// longer ones; this reader leaves anything near the limit to saphyr.
const MAX_KEY: usize = 1_000;

/// Outcome of a step: `None` means the text is outside the subset.
type Step = Option<()>;

/// Whether `b` may start a plain scalar here (YAML's indicators may not; `-` may when a
/// non-space follows, which the callers check).
fn plain_first(b: u8) -> bool {
    !matches!(
        b,
        b'?' | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    )
}

impl<'t> Reader<'t> {
    fn byte(&self, pos: usize) -> Option<u8> {
        self.bytes.get(pos).copied()
    }

    fn skip_spaces(&self, mut pos: usize, eol: usize) -> usize {
        while pos < eol && self.byte(pos) == Some(b' ') {
            pos += 1;
        }
        pos
    }

    /// `-` followed by a space or the end of the line: a block sequence entry.
    fn is_dash_item(&self, pos: usize, eol: usize) -> bool {
        self.byte(pos) == Some(b'-') && (pos + 1 == eol || self.byte(pos + 1) == Some(b' '))
    }

    fn run(&mut self) -> Step {
        let mut start = 0;
        while start < self.bytes.len() {
            let eol = self
                .text
                .get(start..)?
                .find('\n')
                .map_or(self.bytes.len(), |i| start + i);
            self.line(start, eol)?;
            if self.builder.nodes > self.builder.limits.max_nodes {
                // saphyr's path reports the limit at the exact node.
                return None;
            }
            start = eol + 1;
        }
        self.end_document();
        Some(())
    }

    fn line(&mut self, start: usize, eol: usize) -> Step {
        let content = self.skip_spaces(start, eol);
        if content == eol || self.byte(content) == Some(b'#') {
            return Some(());
        }
        let line = self.bytes.get(start..eol)?;
        if content == start {
            if line.starts_with(b"---") {
                // A document marker, with at most a comment after it.
                let rest = self.skip_spaces(start + 3, eol);
                let separated = rest > start + 3 || rest == eol;
                if !separated || (rest != eol && self.byte(rest) != Some(b'#')) {
                    return None;
                }
                self.end_document();
                self.builder.start_document();
                self.in_document = true;
                return Some(());
            }
            if line.starts_with(b"...") || line.starts_with(b"%") {
                return None;
            }
        }
        if !self.in_document {
            self.builder.start_document();
            self.in_document = true;
        }
        self.content(start, content, eol)
    }

    /// A line with content at `c` (its column is `c - start`).
    fn content(&mut self, start: usize, c: usize, eol: usize) -> Step {
        let indent = c - start;
        if let Some(pending) = self.pending.take() {
            match pending {
                Pending::Value { indent: key, colon } => {
                    if indent > key {
                        return self.open(start, c, eol);
                    }
                    if indent == key && self.is_dash_item(c, eol) {
                        self.push(indent, false, true, c)?;
                        return self.item(start, c, eol);
                    }
                    self.null(colon);
                }
                Pending::Item {
                    indent: dash,
                    eol: at,
                } => {
                    if indent > dash {
                        return self.open(start, c, eol);
                    }
                    self.null(at);
                }
            }
        }
        while let Some(top) = self.stack.last() {
            let ends_indentless =
                top.indentless && top.indent == indent && !self.is_dash_item(c, eol);
            if top.indent > indent || ends_indentless {
                self.close(c);
            } else {
                break;
            }
        }
        match self.stack.last() {
            None if self.rooted => None,
            None => self.open(start, c, eol),
            Some(top) if top.indent != indent => None,
            Some(top) if top.is_map => self.entry(c, eol),
            Some(_) if self.is_dash_item(c, eol) => self.item(start, c, eol),
            Some(_) => None,
        }
    }

    /// Open the block collection whose first line has content at `c`.
    fn open(&mut self, start: usize, c: usize, eol: usize) -> Step {
        let indent = c - start;
        if self.is_dash_item(c, eol) {
            self.push(indent, false, false, c)?;
            self.item(start, c, eol)
        } else {
            self.push(indent, true, false, c)?;
            self.entry(c, eol)
        }
    }

    fn push(&mut self, indent: usize, is_map: bool, indentless: bool, at: usize) -> Step {
        // Room for one more level and a flow sequence inside it; deeper files go to saphyr,
        // which applies the depth limit.
        if self.stack.len() + 2 >= self.builder.limits.max_depth {
            return None;
        }
        self.rooted = true;
        self.stack.push(Open {
            indent,
            is_map,
            indentless,
        });
        self.builder.start_collection(is_map, 0, (at, at));
        Some(())
    }

    fn close(&mut self, at: usize) {
        if self.stack.pop().is_some() {
            self.builder.end_collection((at, at));
        }
    }

    fn null(&mut self, at: usize) {
        let style = ScalarStyle::Plain;
        self.builder
            .scalar(CompactString::default(), style, 0, None, (at, at));
    }

    fn end_document(&mut self) {
        match self.pending.take() {
            Some(Pending::Value { colon, .. }) => self.null(colon),
            Some(Pending::Item { eol, .. }) => self.null(eol),
            None => {}
        }
        while !self.stack.is_empty() {
            self.close(self.bytes.len());
        }
        if self.in_document {
            self.builder.end_document();
        }
        self.in_document = false;
        self.rooted = false;
    }

    /// A `-` entry at `c` of the sequence on top of the stack.
    fn item(&mut self, start: usize, c: usize, eol: usize) -> Step {
        let v = self.skip_spaces(c + 1, eol);
        if v == eol || self.byte(v) == Some(b'#') {
            self.pending = Some(Pending::Item {
                indent: c - start,
                eol,
            });
            return Some(());
        }
        if self.byte(v) == Some(b'-') && self.is_dash_item(v, eol) {
            return None;
        }
        if self.is_key(v, eol)? {
            // A compact mapping (`- key: value`): its keys are at the column of the first.
            self.push(v - start, true, false, v)?;
            return self.entry(v, eol);
        }
        self.value(v, eol)
    }

    /// Whether the content at `v` starts with a mapping key (`key:` then a space or the end of
    /// the line); `None` when the line is outside the subset.
    fn is_key(&self, v: usize, eol: usize) -> Option<bool> {
        match self.byte(v)? {
            q @ (b'\'' | b'"') => {
                let close = self.closing_quote(v, q, eol)?;
                Some(self.byte(close + 1) == Some(b':'))
            }
            b'[' | b'{' => Some(false),
            _ => {
                let mut pos = v;
                while pos < eol {
                    match self.byte(pos)? {
                        b':' if pos + 1 == eol || self.byte(pos + 1) == Some(b' ') => {
                            return Some(true);
                        }
                        b'#' if self.byte(pos.wrapping_sub(1)) == Some(b' ') => {
                            return Some(false);
                        }
                        _ => pos += 1,
                    }
                }
                Some(false)
            }
        }
    }

    /// A `key: value` line of the mapping on top of the stack, the key at `c`.
    fn entry(&mut self, c: usize, eol: usize) -> Step {
        let colon = match self.byte(c)? {
            b'\'' | b'"' => self.quoted(c, eol)?,
            b'-' if self.is_dash_item(c, eol) => return None,
            first if plain_first(first) => {
                let mut pos = c;
                loop {
                    match self.byte(pos) {
                        Some(b':') if pos + 1 == eol || self.byte(pos + 1) == Some(b' ') => break,
                        Some(b':' | b'#' | b'[' | b']' | b'{' | b'}' | b',') | None => {
                            return None;
                        }
                        Some(_) if pos >= eol => return None,
                        Some(_) => pos += 1,
                    }
                }
                if self.byte(pos - 1) == Some(b' ') {
                    return None;
                }
                let key = CompactString::from(self.text.get(c..pos)?);
                self.builder
                    .scalar(key, ScalarStyle::Plain, 0, None, (c, pos));
                pos
            }
            _ => return None,
        };
        if self.byte(colon) != Some(b':') || colon - c > MAX_KEY {
            return None;
        }
        let v = self.skip_spaces(colon + 1, eol);
        if v > colon + 1 || v == eol {
            if v == eol || self.byte(v) == Some(b'#') {
                let indent = self.stack.last()?.indent;
                self.pending = Some(Pending::Value { indent, colon });
                return Some(());
            }
            return self.value(v, eol);
        }
        None
    }

    /// An inline value at `v`, then the rest of its line.
    fn value(&mut self, v: usize, eol: usize) -> Step {
        let end = match self.byte(v)? {
            b'[' | b'{' => self.flow_collection(v, eol)?,
            b'\'' | b'"' => self.quoted(v, eol)?,
            b'-' if self.is_dash_item(v, eol) => return None,
            first if plain_first(first) => {
                let mut pos = v;
                let mut end = v;
                while pos < eol {
                    match self.byte(pos)? {
                        b':' if pos + 1 == eol || self.byte(pos + 1) == Some(b' ') => return None,
                        b'#' if self.byte(pos - 1) == Some(b' ') => break,
                        b' ' => pos += 1,
                        _ => {
                            pos += 1;
                            end = pos;
                        }
                    }
                }
                let value = CompactString::from(self.text.get(v..end)?);
                self.builder
                    .scalar(value, ScalarStyle::Plain, 0, None, (v, end));
                end
            }
            _ => return None,
        };
        self.rest_of_line(end, eol)
    }

    /// After a value: only blanks, or blanks and a comment.
    fn rest_of_line(&self, end: usize, eol: usize) -> Step {
        let rest = self.skip_spaces(end, eol);
        (rest == eol || (rest > end && self.byte(rest) == Some(b'#'))).then_some(())
    }

    /// The quote closing the one-line quoted scalar opened at `open`; `None` when it is not
    /// closed on this line or has escapes (double quotes).
    fn closing_quote(&self, open: usize, quote: u8, eol: usize) -> Option<usize> {
        let mut pos = open + 1;
        while pos < eol {
            match self.byte(pos)? {
                b'\\' if quote == b'"' => return None,
                b'\'' if quote == b'\'' && self.byte(pos + 1) == Some(b'\'') => pos += 2,
                b if b == quote => return Some(pos),
                _ => pos += 1,
            }
        }
        None
    }

    /// The one-line quoted scalar at `open`; returns the offset after its closing quote.
    fn quoted(&mut self, open: usize, eol: usize) -> Option<usize> {
        let quote = self.byte(open)?;
        let close = self.closing_quote(open, quote, eol)?;
        let inner = self.text.get(open + 1..close).unwrap_or_default();
        let (value, style) = if quote == b'"' {
            (CompactString::from(inner), ScalarStyle::DoubleQuoted)
        } else {
            (inner.replace("''", "'").into(), ScalarStyle::SingleQuoted)
        };
        self.builder
            .scalar(value, style, 0, None, (open, close + 1));
        Some(close + 1)
    }

    /// A one-line flow collection of scalars (`[a, 'b']`, `{k: v, 'k2': v2}`) at `open`;
    /// returns the offset after its closing bracket.
    fn flow_collection(&mut self, open: usize, eol: usize) -> Option<usize> {
        let is_map = self.byte(open) == Some(b'{');
        let close = if is_map { b'}' } else { b']' };
        self.builder.start_collection(is_map, 0, (open, open + 1));
        let mut pos = self.skip_spaces(open + 1, eol);
        if self.byte(pos) == Some(close) {
            self.builder.end_collection((pos, pos + 1));
            return Some(pos + 1);
        }
        loop {
            let item = pos;
            pos = self.flow_scalar(pos, eol, is_map)?;
            if is_map && pos - item > MAX_KEY {
                return None;
            }
            if is_map {
                // `key: value`, the colon right after the key.
                if self.byte(pos) != Some(b':') || self.byte(pos + 1) != Some(b' ') {
                    return None;
                }
                pos = self.skip_spaces(pos + 1, eol);
                pos = self.flow_scalar(pos, eol, false)?;
            }
            pos = self.skip_spaces(pos, eol);
            match self.byte(pos) {
                Some(b) if b == close && pos < eol => {
                    self.builder.end_collection((pos, pos + 1));
                    return Some(pos + 1);
                }
                Some(b',') if pos < eol => {
                    pos = self.skip_spaces(pos + 1, eol);
                    if pos >= eol || self.byte(pos) == Some(close) {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }

    /// A scalar inside a one-line flow collection at `pos` (a key when `key`); returns the
    /// offset after it.
    fn flow_scalar(&mut self, mut pos: usize, eol: usize, key: bool) -> Option<usize> {
        match self.byte(pos)? {
            b'\'' | b'"' => self.quoted(pos, eol),
            b'-' if matches!(self.byte(pos + 1), Some(b' ' | b',' | b']' | b'}')) => None,
            first if plain_first(first) => {
                let (item, mut end) = (pos, pos);
                while pos < eol {
                    match self.byte(pos)? {
                        b',' | b']' | b'}' => break,
                        b':' if key && self.byte(pos + 1) == Some(b' ') => break,
                        b':' | b'#' | b'[' | b'{' => return None,
                        b' ' => pos += 1,
                        _ => {
                            pos += 1;
                            end = pos;
                        }
                    }
                }
                if key && end != pos {
                    // A space between a key and its colon.
                    return None;
                }
                let value = CompactString::from(self.text.get(item..end)?);
                self.builder
                    .scalar(value, ScalarStyle::Plain, 0, None, (item, end));
                Some(end)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
