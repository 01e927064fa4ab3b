//! JSON Pointers (RFC 6901) into a document's tree: how every problem and finding names the
//! place inside a resource (`/spec/ingress/0/destination/ports/1`). The one definition of
//! building (and, for `fix`, reading) them; lowering (`model::lower::reader`), validation (`validate::util`) and the
//! suppression lints use these functions (re-exported under their older names there).
//!
//! A pointer is still a `String` where it is stored (`Diagnostic::pointer`, `Finding`'s); a
//! pointer type is left for later (see the architecture notes of issue 11).

/// Escape one reference token: `~` → `~0`, `/` → `~1`.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The reference tokens of `pointer`, unescaped (`/a~1b/0` → `a/b`, `0`); none for `""`.
pub fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    // `~1` first: `~01` is the token `~1`.
    (pointer.split('/').skip(1)).map(|t| t.replace("~1", "/").replace("~0", "~"))
}

/// `base` followed by the reference token `token` (escaped).
pub fn child(base: &str, token: &str) -> String {
    format!("{base}/{}", escape(token))
}

/// `base` followed by an array index.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}/{i}")
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
}
