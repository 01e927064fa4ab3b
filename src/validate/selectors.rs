//! Checks shared by every selector field: parse errors (E1), newlines (W-20 detail), the v3.33
//! length limit (E5) and `global()` placement (E2, E3, P4; spec §3.5).

use super::Cx;
use super::Diagnostic;
use super::util::{char_len, char_span, quote, sub_span};
use crate::model::SelectorField;
use crate::pointer::Lazy;

/// CRD `MaxLength` of selector strings (v3.33+).
pub const MAX_SELECTOR_CHARS: usize = 1024;

/// Where a selector sits; decides which placement rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Policy `spec.selector`, `spec.serviceAccountSelector`, GNP `spec.namespaceSelector`:
    /// no `global(`; length-limited.
    PolicyLevel,
    /// Entity `selector`: no `global(`; length-limited.
    EntitySelector,
    /// Entity `notSelector`: length-limited, `global()` unchecked.
    EntityNotSelector,
    /// Entity `namespaceSelector`: `global()` allowed only alone; length-limited.
    EntityNamespaceSelector,
    /// `serviceAccounts.selector`: no limit, `global()` unchecked.
    ServiceAccounts,
}

/// Run every selector check on `field` (whose JSON Pointer is `pointer`; `name` is the field name
/// used in messages).
pub fn check_selector(
    cx: &mut Cx,
    field: &SelectorField,
    pointer: Lazy<'_>,
    name: &str,
    place: Place,
) {
    let raw = &field.raw;
    let value = raw.value.as_str();

    if let Some(why) = &field.over_limit {
        // Not a Calico rule: calint's own bound (`SelectorLimits`). The selector was not
        // parsed, so the parse-dependent checks below have nothing to say.
        cx.push(
            Diagnostic::new(raw.span, pointer, format!("{name} not analyzed: {why}")).with_help(
                "calint bounds selector size to keep the analysis fast on hostile input; \
                 split the policy, or raise the limit (`SelectorLimits`)",
            ),
        );
    } else if let Some(nl) = value.find(['\n', '\r']) {
        let one_line = value
            .split(['\n', '\r'])
            .map(|part| part.trim_matches([' ', '\t']))
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut v = Diagnostic::new(
            char_span(raw, nl),
            pointer,
            format!(
                "invalid {name} {}: selector contains a newline; YAML block scalars `|`/`>` keep a trailing newline — use `|-` or a plain scalar",
                quote(value)
            ),
        );
        if !one_line.is_empty() {
            v = v.with_help(format!("write it on one line: {}", quote(&one_line)));
        }
        cx.push(v);
    } else if let Err(err) = &field.parsed {
        cx.report(
            char_span(raw, err.offset),
            pointer,
            format!("invalid {name} {}: {}", quote(value), err.message),
        );
    }

    if cx.size_limits() && place != Place::ServiceAccounts {
        let len = char_len(value);
        if len > MAX_SELECTOR_CHARS {
            cx.report(
                raw.span,
                pointer,
                format!(
                    "{name} is too long: {len} characters (at most {MAX_SELECTOR_CHARS} since Calico v3.33)"
                ),
            );
        }
    }

    if cx.is_k8s() {
        // Built by the converter from Kubernetes label selectors; `global()` cannot appear.
        return;
    }
    match place {
        Place::PolicyLevel | Place::EntitySelector => {
            check_no_global(cx, field, pointer, name, place)
        }
        Place::EntityNamespaceSelector => check_lone_global(cx, field, pointer, name),
        Place::EntityNotSelector | Place::ServiceAccounts => {}
    }
}

/// P4 / E2: `global(` (v3.33+ CEL substring test; `global()` before) is rejected.
fn check_no_global(
    cx: &mut Cx,
    field: &SelectorField,
    pointer: Lazy<'_>,
    name: &str,
    place: Place,
) {
    let needle = if cx.at_least(3, 33) {
        "global("
    } else {
        "global()"
    };
    let Some(at) = field.raw.value.find(needle) else {
        return;
    };
    let help = match place {
        Place::EntitySelector => {
            "to match HostEndpoints and GlobalNetworkSets from a rule, write `namespaceSelector: global()` instead"
        }
        _ => "global() selects non-namespaced peers in rules only; it has no meaning here",
    };
    cx.push(
        Diagnostic::new(
            sub_span(&field.raw, at, needle.len()),
            pointer,
            format!(
                "global() can only be used in an EntityRule namespaceSelector (found in {name} {})",
                quote(&field.raw.value)
            ),
        )
        .with_help(help),
    );
}

/// E3: an entity `namespaceSelector` that mentions `global(` must be exactly `global()`
/// (whitespace around and inside the parentheses allowed).
fn check_lone_global(cx: &mut Cx, field: &SelectorField, pointer: Lazy<'_>, name: &str) {
    let value = field.raw.value.as_str();
    if !value.contains("global(") || is_lone_global(value) {
        return;
    }
    cx.push(
        Diagnostic::new(
            field.raw.span,
            pointer,
            format!(
                "global() cannot be combined with other selectors (in {name} {})",
                quote(value)
            ),
        )
        .with_help(
            "`namespaceSelector: global()` must stand alone; put the other conditions in `selector`",
        ),
    );
}

/// Whether `s` tokenizes to exactly one `global()` token.
fn is_lone_global(s: &str) -> bool {
    let ws = [' ', '\t'];
    s.trim_matches(ws)
        .strip_prefix("global(")
        .is_some_and(|rest| rest.trim_start_matches(ws) == ")")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::model::selector::SelectorError;
    use crate::source::{Span, Spanned};
    use crate::validate::CalicoVersion;
    use crate::validate::testutil::*;

    fn run(
        kind: Kind,
        target: CalicoVersion,
        field: &SelectorField,
        place: Place,
    ) -> Vec<Diagnostic> {
        let res = policy_resource(kind, "p", Default::default());
        let mut cx = Cx::new(&res, target);
        check_selector(&mut cx, field, "/spec/selector".into(), "selector", place);
        cx.out
    }

    #[test]
    fn selectors_beyond_calints_limits_are_reported_once() {
        use crate::model::selector::SelectorLimits;
        let limits = SelectorLimits {
            max_bytes: 40,
            max_terms: 3,
        };
        let long = "a == 'b' && ".repeat(4) + "c == 'd'";
        let field = SelectorField::with_limits(Spanned::new(long, Span::new(7, 67)), &limits);
        assert!(field.parsed.is_err());
        let v = run(Kind::NetworkPolicy, V3_31, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].span, Span::new(7, 67));
        assert!(v[0].message.contains("not analyzed"), "{}", v[0].message);
        assert!(
            v[0].message.contains("limit of 40 bytes"),
            "{}",
            v[0].message
        );

        let many = "k in {'a', 'b'} || has(x) || y == 'z'".to_string();
        let field = SelectorField::with_limits(Spanned::new(many, Span::new(0, 37)), &limits);
        let v = run(Kind::NetworkPolicy, V3_31, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("4 terms"), "{}", v[0].message);

        let fine = SelectorField::with_limits(s("k in {'a', 'b'} || has(x)"), &limits);
        assert!(fine.over_limit.is_none() && fine.parsed.is_ok());
    }

    #[test]
    fn parse_errors_point_into_the_string() {
        let mut field = sel_at("a == ", 100);
        field.parsed = Err(SelectorError {
            offset: 5,
            message: "unexpected end of selector".into(),
        });
        let v = run(Kind::NetworkPolicy, V3_33, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].span, Span::new(105, 105));
        assert_eq!(v[0].pointer, "/spec/selector");
        assert!(v[0].message.contains("unexpected end of selector"));
        assert!(v[0].message.contains("`a == `"));

        // Quoted scalar: one extra char for the opening quote.
        let mut quoted = SelectorField::new(Spanned::new("a = 'b'".into(), Span::new(10, 19)));
        quoted.parsed = Err(SelectorError {
            offset: 2,
            message: "expected ==".into(),
        });
        let v = run(Kind::NetworkPolicy, V3_33, &quoted, Place::PolicyLevel);
        assert_eq!(v[0].span, Span::new(13, 14));

        // Valid selector: nothing.
        assert!(
            run(
                Kind::NetworkPolicy,
                V3_33,
                &sel("a == 'b'"),
                Place::PolicyLevel
            )
            .is_empty()
        );
    }

    #[test]
    fn newline_gets_a_dedicated_message() {
        let field = sel_at("app == 'x'\n", 0);
        let v = run(Kind::NetworkPolicy, V3_33, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("selector contains a newline"));
        assert!(v[0].message.contains("`|-`"));
        assert_eq!(
            v[0].help.as_deref(),
            Some("write it on one line: `app == 'x'`")
        );
        assert_eq!(v[0].span, Span::new(10, 11));
        // A parse error caused by the newline is not reported twice.
        let mut field = sel_at("a == 'x'\r\n&& b == 'y'", 0);
        field.parsed = Err(SelectorError {
            offset: 8,
            message: "unexpected character".into(),
        });
        let v = run(Kind::NetworkPolicy, V3_33, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].help.as_deref(),
            Some("write it on one line: `a == 'x' && b == 'y'`")
        );
    }

    #[test]
    fn length_limit_from_3_33() {
        let long = format!("a == '{}'", "x".repeat(1100));
        let field = sel(&long);
        let v = run(Kind::NetworkPolicy, V3_33, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("too long"));
        assert!(run(Kind::NetworkPolicy, V3_32, &field, Place::PolicyLevel).is_empty());
        assert!(run(Kind::NetworkPolicy, V3_33, &field, Place::ServiceAccounts).is_empty());
        assert!(
            run(
                Kind::KubernetesNetworkPolicy,
                V3_33,
                &field,
                Place::PolicyLevel
            )
            .is_empty()
        );
        let ok = format!("a == '{}'", "x".repeat(1017));
        assert_eq!(ok.chars().count(), 1024);
        assert!(run(Kind::NetworkPolicy, V3_33, &sel(&ok), Place::PolicyLevel).is_empty());
    }

    #[test]
    fn global_is_rejected_outside_entity_namespace_selectors() {
        let field = sel_at("global() && a == 'b'", 50);
        let v = run(Kind::GlobalNetworkPolicy, V3_33, &field, Place::PolicyLevel);
        assert_eq!(v.len(), 1);
        assert!(
            v[0].message
                .starts_with("global() can only be used in an EntityRule namespaceSelector")
        );
        assert_eq!(v[0].span, Span::new(50, 57));
        let v = run(Kind::NetworkPolicy, V3_33, &field, Place::EntitySelector);
        assert_eq!(v.len(), 1);
        // Unchecked places.
        assert!(run(Kind::NetworkPolicy, V3_33, &field, Place::EntityNotSelector).is_empty());
        assert!(run(Kind::NetworkPolicy, V3_33, &field, Place::ServiceAccounts).is_empty());
        // v3.33 tests `global(`, older versions `global()`.
        let partial = sel("a == 'global( x'");
        assert_eq!(
            run(Kind::NetworkPolicy, V3_33, &partial, Place::EntitySelector).len(),
            1
        );
        assert!(run(Kind::NetworkPolicy, V3_32, &partial, Place::EntitySelector).is_empty());
        assert_eq!(
            run(Kind::NetworkPolicy, V3_32, &field, Place::EntitySelector).len(),
            1
        );
    }

    #[test]
    fn entity_namespace_selector_global_must_stand_alone() {
        for ok in ["global()", "  global( )\t", "a == 'b'", ""] {
            assert!(
                run(
                    Kind::NetworkPolicy,
                    V3_33,
                    &sel(ok),
                    Place::EntityNamespaceSelector
                )
                .is_empty(),
                "{ok}"
            );
        }
        for bad in [
            "!global()",
            "global() && all()",
            "(global())",
            "global()||all()",
            "x == 'global()'",
        ] {
            let v = run(
                Kind::NetworkPolicy,
                V3_33,
                &sel(bad),
                Place::EntityNamespaceSelector,
            );
            assert_eq!(v.len(), 1, "{bad}");
            assert!(
                v[0].message
                    .starts_with("global() cannot be combined with other selectors")
            );
        }
    }
}
