//! Tokenizer for Calico selectors (spec §3.1).
//!
//! The lexer is pulled one token at a time by the parser, so the first problem in
//! left-to-right order is the one reported. Every offset is a byte offset into the source;
//! the lexer only ever stops on ASCII characters or at the end, so offsets are always `char`
//! boundaries.

use super::error::{SelectorError, snippet};

/// Longest label name the tokenizer accepts (`[A-Za-z0-9_./-]{1,512}`).
pub const MAX_LABEL_LEN: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    /// A quoted string; the payload excludes the quotes.
    Str(&'a str),
    Eq,
    Ne,
    Not,
    And,
    Or,
    Label(&'a str),
    /// `has(label)`, recognised as a single token.
    Has(&'a str),
    All,
    Global,
    Contains,
    StartsWith,
    EndsWith,
    In,
    NotIn,
    Eof,
}

impl Tok<'_> {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Str(s) => format!("the string {:?}", snippet(s, 40)),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Not => "`!`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Label(l) => format!("the label `{}`", snippet(l, 40)),
            Tok::Has(l) => format!("`has({})`", snippet(l, 40)),
            Tok::All => "`all()`".into(),
            Tok::Global => "`global()`".into(),
            Tok::Contains => "`contains`".into(),
            Tok::StartsWith => "`starts with`".into(),
            Tok::EndsWith => "`ends with`".into(),
            Tok::In => "`in`".into(),
            Tok::NotIn => "`not in`".into(),
            Tok::Eof => "the end of the selector".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub start: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// The previous token, when it was a LABEL: operator words are only recognised there.
    prev_label: Option<&'a str>,
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

const OPERATORS: &str = "`==`, `!=`, `in`, `not in`, `contains`, `starts with` or `ends with`";

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            prev_label: None,
        }
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.src.as_bytes().get(i).copied()
    }

    fn skip_blanks(&self, mut i: usize) -> usize {
        while self.byte(i).is_some_and(is_blank) {
            i += 1;
        }
        i
    }

    fn has_word(&self, i: usize, word: &str) -> bool {
        self.src
            .as_bytes()
            .get(i..)
            .is_some_and(|rest| rest.starts_with(word.as_bytes()))
    }

    /// True at the end of input or before a character that cannot continue a label.
    fn at_boundary(&self, i: usize) -> bool {
        !self.byte(i).is_some_and(is_label_byte)
    }

    fn label_end(&self, mut i: usize) -> usize {
        while self.byte(i).is_some_and(is_label_byte) {
            i += 1;
        }
        i
    }

    /// `a..b` must be ASCII-delimited (all callers guarantee it); never panics regardless.
    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.src.get(a..b).unwrap_or("")
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.src.get(i..).and_then(|s| s.chars().next())
    }

    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, SelectorError> {
        let start = self.skip_blanks(self.pos);
        let Some(b) = self.byte(start) else {
            self.pos = start;
            self.prev_label = None;
            return Ok(Token {
                tok: Tok::Eof,
                start,
            });
        };
        let (tok, end) = match b {
            b'(' => (Tok::LParen, start + 1),
            b')' => (Tok::RParen, start + 1),
            b'{' => (Tok::LBrace, start + 1),
            b'}' => (Tok::RBrace, start + 1),
            b',' => (Tok::Comma, start + 1),
            b'"' | b'\'' => self.string(start, b)?,
            b'=' if self.byte(start + 1) == Some(b'=') => (Tok::Eq, start + 2),
            b'=' => {
                return Err(SelectorError::new(
                    start,
                    "expected `==`: a single `=` is not an operator",
                ));
            }
            b'!' if self.byte(start + 1) == Some(b'=') => (Tok::Ne, start + 2),
            b'!' => (Tok::Not, start + 1),
            b'&' if self.byte(start + 1) == Some(b'&') => (Tok::And, start + 2),
            b'&' => {
                return Err(SelectorError::new(
                    start,
                    "expected `&&`: a single `&` is not an operator",
                ));
            }
            b'|' if self.byte(start + 1) == Some(b'|') => (Tok::Or, start + 2),
            b'|' => {
                return Err(SelectorError::new(
                    start,
                    "expected `||`: a single `|` is not an operator",
                ));
            }
            _ if is_label_byte(b) => match self.prev_label {
                Some(label) => self.operator(start, label)?,
                None => self.word(start)?,
            },
            _ => return Err(self.unexpected_char(start)),
        };
        self.pos = end;
        self.prev_label = match tok {
            Tok::Label(l) => Some(l),
            _ => None,
        };
        Ok(Token { tok, start })
    }

    fn unexpected_char(&self, at: usize) -> SelectorError {
        match self.char_at(at) {
            Some('\n') | Some('\r') => SelectorError::new(
                at,
                "line break in selector: only spaces and tabs may separate tokens",
            ),
            Some(c) => {
                SelectorError::new(at, format!("unexpected character `{}`", c.escape_debug()))
            }
            None => SelectorError::new(at, "unexpected end of selector"),
        }
    }

    /// A quoted string: everything up to the next occurrence of the same quote character.
    fn string(&self, start: usize, quote: u8) -> Result<(Tok<'a>, usize), SelectorError> {
        let body = start + 1;
        let rest = self.src.get(body..).unwrap_or("");
        match rest.find(char::from(quote)) {
            Some(len) => Ok((Tok::Str(self.slice(body, body + len)), body + len + 1)),
            None => {
                let q = char::from(quote);
                let other = if quote == b'"' { '\'' } else { '"' };
                let mut msg = format!("unterminated string: no closing `{q}` for this `{q}`");
                if rest.contains(other) {
                    msg.push_str(&format!(
                        " (a string opened with `{q}` must end with `{q}`, not `{other}`)"
                    ));
                }
                Err(SelectorError::new(start, msg))
            }
        }
    }

    /// Right after a LABEL: one of the operator words, with the word-boundary rule.
    fn operator(&self, start: usize, label: &str) -> Result<(Tok<'a>, usize), SelectorError> {
        let two_words = |first: &str, tok: Tok<'a>| -> Option<(Tok<'a>, usize)> {
            if !self.has_word(start, first) {
                return None;
            }
            let second = if first == "not" { "in" } else { "with" };
            let at = self.skip_blanks(start + first.len());
            let end = at + second.len();
            (self.has_word(at, second) && self.at_boundary(end)).then_some((tok, end))
        };
        let found = if self.has_word(start, "contains") && self.at_boundary(start + 8) {
            Some((Tok::Contains, start + 8))
        } else {
            two_words("starts", Tok::StartsWith)
                .or_else(|| two_words("ends", Tok::EndsWith))
                .or_else(|| two_words("not", Tok::NotIn))
                .or_else(|| {
                    (self.has_word(start, "in") && self.at_boundary(start + 2))
                        .then_some((Tok::In, start + 2))
                })
        };
        found.ok_or_else(|| {
            let word = self.slice(start, self.label_end(start));
            SelectorError::new(
                start,
                format!(
                    "expected an operator ({OPERATORS}) after the label `{}`, found `{}`",
                    snippet(label, 40),
                    snippet(word, 40)
                ),
            )
        })
    }

    /// Not after a LABEL: `has(...)`, `all()`, `global()` or a LABEL.
    fn word(&self, start: usize) -> Result<(Tok<'a>, usize), SelectorError> {
        if self.has_word(start, "has(") {
            return self.has(start);
        }
        for (word, tok) in [("all(", Tok::All), ("global(", Tok::Global)] {
            if self.has_word(start, word) {
                let at = self.skip_blanks(start + word.len());
                if self.byte(at) == Some(b')') {
                    return Ok((tok, at + 1));
                }
                let name = word.trim_end_matches('(');
                return Err(SelectorError::new(
                    at,
                    format!("expected `)` to close `{name}(`: `{name}()` takes no arguments"),
                ));
            }
        }
        let end = self.label(start)?;
        Ok((Tok::Label(self.slice(start, end)), end))
    }

    /// A label starting at `start` (which holds a label character); returns its end.
    fn label(&self, start: usize) -> Result<usize, SelectorError> {
        let end = self.label_end(start);
        let len = end - start;
        if len > MAX_LABEL_LEN {
            return Err(SelectorError::new(
                start,
                format!("label too long: {len} characters (the maximum is {MAX_LABEL_LEN})"),
            ));
        }
        Ok(end)
    }

    /// `has(` ws* LABEL ws* `)`.
    fn has(&self, start: usize) -> Result<(Tok<'a>, usize), SelectorError> {
        let at = self.skip_blanks(start + 4);
        if !self.byte(at).is_some_and(is_label_byte) {
            let msg = match self.byte(at) {
                Some(b')') => "empty `has()`: expected a label name".to_string(),
                None => "expected a label name after `has(`, found the end of the selector".into(),
                Some(_) => "expected a label name after `has(`".into(),
            };
            return Err(SelectorError::new(at, msg));
        }
        let end = self.label(at)?;
        let close = self.skip_blanks(end);
        if self.byte(close) != Some(b')') {
            let found = if close >= self.src.len() {
                " before the end of the selector".to_string()
            } else {
                String::new()
            };
            return Err(SelectorError::new(
                close,
                format!("expected `)` to close `has(`{found}"),
            ));
        }
        Ok((Tok::Has(self.slice(at, end)), close + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<Vec<Tok<'_>>, SelectorError> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            if t.tok == Tok::Eof {
                return Ok(out);
            }
            out.push(t.tok);
        }
    }

    fn toks(src: &str) -> Vec<Tok<'_>> {
        lex(src).unwrap_or_else(|e| panic!("{src:?} should lex: {e}"))
    }

    fn err(src: &str) -> SelectorError {
        match lex(src) {
            Ok(t) => panic!("{src:?} should not lex, got {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn simple_tokens() {
        use Tok::*;
        assert_eq!(
            toks(" ( ) { } , == != ! && || "),
            vec![LParen, RParen, LBrace, RBrace, Comma, Eq, Ne, Not, And, Or]
        );
        assert_eq!(toks("a!='\"'"), vec![Label("a"), Ne, Str("\"")]);
        assert_eq!(toks("!!="), vec![Not, Ne]);
    }

    #[test]
    fn strings_have_no_escapes() {
        assert_eq!(toks(r#""a\""#), vec![Tok::Str(r"a\")]);
        assert_eq!(toks("''"), vec![Tok::Str("")]);
        assert_eq!(toks("'say \"hi\"'"), vec![Tok::Str("say \"hi\"")]);
        assert_eq!(toks("\"line\nbreak\""), vec![Tok::Str("line\nbreak")]);
        assert_eq!(toks("'ünï'"), vec![Tok::Str("ünï")]);
    }

    #[test]
    fn unterminated_strings_point_at_the_quote() {
        let e = err("label == \"value");
        assert_eq!(e.offset, 9);
        assert!(e.message.starts_with("unterminated string"), "{e}");
        let e = err("\"FOO'");
        assert_eq!(e.offset, 0);
        assert!(e.message.contains("not `'`"), "{e}");
    }

    #[test]
    fn lone_operator_characters() {
        assert_eq!(err("label = \"value\"").offset, 6);
        assert_eq!(err("a == \"b\" & has(foo)").offset, 9);
        assert_eq!(err("a == \"b\" | has(foo)").offset, 9);
        assert_eq!(
            err("a =").message,
            "expected `==`: a single `=` is not an operator"
        );
    }

    #[test]
    fn only_space_and_tab_are_whitespace() {
        assert_eq!(toks("\ta\t==\t'b'\t").len(), 3);
        let e = err("a == 'b'\n");
        assert_eq!(e.offset, 8);
        assert!(e.message.contains("line break"));
        assert_eq!(err("a == 'b' &&\r b == 'c'").offset, 11);
        assert_eq!(err("\u{a0}").message, "unexpected character `\\u{a0}`");
        assert_eq!(err("\u{0}").message, "unexpected character `\\0`");
    }

    #[test]
    fn labels() {
        assert_eq!(
            toks("projectcalico.org/name-x_1 =="),
            vec![Tok::Label("projectcalico.org/name-x_1"), Tok::Eq]
        );
        let ok = "a".repeat(512);
        assert_eq!(toks(&format!("{ok} == 'x'")).len(), 3);
        let long = "a".repeat(513);
        let e = err(&format!("{long} == 'x'"));
        assert_eq!(e.offset, 0);
        assert!(e.message.starts_with("label too long: 513"), "{e}");
        let e = err(&format!("has({long})"));
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn has_all_global() {
        assert_eq!(toks("has( a )"), vec![Tok::Has("a")]);
        assert_eq!(toks("has(a)has(b)"), vec![Tok::Has("a"), Tok::Has("b")]);
        assert_eq!(toks("all( )global(\t)"), vec![Tok::All, Tok::Global]);
        assert_eq!(toks("has (a)")[0], Tok::Label("has"));
        assert_eq!(toks("all ()")[0], Tok::Label("all"));
        assert_eq!(err("has()").offset, 4);
        assert_eq!(err("has(").offset, 4);
        assert_eq!(err("has(foo").offset, 7);
        assert_eq!(err("has( foo ").offset, 9);
        assert_eq!(err("has(foo bar)").offset, 8);
        assert_eq!(err("has(%)").offset, 4);
        assert_eq!(err("all(").offset, 4);
        assert_eq!(err("global( x)").offset, 8);
    }

    #[test]
    fn operator_words_only_after_a_label() {
        use Tok::*;
        assert_eq!(
            toks("contains contains 'contains'"),
            vec![Label("contains"), Contains, Str("contains")]
        );
        assert_eq!(
            toks("startswith starts with 'v'"),
            vec![Label("startswith"), StartsWith, Str("v")]
        );
        assert_eq!(toks("a startswith''")[1], StartsWith);
        assert_eq!(toks("a starts \t with''")[1], StartsWith);
        assert_eq!(toks("a endswith''")[1], EndsWith);
        assert_eq!(toks("a notin{}")[1], NotIn);
        assert_eq!(toks("a not  in{}")[1], NotIn);
        assert_eq!(toks("a in{}")[1], In);
        assert_eq!(toks("a contains\"x\"")[1], Contains);
        assert_eq!(toks("all == 'x'")[0], Label("all"));
        assert_eq!(toks("in in {}"), vec![Label("in"), In, LBrace, RBrace]);
        assert_eq!(err("a has(b)").offset, 2);
    }

    #[test]
    fn operator_word_errors() {
        for (src, at) in [
            ("label starts foo \"value\"", 6),
            ("label inf \"value\"", 6),
            ("label ends foo \"value\"", 6),
            ("label ends withs \"value\"", 6),
            ("label squiggles \"value\"", 6),
            ("a b", 2),
            ("a containsx ''", 2),
            ("a not", 2),
            ("a starts", 2),
            ("a == b c", 7),
        ] {
            let e = err(src);
            assert_eq!(e.offset, at, "{src}: {e}");
            assert!(e.message.starts_with("expected an operator"), "{src}: {e}");
        }
        assert!(
            err("a b")
                .message
                .contains("after the label `a`, found `b`")
        );
    }

    #[test]
    fn multibyte_input_never_panics() {
        for src in [
            "é",
            "a é",
            "a == 'é' é",
            "has(é)",
            "é==",
            "a\u{1F600}",
            "'\u{1F600}",
        ] {
            let _ = lex(src);
        }
        assert_eq!(err("a == 'x' é").offset, 9);
    }
}
