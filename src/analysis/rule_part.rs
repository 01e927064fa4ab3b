//! [`RulePart`]: the parts of a rule's match condition the analysis names when no packet can
//! match the rule (CAL110's `UnsatRule::parts`): a typed contract between the analysis and the
//! lint, which picks each part's source text by matching on it instead of splitting a
//! `"source.selector"` string again.
//!
//! The solver's encoder (`solver::encode`, `rule_parts`) still labels the parts with their
//! printed names; [`RulePart::from_encoder_name`] is the one place those labels are read, where
//! the analysis collects an unsatisfiable core (`analyze_rule`). Once the encoder pushes
//! `RulePart`s itself, that function goes (the solver was being reworked when this type was
//! introduced; see the module doc of `solver`).

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
    /// The encoder's name for the part of an id naming no rule (never matches).
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
    /// The part the encoder labels `name` (`"source.selector"`, `"protocol"`, ...); `None` for
    /// a label this type does not know (a new encoder part must be added here).
    pub fn from_encoder_name(name: &str) -> Option<RulePart> {
        let part = match name {
            "policy selector" => RulePart::PolicySelector,
            "IP family" => RulePart::IpFamily,
            "protocol" => RulePart::Protocol,
            "notProtocol" => RulePart::NotProtocol,
            "icmp" => RulePart::Icmp,
            "notICMP" => RulePart::NotIcmp,
            "http" => RulePart::Http,
            "rule" => RulePart::NoRule,
            _ => {
                let (side, field) = name.split_once('.')?;
                let side = [RuleSide::Source, RuleSide::Destination]
                    .into_iter()
                    .find(|s| s.name() == side)?;
                let field = EntityField::ALL.into_iter().find(|f| f.name() == field)?;
                RulePart::Entity(side, field)
            }
        };
        Some(part)
    }

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

    #[test]
    fn encoder_names_round_trip() {
        let mut all = rule_parts();
        all.extend([RulePart::PolicySelector, RulePart::NoRule]);
        for part in all {
            assert_eq!(RulePart::from_encoder_name(&part.to_string()), Some(part));
        }
        assert_eq!(
            RulePart::from_encoder_name("source.namespaceSelector"),
            None
        );
        assert_eq!(RulePart::from_encoder_name("sideways.selector"), None);
        assert_eq!(RulePart::from_encoder_name(""), None);
    }

    /// Every label the encoder gives a rule part is one this type knows, and every entity and
    /// rule part this type knows is one the encoder gives (a rule with every field set).
    #[test]
    fn the_encoder_labels_every_part_with_a_known_name() {
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
        let labels: Vec<String> = with_fresh_session(&universe, &set, 1000, |s| {
            let mut labels = Vec::new();
            for (direction, rules) in [(Direction::Ingress, 3), (Direction::Egress, 1)] {
                for rule in 0..rules {
                    let id = RuleId {
                        policy: 0,
                        direction,
                        rule,
                    };
                    labels.extend(s.enc.rule_parts(id).into_iter().map(|(n, _)| n));
                }
            }
            labels
        });
        let parts: std::collections::HashSet<RulePart> = labels
            .iter()
            .map(|l| RulePart::from_encoder_name(l).unwrap_or_else(|| panic!("unknown {l:?}")))
            .collect();
        for part in rule_parts() {
            assert!(parts.contains(&part), "{part} not among {labels:?}");
        }
    }
}
