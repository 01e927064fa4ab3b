//! Kubernetes rules that Calico splits into several rules (one per peer × protocol, spec
//! §1.11). The pieces are consecutive compiled rules of one policy direction that share the
//! Kubernetes rule's pointer. A verdict such as "never reached" or "can never match" is true
//! of the Kubernetes rule only when it is true of every piece; otherwise it is about the
//! pieces that qualify, and findings must name them.

use super::ir::{PolicyId, PolicySet, RuleId};
use std::collections::BTreeMap;
use std::ops::Range;

/// The indexes of the rules converted from the same source rule as `id` (just `id.rule`
/// for a rule that is not split).
pub fn siblings(set: &PolicySet, id: RuleId) -> Range<usize> {
    let Some(rules) = set.policy(id.policy).map(|p| p.rules(id.direction)) else {
        return id.rule..id.rule + 1;
    };
    let Some(pointer) = rules.get(id.rule).map(|r| r.pointer.as_str()) else {
        return id.rule..id.rule + 1;
    };
    let mut start = id.rule;
    while start > 0 && rules.get(start - 1).is_some_and(|r| r.pointer == pointer) {
        start -= 1;
    }
    let mut end = id.rule + 1;
    while rules.get(end).is_some_and(|r| r.pointer == pointer) {
        end += 1;
    }
    start..end
}

/// Whether `a` and `b` are pieces of the same source rule.
pub fn same_source_rule(set: &PolicySet, a: RuleId, b: RuleId) -> bool {
    a.policy == b.policy && a.direction == b.direction && siblings(set, a).contains(&b.rule)
}

/// Items grouped by the source rule they are about: `(true, items)` when the items cover
/// every piece of that rule (report the rule whole; for an unsplit rule this is its one
/// item), otherwise `(false, [item])` once per item (report that piece). Groups come in the
/// order of their first item.
pub fn by_source_rule<'a, T>(
    set: &PolicySet,
    items: &'a [T],
    id: impl Fn(&T) -> RuleId,
) -> Vec<(bool, Vec<&'a T>)> {
    type Key = (PolicyId, crate::model::resource::Direction, usize);
    let mut groups: BTreeMap<Key, (usize, Range<usize>, Vec<&'a T>)> = BTreeMap::new();
    for (n, item) in items.iter().enumerate() {
        let rid = id(item);
        let range = siblings(set, rid);
        let key = (rid.policy, rid.direction, range.start);
        groups
            .entry(key)
            .or_insert_with(|| (n, range, Vec::new()))
            .2
            .push(item);
    }
    let mut ordered: Vec<(usize, Range<usize>, Vec<&'a T>)> = groups.into_values().collect();
    ordered.sort_by_key(|(first, _, _)| *first);
    let mut out = Vec::new();
    for (_, range, members) in ordered {
        let covered: std::collections::BTreeSet<usize> =
            members.iter().map(|m| id(m).rule).collect();
        if range.clone().all(|i| covered.contains(&i)) {
            out.push((true, members));
        } else {
            out.extend(members.into_iter().map(|m| (false, vec![m])));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ir::{CompiledPolicy, CompiledRule};
    use crate::model::resource::{Action, Direction, Kind};
    use crate::model::selector::Expr;

    fn set(pointers: &[&str]) -> PolicySet {
        let ingress = pointers
            .iter()
            .enumerate()
            .map(|(index, p)| CompiledRule {
                index,
                pointer: (*p).into(),
                action: Action::Allow,
                v4: true,
                v6: true,
                protocol: None,
                not_protocol: None,
                icmp: None,
                not_icmp: None,
                source: Default::default(),
                destination: Default::default(),
                http: None,
            })
            .collect();
        PolicySet {
            policies: vec![CompiledPolicy {
                resource: crate::project::ResourceId(0),
                kind: Kind::KubernetesNetworkPolicy,
                namespace: Some("ns".into()),
                name: "p".into(),
                tier: "default".into(),
                order: Some(1000.0),
                staged: false,
                selector: Expr::All,
                ingress_applies: true,
                egress_applies: false,
                ingress,
                egress: Vec::new(),
                legacy_key: false,
                class: Default::default(),
            }],
            tiers: Vec::new(),
        }
    }

    fn id(rule: usize) -> RuleId {
        RuleId {
            policy: PolicyId(0),
            direction: Direction::Ingress,
            rule,
        }
    }

    #[test]
    fn siblings_are_the_run_of_equal_pointers() {
        let s = set(&[
            "/spec/ingress/0",
            "/spec/ingress/1",
            "/spec/ingress/1",
            "/spec/ingress/2",
        ]);
        assert_eq!(siblings(&s, id(0)), 0..1);
        assert_eq!(siblings(&s, id(1)), 1..3);
        assert_eq!(siblings(&s, id(2)), 1..3);
        assert_eq!(siblings(&s, id(3)), 3..4);
        assert!(same_source_rule(&s, id(1), id(2)));
        assert!(!same_source_rule(&s, id(0), id(1)));
    }

    #[test]
    fn whole_only_when_every_piece_qualifies() {
        let s = set(&[
            "/spec/ingress/0",
            "/spec/ingress/1",
            "/spec/ingress/1",
            "/spec/ingress/1",
        ]);
        let items = [id(3), id(0), id(1)];
        let groups = by_source_rule(&s, &items, |r| *r);
        let shape: Vec<(bool, Vec<usize>)> = groups
            .iter()
            .map(|(w, m)| (*w, m.iter().map(|r| r.rule).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![(false, vec![3]), (false, vec![1]), (true, vec![0])]
        );
        let all = [id(1), id(2), id(3)];
        let groups = by_source_rule(&s, &all, |r| *r);
        assert_eq!(groups.len(), 1);
        assert!(groups[0].0);
    }
}
