//! Helpers shared by the validation submodules: JSON Pointers, the Kubernetes/Calico name
//! grammars, spans inside scalars and quoting of user values in messages.
//!
//! Everything here works on arbitrary UTF-8 input without panicking.

use crate::source::{Span, Spanned};

/// Longest user value quoted verbatim in a message (in chars); longer values are shortened.
const QUOTE_MAX_CHARS: usize = 80;

/// JSON Pointers: `ptr` appends an escaped token, `ptr_i` an index (`crate::pointer`, the one
/// definition).
pub use crate::pointer::{child as ptr, index as ptr_i};

/// `value` in backticks for a message; long values are shortened (char-aware) and control
/// characters are escaped so a message stays on one line.
pub fn quote(value: &str) -> String {
    let mut out = String::from("`");
    for (i, c) in value.chars().enumerate() {
        if i == QUOTE_MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

/// The span of `len` bytes starting at byte `offset` of a scalar's value, when the value can be
/// located inside its source span: a plain scalar (span length == value length) or a scalar
/// quoted on one line without escapes (span length == value length + 2). Otherwise the whole
/// scalar span. Never extends beyond `raw.span`; offsets are moved to char boundaries.
pub fn sub_span(raw: &Spanned<String>, offset: usize, len: usize) -> Span {
    let value = raw.value.as_str();
    let span_len = raw.span.end.saturating_sub(raw.span.start);
    let base = if span_len == value.len() {
        raw.span.start
    } else if span_len == value.len() + 2 {
        raw.span.start + 1
    } else {
        return raw.span;
    };
    let mut start = offset.min(value.len());
    while start > 0 && !value.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = start.saturating_add(len).min(value.len());
    while end < value.len() && !value.is_char_boundary(end) {
        end += 1;
    }
    let start = (base + start).min(raw.span.end);
    let end = (base + end).min(raw.span.end).max(start);
    Span::new(start, end)
}

/// The span of the character at byte `offset` of a scalar's value (empty at the end of the
/// value), located as in [`sub_span`].
pub fn char_span(raw: &Spanned<String>, offset: usize) -> Span {
    let len = raw
        .value
        .get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8);
    sub_span(
        raw,
        offset,
        len.max(1).min(raw.value.len().saturating_sub(offset)),
    )
}

/// Smallest span covering every item; `None` for an empty list.
pub fn cover<T>(items: &[Spanned<T>]) -> Option<Span> {
    let first = items.first()?;
    Some(
        items
            .iter()
            .fold(first.span, |acc, item| acc.cover(item.span)),
    )
}

/// `LABEL = [a-z0-9]([-a-z0-9]*[a-z0-9])?` without a length limit.
pub fn is_label_fmt(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

/// `SUBDOMAIN = LABEL(\.LABEL)*` without a length limit.
pub fn is_subdomain_fmt(s: &str) -> bool {
    s.split('.').all(is_label_fmt)
}

/// Kubernetes DNS-1123 label: `LABEL`, at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && is_label_fmt(s)
}

/// Kubernetes DNS-1123 subdomain: `SUBDOMAIN`, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && is_subdomain_fmt(s)
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`: the name part of a qualified name and the
/// (non-empty) label value charset.
fn is_label_name_fmt(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Why `key` is not a Kubernetes qualified name (`[prefix/]name`), or `None` when it is one.
pub fn qualified_name_error(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return Some("prefix part must be non-empty".to_string());
            }
            if !is_dns_subdomain(prefix) {
                return Some(format!(
                    "prefix part {} must be a lower-case DNS subdomain (at most 253 characters of `a-z`, `0-9`, `-` and `.`)",
                    quote(prefix)
                ));
            }
            *name
        }
        _ => {
            return Some(
                "a qualified name has at most one `/` (an optional DNS-subdomain prefix and a name)"
                    .to_string(),
            );
        }
    };
    if name.is_empty() {
        return Some("name part must be non-empty".to_string());
    }
    if name.len() > 63 {
        return Some(format!(
            "name part must be no more than 63 characters (it has {})",
            name.len()
        ));
    }
    if !is_label_name_fmt(name) {
        return Some(
            "name part must consist of alphanumeric characters, `-`, `_` or `.`, and must start and end with an alphanumeric character"
                .to_string(),
        );
    }
    None
}

/// Why `value` is not a valid Kubernetes label value, or `None` when it is one.
pub fn label_value_error(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 {
        return Some(format!(
            "label values must be no more than 63 characters (it has {})",
            value.len()
        ));
    }
    if !is_label_name_fmt(value) {
        return Some(
            "label values must consist of alphanumeric characters, `-`, `_` or `.`, and must start and end with an alphanumeric character"
                .to_string(),
        );
    }
    None
}

/// A name close to `s` made of lower-case DNS labels: lower-cased, other characters replaced by
/// `-`, empty labels dropped. `max_dots` limits the number of labels (extra ones are joined
/// with `-`). `None` when nothing usable remains.
pub fn suggest_name(s: &str, max_dots: Option<usize>) -> Option<String> {
    let mapped: String = s
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.') => c,
            _ => '-',
        })
        .collect();
    let mut labels: Vec<String> = mapped
        .split('.')
        .map(|label| label.trim_matches('-').to_string())
        .filter(|label| !label.is_empty())
        .collect();
    if let Some(max_dots) = max_dots {
        while labels.len() > max_dots + 1 {
            let last = labels.pop()?;
            let prev = labels.last_mut()?;
            prev.push('-');
            prev.push_str(&last);
        }
    }
    let out = labels.join(".");
    (!out.is_empty()).then_some(out)
}

/// Count of characters (what CRD `MaxLength` limits).
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(value: &str, start: usize, end: usize) -> Spanned<String> {
        Spanned::new(value.to_string(), Span::new(start, end))
    }

    #[test]
    fn pointers_escape() {
        assert_eq!(
            ptr("/metadata/labels", "app.kubernetes.io/name"),
            "/metadata/labels/app.kubernetes.io~1name"
        );
        assert_eq!(ptr("", "a~b"), "/a~0b");
        assert_eq!(ptr_i("/spec/types", 1), "/spec/types/1");
    }

    #[test]
    fn quoting_is_char_aware() {
        assert_eq!(quote("a\nb"), "`a\\nb`");
        let long: String = "é".repeat(100);
        let q = quote(&long);
        assert!(q.ends_with("…`"));
        assert_eq!(q.chars().filter(|c| *c == 'é').count(), 80);
    }

    #[test]
    fn sub_spans_stay_inside_the_scalar() {
        // Plain scalar.
        assert_eq!(sub_span(&raw("abc", 10, 13), 1, 1), Span::new(11, 12));
        // Quoted on one line.
        assert_eq!(sub_span(&raw("abc", 10, 15), 1, 1), Span::new(12, 13));
        // Anything else: the whole scalar.
        assert_eq!(sub_span(&raw("abc", 10, 20), 1, 1), Span::new(10, 20));
        // Offsets past the end are clamped.
        assert_eq!(sub_span(&raw("abc", 10, 13), 99, 5), Span::new(13, 13));
        // Offsets inside a multi-byte char move to its start; ends to the next boundary.
        assert_eq!(sub_span(&raw("aé", 0, 3), 2, 1), Span::new(1, 3));
        assert_eq!(char_span(&raw("aé", 0, 3), 1), Span::new(1, 3));
        assert_eq!(char_span(&raw("ab", 0, 2), 2), Span::new(2, 2));
        assert_eq!(char_span(&raw("", 5, 7), 0), Span::new(6, 6));
    }

    #[test]
    fn name_grammars() {
        assert!(is_dns_label("a-1"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a."));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_dns_subdomain("a.b-c.d"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(!is_dns_subdomain("A"));
        assert!(!is_dns_subdomain(""));
    }

    #[test]
    fn qualified_names_and_values() {
        assert!(qualified_name_error("app").is_none());
        assert!(qualified_name_error("app.kubernetes.io/name").is_none());
        assert!(qualified_name_error("Foo_Bar.9").is_none());
        assert!(qualified_name_error("a/b/c").is_some());
        assert!(qualified_name_error("/b").is_some());
        assert!(qualified_name_error("Ex.com/b").is_some());
        assert!(qualified_name_error("a/").is_some());
        assert!(qualified_name_error("-a").is_some());
        assert!(qualified_name_error(&"a".repeat(64)).is_some());
        assert!(qualified_name_error("...").is_some());
        assert!(label_value_error("").is_none());
        assert!(label_value_error("v1.2_x").is_none());
        assert!(label_value_error("a b").is_some());
        assert!(label_value_error(&"a".repeat(64)).is_some());
    }

    #[test]
    fn name_suggestions() {
        assert_eq!(
            suggest_name("My_Policy", Some(0)).as_deref(),
            Some("my-policy")
        );
        assert_eq!(suggest_name("a.b.c", Some(1)).as_deref(), Some("a.b-c"));
        assert_eq!(suggest_name("a.b.c", None).as_deref(), Some("a.b.c"));
        assert_eq!(suggest_name("__", None), None);
    }
}
