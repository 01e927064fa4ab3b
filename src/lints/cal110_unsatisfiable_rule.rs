//! CAL110 unsatisfiable-rule: no packet can ever match the rule.

use super::LintContext;
use super::semantic::{RuleSite, analysis, by_scope, rule_site};
use super::{Lint, LintMeta, Sink};
use crate::analysis::UnsatRule;
use crate::analysis::rule_part::{EntityField, RulePart, RuleSide};

#[path = "cal110_long_service_accounts.rs"]
mod long_service_accounts;
use crate::finding::Severity;
use crate::model::resource::{EntityRule, Rule};

pub struct UnsatisfiableRule;

static META: LintMeta = LintMeta {
    code: "CAL110",
    name: "unsatisfiable-rule",
    default_severity: Severity::Warning,
    summary: "No packet can ever match the rule",
    doc: include_str!("../../rules/CAL110.md"),
};

/// The rule's `source` or `destination`.
fn side_of(rule: &Rule, side: RuleSide) -> &EntityRule {
    match side {
        RuleSide::Source => &rule.source,
        RuleSide::Destination => &rule.destination,
    }
}

/// The source text of a named rule part, for messages.
fn part_text(rule: &Rule, part: RulePart) -> Option<String> {
    let entity = |e: &EntityRule, field: EntityField| -> Option<String> {
        let sel = |f: Option<&crate::model::resource::SelectorField>| {
            f.as_ref().map(|s| format!("`{}`", s.raw.value))
        };
        let list = |v: Vec<String>| (!v.is_empty()).then(|| v.join(", "));
        match field {
            EntityField::Selector => sel(e.selector.as_ref()),
            EntityField::NotSelector => sel(e.not_selector.as_deref()),
            EntityField::Nets => list(e.nets.iter().map(|n| n.raw.value.clone()).collect()),
            EntityField::NotNets => list(e.not_nets.iter().map(|n| n.raw.value.clone()).collect()),
            EntityField::Ports => list(e.ports.iter().map(|p| p.value.to_string()).collect()),
            EntityField::NotPorts => {
                list(e.not_ports.iter().map(|p| p.value.to_string()).collect())
            }
            EntityField::Services => None,
        }
    };
    match part {
        RulePart::Entity(side, field) => entity(side_of(rule, side), field),
        RulePart::Protocol => rule.protocol.as_ref().map(|p| p.value.to_string()),
        RulePart::NotProtocol => rule.not_protocol.as_ref().map(|p| p.value.to_string()),
        _ => None,
    }
}

/// What restricts the rule's IP families, in words.
fn family_text(rule: &Rule) -> String {
    let mut why = Vec::new();
    if let Some(v) = &rule.ip_version {
        why.push(format!("ipVersion {}", v.value));
    }
    match rule
        .protocol
        .as_ref()
        .map(|p| p.value.to_string())
        .as_deref()
    {
        Some("ICMP") => why.push("protocol ICMP is IPv4 only".into()),
        Some("ICMPv6") => why.push("protocol ICMPv6 is IPv6 only".into()),
        _ => {}
    }
    let mut families = std::collections::BTreeSet::new();
    for e in [&rule.source, &rule.destination] {
        for n in e.nets.iter().chain(&e.not_nets) {
            if let Ok(c) = &n.parsed {
                families.insert(c.family.version());
                if c.is_catch_all() && e.not_nets.iter().any(|m| m.raw.value == n.raw.value) {
                    why.push(format!(
                        "notNets `{}` excludes every IPv{} address",
                        n.raw.value,
                        c.family.version()
                    ));
                }
            }
        }
    }
    if !families.is_empty() {
        let list: Vec<String> = families.iter().map(|f| format!("IPv{f}")).collect();
        why.push(format!("its CIDRs are {}", list.join(" and ")));
    }
    why.join(", ")
}

/// The analysis names a rule side's effective selector `source.selector` (spec §3.7.1).
/// When the rule has no `selector` there, that selector comes from other fields: say which.
fn implicit_selector_text(rule: &Rule, which: RuleSide, namespace: Option<&str>) -> String {
    let side = which.name();
    let e = side_of(rule, which);
    if let Some(ns) = &e.namespace_selector {
        return format!("{side}.namespaceSelector (`{}`)", ns.raw.value);
    }
    if e.service_accounts.is_some() {
        return format!("{side}.serviceAccounts");
    }
    match namespace {
        Some(ns) => format!(
            "the {side}'s implicit namespace scope (the rule has no {side} `selector`; in a namespaced policy its other {side} fields only match endpoints in namespace `{ns}`)"
        ),
        None => format!("the {side}'s endpoint match"),
    }
}

/// Why one selector part alone can never match, when the selector module can say.
fn selector_reason(rule: &Rule, part: RulePart) -> Option<String> {
    let e = side_of(rule, part.selector_side()?);
    if let Some(reason) = long_service_accounts::all_names_unlabelled(e) {
        return Some(reason);
    }
    e.selector.as_ref()?.selector()?.never_matches()
}

/// Why the parts of `u` contradict, in words.
fn why(u: &UnsatRule, site: &RuleSite<'_>) -> String {
    let described: Vec<String> = u
        .parts
        .iter()
        .map(|&p| match (part_text(site.rule, p), p.selector_side()) {
            (None, Some(side)) => {
                implicit_selector_text(site.rule, side, site.policy.namespace.as_deref())
            }
            (Some(t), _) => format!("{p} ({t})"),
            (None, _) if p == RulePart::IpFamily => {
                format!("the rule's IP family ({})", family_text(site.rule))
            }
            (None, _) => p.to_string(),
        })
        .collect();
    match described.as_slice() {
        [one] => match u.parts.first().and_then(|&p| selector_reason(site.rule, p)) {
            Some(reason) => format!("{one} can never match: {reason}"),
            None => format!("{one} can never be satisfied"),
        },
        many => format!("{} contradict each other", many.join(" and ")),
    }
}

impl Lint for UnsatisfiableRule {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(a) = analysis(project) else { return };
        // A Kubernetes rule split into pieces (spec §1.11) can never match only when no
        // piece can; otherwise the finding names the pieces that cannot.
        for (scope, group) in by_scope(project, a, &a.unsat_rules, |u| u.rule) {
            let sites: Vec<_> = group
                .iter()
                .filter_map(|u| {
                    let site = rule_site(project, a, u.rule)?;
                    Some((*u, site.scoped(scope)))
                })
                .collect();
            let Some((first, site)) = sites.first() else {
                continue;
            };
            let whys: Vec<String> = sites.iter().map(|(u, s)| why(u, s)).collect();
            let same = whys.windows(2).all(|w| w[0] == w[1]);
            let message = if sites.len() == 1 || same {
                format!(
                    "{} can never match: {}",
                    site.subject(),
                    whys.first().cloned().unwrap_or_default()
                )
            } else {
                let each: Vec<String> = sites
                    .iter()
                    .zip(&whys)
                    .map(|((_, s), w)| {
                        let label = s.rule.piece.as_ref().map_or("", |p| p.label.as_str());
                        format!("{label}: {w}")
                    })
                    .collect();
                format!(
                    "rule can never match: no part Calico converts it to can ({})",
                    each.join("; ")
                )
            };
            let mut f = sink
                .at(site.location(), message)
                .in_resource(site.resource, site.pointer());
            if group
                .iter()
                .any(|u| u.parts.iter().any(|p| p.selector_side().is_some()))
            {
                if let Some(ns) = site.policy.namespace.as_deref() {
                    f = f.note(format!(
                        "note: in a namespaced policy, a rule selector without `namespaceSelector` only matches endpoints in namespace `{ns}`"
                    ));
                }
            }
            if first.parts.contains(&RulePart::PolicySelector) {
                f = f.note(
                    "note: the rule must also hold at the endpoints the policy's selector picks",
                );
            }
            if site.as_piece {
                f = f.note("note: Calico converts this Kubernetes rule into one rule per peer and protocol; the rule's other parts can still match");
            }
            f.emit();
        }
    }
}
