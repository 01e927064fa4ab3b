//! Reachability groups and the allow verdict of a direction, for `reach` and `graph`.

use super::encode::{Encoder, class_member, rule_id};
use super::universe::{KeyDomain, encode};
use super::vars::{LabelValue, Side2, SideVars, all, any, bv, f, t};
use crate::analysis::classes::Chain;
use crate::analysis::groups::{Group, Identity, Member};
use crate::analysis::ir::PolicyId;
use crate::analysis::ir::{CompiledPolicy, CompiledRule};
use crate::analysis::pair_rules::RuleMask;
use crate::model::resource::{Action, Direction};
use z3::ast::{Bool, Int, String as ZString};

impl Encoder<'_> {
    /// `side`'s label `k` equals `v`, also for values no selector mentions.
    pub(super) fn fixed_label(&self, side: &SideVars, k: &str, v: &str) -> Bool {
        let Some(has) = side.has.get(k) else {
            return t();
        };
        let eq = match (self.u.keys.get(k), side.value.get(k)) {
            (Some(KeyDomain::Finite(vals)), Some(LabelValue::Index(i))) => {
                let idx = vals.iter().position(|x| x == v).unwrap_or(vals.len());
                i.eq(Int::from_u64(idx as u64))
            }
            (Some(KeyDomain::Classes(c)), Some(LabelValue::Index(i))) => {
                let sig = c.signature(v);
                class_member(c, i, |x| c.signature(x) == sig)
            }
            (_, Some(LabelValue::Str(z))) => z.eq(ZString::from(encode(v))),
            _ => t(),
        };
        Bool::and(&[has.clone(), eq])
    }

    fn identity(&self, side: &SideVars, id: &Identity) -> Bool {
        if !id.entity {
            return side.is_entity.not();
        }
        let mut c = vec![side.is_entity.clone()];
        for (k, has) in &side.has {
            if let Some(v) = id.fixed.get(k) {
                c.push(self.fixed_label(side, k, v));
            } else {
                let open = id.open_prefixes.iter().any(|p| k.starts_with(p.as_str()));
                let closed = id.closed_prefixes.iter().any(|p| k.starts_with(p.as_str()));
                if (id.closed && !open) || closed {
                    c.push(has.not());
                }
            }
        }
        if let Some(e) = &id.selector {
            c.push(self.selector(e, side));
        }
        all(c)
    }

    fn member(&self, side: &SideVars, m: &Member) -> Bool {
        let mut c = vec![self.identity(side, &m.identity)];
        if !m.nets.is_empty() {
            c.push(any(m
                .nets
                .iter()
                .map(|n| self.in_cidr(n, &side.ip))
                .collect()));
        }
        if !m.not_nets.is_empty() {
            c.push(
                any(m
                    .not_nets
                    .iter()
                    .map(|n| self.in_cidr(n, &side.ip))
                    .collect())
                .not(),
            );
        }
        if let Some(ports) = &m.named_ports {
            for (name, (decl, proto, port)) in &side.named {
                c.push(match ports.get(name) {
                    Some((pr, po)) => Bool::and(&[
                        decl.clone(),
                        proto.eq(bv(u128::from(*pr), 8)),
                        port.eq(bv(u128::from(*po), 16)),
                    ]),
                    None => decl.not(),
                });
            }
        }
        all(c)
    }

    pub(super) fn group(&self, which: Side2, g: &Group) -> Bool {
        let side = self.side(which);
        any(g.members.iter().map(|m| self.member(side, m)).collect())
    }

    /// The verdict of direction `d` is allow: tiers in order, Pass to the next tier, the
    /// end-of-tier deny, and "no policy selects the endpoint" allowing (§4.3, §4.6). Only
    /// policies with `keep[i]` take part (the others cannot select the endpoint), and of their
    /// rules only those `rules` keeps, when given (the others match no packet asked about).
    pub(super) fn allowed(&self, keep: &[bool], rules: Option<&RuleMask>, d: Direction) -> Bool {
        let set = self.set;
        let mut acc = t();
        for tier in set.tiers.iter().rev() {
            let pols: Vec<(usize, &CompiledPolicy)> = set
                .policies
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    p.tier == tier.name
                        && !p.staged
                        // A workload endpoint's list: untracked and pre-DNAT policies apply to
                        // host endpoints only (§4.8), as in `analysis::concrete`.
                        && Chain::Normal.includes(p.class)
                        && p.applies(d)
                        && keep.get(*i).copied().unwrap_or(false)
                })
                .collect();
            if pols.is_empty() {
                continue;
            }
            let applies = any(pols
                .iter()
                .map(|&(pi, _)| self.selects(PolicyId(pi), d))
                .collect());
            let mut chain = if tier.default_pass { acc.clone() } else { f() };
            for &(pi, p) in pols.iter().rev() {
                let sel = self.selects(PolicyId(pi), d);
                let taking_part = |(position, r): &(usize, &CompiledRule)| {
                    r.is_terminal() && rules.is_none_or(|m| m.keeps(pi, *position))
                };
                for (_, r) in p.rules(d).iter().enumerate().rev().filter(taking_part) {
                    let m = Bool::and(&[sel.clone(), self.rule(rule_id(PolicyId(pi), d, r))]);
                    let outcome = match r.action {
                        Action::Allow => t(),
                        Action::Pass => acc.clone(),
                        _ => f(),
                    };
                    chain = m.ite(&outcome, &chain);
                }
            }
            acc = applies.ite(&chain, &acc);
        }
        acc
    }
}
