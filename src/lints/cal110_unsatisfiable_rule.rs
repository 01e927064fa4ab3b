//! CAL110 unsatisfiable-rule: no packet can ever match the rule.

use super::semantic::{analysis, rule_site};
use super::{Lint, LintMeta, Sink};

#[path = "cal110_long_service_accounts.rs"]
mod long_service_accounts;
use crate::finding::Severity;
use crate::model::resource::{EntityRule, Rule};
use crate::project::Project;

pub struct UnsatisfiableRule;

static META: LintMeta = LintMeta {
    code: "CAL110",
    name: "unsatisfiable-rule",
    default_severity: Severity::Warning,
    summary: "No packet can ever match the rule",
    doc: include_str!("../../rules/CAL110.md"),
};

/// The source text of a named rule part, for messages.
fn part_text(rule: &Rule, part: &str) -> Option<String> {
    let entity = |e: &EntityRule, field: &str| -> Option<String> {
        let sel = |f: &Option<crate::model::resource::SelectorField>| {
            f.as_ref().map(|s| format!("`{}`", s.raw.value))
        };
        let list = |v: Vec<String>| (!v.is_empty()).then(|| v.join(", "));
        match field {
            "selector" => sel(&e.selector),
            "notSelector" => sel(&e.not_selector),
            "nets" => list(e.nets.iter().map(|n| n.raw.value.clone()).collect()),
            "notNets" => list(e.not_nets.iter().map(|n| n.raw.value.clone()).collect()),
            "ports" => list(e.ports.iter().map(|p| p.value.to_string()).collect()),
            "notPorts" => list(e.not_ports.iter().map(|p| p.value.to_string()).collect()),
            _ => None,
        }
    };
    let (side, field) = part.split_once('.').unwrap_or(("", part));
    match (side, field) {
        ("source", f) => entity(&rule.source, f),
        ("destination", f) => entity(&rule.destination, f),
        (_, "protocol") => rule.protocol.as_ref().map(|p| p.value.to_string()),
        (_, "notProtocol") => rule.not_protocol.as_ref().map(|p| p.value.to_string()),
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

/// Why one selector part alone can never match, when the selector module can say.
fn selector_reason(rule: &Rule, part: &str) -> Option<String> {
    let e = match part {
        "source.selector" => &rule.source,
        "destination.selector" => &rule.destination,
        _ => return None,
    };
    if let Some(reason) = long_service_accounts::all_names_unlabelled(e) {
        return Some(reason);
    }
    e.selector.as_ref()?.selector()?.never_matches()
}

impl Lint for UnsatisfiableRule {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &Project, sink: &mut Sink<'_>) {
        long_service_accounts::check(project, sink);
        let Some(a) = analysis(project) else { return };
        for u in &a.unsat_rules {
            let Some(site) = rule_site(project, a, u.rule) else {
                continue;
            };
            let described: Vec<String> = u
                .parts
                .iter()
                .map(|p| match part_text(site.rule, p) {
                    Some(t) => format!("{p} ({t})"),
                    None if p == "IP family" => {
                        format!("the rule's IP family ({})", family_text(site.rule))
                    }
                    None => p.clone(),
                })
                .collect();
            let why = match described.as_slice() {
                [one] => {
                    match selector_reason(site.rule, u.parts.first().map_or("", String::as_str)) {
                        Some(reason) => format!("{one} can never match: {reason}"),
                        None => format!("{one} can never be satisfied"),
                    }
                }
                many => format!("{} contradict each other", many.join(" and ")),
            };
            let mut f = sink
                .at(site.location(), format!("rule can never match: {why}"))
                .in_resource(site.resource, &site.rule.pointer);
            if u.parts.iter().any(|p| p.ends_with(".selector")) {
                if let Some(ns) = site.policy.namespace.as_deref() {
                    f = f.note(format!(
                        "note: in a namespaced policy, a rule selector without `namespaceSelector` only matches endpoints in namespace `{ns}`"
                    ));
                }
            }
            if u.parts.iter().any(|p| p == "policy selector") {
                f = f.note(
                    "note: the rule must also hold at the endpoints the policy's selector picks",
                );
            }
            f.emit();
        }
    }
}
