//! Policy spec checks (spec §1.4–§1.6, §1.11; checklist P1–P9): tier, order, policy-level
//! selectors, `types`, GlobalNetworkPolicy flags, performance hints, staged actions, rule counts
//! and rule placement (services / http per direction).

use super::rule::check_rule;
use super::selectors::{Place, check_selector};
use super::util::{cover, is_dns_label, ptr_i, quote, suggest_name};
use super::{Cx, Diagnostic};
use crate::model::{Direction, Kind, Policy, Rule};
use crate::pointer::Pointer;
use crate::source::{Span, Spanned};

/// CRD `MaxItems` of `ingress` / `egress` (v3.33+).
pub const MAX_RULES: usize = 1024;

/// Name prefixes exempt from the v3.29–v3.31 tier-prefix rule.
const TIER_PREFIX_EXEMPT: [&str; 4] = [
    "knp.default.",
    "kanp.adminnetworkpolicy.",
    "kbanp.baselineadminnetworkpolicy.",
    "ossg.",
];

/// The selector the Kubernetes converter produces for an empty `podSelector`.
const K8S_EMPTY_POD_SELECTOR: &str = "projectcalico.org/orchestrator == 'k8s'";

const STAGED_ACTIONS: [&str; 4] = ["Set", "Delete", "Learn", "Ignore"];

const PERFORMANCE_HINTS: [&str; 1] = ["AssumeNeededOnEveryNode"];

pub fn check_policy(cx: &mut Cx, p: &Policy) {
    check_tier_field(cx, p);
    check_tiered_name(cx, p);
    if let Some(order) = &p.order {
        check_order(cx, order, "/spec/order");
    }
    check_policy_selectors(cx, p);
    check_types(cx, p);
    check_rule_count(
        cx,
        &p.ingress,
        p.ingress_span.unwrap_or(p.spec_span),
        Direction::Ingress,
    );
    check_rule_count(
        cx,
        &p.egress,
        p.egress_span.unwrap_or(p.spec_span),
        Direction::Egress,
    );
    if cx.is_global_policy() {
        check_gnp_flags(cx, p);
    }
    check_performance_hints(cx, p);
    check_staged(cx, p);
    for (direction, rules) in [
        (Direction::Ingress, &p.ingress),
        (Direction::Egress, &p.egress),
    ] {
        for rule in rules {
            check_rule(cx, rule);
            check_rule_placement(cx, rule, direction);
        }
    }
}

/// `order` must be a finite number (YAML `.nan` / `.inf` have no JSON form).
pub fn check_order(cx: &mut Cx, order: &Spanned<f64>, pointer: &str) {
    if !order.value.is_finite() {
        cx.report(
            order.span,
            pointer,
            format!("order must be a finite number (got `{}`)", order.value),
        );
    }
}

/// E5 (rules): at most 1024 rules per direction from v3.33.
pub fn check_rule_count(cx: &mut Cx, rules: &[Rule], span: Span, direction: Direction) {
    if cx.size_limits() && rules.len() > MAX_RULES {
        cx.report(
            span,
            Pointer::of(&["spec", direction.as_str()]),
            format!(
                "too many {} rules: {} (at most {MAX_RULES} since Calico v3.33)",
                direction.as_str(),
                rules.len()
            ),
        );
    }
}

/// P8 (tier): `spec.tier` exists only from v3.29 and names a tier (a DNS label).
fn check_tier_field(cx: &mut Cx, p: &Policy) {
    let Some(tier) = &p.tier else {
        return;
    };
    let pointer = "/spec/tier";
    if !cx.at_least(3, 29) {
        let message = format!(
            "`spec.tier` requires Calico v3.29 or later (target is {}): Calico OSS has no tiers before v3.29",
            cx.target
        );
        cx.report(tier.span, pointer, message);
        return;
    }
    if tier.value.is_empty() || is_dns_label(&tier.value) {
        return;
    }
    let mut v = Diagnostic::new(
        tier.span,
        pointer,
        format!(
            "invalid tier name {}: tier names are lower-case DNS labels (at most 63 alphanumeric characters or `-`, no `.`)",
            quote(&tier.value)
        ),
    );
    if let Some(s) = suggest_name(&tier.value, Some(0)).filter(|s| is_dns_label(s)) {
        v = v.with_help(format!("try {}", quote(&s)));
    }
    cx.push(v);
}

/// The tier whose prefix the policy's name lacks, when the target version requires one
/// (v3.29–v3.31: a policy outside tier `default` must be named `<tier>.<name>`, and a dotted
/// name must start with its tier); with the name's part after any prefix.
pub(crate) fn missing_tier_prefix<'a>(cx: &'a Cx) -> Option<(&'a str, &'a str)> {
    if !cx.at_least(3, 29) || cx.at_least(3, 32) {
        return None;
    }
    if !matches!(
        cx.kind(),
        Kind::NetworkPolicy
            | Kind::GlobalNetworkPolicy
            | Kind::StagedNetworkPolicy
            | Kind::StagedGlobalNetworkPolicy
    ) {
        return None;
    }
    let name = cx.res.meta.name.as_ref()?;
    if name.value.is_empty() || TIER_PREFIX_EXEMPT.iter().any(|x| name.value.starts_with(x)) {
        return None;
    }
    let tier = cx.res.policy()?.tier_name();
    let (ok, base) = match name.value.split_once('.') {
        None => (
            tier == crate::model::tier::DEFAULT_TIER.name,
            name.value.as_str(),
        ),
        Some((prefix, rest)) => (prefix == tier, rest),
    };
    (!ok).then_some((tier, base))
}

/// P8 (≤v3.31 tier prefix), see [`missing_tier_prefix`]. A name that also breaks the name
/// grammar is reported once, by the name check, which states both.
fn check_tiered_name(cx: &mut Cx, p: &Policy) {
    if !super::meta::name_matches_grammar(cx) {
        return;
    }
    let Some((tier, base)) = missing_tier_prefix(cx) else {
        return;
    };
    let tier = tier.to_string();
    let base = base.to_string();
    let Some(name) = &cx.res.meta.name else {
        return;
    };
    let suggestion = format!("{tier}.{}", base.replace('.', "-"));
    let mut v = Diagnostic::new(
        name.span,
        "/metadata/name",
        format!(
            "policy name {} is incorrectly formatted for tier `{tier}`: Calico {} requires policies outside tier `default` to be named `<tier>.<name>`, and dotted names to start with their tier",
            quote(&name.value),
            cx.target
        ),
    )
    .with_help(format!(
        "rename it to {} (Calico v3.32 and later drop this requirement)",
        quote(&suggestion)
    ));
    if let Some(t) = &p.tier {
        v = v.with_related(cx.related("tier set here", t.span, "/spec/tier"));
    }
    cx.push(v);
}

/// P4 / E1 / E5 on `selector`, `serviceAccountSelector` and GNP `namespaceSelector`.
fn check_policy_selectors(cx: &mut Cx, p: &Policy) {
    let k8s = cx.is_k8s();
    if let Some(f) = &p.selector {
        let (pointer, name) = if k8s {
            ("/spec/podSelector", "podSelector")
        } else {
            ("/spec/selector", "selector")
        };
        check_selector(cx, f, pointer.into(), name, Place::PolicyLevel);
    }
    if let Some(f) = &p.service_account_selector {
        check_selector(
            cx,
            f,
            "/spec/serviceAccountSelector".into(),
            "serviceAccountSelector",
            Place::PolicyLevel,
        );
    }
    if let (Some(f), true) = (&p.namespace_selector, cx.is_global_policy()) {
        check_selector(
            cx,
            f,
            "/spec/namespaceSelector".into(),
            "namespaceSelector",
            Place::PolicyLevel,
        );
    }
}

/// P6: `types` values are exactly `Ingress`/`Egress`, unique, and (v3.32+ CRD) not empty.
fn check_types(cx: &mut Cx, p: &Policy) {
    let Some(types) = &p.types else {
        return;
    };
    let (base, field) = if cx.is_k8s() {
        ("/spec/policyTypes", "policyTypes")
    } else {
        ("/spec/types", "types")
    };
    if types.value.is_empty() && cx.at_least(3, 32) && cx.kind() != Kind::KubernetesNetworkPolicy {
        cx.push(
            Diagnostic::new(
                types.span,
                base,
                format!("`{field}` must list at least one of `Ingress`, `Egress` (an empty list is rejected since Calico v3.32)"),
            )
            .with_help(format!(
                "list the directions the policy applies to, or omit `{field}`"
            )),
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, t) in types.value.iter().enumerate() {
        let pointer = || ptr_i(base, i);
        let value = t.value.as_str();
        if value != "Ingress" && value != "Egress" {
            let mut v = Diagnostic::new(
                t.span,
                pointer(),
                format!(
                    "invalid policy type {}: must be `Ingress` or `Egress`",
                    quote(value)
                ),
            );
            if let Some(fix) = ["Ingress", "Egress"]
                .iter()
                .find(|x| x.eq_ignore_ascii_case(value))
            {
                v = v.with_help(format!("write `{fix}`"));
            }
            cx.push(v);
        } else if seen.contains(&value) {
            cx.report(
                t.span,
                pointer(),
                format!("'{value}' type specified more than once"),
            );
        } else {
            seen.push(value);
        }
    }
}

/// P5: GlobalNetworkPolicy `doNotTrack` / `preDNAT` / `applyOnForward` rules.
fn check_gnp_flags(cx: &mut Cx, p: &Policy) {
    let set = |flag: &Option<Spanned<bool>>| flag.as_ref().filter(|b| b.value).map(|b| b.span);
    let dnt = set(&p.do_not_track);
    let pre = set(&p.pre_dnat);
    let aof = set(&p.apply_on_forward).is_some();

    if let (Some(dnt), Some(pre)) = (dnt, pre) {
        let v = Diagnostic::new(
            pre,
            "/spec/preDNAT",
            "preDNAT and doNotTrack cannot both be true",
        )
        .with_related(cx.related("doNotTrack set here", dnt, "/spec/doNotTrack"));
        cx.push(v);
    }
    if let Some(pre) = pre {
        if !p.egress.is_empty() {
            let v = Diagnostic::new(
                p.egress_span.unwrap_or(p.spec_span),
                "/spec/egress",
                "preDNAT policy cannot have any egress rules",
            )
            .with_help("pre-DNAT policy applies to ingress traffic only; move the egress rules to another policy")
            .with_related(cx.related("preDNAT set here", pre, "/spec/preDNAT"));
            cx.push(v);
        }
        if let Some(types) = &p.types {
            for (i, t) in types.value.iter().enumerate() {
                if t.value == "Egress" {
                    cx.push(
                        Diagnostic::new(
                            t.span,
                            ptr_i("/spec/types", i),
                            "preDNAT policy cannot have 'Egress' type",
                        )
                        .with_related(cx.related(
                            "preDNAT set here",
                            pre,
                            "/spec/preDNAT",
                        )),
                    );
                }
            }
        }
    }
    if !aof {
        let trigger = dnt
            .map(|s| (s, "/spec/doNotTrack"))
            .or(pre.map(|s| (s, "/spec/preDNAT")));
        if let Some((span, pointer)) = trigger {
            let (span, pointer) = match &p.apply_on_forward {
                Some(a) => (a.span, "/spec/applyOnForward"),
                None => (span, pointer),
            };
            cx.push(
                Diagnostic::new(
                    span,
                    pointer,
                    "applyOnForward must be true if either preDNAT or doNotTrack is true",
                )
                .with_help("set `applyOnForward: true`"),
            );
        }
    }
}

/// P7: `performanceHints` ⊆ {AssumeNeededOnEveryNode}, unique.
fn check_performance_hints(cx: &mut Cx, p: &Policy) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, hint) in p.performance_hints.iter().enumerate() {
        let pointer = ptr_i("/spec/performanceHints", i);
        let value = hint.value.as_str();
        if !PERFORMANCE_HINTS.contains(&value) {
            let mut v = Diagnostic::new(
                hint.span,
                pointer,
                format!(
                    "invalid performance hint {}: the only supported hint is `AssumeNeededOnEveryNode`",
                    quote(value)
                ),
            );
            if PERFORMANCE_HINTS
                .iter()
                .any(|h| h.eq_ignore_ascii_case(value))
            {
                v = v.with_help("write `AssumeNeededOnEveryNode`");
            }
            cx.push(v);
        } else if seen.contains(&value) {
            cx.report(
                hint.span,
                pointer,
                format!("performance hint {} is listed more than once", quote(value)),
            );
        } else {
            seen.push(value);
        }
    }
}

/// `stagedAction` values and P9 (Delete ⇒ zero spec).
fn check_staged(cx: &mut Cx, p: &Policy) {
    let Some(action) = &p.staged_action else {
        return;
    };
    let value = action.value.as_str();
    if !value.is_empty() && !STAGED_ACTIONS.contains(&value) {
        let mut v = Diagnostic::new(
            action.span,
            "/spec/stagedAction",
            format!(
                "invalid stagedAction {}: must be one of Set, Delete, Learn, Ignore",
                quote(value)
            ),
        );
        if let Some(fix) = STAGED_ACTIONS
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value))
        {
            v = v.with_help(format!("write `{fix}`"));
        }
        cx.push(v);
    }
    if value == "Delete" {
        check_staged_delete(cx, p, action.span);
    }
}

fn check_staged_delete(cx: &mut Cx, p: &Policy, action_span: Span) {
    let non_empty = |f: &Option<crate::model::SelectorField>| {
        f.as_ref()
            .filter(|f| !f.raw.value.is_empty())
            .map(|f| f.raw.span)
    };
    let spec = p.spec_span;
    let mut fields: Vec<(Span, &str, &str)> = Vec::new();
    let reason;
    if cx.kind() == Kind::StagedKubernetesNetworkPolicy {
        reason = "Spec fields should all be zero-value if stagedAction is Delete";
        if let Some(f) = &p.selector {
            let v = f.raw.value.as_str();
            if !v.is_empty() && v != K8S_EMPTY_POD_SELECTOR {
                fields.push((f.raw.span, "/spec/podSelector", "podSelector"));
            }
        }
        if p.k8s_policy_types_written {
            let span = p.types.as_ref().map_or(spec, |t| t.span);
            fields.push((span, "/spec/policyTypes", "policyTypes"));
        }
    } else {
        reason = "Spec fields, except Tier, should all be zero-value if stagedAction is Delete";
        if let Some(o) = &p.order {
            fields.push((o.span, "/spec/order", "order"));
        }
        if let Some(s) = non_empty(&p.selector) {
            fields.push((s, "/spec/selector", "selector"));
        }
        if let Some(s) = non_empty(&p.service_account_selector) {
            fields.push((s, "/spec/serviceAccountSelector", "serviceAccountSelector"));
        }
        if let Some(s) = non_empty(&p.namespace_selector) {
            fields.push((s, "/spec/namespaceSelector", "namespaceSelector"));
        }
        let flags = [
            (&p.do_not_track, "/spec/doNotTrack", "doNotTrack"),
            (&p.pre_dnat, "/spec/preDNAT", "preDNAT"),
            (
                &p.apply_on_forward,
                "/spec/applyOnForward",
                "applyOnForward",
            ),
        ];
        for (flag, pointer, name) in flags {
            if let Some(b) = flag.as_ref().filter(|b| b.value) {
                fields.push((b.span, pointer, name));
            }
        }
        if let Some(span) = cover(&p.performance_hints) {
            fields.push((span, "/spec/performanceHints", "performanceHints"));
        }
    }
    if !p.ingress.is_empty() {
        fields.push((p.ingress_span.unwrap_or(spec), "/spec/ingress", "ingress"));
    }
    if !p.egress.is_empty() {
        fields.push((p.egress_span.unwrap_or(spec), "/spec/egress", "egress"));
    }
    for (span, pointer, name) in fields {
        let v = Diagnostic::new(
            span,
            pointer,
            format!("`{name}` must not be set when stagedAction is Delete ({reason})"),
        )
        .with_help("a staged Delete only previews removing the policy; leave the spec empty")
        .with_related(cx.related(
            "stagedAction is Delete here",
            action_span,
            "/spec/stagedAction",
        ));
        cx.push(v);
    }
}

/// P1–P3: services and http placement per direction; GlobalNetworkPolicy services need a
/// namespace.
fn check_rule_placement(cx: &mut Cx, rule: &Rule, direction: Direction) {
    let base = &rule.pointer;
    // A Service is matched on the remote side only. HTTP in egress rules is CAL102
    // (alp-egress), not repeated here.
    let (services, side, message, help) = match direction {
        Direction::Egress => (
            &rule.source.services,
            "source",
            "services are not allowed in egress rule source",
            "egress rules match a Service with `destination.services`",
        ),
        Direction::Ingress => (
            &rule.destination.services,
            "destination",
            "services are not allowed in ingress rule destination",
            "ingress rules match a Service with `source.services`",
        ),
    };
    if let Some(svc) = services {
        cx.push(
            Diagnostic::new(svc.span, base.child(side).child("services"), message).with_help(help),
        );
    }
    if cx.is_global_policy() {
        let (svc, side) = match direction {
            Direction::Egress => (&rule.destination.services, "destination"),
            Direction::Ingress => (&rule.source.services, "source"),
        };
        if let Some(svc) = svc {
            if svc.namespace.as_ref().is_none_or(|n| n.value.is_empty()) {
                let span = svc.namespace.as_ref().map_or(svc.span, |n| n.span);
                cx.push(
                    Diagnostic::new(
                        span,
                        base.child(side).child("services"),
                        "services match must specify a namespace in a GlobalNetworkPolicy",
                    )
                    .with_help("add `namespace:` with the Service's namespace"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
