//! CAL132 single-family-not-nets: a rule without `ipVersion` uses `notNets`, and all its CIDRs
//! are of one IP family, so Felix renders it for that family only (spec W-13).

use super::LintContext;
use super::pitfall::calico_rules;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::net::IpFamily;

pub struct SingleFamilyNotNets;

static META: LintMeta = LintMeta {
    code: "CAL132",
    name: "single-family-not-nets",
    default_severity: Severity::Warning,
    summary: "A `notNets` rule with CIDRs of one family never matches traffic of the other family",
    doc: include_str!("../../rules/CAL132.md"),
};

fn family_name(f: IpFamily) -> &'static str {
    match f {
        IpFamily::V4 => "IPv4",
        IpFamily::V6 => "IPv6",
    }
}

impl Lint for SingleFamilyNotNets {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for at in calico_rules(project) {
            if at.rule.ip_version.is_some() {
                continue;
            }
            let mut families = std::collections::BTreeSet::new();
            let mut first_not_net = None;
            for (side, e) in at.entities() {
                for n in e.nets.iter().chain(&e.not_nets) {
                    if let Ok(c) = &n.parsed {
                        families.insert(c.family);
                    }
                }
                if first_not_net.is_none() {
                    first_not_net = e
                        .not_nets
                        .iter()
                        .find(|n| n.parsed.is_ok())
                        // A catch-all in notNets is rejected outright (CAL002).
                        .filter(|n| !n.parsed.as_ref().is_ok_and(|c| c.is_catch_all()))
                        .map(|n| (side, n));
                }
            }
            let Some((side, net)) = first_not_net else {
                continue;
            };
            let mut it = families.iter();
            let (Some(&only), None) = (it.next(), it.next()) else {
                continue;
            };
            let other = match only {
                IpFamily::V4 => IpFamily::V6,
                IpFamily::V6 => IpFamily::V4,
            };
            let action = at.rule.action.as_ref().map_or("?", |a| a.value.as_str());
            sink.at(
                at.resource.location(net.raw.span),
                format!(
                    "all CIDRs of this rule are {}, so Felix renders it for {} only: `{side}.notNets` reads as \"everything except …\", but no {} traffic is matched, so this `{action}` does nothing for {}",
                    family_name(only),
                    family_name(only),
                    family_name(other),
                    family_name(other),
                ),
            )
            .in_resource(at.resource, &at.rule.pointer.child(side).child("notNets"))
            .note("Felix drops a rule for an IP family when its CIDR lists have no entry of that family (felix/rules/policy.go `FilterRuleToIPVersion`; all versions)")
            .note(format!(
                "help: add the {} ranges to exclude to `notNets` so the rule also applies there, or write `ipVersion: {}` to make the limit explicit",
                family_name(other),
                only.version()
            ))
            .emit();
        }
    }
}
