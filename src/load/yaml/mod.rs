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

mod alias;
mod block;
mod mapping;
mod spans;

use compact_str::CompactString;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use saphyr_parser::{
    Event, Parser, ScalarStyle as SaphyrStyle, ScanError, Span as SaphyrSpan, Tag,
};

use super::tree::{Document, Entry, Node, NodeKind, ParsedFile, Scalar, ScalarStyle, ScalarValue};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use alias::{Anchored, measure};
use mapping::{check_duplicates, is_merge_key, merge_keys};
use spans::{CharToByte, is_yaml_space, tag_shorthand};

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
///
/// Plain block YAML is read by [`block`], a fast reader of that subset; everything else, and
/// anything it declines, by saphyr. Both build the same tree.
pub fn parse(text: &str, limits: &ParseLimits) -> ParsedFile {
    // A panic in the fast reader would be a bug in it: saphyr reads the file instead.
    if let Some(parsed) = parse_plain_block(text, limits) {
        return parsed;
    }
    parse_with_saphyr(text, limits)
}

/// [`parse`] with the fast reader alone: `None` when `text` is not plain block YAML (see
/// [`block`]). When it is `Some`, it equals [`parse_with_saphyr`].
pub fn parse_plain_block(text: &str, limits: &ParseLimits) -> Option<ParsedFile> {
    // A panic in the fast reader would be a bug in it: saphyr reads the file instead.
    catch_unwind(|| block::parse(text, limits)).ok().flatten()
}

/// [`parse`] with saphyr alone: the reference the fast reader is tested against.
pub fn parse_with_saphyr(text: &str, limits: &ParseLimits) -> ParsedFile {
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
                        builder.node_limit(builder.conv.byte(span.start.index()));
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
            value: CompactString::default(),
            style: ScalarStyle::Plain,
            tag: None,
        }),
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

    fn finish(mut self) -> ParsedFile {
        self.problems.sort_by_key(|p| p.span.start);
        ParsedFile {
            documents: self.documents,
            problems: self.problems,
        }
    }

    fn event(&mut self, event: Event<'_>, span: SaphyrSpan) {
        let (start, end) = self.conv.span(span);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => self.start_document(),
            Event::DocumentEnd => self.end_document(),
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    SaphyrStyle::Plain => ScalarStyle::Plain,
                    SaphyrStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    SaphyrStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    SaphyrStyle::Literal => ScalarStyle::Literal,
                    SaphyrStyle::Folded => ScalarStyle::Folded,
                };
                self.scalar(
                    CompactString::from(value),
                    style,
                    anchor,
                    tag.as_deref(),
                    (start, end),
                );
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let is_map = matches!(event, Event::MappingStart(..));
                self.start_collection(is_map, anchor, (start, end));
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection((start, end)),
            Event::Alias(id) => self.alias(id, (start, end)),
        }
    }

    fn start_document(&mut self) {
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

    /// A scalar event; `(start, end)` are the byte offsets of saphyr's markers.
    fn scalar(
        &mut self,
        value: CompactString,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        (start, end): (usize, usize),
    ) {
        if self.skipping(end) {
            return;
        }
        let mut start = start;
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
            kind: NodeKind::Scalar(Scalar {
                value,
                style,
                tag: tag.map(String::into_boxed_str),
            }),
        };
        self.complete(node, anchor);
    }

    /// While a too-deep subtree is skipped, account for one event ending at `end` and return
    /// true.
    fn skipping(&mut self, end: usize) -> bool {
        match self.doc.as_mut().and_then(|d| d.skip.as_mut()) {
            Some(skip) => {
                skip.last_end = skip.last_end.max(end);
                true
            }
            None => false,
        }
    }

    fn start_collection(&mut self, is_map: bool, anchor: usize, (start, end): (usize, usize)) {
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
                self.problems.push(problem(
                    self.char_at(start),
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

    /// The end of the innermost collection; `close` is the byte span of its closing event.
    fn end_collection(&mut self, close: (usize, usize)) {
        let Some(doc) = self.doc.as_mut() else {
            return;
        };
        if let Some(skip) = doc.skip.as_mut() {
            skip.depth = skip.depth.saturating_sub(1);
            if skip.depth > 0 {
                let end = close.1;
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
            let end = self.collection_end(close.0, flow_close, last_end);
            self.complete(null_node(Span::new(start, end)), anchor);
            return;
        }
        let Some(frame) = doc.stack.pop() else {
            return;
        };
        let end = self.collection_end(close.0, frame.flow_close, frame.last_end);
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
    fn node_limit(&mut self, start: usize) {
        self.problems.push(problem(
            self.char_at(start),
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
mod tests;
