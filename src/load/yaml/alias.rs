//! Anchors and aliases: an alias is expanded into a copy of its anchored node, within the
//! document's alias budget ([`super::ParseLimits::max_alias_nodes`]) and the depth limit;
//! unknown, recursive and over-budget aliases stay [`NodeKind::Alias`] with a problem.

use saphyr_parser::ScanError;

use super::spans::{is_flow_indicator, is_yaml_space};
use super::{ALIAS_LIMIT_MESSAGE, Builder, problem};
use crate::load::tree::{Node, NodeKind};
use crate::source::Span;

/// An anchored node, ready to be copied by aliases.
pub(super) struct Anchored {
    pub(super) node: Node,
    /// Number of nodes in `node` (the cost of one expansion).
    pub(super) size: usize,
    /// Collection nesting levels inside `node` (0 for a scalar).
    pub(super) height: usize,
}

/// Number of nodes and collection height of a subtree, without recursion.
pub(super) fn measure(node: &Node) -> (usize, usize) {
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

impl Builder<'_> {
    pub(super) fn alias(&mut self, id: usize, (start, end): (usize, usize)) {
        if self.skipping(end) {
            return;
        }
        let name = self.alias_name(start, end);
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
    pub(super) fn unknown_alias_error(&mut self, err: &ScanError) {
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
        let name = self.alias_name(start, end);
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

    /// The name of the alias token at `start..end`, without its `*`.
    fn alias_name(&self, start: usize, end: usize) -> String {
        self.text
            .get(start..end)
            .map(|s| s.strip_prefix('*').unwrap_or(s).to_string())
            .unwrap_or_default()
    }
}
