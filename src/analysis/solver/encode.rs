//! Translation of domain terms (selectors, rules, policies, the tier chain) into Z3 terms
//! over one packet.

use super::strings::{Classes, StrOp};
use super::universe::{KeyDomain, Universe, encode};
use super::vars::{LabelValue, PacketVars, Side2, SideVars, all, any, bv, f, t};
use crate::analysis::ir::{
    CompiledPolicy, CompiledRule, Entity, Http, Icmp, PolicyId, PolicySet, PortMatch, RuleId,
};
use crate::analysis::rule_part::{EntityField, RulePart};
use crate::model::net::{Cidr, IpFamily};
use crate::model::resource::{Action, Direction};
use crate::model::selector::Expr;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use z3::ast::{BV, Bool, Int, String as ZString};

/// The label value (an index into `c.reps`; any other index is `c.other`'s class) lies in a
/// class whose witness satisfies `pred`. Exact because every value of a class satisfies the
/// same mentioned predicates as its witness.
pub(super) fn class_member(c: &Classes, i: &Int, pred: impl Fn(&str) -> bool) -> Bool {
    let is = |j: usize| i.eq(Int::from_u64(j as u64));
    if pred(&c.other) {
        // Every index except those of classes failing `pred`.
        all(c
            .reps
            .iter()
            .enumerate()
            .filter(|(_, r)| !pred(r))
            .map(|(j, _)| is(j).not())
            .collect())
    } else {
        any(c
            .reps
            .iter()
            .enumerate()
            .filter(|(_, r)| pred(r))
            .map(|(j, _)| is(j))
            .collect())
    }
}

/// The id of rule `r` of policy `pi` in direction `d`.
pub(super) fn rule_id(pi: PolicyId, d: Direction, r: &CompiledRule) -> RuleId {
    RuleId {
        policy: pi,
        direction: d,
        rule: r.index,
    }
}

/// Translates domain terms (selectors, rules, policies) into Z3 terms over one packet.
pub struct Encoder<'u> {
    pub(super) u: &'u Universe,
    /// The policy set the ids passed to the encoder refer to.
    pub(super) set: &'u PolicySet,
    pub(super) vars: PacketVars,
    /// Terms already built, keyed by the id of the IR node: each rule and policy selector is
    /// translated once per session, however many queries mention it.
    memo: RefCell<HashMap<Term, Bool>>,
}

/// What a memoized term stands for, by ids into the policy set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Term {
    /// A rule's match condition.
    Rule(RuleId),
    /// A policy selects the packet's local endpoint in a direction.
    Selects(PolicyId, Direction),
}

impl<'u> Encoder<'u> {
    pub fn new(u: &'u Universe, set: &'u PolicySet) -> Encoder<'u> {
        Encoder {
            u,
            set,
            memo: RefCell::default(),
            vars: PacketVars {
                v6: Bool::new_const("v6"),
                protocol: BV::new_const("protocol", 8),
                icmp_type: BV::new_const("icmp_type", 8),
                icmp_code: BV::new_const("icmp_code", 8),
                src: SideVars::new(u, "src"),
                dst: SideVars::new(u, "dst"),
                method: Int::new_const("http.method"),
                path: Int::new_const("http.path"),
            },
        }
    }

    /// Labels Calico derives from one another agree (§3.7.3): the namespace name is both
    /// `projectcalico.org/namespace` and the inherited `pcns.projectcalico.org/name`; the
    /// service account label, when present, matches `pcsa.projectcalico.org/name`.
    fn derived_label_consistency(&self, side: &SideVars) -> Vec<Bool> {
        let mut out = Vec::new();
        let pairs = [
            (
                crate::analysis::ir::NAMESPACE_LABEL,
                "pcns.projectcalico.org/name",
                true,
            ),
            (
                crate::analysis::ir::NAMESPACE_LABEL,
                crate::analysis::ir::K8S_NAMESPACE_NAME_LABEL,
                true,
            ),
            (
                crate::analysis::ir::SERVICE_ACCOUNT_LABEL,
                "pcsa.projectcalico.org/name",
                false,
            ),
        ];
        for (a, b, both_ways) in pairs {
            let (Some(has_a), Some(has_b)) = (side.has.get(a), side.has.get(b)) else {
                continue;
            };
            out.push(if both_ways {
                has_a.iff(has_b)
            } else {
                has_a.implies(has_b)
            });
            let both = Bool::and(&[has_a.clone(), has_b.clone()]);
            match (side.value.get(a), side.value.get(b)) {
                // The universe gives both keys one shared value list, so equal values are
                // equal indexes: one constraint, whatever the number of namespaces.
                (Some(LabelValue::Index(x)), Some(LabelValue::Index(y))) => {
                    out.push(both.implies(x.eq(y)));
                }
                (Some(LabelValue::Str(x)), Some(LabelValue::Str(y))) => {
                    out.push(both.implies(x.eq(y)));
                }
                _ => {
                    let values: BTreeSet<&String> = [a, b]
                        .iter()
                        .filter_map(|k| match self.u.keys.get(*k) {
                            Some(KeyDomain::Finite(v) | KeyDomain::Strings(v)) => Some(v.iter()),
                            Some(KeyDomain::Classes(c)) => Some(c.reps.iter()),
                            None => None,
                        })
                        .flatten()
                        .collect();
                    for v in values {
                        let same = self
                            .fixed_label(side, a, v)
                            .iff(self.fixed_label(side, b, v));
                        out.push(both.implies(&same));
                    }
                }
            }
        }
        out
    }

    pub(super) fn domain(&self) -> Bool {
        let v = &self.vars;
        let mut c = v.src.domain(&v.v6);
        c.extend(v.dst.domain(&v.v6));
        c.extend(self.derived_label_consistency(&v.src));
        c.extend(self.derived_label_consistency(&v.dst));
        c.push(v.method.ge(Int::from_u64(0)));
        c.push(v.method.le(Int::from_u64(self.u.methods.len() as u64)));
        c.push(v.path.ge(Int::from_u64(0)));
        c.push(
            v.path
                .le(Int::from_u64(self.u.paths.len().saturating_sub(1) as u64)),
        );
        all(c)
    }

    pub(super) fn side(&self, d: Side2) -> &SideVars {
        match d {
            Side2::Src => &self.vars.src,
            Side2::Dst => &self.vars.dst,
        }
    }

    fn label_eq(&self, side: &SideVars, k: &str, v: &str) -> Bool {
        let Some(has) = side.has.get(k) else {
            return f();
        };
        let eq = match (self.u.keys.get(k), side.value.get(k)) {
            (Some(KeyDomain::Finite(vals)), Some(LabelValue::Index(i))) => {
                match vals.iter().position(|x| x == v) {
                    Some(idx) => i.eq(Int::from_u64(idx as u64)),
                    None => f(),
                }
            }
            (Some(KeyDomain::Classes(c)), Some(LabelValue::Index(i))) => {
                class_member(c, i, |x| x == v)
            }
            (_, Some(LabelValue::Str(s))) => s.eq(ZString::from(encode(v))),
            _ => f(),
        };
        Bool::and(&[has.clone(), eq])
    }

    fn string_op(
        &self,
        side: &SideVars,
        k: &str,
        needle: &str,
        op: StrOp,
        z3_op: fn(&ZString, &ZString) -> Bool,
    ) -> Bool {
        let Some(has) = side.has.get(k) else {
            return f();
        };
        let holds = match (self.u.keys.get(k), side.value.get(k)) {
            (Some(KeyDomain::Classes(c)), Some(LabelValue::Index(i))) => {
                class_member(c, i, |x| op.holds(x, needle))
            }
            (_, Some(LabelValue::Str(s))) => z3_op(s, &ZString::from(encode(needle))),
            _ => return f(),
        };
        Bool::and(&[has.clone(), holds])
    }

    /// A selector over the labels of one side. Recursion depth is bounded by the selector
    /// parser's nesting limit.
    pub(super) fn selector(&self, e: &Expr, side: &SideVars) -> Bool {
        match e {
            Expr::All | Expr::Global => t(),
            Expr::Has(k) => side.has.get(k).cloned().unwrap_or_else(f),
            Expr::Eq(k, v) => self.label_eq(side, k, v),
            Expr::Ne(k, v) => self.label_eq(side, k, v).not(),
            Expr::In(k, vs) => any(vs.iter().map(|v| self.label_eq(side, k, v)).collect()),
            Expr::NotIn(k, vs) => any(vs.iter().map(|v| self.label_eq(side, k, v)).collect()).not(),
            Expr::Contains(k, v) => {
                self.string_op(side, k, v, StrOp::Contains, |s, n| s.contains(n))
            }
            Expr::StartsWith(k, v) => {
                self.string_op(side, k, v, StrOp::StartsWith, |s, n| n.prefix(s))
            }
            Expr::EndsWith(k, v) => self.string_op(side, k, v, StrOp::EndsWith, |s, n| n.suffix(s)),
            Expr::Not(inner) => self.selector(inner, side).not(),
            Expr::And(items) => all(items.iter().map(|i| self.selector(i, side)).collect()),
            Expr::Or(items) => any(items.iter().map(|i| self.selector(i, side)).collect()),
        }
    }

    pub(super) fn in_cidr(&self, c: &Cidr, ip: &BV) -> Bool {
        let fam = match c.family {
            IpFamily::V4 => self.vars.v6.not(),
            IpFamily::V6 => self.vars.v6.clone(),
        };
        if c.prefix == 0 {
            return fam;
        }
        let width = u32::from(c.family.bits());
        let host = width - u32::from(c.prefix);
        let bits = ip.extract(width - 1, host);
        let want = bv(c.first() >> host, u32::from(c.prefix));
        Bool::and(&[fam, bits.eq(want)])
    }

    fn port_match(&self, pm: &PortMatch, side: &SideVars) -> Bool {
        match pm {
            PortMatch::Range(lo, hi) => Bool::and(&[
                side.port.bvuge(bv(u128::from(*lo), 16)),
                side.port.bvule(bv(u128::from(*hi), 16)),
            ]),
            PortMatch::Named(n) => match side.named.get(n) {
                Some((decl, proto, port)) => Bool::and(&[
                    side.is_entity.clone(),
                    decl.clone(),
                    proto.eq(&self.vars.protocol),
                    port.eq(&side.port),
                ]),
                None => f(),
            },
        }
    }

    /// The parts of an entity rule, named for explanations.
    fn entity_parts(&self, e: &Entity, which: Side2, out: &mut Vec<(RulePart, Bool)>) {
        let side = self.side(which);
        let part = |field| RulePart::Entity(which.rule_side(), field);
        if let Some(s) = &e.selector {
            out.push((
                part(EntityField::Selector),
                Bool::and(&[side.is_entity.clone(), self.selector(s, side)]),
            ));
        }
        if let Some(s) = &e.not_selector {
            out.push((
                part(EntityField::NotSelector),
                Bool::and(&[side.is_entity.clone(), self.selector(s, side)]).not(),
            ));
        }
        if !e.nets.is_empty() {
            out.push((
                part(EntityField::Nets),
                any(e.nets.iter().map(|c| self.in_cidr(c, &side.ip)).collect()),
            ));
        }
        if !e.not_nets.is_empty() {
            out.push((
                part(EntityField::NotNets),
                any(e
                    .not_nets
                    .iter()
                    .map(|c| self.in_cidr(c, &side.ip))
                    .collect())
                .not(),
            ));
        }
        if !e.ports.is_empty() {
            out.push((
                part(EntityField::Ports),
                any(e.ports.iter().map(|p| self.port_match(p, side)).collect()),
            ));
        }
        if !e.not_ports.is_empty() {
            out.push((
                part(EntityField::NotPorts),
                any(e
                    .not_ports
                    .iter()
                    .map(|p| self.port_match(p, side))
                    .collect())
                .not(),
            ));
        }
        if let Some(s) = &e.service {
            out.push((
                part(EntityField::Services),
                side.services.get(s).cloned().unwrap_or_else(f),
            ));
        }
    }

    fn icmp(&self, m: &Icmp) -> Bool {
        let v = &self.vars;
        let proto = v.v6.ite(&bv(58, 8), &bv(1, 8));
        let mut c = vec![v.protocol.eq(proto)];
        if let Some(ty) = m.icmp_type {
            c.push(v.icmp_type.eq(bv(u128::from(ty), 8)));
        }
        if let Some(code) = m.code {
            c.push(v.icmp_code.eq(bv(u128::from(code), 8)));
        }
        all(c)
    }

    fn http(&self, h: &Http) -> Bool {
        let v = &self.vars;
        let mut c = vec![v.protocol.eq(bv(6, 8))];
        if !h.methods.is_empty() && !h.methods.iter().any(|m| m == "*") {
            c.push(any(h
                .methods
                .iter()
                .filter_map(|m| self.u.methods.iter().position(|x| x == m))
                .map(|i| v.method.eq(Int::from_u64(i as u64)))
                .collect()));
        }
        if !h.exact_paths.is_empty() || !h.prefix_paths.is_empty() {
            let classes: Vec<Bool> = self
                .u
                .paths
                .iter()
                .enumerate()
                .filter(|(_, rep)| {
                    h.exact_paths.contains(rep)
                        || h.prefix_paths
                            .iter()
                            .any(|p| crate::analysis::concrete::path_prefix_matches(p, rep))
                })
                .map(|(i, _)| v.path.eq(Int::from_u64(i as u64)))
                .collect();
            c.push(any(classes));
        }
        all(c)
    }

    fn policy(&self, pi: PolicyId) -> Option<&'u CompiledPolicy> {
        self.set.policy(pi)
    }

    /// The named parts of a rule's match condition (their conjunction is the rule's match);
    /// none for an id naming no rule.
    pub fn rule_parts(&self, id: RuleId) -> Vec<(RulePart, Bool)> {
        match self.set.rule(id) {
            Some(r) => self.compiled_rule_parts(r),
            None => vec![(RulePart::NoRule, f())],
        }
    }

    fn compiled_rule_parts(&self, r: &CompiledRule) -> Vec<(RulePart, Bool)> {
        let v = &self.vars;
        let mut parts = Vec::new();
        let family = match (r.v4, r.v6) {
            (true, true) => None,
            (true, false) => Some(v.v6.not()),
            (false, true) => Some(v.v6.clone()),
            (false, false) => Some(f()),
        };
        if let Some(fam) = family {
            parts.push((RulePart::IpFamily, fam));
        }
        if let Some(p) = r.protocol {
            parts.push((RulePart::Protocol, v.protocol.eq(bv(u128::from(p), 8))));
        }
        if let Some(p) = r.not_protocol {
            parts.push((
                RulePart::NotProtocol,
                v.protocol.eq(bv(u128::from(p), 8)).not(),
            ));
        }
        if let Some(m) = &r.icmp {
            parts.push((RulePart::Icmp, self.icmp(m)));
        }
        if let Some(m) = &r.not_icmp {
            parts.push((RulePart::NotIcmp, self.icmp(m).not()));
        }
        if let Some(h) = &r.http {
            parts.push((RulePart::Http, self.http(h)));
        }
        self.entity_parts(&r.source, Side2::Src, &mut parts);
        self.entity_parts(&r.destination, Side2::Dst, &mut parts);
        parts
    }

    fn memoized(&self, key: Term, build: impl FnOnce() -> Bool) -> Bool {
        if let Some(b) = self.memo.borrow().get(&key) {
            return b.clone();
        }
        let b = build();
        self.memo.borrow_mut().insert(key, b.clone());
        b
    }

    /// The rule's match condition.
    pub fn rule(&self, id: RuleId) -> Bool {
        self.memoized(Term::Rule(id), || {
            all(self.rule_parts(id).into_iter().map(|(_, b)| b).collect())
        })
    }

    /// The policy `pi` applies to the packet's local endpoint in direction `d`.
    pub fn selects(&self, pi: PolicyId, d: Direction) -> Bool {
        let Some(p) = self.policy(pi).filter(|p| p.applies(d)) else {
            return f();
        };
        self.memoized(Term::Selects(pi, d), || {
            let local = self.side(Side2::local(d));
            Bool::and(&[local.is_entity.clone(), self.selector(&p.selector, local)])
        })
    }

    /// Packets that read like real traffic: IPv4, distinct addresses, non-zero ports, TCP or
    /// UDP. Witnesses are searched within these first.
    pub fn plausible(&self) -> Bool {
        let v = &self.vars;
        Bool::and(&[
            v.v6.not(),
            v.src.ip.eq(&v.dst.ip).not(),
            v.src.port.bvuge(bv(1024, 16)),
            v.dst.port.bvuge(bv(1, 16)),
            Bool::or(&[v.protocol.eq(bv(6, 8)), v.protocol.eq(bv(17, 8))]),
        ])
    }

    /// Address preferences for examples, best first: documentation addresses (192.0.2.10
    /// → 198.51.100.20, 2001:db8::10 → 2001:db8::20), then addresses that are not a
    /// network's first or last (so not 0.0.0.0 and 0.0.0.1, and inside the nets involved).
    pub fn nice_addresses(&self) -> Vec<Bool> {
        let v = &self.vars;
        // Documentation ranges (RFC 5737, RFC 3849): 192.0.2.10, 198.51.100.20,
        // 203.0.113.30 and 2001:db8::10, ::20, ::30.
        let docs: [(u128, u128); 3] = [
            (0xc000_020a, 0x2001_0db8 << 96 | 0x10),
            (0xc633_6414, 0x2001_0db8 << 96 | 0x20),
            (0xcb00_711e, 0x2001_0db8 << 96 | 0x30),
        ];
        let doc = |side: &SideVars, (v4, v6): (u128, u128)| {
            Bool::or(&[
                Bool::and(&[v.v6.not(), side.ip.eq(bv(v4, 128))]),
                Bool::and(&[v.v6.clone(), side.ip.eq(bv(v6, 128))]),
            ])
        };
        let any_doc = |side: &SideVars| Bool::or(&docs.map(|d| doc(side, d)));
        let host = |side: &SideVars| {
            let low = side.ip.extract(7, 0);
            Bool::and(&[
                low.bvuge(bv(1, 8)),
                low.bvule(bv(254, 8)),
                side.ip.extract(31, 24).eq(bv(0, 8)).not(),
            ])
        };
        let (src, dst) = (&v.src, &v.dst);
        vec![
            Bool::and(&[doc(src, docs[0]), doc(dst, docs[1])]),
            Bool::and(&[any_doc(src), any_doc(dst)]),
            Bool::and(&[any_doc(src), host(dst)]),
            Bool::and(&[host(src), any_doc(dst)]),
            Bool::and(&[host(src), host(dst)]),
        ]
    }

    /// Some endpoint matches the policy's selector (whatever the direction).
    pub fn selects_any(&self, pi: PolicyId) -> Bool {
        let Some(p) = self.policy(pi) else {
            return f();
        };
        let local = &self.vars.dst;
        Bool::and(&[local.is_entity.clone(), self.selector(&p.selector, local)])
    }

    /// No terminal rule of `p` (before `before`, if given) matches.
    pub fn no_terminal_match(&self, pi: PolicyId, d: Direction, before: Option<usize>) -> Bool {
        self.no_terminal_match_among(pi, d, before, &|_| true)
    }

    /// [`Encoder::no_terminal_match`] over the rules `keep` accepts. Exact for packets no
    /// left-out rule can match (e.g. rules a prefilter shows disjoint from the rule asked
    /// about): callers use it to keep frames small.
    pub fn no_terminal_match_among(
        &self,
        pi: PolicyId,
        d: Direction,
        before: Option<usize>,
        keep: &dyn Fn(&CompiledRule) -> bool,
    ) -> Bool {
        let Some(p) = self.policy(pi) else {
            return t();
        };
        all(p
            .rules(d)
            .iter()
            .take_while(|r| before.is_none_or(|b| r.index < b))
            .filter(|r| r.is_terminal() && keep(r))
            .map(|r| self.rule(rule_id(pi, d, r)).not())
            .collect())
    }

    /// Evaluation of tier `policies` (sorted, enforced, in one tier) continues past the tier:
    /// no policy applies, or the first terminal match is a Pass, or nothing matches and the
    /// tier's default action is Pass.
    pub fn tier_continues(&self, policies: &[PolicyId], d: Direction, default_pass: bool) -> Bool {
        self.tier_continues_among(policies, d, default_pass, &|_| true)
    }

    /// [`Encoder::tier_continues`] over the rules `keep` accepts (exact for packets no
    /// left-out rule can match, see [`Encoder::no_terminal_match_among`]).
    pub fn tier_continues_among(
        &self,
        policies: &[PolicyId],
        d: Direction,
        default_pass: bool,
        keep: &dyn Fn(&CompiledRule) -> bool,
    ) -> Bool {
        let applies = any(policies.iter().map(|&pi| self.selects(pi, d)).collect());
        // Walk the (policy, rule) chain backwards: `pass` = first terminal match is Pass,
        // `none` = no terminal match at all.
        let mut pass = f();
        let mut none = t();
        for &pi in policies.iter().rev() {
            let Some(p) = self.policy(pi) else { continue };
            let sel = self.selects(pi, d);
            for r in p
                .rules(d)
                .iter()
                .rev()
                .filter(|r| r.is_terminal() && keep(r))
            {
                let m = Bool::and(&[sel.clone(), self.rule(rule_id(pi, d, r))]);
                pass = m.ite(&Bool::from_bool(r.action == Action::Pass), &pass);
                none = Bool::and(&[m.not(), none]);
            }
        }
        let continues = if default_pass {
            Bool::or(&[pass, none])
        } else {
            pass
        };
        Bool::or(&[applies.not(), continues])
    }
}
