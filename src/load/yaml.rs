//! YAML/JSON text → span tree (see [`super::tree`]).

use super::tree::ParsedFile;

/// Limits applied while parsing one file.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
    /// Maximum number of nodes that alias expansion may copy, per document.
    pub max_alias_nodes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_depth: 128,
            max_alias_nodes: 10_000,
        }
    }
}

/// Parse a whole file. Never fails: problems are returned inside [`ParsedFile`].
pub fn parse(_text: &str, _limits: &ParseLimits) -> ParsedFile {
    ParsedFile::default()
}
