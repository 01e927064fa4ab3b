//! What the analysis finds: [`Analysis`] and the verdicts it holds (rules that can never
//! match, shadowed rules, rules decided earlier, conflicts, the budget), addressed by
//! [`RuleId`]. Plain data the lints, `check` and `diff` read; re-exported by `analysis`.

use super::anomaly;
use super::concrete::Packet;
use super::ir::PolicySet;
pub use super::ir::{PolicyId, RuleId};
use super::rule_part::RulePart;

/// The analysis budget ran out before every query was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetExceeded {
    pub budget_ms: u64,
    /// The first policy (index in `PolicySet::policies`) not fully analyzed.
    pub first_policy: PolicyId,
    /// How many policies were not fully analyzed.
    pub policies: usize,
    /// Queries skipped (a lower bound; also counted in [`Analysis::undecided`]).
    pub skipped_queries: usize,
}

/// A policy whose selector can match no endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct UnsatSelector {
    pub policy: PolicyId,
    /// Names of the contradictory parts (`selector`, `namespace`, ...).
    pub parts: Vec<String>,
}

/// A rule no packet can match (at the endpoints its policy selects).
#[derive(Clone, Debug, PartialEq)]
pub struct UnsatRule {
    pub rule: RuleId,
    /// A minimal set of contradictory parts (`source.selector`, `protocol`, ...), sorted by
    /// their printed names.
    pub parts: Vec<RulePart>,
}

/// A rule covered by earlier terminal rules of the same policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadowed {
    pub rule: RuleId,
    /// A minimal covering set of earlier rules (rule indexes in the same policy).
    pub cover: Vec<usize>,
}

/// What decides a packet before a rule is reached.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decider {
    /// An earlier tier (its policies, or its end-of-tier deny).
    Tier(String),
    /// An earlier policy of the same tier.
    Policy(PolicyId),
    /// An earlier rule of the same policy.
    Rule(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShadowedByPolicy {
    pub rule: RuleId,
    pub deciders: Vec<Decider>,
}

/// Two rules of different policies that overlap with different actions, ordered only by
/// the policies' names.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The rule that wins today (its policy sorts first).
    pub winner: RuleId,
    pub loser: RuleId,
    pub witness: Packet,
}

#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub set: PolicySet,
    pub unsat_selectors: Vec<UnsatSelector>,
    pub unsat_rules: Vec<UnsatRule>,
    pub shadowed: Vec<Shadowed>,
    pub shadowed_by_policy: Vec<ShadowedByPolicy>,
    pub conflicts: Vec<Conflict>,
    /// Generalizations, correlations and superseded rules inside policies ([`anomaly`]).
    pub rule_pairs: Vec<anomaly::RulePair>,
    pub solver_calls: usize,
    /// Queries that hit the timeout (never turned into findings), plus those skipped when
    /// the budget ran out.
    pub undecided: usize,
    /// Set when the analysis budget ran out.
    pub budget_exceeded: Option<BudgetExceeded>,
}

/// Whether `policy` is in a tier the tree uses but does not define (its place is not known).
pub(super) fn in_undefined_tier(set: &PolicySet, policy: PolicyId) -> bool {
    set.policy(policy)
        .and_then(|p| set.tier(&p.tier))
        .is_some_and(|t| !t.defined)
}

/// Whether a "never reached" verdict stands once undefined tiers are accounted for: neither
/// the policy nor anything deciding before it is in a tier whose place calint does not know.
/// The pairwise anomaly pass treats the rules of a verdict that does not stand as live, as
/// the report does.
pub(super) fn never_reached_is_known(set: &PolicySet, s: &ShadowedByPolicy) -> bool {
    let undefined_tier = |name: &str| set.tier(name).is_some_and(|t| !t.defined);
    !in_undefined_tier(set, s.rule.policy)
        && s.deciders.iter().all(|d| match d {
            Decider::Tier(t) => !undefined_tier(t),
            Decider::Policy(q) => !in_undefined_tier(set, *q),
            Decider::Rule(_) => true,
        })
}
