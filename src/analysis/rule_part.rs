//! [`RulePart`]: the parts of a rule's match condition the analysis names when no packet can
//! match the rule (CAL110's `UnsatRule::parts`): a typed contract between the solver's encoder,
//! which labels each part of a rule it encodes with one (`Encoder::rule_parts`), the analysis,
//! which keeps the parts in an unsatisfiable core, and the lint, which picks each part's source
//! text by matching on it instead of splitting a `"source.selector"` string again.

use std::fmt;

/// The side of a rule an entity part belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleSide {
    Source,
    Destination,
}

/// A field of a rule's `source` or `destination` that the analysis encodes as its own part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityField {
    Selector,
    NotSelector,
    Nets,
    NotNets,
    Ports,
    NotPorts,
    Services,
}

/// One named part of a rule's match condition (their conjunction is the rule's match, within
/// the policy's scope).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RulePart {
    /// The endpoints the rule's policy selects (the scope the rule must hold in).
    PolicySelector,
    /// The IP families the rule can match (`ipVersion`, ICMP/ICMPv6, its CIDRs).
    IpFamily,
    Protocol,
    NotProtocol,
    Icmp,
    NotIcmp,
    Http,
    /// A field of `source` or `destination`; `Selector` is the side's effective selector
    /// (spec §3.7.1), which can come from other fields when the rule has no `selector`.
    Entity(RuleSide, EntityField),
    /// The one part of an id naming no rule (never matches).
    NoRule,
}

impl RuleSide {
    /// The rule's field name: `source` or `destination`.
    pub fn name(self) -> &'static str {
        match self {
            RuleSide::Source => "source",
            RuleSide::Destination => "destination",
        }
    }
}

impl EntityField {
    /// The entity rule's field name (`selector`, `notNets`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EntityField::Selector => "selector",
            EntityField::NotSelector => "notSelector",
            EntityField::Nets => "nets",
            EntityField::NotNets => "notNets",
            EntityField::Ports => "ports",
            EntityField::NotPorts => "notPorts",
            EntityField::Services => "services",
        }
    }

    pub const ALL: [EntityField; 7] = [
        EntityField::Selector,
        EntityField::NotSelector,
        EntityField::Nets,
        EntityField::NotNets,
        EntityField::Ports,
        EntityField::NotPorts,
        EntityField::Services,
    ];
}

impl RulePart {
    /// The effective selector of a side (CAL110 explains it when the rule has none).
    pub fn selector_side(self) -> Option<RuleSide> {
        match self {
            RulePart::Entity(side, EntityField::Selector) => Some(side),
            _ => None,
        }
    }
}

/// How messages name the part: the rule's field path (`source.selector`, `notProtocol`), or
/// `policy selector` / `IP family` for the parts that are not one field.
impl fmt::Display for RulePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulePart::PolicySelector => f.write_str("policy selector"),
            RulePart::IpFamily => f.write_str("IP family"),
            RulePart::Protocol => f.write_str("protocol"),
            RulePart::NotProtocol => f.write_str("notProtocol"),
            RulePart::Icmp => f.write_str("icmp"),
            RulePart::NotIcmp => f.write_str("notICMP"),
            RulePart::Http => f.write_str("http"),
            RulePart::Entity(side, field) => write!(f, "{}.{}", side.name(), field.name()),
            RulePart::NoRule => f.write_str("rule"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part that is not the policy selector or the part of a missing rule.
    fn rule_parts() -> Vec<RulePart> {
        let mut all = vec![
            RulePart::IpFamily,
            RulePart::Protocol,
            RulePart::NotProtocol,
            RulePart::Icmp,
            RulePart::NotIcmp,
            RulePart::Http,
        ];
        for side in [RuleSide::Source, RuleSide::Destination] {
            all.extend(EntityField::ALL.map(|f| RulePart::Entity(side, f)));
        }
        all
    }

    /// Messages name the parts, and CAL110 sorts them by name: no two parts share one.
    #[test]
    fn every_part_has_its_own_name() {
        let mut all = rule_parts();
        all.extend([RulePart::PolicySelector, RulePart::NoRule]);
        let names: std::collections::HashSet<String> =
            all.iter().map(ToString::to_string).collect();
        assert_eq!(names.len(), all.len(), "{names:?}");
        assert!(names.contains("source.selector") && names.contains("notICMP"));
    }

    /// Every entity and rule part this type knows is one the encoder gives (a rule with every
    /// field set), and the encoder gives a rule no part twice.
    #[test]
    fn the_encoder_names_every_part() {
        use crate::analysis::RuleId;
        use crate::analysis::ir::PolicySet;
        use crate::analysis::solver::{Universe, with_fresh_session};
        use crate::model::resource::Direction;
        let yaml = "apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  selector: a == 'x'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    notProtocol: UDP
    ipVersion: 4
    http: {methods: [GET]}
    source: {selector: a == 'x', notSelector: b == 'y', nets: [10.0.0.0/8], notNets: [10.1.0.0/16], ports: [80], notPorts: [81]}
    destination: {selector: a == 'x', notSelector: b == 'y', nets: [10.0.0.0/8], notNets: [10.1.0.0/16], ports: [80], notPorts: [81]}
  - action: Allow
    protocol: ICMP
    icmp: {type: 8}
    notICMP: {type: 0}
  - action: Allow
    source: {services: {name: s, namespace: n}}
  egress:
  - action: Allow
    destination: {services: {name: s, namespace: n}}
";
        let opts = crate::check::CheckOptions {
            analysis: None,
            ..crate::check::CheckOptions::default()
        };
        let (project, _) = crate::check::check_text("t.yaml", yaml, &opts);
        assert!(project.violations.is_empty(), "{:?}", project.violations);
        assert!(
            project.lower_problems.is_empty(),
            "{:?}",
            project.lower_problems
        );
        let set = PolicySet::from_project(&project);
        let universe = Universe::new(&set);
        let labels: Vec<Vec<RulePart>> = with_fresh_session(&universe, &set, 1000, |s| {
            let mut labels = Vec::new();
            for (direction, rules) in [(Direction::Ingress, 3), (Direction::Egress, 1)] {
                for rule in 0..rules {
                    let id = RuleId {
                        policy: crate::analysis::PolicyId(0),
                        direction,
                        rule,
                    };
                    labels.push(s.enc.rule_parts(id).into_iter().map(|(p, _)| p).collect());
                }
            }
            labels
        });
        for rule in &labels {
            let unique: std::collections::HashSet<&RulePart> = rule.iter().collect();
            assert_eq!(unique.len(), rule.len(), "a part given twice: {rule:?}");
        }
        let parts: std::collections::HashSet<RulePart> = labels.iter().flatten().copied().collect();
        for part in rule_parts() {
            assert!(parts.contains(&part), "{part} not among {labels:?}");
        }
    }
}
