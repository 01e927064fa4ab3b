//! JSON Pointers (RFC 6901) into a document's tree: how every problem and finding names the
//! place inside a resource (`/spec/ingress/0/destination/ports/1`). [`Pointer`] is the one type
//! a pointer is carried in (`Diagnostic`, `RelatedSpan`, `Finding`, `Related`, the model's and
//! the IR's rules), and the one definition of building ([`Pointer::child`], [`Pointer::index`],
//! [`escape`]) and reading ([`Pointer::tokens`]) them: lowering (`model::lower::reader`),
//! validation (`validate::util`), the lints and `fix` use it.
//!
//! Layer 0, beside `source` (spans are the other half of a location): it uses nothing, so the
//! diagnostics and findings below `load` can carry it.

use std::fmt;
use std::ops::Deref;

/// A JSON Pointer in its RFC 6901 text form: `""` (the whole document) or `/`-separated
/// reference tokens, each escaped. Derefs to that text, which is how every report writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer(String);

impl Pointer {
    /// The whole document: `""`.
    pub fn root() -> Pointer {
        Pointer::default()
    }

    /// The pointer of `tokens` from the root, each escaped (`["metadata", "name"]` →
    /// `/metadata/name`).
    pub fn of(tokens: &[&str]) -> Pointer {
        tokens.iter().fold(Pointer::root(), |p, t| p.child(t))
    }

    /// This pointer followed by the reference token `token` (escaped).
    pub fn child(&self, token: &str) -> Pointer {
        child(self, token)
    }

    /// This pointer followed by an array index.
    pub fn index(&self, i: usize) -> Pointer {
        index(self, i)
    }

    /// The reference tokens, unescaped (`/a~1b/0` → `a/b`, `0`); none for the root.
    pub fn tokens(&self) -> impl Iterator<Item = String> + '_ {
        tokens(&self.0)
    }

    /// The RFC 6901 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pointer written out in RFC 6901 text form (a literal such as `/metadata/name`, or a
/// pointer built before this type existed); `""` is the root.
impl From<&str> for Pointer {
    fn from(text: &str) -> Pointer {
        Pointer(text.to_string())
    }
}

/// See `From<&str>`.
impl From<String> for Pointer {
    fn from(text: String) -> Pointer {
        Pointer(text)
    }
}

impl From<&Pointer> for Pointer {
    fn from(p: &Pointer) -> Pointer {
        p.clone()
    }
}

impl Deref for Pointer {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Pointer {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Pointer {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A JSON Pointer not written out yet: a base and the tokens below it. Validation visits every
/// field of every rule and nearly all of them have nothing to report, so it carries these and
/// writes the text ([`Lazy::pointer`], or `Pointer::from`) only for a problem it reports.
#[derive(Clone, Copy, Debug)]
pub enum Lazy<'a> {
    /// A pointer already written (`/spec/ingress/0`).
    Text(&'a str),
    /// The parent followed by one reference token (escaped when written).
    Child(&'a Lazy<'a>, &'a str),
    /// The parent followed by an array index.
    Index(&'a Lazy<'a>, usize),
}

impl<'a> Lazy<'a> {
    /// This pointer followed by `token`.
    pub fn child(&'a self, token: &'a str) -> Lazy<'a> {
        Lazy::Child(self, token)
    }

    /// This pointer followed by an array index.
    pub fn index(&'a self, i: usize) -> Lazy<'a> {
        Lazy::Index(self, i)
    }

    /// The pointer, written out (one allocation).
    pub fn pointer(&self) -> Pointer {
        let mut text = String::with_capacity(self.len());
        self.write(&mut text);
        Pointer(text)
    }

    /// An upper bound of the written length (escapes aside).
    fn len(&self) -> usize {
        match self {
            Lazy::Text(text) => text.len(),
            Lazy::Child(parent, token) => parent.len() + 1 + token.len(),
            Lazy::Index(parent, _) => parent.len() + 1 + 20,
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Lazy::Text(text) => out.push_str(text),
            Lazy::Child(parent, token) => {
                parent.write(out);
                out.push('/');
                push_escaped(out, token);
            }
            Lazy::Index(parent, i) => {
                use std::fmt::Write;
                parent.write(out);
                let _ = write!(out, "/{i}");
            }
        }
    }
}

/// A lazy pointer passed on as it is (so readers take `&p` and `p` alike).
impl<'a> From<&Lazy<'a>> for Lazy<'a> {
    fn from(p: &Lazy<'a>) -> Lazy<'a> {
        *p
    }
}

impl<'a> From<&'a str> for Lazy<'a> {
    fn from(text: &'a str) -> Lazy<'a> {
        Lazy::Text(text)
    }
}

impl<'a> From<&'a Pointer> for Lazy<'a> {
    fn from(p: &'a Pointer) -> Lazy<'a> {
        Lazy::Text(p.as_str())
    }
}

impl From<Lazy<'_>> for Pointer {
    fn from(p: Lazy<'_>) -> Pointer {
        p.pointer()
    }
}

impl From<&Lazy<'_>> for Pointer {
    fn from(p: &Lazy<'_>) -> Pointer {
        p.pointer()
    }
}

/// Escape one reference token: `~` → `~0`, `/` → `~1`.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The reference tokens of `pointer`, unescaped (`/a~1b/0` → `a/b`, `0`); none for `""`.
pub fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    // `~1` first: `~01` is the token `~1`.
    (pointer.split('/').skip(1)).map(|t| t.replace("~1", "/").replace("~0", "~"))
}

/// `base` followed by the reference token `token` (escaped). One allocation: lowering and
/// validation build a pointer for nearly every node of a tree.
pub fn child(base: &str, token: &str) -> Pointer {
    let mut s = String::with_capacity(base.len() + token.len() + 1);
    s.push_str(base);
    s.push('/');
    push_escaped(&mut s, token);
    Pointer(s)
}

/// Append `token` escaped (`~` → `~0`, `/` → `~1`).
fn push_escaped(out: &mut String, token: &str) {
    if token.contains(['~', '/']) {
        for c in token.chars() {
            match c {
                '~' => out.push_str("~0"),
                '/' => out.push_str("~1"),
                c => out.push(c),
            }
        }
    } else {
        out.push_str(token);
    }
}

/// `base` followed by an array index.
pub fn index(base: &str, i: usize) -> Pointer {
    use std::fmt::Write;
    let mut s = String::with_capacity(base.len() + 6);
    s.push_str(base);
    let _ = write!(s, "/{i}");
    Pointer(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_escaped() {
        assert_eq!(
            child("/metadata/labels", "app.kubernetes.io/name"),
            "/metadata/labels/app.kubernetes.io~1name"
        );
        assert_eq!(escape("a~b"), "a~0b");
        // `~` first: an escaped `/` is not escaped again.
        assert_eq!(escape("~/"), "~0~1");
        assert_eq!(child("", "a"), "/a");
        assert_eq!(index("/spec/ingress", 3), "/spec/ingress/3");
        let back: Vec<String> = tokens(&child(&index("", 0), "~1/x")).collect();
        assert_eq!(back, ["0", "~1/x"]);
        assert_eq!(tokens("").count(), 0);
    }

    #[test]
    fn lazy_pointers_write_what_the_functions_build() {
        let base = Pointer::from("/spec/ingress/0");
        let rule = Lazy::from(&base);
        let side = rule.child("source");
        let nets = side.child("nets");
        assert_eq!(
            Pointer::from(nets.index(3)),
            "/spec/ingress/0/source/nets/3"
        );
        let label = Lazy::Text("/metadata/labels");
        assert_eq!(
            label.child("app.kubernetes.io/name").pointer(),
            child("/metadata/labels", "app.kubernetes.io/name")
        );
        assert_eq!(Lazy::from("").index(0).pointer(), "/0");
        let escaped = Lazy::Text("/a");
        let deep = escaped.child("b/c");
        let deeper = deep.index(12);
        assert_eq!(deeper.child("~").pointer(), "/a/b~1c/12/~0");
        assert_eq!(
            Lazy::from(&deeper).pointer(),
            index(&child("/a", "b/c"), 12)
        );
    }

    #[test]
    fn methods_build_what_the_functions_build() {
        let rule = Pointer::root().child("spec").child("ingress").index(2);
        assert_eq!(rule, "/spec/ingress/2");
        assert_eq!(rule.child("a/b").to_string(), "/spec/ingress/2/a~1b");
        let back: Vec<String> = rule.child("a/b").tokens().collect();
        assert_eq!(back, ["spec", "ingress", "2", "a/b"]);
        assert_eq!(Pointer::root().as_str(), "");
        assert_eq!(Pointer::of(&["metadata", "name"]), "/metadata/name");
        assert_eq!(
            Pointer::of(&["metadata", "annotations", "a/b"]),
            "/metadata/annotations/a~1b"
        );
    }
}
