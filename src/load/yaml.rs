//! YAML/JSON text → span tree (see [`super::tree`]).
//!
//! The tree is built from `saphyr_parser` events with an explicit stack, so nothing here recurses
//! in proportion to the input's nesting. JSON is read by the same parser (JSON is YAML 1.2 flow
//! style; YAML also accepts a few things JSON does not, such as trailing commas).
//!
//! # Spans
//!
//! All spans are byte ranges into the text given to [`parse`] (saphyr's markers count characters;
//! they are converted here). In detail:
//!
//! - plain and quoted scalars: the scalar token; quoted scalars include their quotes;
//! - block scalars (`|`, `>`): the content, from its first character to the end of its last
//!   non-blank line (the `|`/`>` header line is not included);
//! - scalars and collections with properties (`&anchor`, `!tag`): the content only, after the
//!   properties;
//! - empty scalars (`key:` with no value): an empty span near the `:`;
//! - flow collections: from `[`/`{` through the matching `]`/`}`; block collections: from the first
//!   key or `-` to the end of the last value;
//! - an expanded alias: the root of the copy gets the span of the `*alias` token, its descendants
//!   keep the spans of the anchored definition;
//! - a document's root node covers the document's content (not the `---`/`...` markers).
//!
//! # Documents
//!
//! Every document of a multi-document stream gets its 0-based position in the stream as
//! [`Document::index`]. Documents whose root is null (an empty document, a lone `---`, an empty
//! file, a document holding only comments, or an explicit `null`/`~`) are not returned, but they
//! still take their index, so the indices of the returned documents always match the stream
//! positions.
//!
//! # Problems
//!
//! Parsing never fails as a whole. Everything that goes wrong becomes a [`Diagnostic`]:
//!
//! - a syntax error ends parsing (saphyr cannot resume after one); every document read before it
//!   is kept, and so is the document containing the error if its root node was already complete
//!   (the error is then in trailing content). The problem's span covers the character at the
//!   error position, or is empty at the end of a line or of the text;
//! - a duplicate key (same scalar value, whatever its quoting) is kept in the tree, and reported at
//!   the second key with the first one as the related span;
//! - merge keys (`<<: *base`, YAML 1.1, which the Go YAML decoders of kubectl and calicoctl
//!   honour) are resolved: the merged entries join the mapping unless it already has their
//!   key, keeping the spans of their definition; a merge key whose value is not a mapping (or a
//!   list of mappings) is reported and kept as an ordinary key;
//! - an alias to an unknown anchor (or to an anchor of an earlier document, or to an anchor whose
//!   node is still open, i.e. a recursive alias) stays a [`NodeKind::Alias`] and is reported;
//! - alias expansion copies at most [`ParseLimits::max_alias_nodes`] nodes per document; aliases
//!   past that budget stay [`NodeKind::Alias`] and one problem is reported for the document;
//! - a file with more than [`ParseLimits::max_nodes`] nodes is cut there, as after a syntax
//!   error, with one problem;
//! - collections nested deeper than [`ParseLimits::max_depth`] are replaced by a null scalar that
//!   spans them, with one problem per document. An alias whose expansion would nest deeper than
//!   the limit is left unexpanded (one problem per document as well). So every tree returned is at
//!   most `max_depth` collections deep, and the derived recursive `Clone`/`Drop`/`PartialEq` of
//!   [`Node`] stay shallow.
//!
//! Problems are returned sorted by their start offset.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use saphyr_parser::{
    Event, Parser, ScalarStyle as SaphyrStyle, ScanError, Span as SaphyrSpan, Tag,
};

use super::tree::{Document, Entry, Node, NodeKind, ParsedFile, Scalar, ScalarStyle, ScalarValue};
use crate::diagnostic::{Diagnostic, RelatedSpan};
use crate::source::Span;

/// Default of [`ParseLimits::max_depth`].
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// Default of [`ParseLimits::max_alias_nodes`].
pub const DEFAULT_MAX_ALIAS_NODES: usize = 10_000;

/// Default of [`ParseLimits::max_nodes`]. A dense but realistic 10 MiB manifest has about a
/// million nodes; a hostile one (`[0,0,0,...]`) five times as many, at some 200 bytes each.
pub const DEFAULT_MAX_NODES: usize = 2_000_000;

/// Limits applied while parsing one file.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
    /// Maximum number of nodes that alias expansion may copy, per document.
    pub max_alias_nodes: usize,
    /// Maximum number of nodes built for the whole file (alias copies included): past it,
    /// the rest of the file is ignored, which bounds the memory one file can take.
    pub max_nodes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: DEFAULT_MAX_DEPTH,
            max_alias_nodes: DEFAULT_MAX_ALIAS_NODES,
            max_nodes: DEFAULT_MAX_NODES,
        }
    }
}

/// Message of the one problem reported per document when the alias budget runs out.
pub const ALIAS_LIMIT_MESSAGE: &str =
    "alias expansion limit exceeded (possible billion-laughs attack)";

/// saphyr reports an alias to an unknown anchor as an error, but its parser state is consistent
/// afterwards (the alias token is consumed), so parsing can go on with an unexpanded alias node.
const SAPHYR_UNKNOWN_ANCHOR: &str = "while parsing node, found unknown anchor";

/// Parse a whole file. Never fails: problems are returned inside [`ParsedFile`].
pub fn parse(text: &str, limits: &ParseLimits) -> ParsedFile {
    let mut builder = Builder::new(text, *limits);
    // saphyr is not supposed to panic, but a linter reads untrusted input: if it (or this
    // builder) ever does, report it for this file and keep the documents read so far.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut parser = Parser::new_from_str(text);
        loop {
            match parser.next_event() {
                None | Some(Ok((Event::StreamEnd, _))) => break,
                Some(Ok((event, span))) => {
                    builder.event(event, span);
                    if builder.nodes > builder.limits.max_nodes {
                        builder.node_limit(span);
                        break;
                    }
                }
                Some(Err(err)) if err.info() == SAPHYR_UNKNOWN_ANCHOR => {
                    builder.unknown_alias_error(&err);
                }
                Some(Err(err)) => {
                    builder.syntax_error(&err);
                    break;
                }
            }
        }
    }));
    if outcome.is_err() {
        builder.internal_error();
    }
    builder.finish()
}

/// Converts saphyr's character indices to byte offsets.
///
/// ASCII text (the common case) needs no table. Otherwise the byte offset of every
/// `STRIDE`-th character is stored, and at most `STRIDE - 1` characters are decoded per lookup,
/// which keeps the table small for large files.
struct CharToByte<'t> {
    text: &'t str,
    checkpoints: Option<Vec<usize>>,
}

impl<'t> CharToByte<'t> {
    const STRIDE: usize = 16;

    fn new(text: &'t str) -> Self {
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
    fn byte(&self, ci: usize) -> usize {
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

    fn span(&self, span: SaphyrSpan) -> (usize, usize) {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(start);
        (start, end)
    }
}

/// An anchored node, ready to be copied by aliases.
struct Anchored {
    node: Node,
    /// Number of nodes in `node` (the cost of one expansion).
    size: usize,
    /// Collection nesting levels inside `node` (0 for a scalar).
    height: usize,
}

/// A collection under construction.
struct Frame {
    start: usize,
    anchor: usize,
    /// The closing bracket when this is a flow collection.
    flow_close: Option<u8>,
    /// End of the last child pushed.
    last_end: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map {
        entries: Vec<Entry>,
        key: Option<Node>,
    },
}

/// A too-deep collection being skipped.
struct Skip {
    depth: usize,
    start: usize,
    anchor: usize,
    flow_close: Option<u8>,
    last_end: usize,
}

struct DocBuilder {
    index: usize,
    stack: Vec<Frame>,
    skip: Option<Skip>,
    root: Option<Node>,
    anchors: HashMap<usize, Anchored>,
    expanded: usize,
    alias_limit_reported: bool,
    depth_reported: bool,
    alias_depth_reported: bool,
}

struct Builder<'t> {
    text: &'t str,
    conv: CharToByte<'t>,
    limits: ParseLimits,
    documents: Vec<Document>,
    problems: Vec<Diagnostic>,
    next_index: usize,
    doc: Option<DocBuilder>,
    /// Nodes built so far (alias copies included).
    nodes: usize,
}

fn problem(span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(span, "", message)
}

fn null_node(span: Span) -> Node {
    Node {
        span,
        kind: NodeKind::Scalar(Scalar {
            value: String::new(),
            style: ScalarStyle::Plain,
            tag: None,
        }),
    }
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

fn is_yaml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Number of nodes and collection height of a subtree, without recursion.
fn measure(node: &Node) -> (usize, usize) {
    let mut size = 0;
    let mut height = 0;
    let mut todo = vec![(node, 0usize)];
    while let Some((n, level)) = todo.pop() {
        size += 1;
        match &n.kind {
            NodeKind::Seq(items) => {
                height = height.max(level + 1);
                todo.extend(items.iter().map(|i| (i, level + 1)));
            }
            NodeKind::Map(entries) => {
                height = height.max(level + 1);
                for e in entries {
                    todo.push((&e.key, level + 1));
                    todo.push((&e.value, level + 1));
                }
            }
            NodeKind::Scalar(_) | NodeKind::Alias(_) => {}
        }
    }
    (size, height)
}

/// The shorthand form of a resolved tag, used only when the tag's source text cannot be found.
fn tag_shorthand(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" || tag.handle.is_empty() {
        format!("!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// A plain `<<` key (YAML 1.1 merge key, or one tagged `!!merge`).
fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, NodeKind::Scalar(s)
    if s.value == "<<"
        && match &s.tag {
            None => s.style == ScalarStyle::Plain,
            Some(t) => t == "!!merge" || t == "tag:yaml.org,2002:merge",
        })
}

/// Resolve `<<` merge keys as the YAML 1.1 decoders of kubectl and calicoctl do: the entries of
/// the merged mapping (or of each mapping of a merged sequence, earlier ones first) are added
/// unless the mapping, or an earlier merged mapping, already has the key. Merged entries keep
/// the spans of their definition. A `<<` whose value is not a mapping (or sequence of mappings)
/// is reported and kept as an ordinary key.
fn merge_keys(entries: Vec<Entry>, problems: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for e in entries {
        if !is_merge_key(&e.key) {
            own.push(e);
            continue;
        }
        let sources: Vec<Node> = match e.value.kind {
            NodeKind::Map(_) => vec![e.value],
            NodeKind::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => items,
            // An alias left unexpanded has been reported already.
            NodeKind::Alias(_) => {
                own.push(e);
                continue;
            }
            _ => {
                problems.push(problem(
                    e.value.span,
                    "the value of a merge key `<<` must be a mapping or a list of mappings",
                ));
                own.push(Entry {
                    key: e.key,
                    value: e.value,
                });
                continue;
            }
        };
        for source in sources {
            if let NodeKind::Map(inner) = source.kind {
                merged.extend(inner);
            }
        }
    }
    let mut seen: std::collections::HashSet<String> = own
        .iter()
        .filter_map(|e| e.key.scalar_str().map(str::to_string))
        .collect();
    for e in merged {
        let fresh = match e.key.scalar_str() {
            Some(k) => seen.insert(k.to_string()),
            None => true,
        };
        if fresh {
            own.push(e);
        }
    }
    own
}

/// Report duplicate scalar keys of one mapping.
fn check_duplicates(entries: &[Entry], problems: &mut Vec<Diagnostic>) {
    let mut report = |first: &Node, dup: &Node, key: &str| {
        problems.push(
            problem(dup.span, format!("duplicate key `{key}`"))
                .with_related(RelatedSpan::new("first defined here", first.span)),
        );
    };
    if entries.len() <= 16 {
        for (i, e) in entries.iter().enumerate() {
            let Some(k) = e.key.scalar_str() else {
                continue;
            };
            let first = entries
                .iter()
                .take(i)
                .find(|earlier| earlier.key.scalar_str() == Some(k));
            if let Some(first) = first {
                report(&first.key, &e.key, k);
            }
        }
    } else {
        let mut seen: HashMap<&str, &Node> = HashMap::with_capacity(entries.len());
        for e in entries {
            let Some(k) = e.key.scalar_str() else {
                continue;
            };
            match seen.get(k) {
                Some(first) => report(first, &e.key, k),
                None => {
                    seen.insert(k, &e.key);
                }
            }
        }
    }
}

impl<'t> Builder<'t> {
    fn new(text: &'t str, limits: ParseLimits) -> Self {
        Builder {
            text,
            conv: CharToByte::new(text),
            limits,
            documents: Vec::new(),
            problems: Vec::new(),
            next_index: 0,
            doc: None,
            nodes: 0,
        }
    }

    fn byte_at(&self, pos: usize) -> Option<u8> {
        self.text.as_bytes().get(pos).copied()
    }

    fn finish(mut self) -> ParsedFile {
        self.problems.sort_by_key(|p| p.span.start);
        ParsedFile {
            documents: self.documents,
            problems: self.problems,
        }
    }

    fn event(&mut self, event: Event<'_>, span: SaphyrSpan) {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.end_document();
                self.doc = Some(DocBuilder {
                    index: self.next_index,
                    stack: Vec::new(),
                    skip: None,
                    root: None,
                    anchors: HashMap::new(),
                    expanded: 0,
                    alias_limit_reported: false,
                    depth_reported: false,
                    alias_depth_reported: false,
                });
                self.next_index += 1;
            }
            Event::DocumentEnd => self.end_document(),
            Event::Scalar(value, style, anchor, tag) => {
                self.scalar(value.into_owned(), style, anchor, tag.as_deref(), span);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let is_map = matches!(event, Event::MappingStart(..));
                self.start_collection(is_map, anchor, span);
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection(span),
            Event::Alias(id) => self.alias(id, span),
        }
    }

    /// Close the current document, keeping it unless its root is missing or null.
    fn end_document(&mut self) {
        let Some(doc) = self.doc.take() else {
            return;
        };
        let Some(root) = doc.root else {
            return;
        };
        let null = matches!(&root.kind, NodeKind::Scalar(s)
            if s.tag.is_none() && s.typed() == ScalarValue::Null);
        if !null {
            self.documents.push(Document {
                index: doc.index,
                root,
            });
        }
    }

    /// Start of a node's content: skips `&anchor` and `!tag` properties (and the spaces and
    /// comments after them) at `start`. Returns the content start and the tag's source text.
    fn skip_properties(&self, mut pos: usize, end: usize) -> (usize, Option<String>) {
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

    fn skip_space_and_comments(&self, mut pos: usize) -> usize {
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

    fn scalar(
        &mut self,
        value: String,
        style: SaphyrStyle,
        anchor: usize,
        tag: Option<&Tag>,
        span: SaphyrSpan,
    ) {
        if self.skipping(span) {
            return;
        }
        let (mut start, end) = self.conv.span(span);
        let style = match style {
            SaphyrStyle::Plain => ScalarStyle::Plain,
            SaphyrStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            SaphyrStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            SaphyrStyle::Literal => ScalarStyle::Literal,
            SaphyrStyle::Folded => ScalarStyle::Folded,
        };
        let mut tag_text = None;
        if anchor != 0 || tag.is_some() {
            let (content, text) = self.skip_properties(start, end);
            start = content;
            tag_text = text;
            if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                && matches!(self.byte_at(start), Some(b'|' | b'>'))
            {
                // Skip the block scalar header line and the first line's indentation.
                let bytes = self.text.as_bytes();
                while start < end && bytes.get(start).is_some_and(|&c| c != b'\n') {
                    start += 1;
                }
                while start < end && bytes.get(start).is_some_and(|&c| is_yaml_space(c)) {
                    start += 1;
                }
            }
        }
        let mut node_span = Span::new(start, end);
        match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                if let Some(s) = self.text.get(start..end) {
                    node_span.end = start + s.trim_end_matches([' ', '\t', '\r', '\n']).len();
                }
            }
            ScalarStyle::Plain if value.is_empty() => node_span.start = end,
            ScalarStyle::Plain => {}
            // saphyr's end marker of a quoted scalar lies after the blanks and comment that
            // follow it on the same line; stop at the closing quote instead.
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                if let Some(close) = self.closing_quote(start, end) {
                    node_span.end = close + 1;
                }
            }
        }
        let tag = match (tag_text, tag) {
            (Some(t), _) => Some(t),
            (None, Some(t)) => Some(tag_shorthand(t)),
            (None, None) => None,
        };
        let node = Node {
            span: node_span,
            kind: NodeKind::Scalar(Scalar { value, style, tag }),
        };
        self.complete(node, anchor);
    }

    /// Offset of the quote closing the quoted scalar that starts at `start`, searched up to
    /// `end`.
    fn closing_quote(&self, start: usize, end: usize) -> Option<usize> {
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

    /// While a too-deep subtree is skipped, account for one event and return true.
    fn skipping(&mut self, span: SaphyrSpan) -> bool {
        let (_, end) = self.conv.span(span);
        match self.doc.as_mut().and_then(|d| d.skip.as_mut()) {
            Some(skip) => {
                skip.last_end = skip.last_end.max(end);
                true
            }
            None => false,
        }
    }

    fn start_collection(&mut self, is_map: bool, anchor: usize, span: SaphyrSpan) {
        let (start, end) = self.conv.span(span);
        let (start, _) = if anchor != 0 || start < end {
            self.skip_properties(start, end)
        } else {
            (start, None)
        };
        let start = if is_map {
            start
        } else {
            self.sequence_start(start)
        };
        let flow_close = match self.byte_at(start) {
            Some(b'[') => Some(b']'),
            Some(b'{') => Some(b'}'),
            _ => None,
        };
        let max_depth = self.limits.max_depth;
        let Some(doc) = self.doc.as_mut() else {
            return;
        };
        if let Some(skip) = doc.skip.as_mut() {
            skip.depth += 1;
            return;
        }
        if doc.stack.len() >= max_depth {
            doc.skip = Some(Skip {
                depth: 1,
                start,
                anchor,
                flow_close,
                last_end: start,
            });
            if !doc.depth_reported {
                doc.depth_reported = true;
                let first = start
                    + self
                        .text
                        .get(start..)
                        .and_then(|s| s.chars().next())
                        .map_or(0, char::len_utf8);
                self.problems.push(problem(
                    Span::new(start, first),
                    format!(
                        "nesting deeper than {max_depth} levels; the nested content is ignored"
                    ),
                ));
            }
            return;
        }
        let body = if is_map {
            Body::Map {
                entries: Vec::new(),
                key: None,
            }
        } else {
            Body::Seq(Vec::new())
        };
        doc.stack.push(Frame {
            start,
            anchor,
            flow_close,
            last_end: start,
            body,
        });
    }

    /// saphyr places the start of an indentless block sequence (`key:\n- item`) at its first
    /// item; move it back to the `-` indicator.
    fn sequence_start(&self, start: usize) -> usize {
        let bytes = self.text.as_bytes();
        if matches!(bytes.get(start), Some(b'-' | b'[')) {
            return start;
        }
        let mut pos = start;
        while pos > 0 && bytes.get(pos - 1).is_some_and(|&c| is_yaml_space(c)) {
            pos -= 1;
        }
        if pos > 0 && bytes.get(pos - 1) == Some(&b'-') {
            pos - 1
        } else {
            start
        }
    }

    /// End of a collection whose closing event has span `close`: the closing bracket of a flow
    /// collection, else the end of its last child.
    fn collection_end(&self, close: SaphyrSpan, flow_close: Option<u8>, last_end: usize) -> usize {
        let (close_start, _) = self.conv.span(close);
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

    fn end_collection(&mut self, close: SaphyrSpan) {
        let Some(doc) = self.doc.as_mut() else {
            return;
        };
        if let Some(skip) = doc.skip.as_mut() {
            skip.depth = skip.depth.saturating_sub(1);
            if skip.depth > 0 {
                let (_, end) = self.conv.span(close);
                if matches!(
                    self.text.as_bytes().get(end.saturating_sub(1)),
                    Some(b']' | b'}')
                ) {
                    skip.last_end = skip.last_end.max(end);
                }
                return;
            }
            let (start, anchor, flow_close, last_end) =
                (skip.start, skip.anchor, skip.flow_close, skip.last_end);
            doc.skip = None;
            let end = self.collection_end(close, flow_close, last_end);
            self.complete(null_node(Span::new(start, end)), anchor);
            return;
        }
        let Some(frame) = doc.stack.pop() else {
            return;
        };
        let end = self.collection_end(close, frame.flow_close, frame.last_end);
        let span = Span::new(frame.start, end.max(frame.start));
        let kind = match frame.body {
            Body::Seq(items) => NodeKind::Seq(items),
            Body::Map { mut entries, key } => {
                if let Some(key) = key {
                    // A key without its value (cannot happen with a well-formed event stream).
                    let value = null_node(Span::new(key.span.end, key.span.end));
                    entries.push(Entry { key, value });
                }
                check_duplicates(&entries, &mut self.problems);
                if entries.iter().any(|e| is_merge_key(&e.key)) {
                    entries = merge_keys(entries, &mut self.problems);
                }
                NodeKind::Map(entries)
            }
        };
        self.complete(Node { span, kind }, frame.anchor);
    }

    fn alias(&mut self, id: usize, span: SaphyrSpan) {
        if self.skipping(span) {
            return;
        }
        let (start, end) = self.conv.span(span);
        let name = self
            .text
            .get(start..end)
            .map(|s| s.strip_prefix('*').unwrap_or(s).to_string())
            .unwrap_or_default();
        let alias_span = Span::new(start, end);
        let max_depth = self.limits.max_depth;
        let max_alias_nodes = self.limits.max_alias_nodes;
        let Some(doc) = self.doc.as_mut() else {
            return;
        };
        let unexpanded = Node {
            span: alias_span,
            kind: NodeKind::Alias(name.clone()),
        };
        let Some(anchored) = doc.anchors.get(&id) else {
            let message = if doc.stack.iter().any(|f| f.anchor == id) {
                format!("recursive alias `*{name}` refers to a node that contains it")
            } else {
                format!("unknown alias `*{name}`: no anchor `&{name}` earlier in this document")
            };
            self.problems.push(problem(alias_span, message));
            self.complete(unexpanded, 0);
            return;
        };
        if doc.stack.len() + anchored.height > max_depth {
            if !doc.alias_depth_reported {
                doc.alias_depth_reported = true;
                self.problems.push(problem(
                    alias_span,
                    format!(
                        "expanding alias `*{name}` would nest deeper than {max_depth} levels; \
                         it is left unexpanded"
                    ),
                ));
            }
            self.complete(unexpanded, 0);
            return;
        }
        let total = doc.expanded.saturating_add(anchored.size);
        if total > max_alias_nodes {
            if !doc.alias_limit_reported {
                doc.alias_limit_reported = true;
                self.problems.push(problem(alias_span, ALIAS_LIMIT_MESSAGE));
            }
            self.complete(unexpanded, 0);
            return;
        }
        doc.expanded = total;
        // `complete` counts the copy's root.
        self.nodes += anchored.size.saturating_sub(1);
        let mut copy = anchored.node.clone();
        copy.span = alias_span;
        self.complete(copy, 0);
    }

    /// saphyr's error for an alias whose anchor it has never seen: the alias token starts at the
    /// error position.
    fn unknown_alias_error(&mut self, err: &ScanError) {
        let start = self.conv.byte(err.marker().index());
        let bytes = self.text.as_bytes();
        let mut end = start;
        if bytes.get(end) == Some(&b'*') {
            end += 1;
            while bytes
                .get(end)
                .is_some_and(|&c| !is_yaml_space(c) && !is_flow_indicator(c))
            {
                end += 1;
            }
        }
        let name = self
            .text
            .get(start..end)
            .map(|s| s.strip_prefix('*').unwrap_or(s).to_string())
            .unwrap_or_default();
        let span = Span::new(start, end);
        if self.doc.as_ref().is_some_and(|d| d.skip.is_some()) {
            return;
        }
        self.problems.push(problem(
            span,
            format!("unknown alias `*{name}`: no anchor `&{name}` earlier in this document"),
        ));
        self.complete(
            Node {
                span,
                kind: NodeKind::Alias(name),
            },
            0,
        );
    }

    fn syntax_error(&mut self, err: &ScanError) {
        let start = self.conv.byte(err.marker().index());
        let end = match self.text.get(start..).and_then(|s| s.chars().next()) {
            Some(c) if c != '\n' && c != '\r' => start + c.len_utf8(),
            _ => start,
        };
        self.problems.push(problem(
            Span::new(start, end),
            match err.info() {
                "recursion limit exceeded" => {
                    "YAML syntax error: recursion limit exceeded (flow collections nested too deeply)"
                        .to_string()
                }
                info => format!("YAML syntax error: {info}"),
            },
        ));
        self.salvage_document();
    }

    /// The file has more nodes than [`ParseLimits::max_nodes`]: stop at the event that
    /// crossed the limit, as after a syntax error.
    fn node_limit(&mut self, at: SaphyrSpan) {
        let (start, _) = self.conv.span(at);
        let end = start
            + self
                .text
                .get(start..)
                .and_then(|s| s.chars().next())
                .map_or(0, char::len_utf8);
        self.problems.push(problem(
            Span::new(start, end),
            format!(
                "more than {} YAML nodes in this file; the rest of the file is ignored",
                self.limits.max_nodes
            ),
        ));
        self.salvage_document();
    }

    fn internal_error(&mut self) {
        let end = self.text.len();
        self.problems.push(problem(
            Span::new(end, end),
            "internal error in the YAML parser; the rest of the file was not read",
        ));
        self.salvage_document();
    }

    /// After an error, keep the open document only if its root node was complete.
    fn salvage_document(&mut self) {
        if let Some(doc) = self.doc.as_mut() {
            if !doc.stack.is_empty() || doc.skip.is_some() {
                doc.root = None;
            }
        }
        self.end_document();
    }

    /// A finished node: record it under its anchor and attach it to its parent.
    fn complete(&mut self, node: Node, anchor: usize) {
        self.nodes += 1;
        let Some(doc) = self.doc.as_mut() else {
            return;
        };
        if anchor != 0 {
            let (size, height) = measure(&node);
            doc.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    size,
                    height,
                },
            );
        }
        let end = node.span.end;
        let Some(frame) = doc.stack.last_mut() else {
            doc.root = Some(node);
            return;
        };
        frame.last_end = frame.last_end.max(end);
        match &mut frame.body {
            Body::Seq(items) => items.push(node),
            Body::Map { entries, key } => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push(Entry {
                    key: k,
                    value: node,
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn parse_default(text: &str) -> ParsedFile {
        parse(text, &ParseLimits::default())
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

    fn billion_laughs() -> String {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        text
    }

    #[test]
    fn node_limit_cuts_the_file_and_keeps_earlier_documents() {
        let text = "a: 1\n---\nb: [1, 2, 3, 4, 5, 6, 7, 8]\n---\nc: 3\n";
        let limits = ParseLimits {
            max_nodes: 8,
            ..ParseLimits::default()
        };
        let file = parse(text, &limits);
        assert_spans_valid(text, &file);
        assert_eq!(file.documents.len(), 1, "{:?}", file.documents);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        let p = &file.problems[0];
        assert!(
            p.message.contains("more than 8 YAML nodes"),
            "{}",
            p.message
        );
        assert_eq!(src(text, p.span), "5");
        // Alias copies count too.
        let text = "a: &x [1, 2, 3]\nb: *x\nc: *x\n";
        let limits = ParseLimits {
            max_nodes: 12,
            ..ParseLimits::default()
        };
        let file = parse(text, &limits);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        assert!(file.documents.is_empty());
    }

    #[test]
    fn alias_expansion_respects_the_budget() {
        let text = "base: &b {x: 1, y: [2, 3]}\nuse1: *b\nuse2: *b\n";
        // {x: 1, y: [2, 3]} is 7 nodes: one expansion fits in 10, two do not.
        let limits = ParseLimits {
            max_alias_nodes: 10,
            ..ParseLimits::default()
        };
        let file = parse(text, &limits);
        assert_spans_valid(text, &file);
        let root = root(&file);
        assert_eq!(
            root.get("use1").unwrap().get("x").unwrap().scalar_str(),
            Some("1")
        );
        assert_eq!(root.get("use2").unwrap().kind, NodeKind::Alias("b".into()));
        assert_eq!(file.problems.len(), 1);
        assert_eq!(file.problems[0].message, ALIAS_LIMIT_MESSAGE);
        assert_eq!(src(text, file.problems[0].span), "*b");
        // With the default budget both expand.
        let file = parse_default(text);
        assert!(file.problems.is_empty());
        assert_eq!(root_get_map_len(&file, "use2"), 2);
    }

    fn root_get_map_len(file: &ParsedFile, key: &str) -> usize {
        root(file).get(key).unwrap().as_map().unwrap().len()
    }

    #[test]
    fn billion_laughs_is_cut_short() {
        let text = billion_laughs();
        let started = Instant::now();
        let events = Parser::new_from_str(&text).count();
        eprintln!("saphyr alone: {events} events in {:?}", started.elapsed());
        let started = Instant::now();
        let file = parse_default(&text);
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
        assert_eq!(file.documents.len(), 1);
        let limit_problems = file
            .problems
            .iter()
            .filter(|p| p.message == ALIAS_LIMIT_MESSAGE)
            .count();
        assert_eq!(limit_problems, 1, "{:?}", file.problems);
        let (size, _) = measure(root(&file));
        assert!(size < 30_000, "tree has {size} nodes");
    }

    #[test]
    fn depth_limit_drops_the_deep_subtree() {
        let text = "a:\n  b:\n    c: [[1, 2], [3]]\n    d: ok\n";
        let limits = ParseLimits {
            max_depth: 3,
            ..ParseLimits::default()
        };
        let file = parse(text, &limits);
        assert_spans_valid(text, &file);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        assert!(file.problems[0].message.contains("deeper than 3"));
        assert_eq!(src(text, file.problems[0].span), "[");
        assert_eq!(file.problems[0].span.start, text.find("[[").unwrap());
        let b = root(&file).get("a").unwrap().get("b").unwrap();
        let c = b.get("c").unwrap();
        assert!(c.is_null());
        assert_eq!(src(text, c.span), "[[1, 2], [3]]");
        assert_eq!(c.as_seq(), None);
        assert_eq!(b.get("d").unwrap().scalar_str(), Some("ok"));
    }

    #[test]
    fn alias_expansion_cannot_exceed_the_depth_limit() {
        let text = "a: &a [[x]]\nb: [[*a]]\n";
        let limits = ParseLimits {
            max_depth: 3,
            ..ParseLimits::default()
        };
        let file = parse(text, &limits);
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        assert!(file.problems[0].message.contains("would nest deeper"));
        let (_, height) = measure(root(&file));
        assert!(height <= 3);
    }

    /// Runs `f` on a thread with a 256 KiB stack: deep input must not recurse.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn very_deep_flow_nesting_on_a_small_stack() {
        on_small_stack(|| {
            // saphyr refuses flow nesting past 255 levels with a syntax error.
            let n = 10_000;
            let text = format!("{}x{}", "[".repeat(n), "]".repeat(n));
            let file = parse_default(&text);
            assert!(file.documents.is_empty());
            assert!(
                file.problems
                    .iter()
                    .any(|p| p.message.contains("recursion limit"))
            );
            // Below that, the depth limit applies.
            let n = 250;
            let text = format!("{}x{}", "[".repeat(n), "]".repeat(n));
            let file = parse_default(&text);
            assert_eq!(file.documents.len(), 1);
            assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
            assert_eq!(file.problems[0].span.start, 128);
            let (_, height) = measure(root(&file));
            assert_eq!(height, 128);
            // Unclosed, with mappings too.
            let text = "{a: [".repeat(n);
            let file = parse_default(&text);
            assert!(!file.problems.is_empty());
        });
    }

    #[test]
    fn very_deep_block_nesting_on_a_small_stack() {
        on_small_stack(|| {
            // Block sequences nest compactly: `- - - x`.
            let n = 10_000;
            let text = format!("{}x\n", "- ".repeat(n));
            let file = parse_default(&text);
            assert_eq!(file.documents.len(), 1);
            assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
            // Block mappings need one more indentation step per level.
            let n = 10_000;
            let mut text = String::new();
            for i in 0..n {
                text.push_str(&" ".repeat(i));
                text.push_str("k:\n");
            }
            let file = parse_default(&text);
            assert_eq!(file.documents.len(), 1);
            assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
            let (_, height) = measure(root(&file));
            assert_eq!(height, 128);
        });
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
        let started = Instant::now();
        let events = Parser::new_from_str(&text).count();
        eprintln!("saphyr alone: {events} events in {:?}", started.elapsed());
        let started = Instant::now();
        let file = parse_default(&text);
        let elapsed = started.elapsed();
        eprintln!(
            "{} MB, {} documents in {elapsed:?}",
            text.len() / 1_000_000,
            file.documents.len()
        );
        assert_eq!(file.documents.len(), i);
        assert!(file.problems.is_empty());
        assert!(elapsed < Duration::from_secs(1));
    }
}
