//! Strict JSON syntax for files that kubectl reads as JSON.
//!
//! calint parses every manifest with its YAML parser, and YAML accepts much that JSON does not:
//! trailing commas, single-quoted strings, comments, unquoted keys. kubectl, however, decides by
//! content: a stream whose first non-blank byte is `{` is decoded with Go's JSON decoder (one
//! value after another), everything else as YAML. So a file that starts with `{` must be strict
//! JSON, or `kubectl apply` rejects it although calint could read it. [`first_error`] finds the
//! first place where such a file stops being JSON.
//!
//! The checker is a small iterative state machine (an explicit stack, no recursion), linear in
//! the input.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Whether kubectl would decode `text` as a JSON stream: its first byte that is not JSON
/// whitespace is `{` (a byte order mark is not whitespace: such a file is read as YAML).
pub fn is_json_stream(text: &str) -> bool {
    text.bytes().find(|b| !is_ws(*b)).is_some_and(|b| b == b'{')
}

/// The first JSON syntax error of a JSON stream, as a parse problem on the offending
/// character (empty at the end of the text). `None` when the stream is valid JSON.
pub fn first_error(text: &str) -> Option<Diagnostic> {
    let (offset, what) = check(text.as_bytes()).err()?;
    let end = text
        .get(offset..)
        .and_then(|s| s.chars().next())
        .map_or(offset, |c| offset + c.len_utf8());
    Some(Diagnostic::new(
        Span::new(offset, end),
        "",
        format!(
            "not valid JSON: {what} (kubectl reads a file starting with `{{` as JSON, so it \
             would reject this file)"
        ),
    ))
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value is required (after `:`, or after `,` in an array when `after_comma`).
    Value { after_comma: bool },
    /// Just after `[`: a value or `]`.
    FirstItem,
    /// Just after `{`: a key or `}`.
    FirstKey,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a complete value.
    After,
}

type Error = (usize, String);

fn found(b: Option<u8>) -> String {
    match b {
        None => "the end of the file".to_string(),
        Some(b'\'') => "a single-quoted string (JSON strings use `\"`)".to_string(),
        Some(b'#' | b'/') => "a comment (JSON has no comments)".to_string(),
        Some(b) if b.is_ascii_graphic() => format!("`{}`", b as char),
        Some(b) => format!("byte 0x{b:02x}"),
    }
}

fn check(b: &[u8]) -> Result<(), Error> {
    let mut stack: Vec<Container> = Vec::new();
    let mut state = State::After;
    let mut pos = 0;
    loop {
        while b.get(pos).is_some_and(|&c| is_ws(c)) {
            pos += 1;
        }
        let c = b.get(pos).copied();
        state = match state {
            State::After => match (stack.last(), c) {
                // Between top-level values: the end, or the next value of the stream.
                (None, None) => return Ok(()),
                (None, Some(_)) => State::Value { after_comma: false },
                (Some(Container::Object), Some(b',')) => {
                    pos += 1;
                    State::Key
                }
                (Some(Container::Array), Some(b',')) => {
                    pos += 1;
                    State::Value { after_comma: true }
                }
                (Some(Container::Object), Some(b'}')) | (Some(Container::Array), Some(b']')) => {
                    pos += 1;
                    stack.pop();
                    State::After
                }
                (Some(Container::Object), c) => {
                    return Err((pos, format!("expected `,` or `}}`, found {}", found(c))));
                }
                (Some(Container::Array), c) => {
                    return Err((pos, format!("expected `,` or `]`, found {}", found(c))));
                }
            },
            State::FirstItem if c == Some(b']') => {
                pos += 1;
                stack.pop();
                State::After
            }
            State::FirstKey if c == Some(b'}') => {
                pos += 1;
                stack.pop();
                State::After
            }
            State::FirstKey | State::Key => match c {
                Some(b'"') => {
                    pos = string(b, pos)?;
                    State::Colon
                }
                Some(b'}') => return Err((pos, "trailing comma before `}`".to_string())),
                c => {
                    return Err((
                        pos,
                        format!("expected a key in double quotes, found {}", found(c)),
                    ));
                }
            },
            State::Colon => match c {
                Some(b':') => {
                    pos += 1;
                    State::Value { after_comma: false }
                }
                c => return Err((pos, format!("expected `:`, found {}", found(c)))),
            },
            State::FirstItem | State::Value { .. } => match c {
                Some(b'{') => {
                    pos += 1;
                    stack.push(Container::Object);
                    State::FirstKey
                }
                Some(b'[') => {
                    pos += 1;
                    stack.push(Container::Array);
                    State::FirstItem
                }
                Some(b'"') => {
                    pos = string(b, pos)?;
                    State::After
                }
                Some(b'-' | b'0'..=b'9') => {
                    pos = number(b, pos)?;
                    State::After
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    pos = literal(b, pos)?;
                    State::After
                }
                Some(b']') if state == State::Value { after_comma: true } => {
                    return Err((pos, "trailing comma before `]`".to_string()));
                }
                c => return Err((pos, format!("expected a value, found {}", found(c)))),
            },
        };
    }
}

/// A string starting at `start` (its opening quote); returns the offset after the closing one.
fn string(b: &[u8], start: usize) -> Result<usize, Error> {
    let mut pos = start + 1;
    loop {
        match b.get(pos) {
            None => return Err((start, "unterminated string".to_string())),
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => match b.get(pos + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => pos += 2,
                Some(b'u') => {
                    let hex = b.get(pos + 2..pos + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err((pos, "invalid `\\u` escape".to_string()));
                    }
                    pos += 6;
                }
                _ => return Err((pos, "invalid escape sequence".to_string())),
            },
            Some(&c) if c < 0x20 => {
                return Err((
                    pos,
                    "control character (such as a newline) in a string".into(),
                ));
            }
            Some(_) => pos += 1,
        }
    }
}

fn digits(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
    }
    pos
}

fn delimited(b: &[u8], pos: usize) -> bool {
    b.get(pos)
        .is_none_or(|&c| is_ws(c) || matches!(c, b',' | b']' | b'}'))
}

/// A number starting at `start`; returns the offset after it.
fn number(b: &[u8], start: usize) -> Result<usize, Error> {
    let invalid = || (start, "invalid number".to_string());
    let mut pos = start;
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match b.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits(b, pos),
        _ => return Err(invalid()),
    }
    if b.get(pos) == Some(&b'.') {
        let after = digits(b, pos + 1);
        if after == pos + 1 {
            return Err(invalid());
        }
        pos = after;
    }
    if matches!(b.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let after = digits(b, pos);
        if after == pos {
            return Err(invalid());
        }
        pos = after;
    }
    if delimited(b, pos) {
        Ok(pos)
    } else {
        Err(invalid())
    }
}

/// `true`, `false` or `null` starting at `start`.
fn literal(b: &[u8], start: usize) -> Result<usize, Error> {
    for word in [&b"true"[..], b"false", b"null"] {
        let end = start + word.len();
        if b.get(start..end) == Some(word) && delimited(b, end) {
            return Ok(end);
        }
    }
    Err((
        start,
        "expected a value (bare words are not JSON; quote strings with `\"`)".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, String) {
        match check(text.as_bytes()) {
            Err(e) => e,
            Ok(()) => panic!("{text:?} should not be valid JSON"),
        }
    }

    #[test]
    fn valid_streams() {
        for text in [
            "{}",
            " {\"a\": [1, -2.5e+3, 0, true, false, null, \"x\\u00e9\\n\"]}\n",
            "{\"a\": {\"b\": []}} {\"c\": 1}",
            "{\"k\":\"v\"}\r\n\t",
            "",
        ] {
            assert_eq!(check(text.as_bytes()), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn yaml_only_forms_are_errors_at_the_right_place() {
        let t = "{\"a\": 1,}";
        assert_eq!(err(t), (8, "trailing comma before `}`".to_string()));
        let t = "{\"a\": [1, 2,]}";
        assert_eq!(err(t), (12, "trailing comma before `]`".to_string()));
        let (at, msg) = err("{'a': 1}");
        assert_eq!(at, 1);
        assert!(msg.contains("single-quoted"), "{msg}");
        let (at, msg) = err("{\"a\": 1, # note\n}");
        assert_eq!(at, 9);
        assert!(msg.contains("comment"), "{msg}");
        let (at, msg) = err("{a: 1}");
        assert_eq!(at, 1);
        assert!(msg.contains("key in double quotes"), "{msg}");
        let (at, msg) = err("{\"a\": yes}");
        assert_eq!(at, 6);
        assert!(msg.contains("bare words"), "{msg}");
        assert_eq!(err("{\"a\": 01}").0, 6);
        assert_eq!(err("{\"a\": 1.}").0, 6);
        assert_eq!(err("{\"a\" 1}").0, 5);
        assert_eq!(err("{\"a\": \"x\ny\"}").0, 8);
        assert_eq!(err("{\"a\": \"\\q\"}").0, 7);
        assert_eq!(err("{\"a\": \"open").0, 6);
        assert_eq!(err("{\"a\": [1 2]}").0, 9);
        assert_eq!(err("{\"a\": 1} trailing").0, 9);
        assert_eq!(
            err("{\"a\":").1,
            "expected a value, found the end of the file"
        );
    }

    #[test]
    fn deep_nesting_needs_no_recursion() {
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(200_000), "]".repeat(200_000));
        assert_eq!(check(deep.as_bytes()), Ok(()));
        let open = "[".repeat(200_000);
        assert!(check(format!("{{\"a\": {open}").as_bytes()).is_err());
    }

    #[test]
    fn detection_and_problem_span() {
        assert!(is_json_stream("  \n{\"a\": 1}"));
        assert!(!is_json_stream("\u{feff}{\"a\": 1}"));
        assert!(!is_json_stream("[1]"));
        assert!(!is_json_stream("a: {}"));
        let p = first_error("{\"é\": 1,}").expect("an error");
        assert_eq!(p.span, Span::new(9, 10));
        assert!(
            p.message.starts_with("not valid JSON: trailing comma"),
            "{}",
            p.message
        );
        assert!(first_error("{\"a\": \"é\"}").is_none());
    }
}
