//! Kind availability per version and `metadata` checks (spec §0.1, §1.1, §1.3): names,
//! namespaces, labels, annotations.

use super::util::{
    cover, is_dns_label, is_label_fmt, is_subdomain_fmt, label_value_error, ptr,
    qualified_name_error, quote, suggest_name,
};
use super::{Cx, Diagnostic};
use crate::model::Kind;
use crate::pointer::Lazy;
use crate::source::{Span, Spanned};

/// Maximum total size of annotation keys and values (256 KiB).
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// Longest object name (DNS-1123 subdomain).
pub const MAX_NAME_LEN: usize = 253;

/// Longest Tier name (DNS-1123 label).
pub const MAX_TIER_NAME_LEN: usize = 63;

/// The label Calico reserves for namespaced network sets.
const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";

/// Kinds that do not exist in older Calico releases (§0.1).
pub fn check_kind_available(cx: &mut Cx) {
    let kind = cx.kind();
    let since = match kind {
        Kind::Tier => (3, 29),
        Kind::StagedNetworkPolicy
        | Kind::StagedGlobalNetworkPolicy
        | Kind::StagedKubernetesNetworkPolicy => (3, 30),
        _ => return,
    };
    if !cx.at_least(since.0, since.1) {
        let message = format!(
            "{} resources require Calico v{}.{} or later (target is {})",
            kind.name(),
            since.0,
            since.1,
            cx.target
        );
        cx.report(cx.res.kind_span, "/kind", message);
    }
}

pub fn check_metadata(cx: &mut Cx) {
    check_name(cx);
    check_namespace(cx);
    let labels = &cx.res.meta.labels;
    check_labels(cx, labels, "/metadata/labels");
    if matches!(cx.kind(), Kind::NetworkSet | Kind::GlobalNetworkSet) {
        if let Some((key, _)) = labels.iter().find(|(k, _)| k.value == NAMESPACE_LABEL) {
            cx.push(
                Diagnostic::new(
                    key.span,
                    ptr("/metadata/labels", &key.value),
                    format!(
                        "label `{NAMESPACE_LABEL}` is reserved on {} resources (Calico rejects it as \"not a valid label name\")",
                        cx.kind().name()
                    ),
                )
                .with_help("Calico sets this label itself; remove it"),
            );
        }
    }
    check_annotations(cx, &cx.res.meta.annotations, "/metadata/annotations".into());
}

/// The `metadata.name` grammar of a kind at a version (§1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameRule {
    /// DNS-1123 subdomain (generic `nameRegex`).
    Subdomain,
    /// DNS-1123 label, at most 63 characters.
    Tier,
    /// `LABEL(.LABEL)?` (v3.29+; `LABEL` before) or `(knp|ossg).default.SUBDOMAIN`.
    NetworkPolicy { dotted: bool },
    /// `(LABEL.)?LABEL` (v3.29+; `LABEL` before).
    GlobalNetworkPolicy { dotted: bool },
}

impl NameRule {
    fn for_kind(cx: &Cx) -> NameRule {
        let dotted = cx.at_least(3, 29);
        match cx.kind() {
            Kind::Tier => NameRule::Tier,
            Kind::NetworkPolicy | Kind::StagedNetworkPolicy => NameRule::NetworkPolicy { dotted },
            Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy => {
                NameRule::GlobalNetworkPolicy { dotted }
            }
            _ => NameRule::Subdomain,
        }
    }

    fn max_len(self) -> usize {
        match self {
            NameRule::Tier => MAX_TIER_NAME_LEN,
            _ => MAX_NAME_LEN,
        }
    }

    fn matches(self, name: &str) -> bool {
        let one_or_two_labels = |s: &str, dotted: bool| match s.split_once('.') {
            Some((a, b)) => dotted && is_label_fmt(a) && is_label_fmt(b),
            None => is_label_fmt(s),
        };
        match self {
            NameRule::Subdomain => is_subdomain_fmt(name),
            NameRule::Tier => is_label_fmt(name),
            NameRule::NetworkPolicy { dotted } => {
                let converted = ["knp.default.", "ossg.default."]
                    .iter()
                    .find_map(|prefix| name.strip_prefix(prefix));
                converted.is_some_and(is_subdomain_fmt) || one_or_two_labels(name, dotted)
            }
            NameRule::GlobalNetworkPolicy { dotted } => one_or_two_labels(name, dotted),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            NameRule::Subdomain => {
                "must consist of lower-case alphanumeric characters, `-` or `.`, and each `.`-separated part must start and end with an alphanumeric character"
            }
            NameRule::Tier => {
                "must consist of lower-case alphanumeric characters or `-` (no `.`), and start and end with an alphanumeric character"
            }
            NameRule::NetworkPolicy { dotted: true }
            | NameRule::GlobalNetworkPolicy { dotted: true } => {
                "must consist of lower-case alphanumeric characters or `-` with at most one `.`, each part starting and ending with an alphanumeric character"
            }
            NameRule::NetworkPolicy { dotted: false }
            | NameRule::GlobalNetworkPolicy { dotted: false } => {
                "must consist of lower-case alphanumeric characters or `-` (no `.` before Calico v3.29), and start and end with an alphanumeric character"
            }
        }
    }

    fn max_dots(self) -> Option<usize> {
        match self {
            NameRule::Subdomain => None,
            NameRule::Tier
            | NameRule::NetworkPolicy { dotted: false }
            | NameRule::GlobalNetworkPolicy { dotted: false } => Some(0),
            NameRule::NetworkPolicy { dotted: true }
            | NameRule::GlobalNetworkPolicy { dotted: true } => Some(1),
        }
    }
}

/// Whether the resource's name (if any) fits its kind's name grammar at the target version.
pub(crate) fn name_matches_grammar(cx: &Cx) -> bool {
    cx.res
        .meta
        .name
        .as_ref()
        .is_none_or(|n| NameRule::for_kind(cx).matches(&n.value))
}

/// P8 (names): presence, length and the kind's grammar.
fn check_name(cx: &mut Cx) {
    let meta = &cx.res.meta;
    let Some(name) = &meta.name else {
        // Without `metadata` at all, lowering has already reported the resource.
        if meta.span != Span::default() {
            cx.report(meta.span, "/metadata", "`metadata.name` is required");
        }
        return;
    };
    let pointer = "/metadata/name";
    if name.value.is_empty() {
        cx.report(name.span, pointer, "`metadata.name` must not be empty");
        return;
    }
    let rule = NameRule::for_kind(cx);
    let kind = cx.kind().name();
    let max = rule.max_len();
    if name.value.len() > max {
        cx.report(
            name.span,
            pointer,
            format!(
                "{kind} name is too long by {} bytes (at most {max})",
                name.value.len() - max
            ),
        );
    }
    if !rule.matches(&name.value) {
        // v3.29–v3.31 also want the tier prefix: one finding states both requirements.
        let prefix = super::policy::missing_tier_prefix(cx)
            .map(|(t, base)| (t.to_string(), base.to_string()));
        let also = prefix.as_ref().map_or(String::new(), |(tier, _)| {
            format!(
                "; Calico {} also requires policies outside tier `default` to be named `<tier>.<name>` (here `{tier}.…`)",
                cx.target
            )
        });
        let mut v = Diagnostic::new(
            name.span,
            pointer,
            format!(
                "invalid {kind} name {}: {}{also}",
                quote(&name.value),
                rule.describe()
            ),
        );
        let suggestion = match &prefix {
            Some((tier, base)) => suggest_name(base, Some(0))
                .map(|s| format!("{tier}.{s}"))
                .map(|s| s.chars().take(max).collect::<String>())
                .filter(|s| rule.matches(s) && s.len() <= max),
            None => suggest_name(&name.value, rule.max_dots())
                .map(|s| s.chars().take(max).collect::<String>())
                .filter(|s| rule.matches(s) && s.len() <= max),
        };
        if let Some(suggestion) = suggestion {
            v = v.with_help(format!("try {}", quote(&suggestion)));
        }
        cx.push(v);
    }
}

/// §1.1: no namespace on cluster-scoped kinds; namespaces are DNS labels.
fn check_namespace(cx: &mut Cx) {
    let Some(ns) = &cx.res.meta.namespace else {
        return;
    };
    if ns.value.is_empty() {
        return;
    }
    let pointer = "/metadata/namespace";
    if !cx.kind().is_namespaced() {
        let v = Diagnostic::new(
            ns.span,
            pointer,
            format!(
                "namespace should not be specified for a non-namespaced resource ({} is cluster-scoped)",
                cx.kind().name()
            ),
        )
        .with_help("remove `metadata.namespace`");
        cx.push(v);
    } else if !is_dns_label(&ns.value) {
        let mut v = Diagnostic::new(
            ns.span,
            pointer,
            format!(
                "invalid namespace {}: must be a lower-case DNS label (at most 63 alphanumeric characters or `-`, starting and ending with an alphanumeric character)",
                quote(&ns.value)
            ),
        );
        if let Some(s) = suggest_name(&ns.value, Some(0)).filter(|s| is_dns_label(s)) {
            v = v.with_help(format!("try {}", quote(&s)));
        }
        cx.push(v);
    }
}

/// Label maps (`metadata.labels`, Profile `labelsToApply`): keys are qualified names, values
/// label values.
pub fn check_labels(cx: &mut Cx, labels: &[(Spanned<String>, Spanned<String>)], base: &str) {
    for (key, value) in labels {
        let pointer = || ptr(base, &key.value);
        if let Some(err) = qualified_name_error(&key.value) {
            cx.report(
                key.span,
                pointer(),
                format!("invalid label key {}: {err}", quote(&key.value)),
            );
        }
        if let Some(err) = label_value_error(&value.value) {
            cx.report(
                value.span,
                pointer(),
                format!(
                    "invalid value {} for label {}: {err}",
                    quote(&value.value),
                    quote(&key.value)
                ),
            );
        }
    }
}

/// Annotations (object and rule metadata): lower-cased keys are qualified names; keys and values
/// total at most 256 KiB.
pub fn check_annotations(
    cx: &mut Cx,
    annotations: &[(Spanned<String>, Spanned<String>)],
    base: Lazy<'_>,
) {
    let mut total = 0usize;
    for (key, value) in annotations {
        if let Some(err) = qualified_name_error(&key.value.to_lowercase()) {
            cx.report(
                key.span,
                base.child(&key.value),
                format!("invalid annotation key {}: {err}", quote(&key.value)),
            );
        }
        total = total
            .saturating_add(key.value.len())
            .saturating_add(value.value.len());
    }
    if total > MAX_ANNOTATION_BYTES {
        let keys: Vec<Spanned<()>> = annotations
            .iter()
            .map(|(k, v)| Spanned::new((), k.span.cover(v.span)))
            .collect();
        let span = cover(&keys).unwrap_or_default();
        cx.report(
            span,
            base,
            format!(
                "total size of annotations is too large by {} bytes (keys and values may total at most {MAX_ANNOTATION_BYTES} bytes)",
                total - MAX_ANNOTATION_BYTES
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, NetworkSet, Policy, Tier};
    use crate::source::Span;
    use crate::validate::testutil::*;

    fn np(name: &str) -> crate::model::Resource {
        policy_resource(Kind::NetworkPolicy, name, Policy::default())
    }

    fn gnp(name: &str) -> crate::model::Resource {
        policy_resource(Kind::GlobalNetworkPolicy, name, Policy::default())
    }

    #[test]
    fn kinds_by_version() {
        let tier = resource(Kind::Tier, "t", Body::Tier(Tier::default()));
        let v = validate_at(&tier, V3_28);
        let f = find(
            &v,
            "Tier resources require Calico v3.29 or later (target is v3.28)",
        );
        assert_eq!((f.pointer.as_str(), f.span), ("/kind", Span::new(5, 10)));
        assert_none(&validate_at(&tier, V3_29), "require Calico");

        let snp = policy_resource(Kind::StagedNetworkPolicy, "p", Policy::default());
        find(
            &validate_at(&snp, V3_29),
            "StagedNetworkPolicy resources require Calico v3.30",
        );
        assert_clean(&validate_at(&snp, V3_30));
        let sknp = policy_resource(Kind::StagedKubernetesNetworkPolicy, "p", Policy::default());
        find(&validate_at(&sknp, V3_29), "require Calico v3.30");
    }

    #[test]
    fn name_required() {
        let mut res = np("x");
        res.meta.name = None;
        let v = validate(&res);
        let f = find(&v, "`metadata.name` is required");
        assert_eq!(
            (f.pointer.as_str(), f.span),
            ("/metadata", Span::new(20, 80))
        );
        // No metadata at all: lowering reports that.
        res.meta = Default::default();
        assert_clean(&validate(&res));
        let v = validate(&np(""));
        assert_pointer(&v, "must not be empty", "/metadata/name");
    }

    #[test]
    fn network_policy_names() {
        for ok in [
            "th.ing",
            "thing",
            "knp.default.thing",
            "ossg.default.a.b.c",
            "a-1",
        ] {
            assert_clean(&validate(&np(ok)));
        }
        for bad in ["t.h.i.ng", "tHiNg", "my_policy", "-a", "a."] {
            let v = validate(&np(bad));
            let f = find(&v, "invalid NetworkPolicy name");
            assert_eq!(f.pointer, "/metadata/name");
            assert_eq!(f.span, Span::new(30, 30 + bad.len()));
        }
        let v = validate(&np("My_Policy"));
        assert_eq!(find(&v, "invalid").help.as_deref(), Some("try `my-policy`"));
        let v = validate(&np("a.b.c"));
        assert_eq!(find(&v, "invalid").help.as_deref(), Some("try `a.b-c`"));
        // Before v3.29 no dot (except the converted-policy prefixes).
        find(
            &validate_at(&np("th.ing"), V3_28),
            "no `.` before Calico v3.29",
        );
        assert_clean(&validate_at(&np("knp.default.x.y"), V3_28));
        // Staged NP follows the NP grammar.
        let snp = policy_resource(Kind::StagedNetworkPolicy, "a.b.c", Policy::default());
        find(&validate(&snp), "invalid StagedNetworkPolicy name");
    }

    #[test]
    fn global_network_policy_names() {
        assert_clean(&validate(&gnp("th.ing")));
        find(
            &validate(&gnp("knp.default.thing")),
            "invalid GlobalNetworkPolicy name",
        );
        find(
            &validate(&gnp("t~!s.h.i.ng")),
            "invalid GlobalNetworkPolicy name",
        );
        find(
            &validate_at(&gnp("th.ing"), V3_28),
            "invalid GlobalNetworkPolicy name",
        );
        assert_clean(&validate_at(&gnp("thing"), V3_28));
    }

    #[test]
    fn name_length() {
        let ok = "a".repeat(253);
        assert_clean(&validate(&np(&ok)));
        let long = "a".repeat(254);
        let v = validate(&np(&long));
        find(&v, "too long by 1 bytes");
        assert_eq!(v.len(), 1);
        let tier = |n: &str| resource(Kind::Tier, n, Body::Tier(Tier::default()));
        assert_clean(&validate(&tier(&"a".repeat(63))));
        find(
            &validate(&tier(&"a".repeat(64))),
            "too long by 1 bytes (at most 63)",
        );
        find(&validate(&tier("a.b")), "invalid Tier name");
    }

    #[test]
    fn generic_and_kubernetes_names_are_subdomains() {
        let set = |n: &str| resource(Kind::NetworkSet, n, Body::NetworkSet(NetworkSet::default()));
        assert_clean(&validate(&set("a.b.c")));
        find(&validate(&set("A.b")), "invalid NetworkSet name");
        let knp = policy_resource(Kind::KubernetesNetworkPolicy, "a.b.c", Policy::default());
        assert_clean(&validate(&knp));
        let sknp = policy_resource(
            Kind::StagedKubernetesNetworkPolicy,
            "a.b.c",
            Policy::default(),
        );
        assert_clean(&validate(&sknp));
        let bad = policy_resource(Kind::KubernetesNetworkPolicy, "a_b", Policy::default());
        find(&validate(&bad), "invalid NetworkPolicy name");
    }

    #[test]
    fn namespaces() {
        let mut res = gnp("p");
        res.meta.namespace = Some(s_at("prod", 60));
        let v = validate(&res);
        let f = find(
            &v,
            "namespace should not be specified for a non-namespaced resource",
        );
        assert_eq!(
            (f.pointer.as_str(), f.span),
            ("/metadata/namespace", Span::new(60, 64))
        );
        res.meta.namespace = Some(s(""));
        assert_clean(&validate(&res));

        let mut res = np("p");
        res.meta.namespace = Some(s("Prod_1"));
        let v = validate(&res);
        assert_eq!(
            find(&v, "invalid namespace `Prod_1`").help.as_deref(),
            Some("try `prod-1`")
        );
        res.meta.namespace = Some(s("prod-1"));
        assert_clean(&validate(&res));
    }

    #[test]
    fn labels() {
        let mut res = np("p");
        res.meta.labels = vec![
            (s("app.kubernetes.io/name"), s("web_1.x")),
            (s("bad key"), s("ok")),
            (s("k"), s("bad value")),
            (s("k2"), s("")),
        ];
        let v = validate(&res);
        assert_eq!(v.len(), 2, "{v:#?}");
        assert_pointer(
            &v,
            "invalid label key `bad key`",
            "/metadata/labels/bad key",
        );
        assert_pointer(
            &v,
            "invalid value `bad value` for label `k`",
            "/metadata/labels/k",
        );
    }

    #[test]
    fn reserved_label_on_network_sets() {
        let mut res = resource(
            Kind::GlobalNetworkSet,
            "s",
            Body::NetworkSet(NetworkSet::default()),
        );
        res.meta.labels = vec![(s("projectcalico.org/namespace"), s("x"))];
        let v = validate(&res);
        let f = find(&v, "is reserved on GlobalNetworkSet");
        assert_eq!(f.pointer, "/metadata/labels/projectcalico.org~1namespace");
        let mut res = np("p");
        res.meta.labels = vec![(s("projectcalico.org/namespace"), s("x"))];
        assert_clean(&validate(&res));
    }

    #[test]
    fn annotations() {
        let mut res = np("p");
        res.meta.annotations = vec![
            (s("Example.COM/Note"), s("any value at all\n")),
            (s("..."), s("")),
        ];
        let v = validate(&res);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_pointer(
            &v,
            "invalid annotation key `...`",
            "/metadata/annotations/...",
        );

        let big = "x".repeat(MAX_ANNOTATION_BYTES);
        res.meta.annotations = vec![(s_at("a", 100), s_at(&big, 103))];
        let v = validate(&res);
        let f = find(&v, "total size of annotations is too large by 1 bytes");
        assert_eq!(
            (f.pointer.as_str(), f.span),
            ("/metadata/annotations", Span::new(100, 103 + big.len()))
        );
        res.meta.annotations = vec![(s("a"), s(&big[1..]))];
        assert_clean(&validate(&res));
    }

    #[test]
    fn non_calico_kinds_are_not_validated() {
        let mut res = resource(Kind::Pod, "Bad_Name", Body::Workload(Default::default()));
        res.meta.labels = vec![(s("bad key"), s("x"))];
        assert_clean(&validate(&res));
    }
}
