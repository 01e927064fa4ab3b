//! The span tree: YAML/JSON documents as nodes that keep their exact byte spans.
//!
//! This is the contract between the parser (`load::yaml`) and the lowering into typed resources
//! (`model::lower`). Mappings keep their entries in source order, duplicates included, so later
//! stages can point at both occurrences of a key.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// An alias that was not expanded (its anchor is unknown, or expanding it would exceed the
    /// alias budget). Lowering reports it where a value is needed.
    Alias(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The scalar's value after YAML unescaping/folding (not yet typed). Inline up to 24
    /// bytes (keys and most values): a tree holds millions of them.
    pub value: compact_str::CompactString,
    pub style: ScalarStyle,
    /// Explicit tag such as `!!str`, if any, in its shorthand form.
    pub tag: Option<Box<str>>,
}

/// A typed reading of a scalar under the YAML 1.2 core schema (what Kubernetes tooling sees for
/// all the forms calint cares about). Quoted scalars are always strings.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit i64, or a float.
    Float(f64),
    Str(&'a str),
}

impl Scalar {
    pub fn is_quoted(&self) -> bool {
        self.style != ScalarStyle::Plain
    }

    /// Resolve the scalar's type. Plain scalars follow the YAML 1.2 core schema; the YAML 1.1
    /// booleans `yes/no/on/off` (which Go's YAML decoder still accepts) are also read as booleans.
    pub fn typed(&self) -> ScalarValue<'_> {
        if let Some(tag) = &self.tag {
            if tag.ends_with("str") {
                return ScalarValue::Str(&self.value);
            }
        }
        if self.style != ScalarStyle::Plain {
            return ScalarValue::Str(&self.value);
        }
        let v = self.value.as_str();
        // Most plain scalars are words (`Allow`, `TCP`, names, selectors): a first letter that
        // starts no null, boolean or number makes a string, without the comparisons below.
        if let Some(&b) = v.as_bytes().first() {
            let maybe_special = matches!(
                b,
                b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'o' | b'O'
            );
            if b.is_ascii_alphabetic() && !maybe_special {
                return ScalarValue::Str(v);
            }
        }
        match v {
            "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
                return ScalarValue::Bool(true);
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                return ScalarValue::Bool(false);
            }
            _ => {}
        }
        if let Some(i) = parse_yaml_int(v) {
            return ScalarValue::Int(i);
        }
        if looks_numeric(v) {
            if let Ok(f) = v.parse::<f64>() {
                return ScalarValue::Float(f);
            }
        }
        match v {
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
                ScalarValue::Float(f64::INFINITY)
            }
            "-.inf" | "-.Inf" | "-.INF" => ScalarValue::Float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => ScalarValue::Float(f64::NAN),
            _ => ScalarValue::Str(v),
        }
    }
}

fn parse_yaml_int(v: &str) -> Option<i64> {
    let (neg, digits) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    let parsed = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -parsed } else { parsed })
}

fn looks_numeric(v: &str) -> bool {
    let body = v.trim_start_matches(['-', '+']);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

impl Node {
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text when it is a scalar of any style.
    pub fn scalar_str(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.value.as_str())
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// First entry whose key is the scalar `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key.scalar_str() == Some(key))
            .map(|e| &e.value)
    }

    pub fn is_null(&self) -> bool {
        matches!(self.as_scalar().map(Scalar::typed), Some(ScalarValue::Null))
    }

    /// Short description of the node's type for messages ("a mapping", "a string", ...).
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Alias(_) => "an alias",
            NodeKind::Scalar(s) => match s.typed() {
                ScalarValue::Null => "null",
                ScalarValue::Bool(_) => "a boolean",
                ScalarValue::Int(_) => "an integer",
                ScalarValue::Float(_) => "a number",
                ScalarValue::Str(_) => "a string",
            },
        }
    }
}

/// One YAML document (or one JSON value) of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// 0-based position of the document in its file.
    pub index: usize,
    pub root: Node,
}

/// Result of parsing one file: every document that could be read, plus every problem. Parsing
/// never fails as a whole; documents before a syntax error are kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedFile {
    pub documents: Vec<Document>,
    /// Syntax errors, duplicate keys (the first occurrence related), exceeded limits; no
    /// pointer (they are not inside a resource).
    pub problems: Vec<Diagnostic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(v: &str) -> Scalar {
        Scalar {
            value: v.into(),
            style: ScalarStyle::Plain,
            tag: None,
        }
    }

    /// A tree of a large repository has millions of nodes, each moved into its parent: keep
    /// them small (was 80 bytes with a `String` value and tag).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn nodes_stay_small() {
        assert_eq!(std::mem::size_of::<Node>(), 64);
    }

    #[test]
    fn core_schema_typing() {
        assert_eq!(plain("80").typed(), ScalarValue::Int(80));
        assert_eq!(plain("-3").typed(), ScalarValue::Int(-3));
        assert_eq!(plain("1.5").typed(), ScalarValue::Float(1.5));
        assert_eq!(plain("1e3").typed(), ScalarValue::Float(1000.0));
        assert_eq!(plain("true").typed(), ScalarValue::Bool(true));
        assert_eq!(plain("~").typed(), ScalarValue::Null);
        assert_eq!(plain("5:3").typed(), ScalarValue::Str("5:3"));
        assert_eq!(plain("10.0.0.0/8").typed(), ScalarValue::Str("10.0.0.0/8"));
        assert_eq!(plain("1.2.3").typed(), ScalarValue::Str("1.2.3"));
        let quoted = Scalar {
            value: "80".into(),
            style: ScalarStyle::DoubleQuoted,
            tag: None,
        };
        assert_eq!(quoted.typed(), ScalarValue::Str("80"));
    }
}
