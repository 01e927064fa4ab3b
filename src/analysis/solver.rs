//! The one module that talks to Z3.
//!
//! calint links the system libz3 (Debian's 4.8.12) by default. The `z3` crate's bindings are
//! generated for newer releases, so only long-stable parts of the API are used: Bool,
//! bit-vector, integer and string terms, push/pop, assumptions with unsat cores, models and
//! per-solver timeouts. AST kinds are never inspected (their numbering differs by release).
//!
//! Encoding (the same semantics as `analysis::concrete`, which tests it):
//! - a packet has an IP family, protocol (8 bits), ICMP type/code, and two sides, `src` and
//!   `dst`; each side has an "is a labeled entity" flag, labels, an address (128 bits; IPv4
//!   in the low 32), a port (16 bits), declarations of the named ports rules mention, and
//!   membership in the services rules mention;
//! - a label key is a presence flag plus a value. Keys used only with `==`, `!=`, `in`,
//!   `not in` get a finite domain: the values mentioned anywhere plus "any other value",
//!   which is exact because nothing else distinguishes values. Keys used with `contains`,
//!   `starts with`, `ends with` get Z3 strings, over an injective fixed-width encoding of
//!   each character (so no string escaping can differ between Z3 releases).

use super::concrete::{Packet, Side};
use super::ir::{CompiledPolicy, CompiledRule, Entity, Http, Icmp, PolicySet, PortMatch};
use super::reach::{Group, Identity, Member};
use crate::model::net::{Cidr, IpFamily};
use crate::model::resource::{Action, Direction};
use crate::model::selector::Expr;
use std::collections::{BTreeMap, BTreeSet};
use z3::ast::{BV, Bool, Int, String as ZString};
use z3::{Params, SatResult, Solver};

/// A formula over one packet. The query code in `analysis` combines formulas built here
/// (`and`, `or`, `not`) but never builds terms itself.
pub type Formula = Bool;

/// Version of the Z3 library calint is linked with, e.g. `4.8.12.0`.
pub fn z3_version() -> String {
    z3::full_version().to_string()
}

/// The value domain of one label key across the whole policy set.
#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyDomain {
    /// Values mentioned; index `len()` stands for every other value.
    Finite(Vec<String>),
    Strings(Vec<String>),
}

/// Everything the encoding needs to know about the policy set's vocabulary. Plain data:
/// built once, shared by every worker thread.
#[derive(Clone, Debug, Default)]
pub struct Universe {
    keys: BTreeMap<String, KeyDomain>,
    methods: Vec<String>,
    named_ports: BTreeSet<String>,
    services: BTreeSet<String>,
    /// One representative HTTP path per class of paths the rules can tell apart.
    paths: Vec<String>,
}

/// HTTP paths are only compared for equality and for segment-boundary prefixes, so one
/// representative per class of equivalent paths is exact: each exact path, each prefix, a
/// path one fresh segment below each prefix, and a path matching nothing.
fn path_representatives(exact: &BTreeSet<String>, prefixes: &BTreeSet<String>) -> Vec<String> {
    if exact.is_empty() && prefixes.is_empty() {
        return Vec::new();
    }
    // A segment no pattern contains, so it creates no extra prefix relation.
    let fresh = (0..)
        .map(|i| format!("calint-{i}"))
        .find(|f| !exact.iter().chain(prefixes).any(|p| p.contains(f.as_str())))
        .unwrap_or_default();
    let mut reps: BTreeSet<String> = exact.iter().chain(prefixes).cloned().collect();
    for p in prefixes {
        let sep = if p.ends_with('/') { "" } else { "/" };
        reps.insert(format!("{p}{sep}{fresh}"));
    }
    reps.insert(format!("/{fresh}-unmatched"));
    // Not even under `/` (a request target such as `*`).
    reps.insert(String::new());
    reps.into_iter().collect()
}

fn visit_expr(e: &Expr, values: &mut BTreeMap<String, (BTreeSet<String>, bool)>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        let mut note = |k: &str, vs: &[&String], string_op: bool| {
            let entry = values.entry(k.to_string()).or_default();
            entry.0.extend(vs.iter().map(|v| (*v).clone()));
            entry.1 |= string_op;
        };
        match e {
            Expr::Has(k) => note(k, &[], false),
            Expr::Eq(k, v) | Expr::Ne(k, v) => note(k, &[v], false),
            Expr::In(k, vs) | Expr::NotIn(k, vs) => note(k, &vs.iter().collect::<Vec<_>>(), false),
            Expr::Contains(k, v) | Expr::StartsWith(k, v) | Expr::EndsWith(k, v) => {
                note(k, &[v], true)
            }
            Expr::Not(inner) => stack.push(inner),
            Expr::And(items) | Expr::Or(items) => stack.extend(items),
            Expr::All | Expr::Global => {}
        }
    }
}

impl Universe {
    pub fn new(set: &PolicySet) -> Universe {
        Universe::with_extra(set, &[])
    }

    /// The vocabulary of `set` plus extra selectors (reachability group selectors).
    pub fn with_extra(set: &PolicySet, extra: &[&Expr]) -> Universe {
        let mut values: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
        for e in extra {
            visit_expr(e, &mut values);
        }
        let mut u = Universe::default();
        let mut methods = BTreeSet::new();
        let mut exact_paths = BTreeSet::new();
        let mut prefix_paths = BTreeSet::new();
        for p in &set.policies {
            visit_expr(&p.selector, &mut values);
            for r in p.ingress.iter().chain(&p.egress) {
                for e in [&r.source, &r.destination] {
                    for s in [&e.selector, &e.not_selector].into_iter().flatten() {
                        visit_expr(s, &mut values);
                    }
                    for pm in e.ports.iter().chain(&e.not_ports) {
                        if let PortMatch::Named(n) = pm {
                            u.named_ports.insert(n.clone());
                        }
                    }
                    if let Some(s) = &e.service {
                        u.services.insert(s.clone());
                    }
                }
                if let Some(h) = &r.http {
                    methods.extend(h.methods.iter().filter(|m| *m != "*").cloned());
                    exact_paths.extend(h.exact_paths.iter().cloned());
                    prefix_paths.extend(h.prefix_paths.iter().cloned());
                }
            }
        }
        u.methods = methods.into_iter().collect();
        u.paths = path_representatives(&exact_paths, &prefix_paths);
        // Labels Calico derives from one another share one value domain (see
        // `Encoder::derived_label_consistency`).
        // Two passes: the namespace label is paired with two derived labels.
        for (a, b) in [
            (super::ir::NAMESPACE_LABEL, "pcns.projectcalico.org/name"),
            (
                super::ir::NAMESPACE_LABEL,
                super::ir::K8S_NAMESPACE_NAME_LABEL,
            ),
            (
                super::ir::SERVICE_ACCOUNT_LABEL,
                "pcsa.projectcalico.org/name",
            ),
        ]
        .repeat(2)
        {
            if let (Some((va, sa)), Some((vb, sb))) =
                (values.get(a).cloned(), values.get(b).cloned())
            {
                let union: BTreeSet<String> = va.union(&vb).cloned().collect();
                values.insert(a.to_string(), (union.clone(), sa || sb));
                values.insert(b.to_string(), (union, sa || sb));
            }
        }
        u.keys = values
            .into_iter()
            .map(|(k, (vs, strings))| {
                let vs: Vec<String> = vs.into_iter().collect();
                (
                    k,
                    if strings {
                        KeyDomain::Strings(vs)
                    } else {
                        KeyDomain::Finite(vs)
                    },
                )
            })
            .collect();
        u
    }

    /// A value of `key` mentioned nowhere, for witnesses.
    fn other_value(&self, key: &str) -> String {
        let used: BTreeSet<&str> = match self.keys.get(key) {
            Some(KeyDomain::Finite(v) | KeyDomain::Strings(v)) => {
                v.iter().map(String::as_str).collect()
            }
            None => BTreeSet::new(),
        };
        (0..)
            .map(|i| {
                if i == 0 {
                    "other".to_string()
                } else {
                    format!("other-{i}")
                }
            })
            .find(|c| !used.contains(c.as_str()))
            .unwrap_or_default()
    }
}

/// Characters passed to Z3 as themselves (everything else is escaped).
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~')
}

/// The 16 "digits" of an escape: none is plain, `%`, a quote or a backslash, so no encoded
/// needle can match inside an escape.
const ESCAPE_DIGITS: &[u8; 16] = b"!#$&()*+,:;<=>?@";

/// Injective, alignment-safe encoding of a string as ASCII for Z3: plain characters (letters,
/// digits, `/-._~`) stand for themselves, any other as `%` and 6 escape digits (the code point
/// in base 16). The code is prefix-free and a needle can only match at a character boundary,
/// so equality, prefix, suffix and containment mean the same on encodings as on strings.
/// (Paths and label values are mostly plain: Z3's string solver is much faster on short
/// constants than it was on a fixed 7 characters per character.)
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_plain(c) {
            out.push(c);
        } else {
            out.push('%');
            let code = u32::from(c);
            for shift in (0..6).rev() {
                let digit = (code >> (4 * shift)) & 0xF;
                let d = ESCAPE_DIGITS.get(digit as usize).copied().unwrap_or(b'!');
                out.push(char::from(d));
            }
        }
    }
    out
}

fn decode(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if is_plain(c) {
            out.push(c);
            continue;
        }
        if c != '%' {
            return None;
        }
        let mut code = 0u32;
        for _ in 0..6 {
            let d = chars.next()?;
            let digit = ESCAPE_DIGITS.iter().position(|&x| char::from(x) == d)?;
            code = code * 16 + digit as u32;
        }
        out.push(char::from_u32(code)?);
    }
    Some(out)
}

enum LabelValue {
    Index(Int),
    Str(ZString),
}

struct SideVars {
    is_entity: Bool,
    has: BTreeMap<String, Bool>,
    value: BTreeMap<String, LabelValue>,
    ip: BV,
    port: BV,
    named: BTreeMap<String, (Bool, BV, BV)>,
    services: BTreeMap<String, Bool>,
}

struct PacketVars {
    v6: Bool,
    protocol: BV,
    icmp_type: BV,
    icmp_code: BV,
    src: SideVars,
    dst: SideVars,
    method: Int,
    /// Index into `Universe::paths`.
    path: Int,
}

fn t() -> Bool {
    Bool::from_bool(true)
}

fn f() -> Bool {
    Bool::from_bool(false)
}

fn all(items: Vec<Bool>) -> Bool {
    match items.len() {
        0 => t(),
        1 => items.into_iter().next().unwrap_or_else(t),
        _ => Bool::and(&items),
    }
}

fn any(items: Vec<Bool>) -> Bool {
    match items.len() {
        0 => f(),
        1 => items.into_iter().next().unwrap_or_else(f),
        _ => Bool::or(&items),
    }
}

fn bv(v: u128, bits: u32) -> BV {
    if bits <= 64 {
        BV::from_u64(v as u64, bits)
    } else {
        BV::from_str(bits, &v.to_string()).unwrap_or_else(|| BV::from_u64(0, bits))
    }
}

impl SideVars {
    fn new(u: &Universe, name: &str) -> SideVars {
        let mut has = BTreeMap::new();
        let mut value = BTreeMap::new();
        for (k, dom) in &u.keys {
            has.insert(k.clone(), Bool::new_const(format!("{name}.has[{k}]")));
            let v = match dom {
                KeyDomain::Finite(_) => {
                    LabelValue::Index(Int::new_const(format!("{name}.val[{k}]")))
                }
                KeyDomain::Strings(_) => {
                    LabelValue::Str(ZString::new_const(format!("{name}.str[{k}]")))
                }
            };
            value.insert(k.clone(), v);
        }
        let named = u
            .named_ports
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    (
                        Bool::new_const(format!("{name}.np[{n}]")),
                        BV::new_const(format!("{name}.np_proto[{n}]"), 8),
                        BV::new_const(format!("{name}.np_port[{n}]"), 16),
                    ),
                )
            })
            .collect();
        let services = u
            .services
            .iter()
            .map(|s| (s.clone(), Bool::new_const(format!("{name}.svc[{s}]"))))
            .collect();
        SideVars {
            is_entity: Bool::new_const(format!("{name}.entity")),
            has,
            value,
            ip: BV::new_const(format!("{name}.ip"), 128),
            port: BV::new_const(format!("{name}.port"), 16),
            named,
            services,
        }
    }

    /// Domain constraints: finite-domain values in range, IPv4 addresses in 32 bits.
    /// Facts every packet satisfies. Finite-domain label values need no range: an index that
    /// names no mentioned value stands for "some other value", exactly like the last index.
    fn domain(&self, v6: &Bool) -> Vec<Bool> {
        let mut out = Vec::new();
        out.push(v6.not().implies(self.ip.extract(127, 32).eq(bv(0, 96))));
        // A declared named port is a real port (1-65535) of a port protocol.
        for (decl, proto, port) in self.named.values() {
            let port_protocol = any([6u128, 17, 132]
                .iter()
                .map(|p| proto.eq(bv(*p, 8)))
                .collect());
            out.push(decl.implies(Bool::and(&[port.bvuge(bv(1, 16)), port_protocol])));
        }
        out
    }
}

/// Translates domain terms (selectors, rules, policies) into Z3 terms over one packet.
pub struct Encoder<'u> {
    u: &'u Universe,
    vars: PacketVars,
    /// Terms already built, keyed by the address of the IR node (the policy set is borrowed
    /// immutably for the whole analysis, so addresses are stable): each rule and policy
    /// selector is translated once per worker, however many queries mention it.
    memo: std::cell::RefCell<std::collections::HashMap<(usize, u8), Bool>>,
}

impl<'u> Encoder<'u> {
    pub fn new(u: &'u Universe) -> Encoder<'u> {
        Encoder {
            u,
            memo: std::cell::RefCell::default(),
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
                super::ir::NAMESPACE_LABEL,
                "pcns.projectcalico.org/name",
                true,
            ),
            (
                super::ir::NAMESPACE_LABEL,
                super::ir::K8S_NAMESPACE_NAME_LABEL,
                true,
            ),
            (
                super::ir::SERVICE_ACCOUNT_LABEL,
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

    fn domain(&self) -> Bool {
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

    fn side(&self, d: Side2) -> &SideVars {
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
        op: fn(&ZString, &ZString) -> Bool,
    ) -> Bool {
        let (Some(has), Some(LabelValue::Str(s))) = (side.has.get(k), side.value.get(k)) else {
            return f();
        };
        Bool::and(&[has.clone(), op(s, &ZString::from(encode(needle)))])
    }

    /// A selector over the labels of one side. Recursion depth is bounded by the selector
    /// parser's nesting limit.
    fn selector(&self, e: &Expr, side: &SideVars) -> Bool {
        match e {
            Expr::All | Expr::Global => t(),
            Expr::Has(k) => side.has.get(k).cloned().unwrap_or_else(f),
            Expr::Eq(k, v) => self.label_eq(side, k, v),
            Expr::Ne(k, v) => self.label_eq(side, k, v).not(),
            Expr::In(k, vs) => any(vs.iter().map(|v| self.label_eq(side, k, v)).collect()),
            Expr::NotIn(k, vs) => any(vs.iter().map(|v| self.label_eq(side, k, v)).collect()).not(),
            Expr::Contains(k, v) => self.string_op(side, k, v, |s, n| s.contains(n)),
            Expr::StartsWith(k, v) => self.string_op(side, k, v, |s, n| n.prefix(s)),
            Expr::EndsWith(k, v) => self.string_op(side, k, v, |s, n| n.suffix(s)),
            Expr::Not(inner) => self.selector(inner, side).not(),
            Expr::And(items) => all(items.iter().map(|i| self.selector(i, side)).collect()),
            Expr::Or(items) => any(items.iter().map(|i| self.selector(i, side)).collect()),
        }
    }

    fn in_cidr(&self, c: &Cidr, ip: &BV) -> Bool {
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
    fn entity_parts(&self, e: &Entity, which: Side2, out: &mut Vec<(String, Bool)>) {
        let side = self.side(which);
        let name = which.name();
        if let Some(s) = &e.selector {
            out.push((
                format!("{name}.selector"),
                Bool::and(&[side.is_entity.clone(), self.selector(s, side)]),
            ));
        }
        if let Some(s) = &e.not_selector {
            out.push((
                format!("{name}.notSelector"),
                Bool::and(&[side.is_entity.clone(), self.selector(s, side)]).not(),
            ));
        }
        if !e.nets.is_empty() {
            out.push((
                format!("{name}.nets"),
                any(e.nets.iter().map(|c| self.in_cidr(c, &side.ip)).collect()),
            ));
        }
        if !e.not_nets.is_empty() {
            out.push((
                format!("{name}.notNets"),
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
                format!("{name}.ports"),
                any(e.ports.iter().map(|p| self.port_match(p, side)).collect()),
            ));
        }
        if !e.not_ports.is_empty() {
            out.push((
                format!("{name}.notPorts"),
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
                format!("{name}.services"),
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
                            .any(|p| super::concrete::path_prefix_matches(p, rep))
                })
                .map(|(i, _)| v.path.eq(Int::from_u64(i as u64)))
                .collect();
            c.push(any(classes));
        }
        all(c)
    }

    /// The named parts of a rule's match condition (their conjunction is the rule's match).
    pub fn rule_parts(&self, r: &CompiledRule) -> Vec<(String, Bool)> {
        let v = &self.vars;
        let mut parts = Vec::new();
        let family = match (r.v4, r.v6) {
            (true, true) => None,
            (true, false) => Some(v.v6.not()),
            (false, true) => Some(v.v6.clone()),
            (false, false) => Some(f()),
        };
        if let Some(fam) = family {
            parts.push(("IP family".to_string(), fam));
        }
        if let Some(p) = r.protocol {
            parts.push(("protocol".into(), v.protocol.eq(bv(u128::from(p), 8))));
        }
        if let Some(p) = r.not_protocol {
            parts.push((
                "notProtocol".into(),
                v.protocol.eq(bv(u128::from(p), 8)).not(),
            ));
        }
        if let Some(m) = &r.icmp {
            parts.push(("icmp".into(), self.icmp(m)));
        }
        if let Some(m) = &r.not_icmp {
            parts.push(("notICMP".into(), self.icmp(m).not()));
        }
        if let Some(h) = &r.http {
            parts.push(("http".into(), self.http(h)));
        }
        self.entity_parts(&r.source, Side2::Src, &mut parts);
        self.entity_parts(&r.destination, Side2::Dst, &mut parts);
        parts
    }

    fn memoized(&self, key: (usize, u8), build: impl FnOnce() -> Bool) -> Bool {
        if let Some(b) = self.memo.borrow().get(&key) {
            return b.clone();
        }
        let b = build();
        self.memo.borrow_mut().insert(key, b.clone());
        b
    }

    pub fn rule(&self, r: &CompiledRule) -> Bool {
        self.memoized((r as *const CompiledRule as usize, 0), || {
            all(self.rule_parts(r).into_iter().map(|(_, b)| b).collect())
        })
    }

    /// The policy applies to the packet's local endpoint in direction `d`.
    pub fn selects(&self, p: &CompiledPolicy, d: Direction) -> Bool {
        if !p.applies(d) {
            return f();
        }
        let tag = match d {
            Direction::Ingress => 1,
            Direction::Egress => 2,
        };
        self.memoized((p as *const CompiledPolicy as usize, tag), || {
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
    pub fn selects_any(&self, p: &CompiledPolicy) -> Bool {
        let local = &self.vars.dst;
        Bool::and(&[local.is_entity.clone(), self.selector(&p.selector, local)])
    }

    /// No terminal rule of `p` (before `before`, if given) matches.
    pub fn no_terminal_match(
        &self,
        p: &CompiledPolicy,
        d: Direction,
        before: Option<usize>,
    ) -> Bool {
        all(p
            .rules(d)
            .iter()
            .take_while(|r| before.is_none_or(|b| r.index < b))
            .filter(|r| r.is_terminal())
            .map(|r| self.rule(r).not())
            .collect())
    }

    /// Evaluation of tier `policies` (sorted, enforced, in one tier) continues past the tier:
    /// no policy applies, or the first terminal match is a Pass, or nothing matches and the
    /// tier's default action is Pass.
    pub fn tier_continues(
        &self,
        policies: &[&CompiledPolicy],
        d: Direction,
        default_pass: bool,
    ) -> Bool {
        let applies = any(policies.iter().map(|p| self.selects(p, d)).collect());
        // Walk the (policy, rule) chain backwards: `pass` = first terminal match is Pass,
        // `none` = no terminal match at all.
        let mut pass = f();
        let mut none = t();
        for p in policies.iter().rev() {
            let sel = self.selects(p, d);
            for r in p.rules(d).iter().rev().filter(|r| r.is_terminal()) {
                let m = Bool::and(&[sel.clone(), self.rule(r)]);
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

    /// `side`'s label `k` equals `v`, also for values no selector mentions.
    fn fixed_label(&self, side: &SideVars, k: &str, v: &str) -> Bool {
        let Some(has) = side.has.get(k) else {
            return t();
        };
        let eq = match (self.u.keys.get(k), side.value.get(k)) {
            (Some(KeyDomain::Finite(vals)), Some(LabelValue::Index(i))) => {
                let idx = vals.iter().position(|x| x == v).unwrap_or(vals.len());
                i.eq(Int::from_u64(idx as u64))
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

    fn group(&self, which: Side2, g: &Group) -> Bool {
        let side = self.side(which);
        any(g.members.iter().map(|m| self.member(side, m)).collect())
    }

    /// The verdict of direction `d` is allow: tiers in order, Pass to the next tier, the
    /// end-of-tier deny, and "no policy selects the endpoint" allowing (§4.3, §4.6). Only
    /// policies with `keep[i]` take part (the others cannot select the endpoint).
    fn allowed(&self, set: &PolicySet, keep: &[bool], d: Direction) -> Bool {
        let mut acc = t();
        for tier in set.tiers.iter().rev() {
            let pols: Vec<&CompiledPolicy> = set
                .policies
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    p.tier == tier.name
                        && !p.staged
                        && p.applies(d)
                        && keep.get(*i).copied().unwrap_or(false)
                })
                .map(|(_, p)| p)
                .collect();
            if pols.is_empty() {
                continue;
            }
            let applies = any(pols.iter().map(|p| self.selects(p, d)).collect());
            let mut chain = if tier.default_pass { acc.clone() } else { f() };
            for p in pols.iter().rev() {
                let sel = self.selects(p, d);
                for r in p.rules(d).iter().rev().filter(|r| r.is_terminal()) {
                    let m = Bool::and(&[sel.clone(), self.rule(r)]);
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

    pub fn read_packet(&self, model: &z3::Model) -> Packet {
        let v = &self.vars;
        let bits = |b: &BV| model.eval(b, true).and_then(|x| x.as_u64()).unwrap_or(0);
        let big = |b: &BV| -> u128 {
            let hi = model
                .eval(&b.extract(127, 64), true)
                .and_then(|x| x.as_u64())
                .unwrap_or(0);
            let lo = model
                .eval(&b.extract(63, 0), true)
                .and_then(|x| x.as_u64())
                .unwrap_or(0);
            (u128::from(hi) << 64) | u128::from(lo)
        };
        let boolean = |b: &Bool| {
            model
                .eval(b, true)
                .and_then(|x| x.as_bool())
                .unwrap_or(false)
        };
        let side = |s: &SideVars| -> Side {
            let mut labels = BTreeMap::new();
            for (k, has) in &s.has {
                if !boolean(has) {
                    continue;
                }
                let value = match (self.u.keys.get(k), s.value.get(k)) {
                    (Some(KeyDomain::Finite(vals)), Some(LabelValue::Index(i))) => {
                        let idx =
                            model.eval(i, true).and_then(|x| x.as_u64()).unwrap_or(0) as usize;
                        vals.get(idx)
                            .cloned()
                            .unwrap_or_else(|| self.u.other_value(k))
                    }
                    (_, Some(LabelValue::Str(z))) => model
                        .eval(z, true)
                        .and_then(|x| x.as_string())
                        .and_then(|x| decode(&x))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                labels.insert(k.clone(), value);
            }
            let named_ports = s
                .named
                .iter()
                .filter(|(_, (decl, _, _))| boolean(decl))
                .map(|(n, (_, proto, port))| (n.clone(), (bits(proto) as u8, bits(port) as u16)))
                .collect();
            // A derived label whose value no selector mentions reads as "other": show the
            // value it must equal instead.
            for (a, b) in [
                (super::ir::NAMESPACE_LABEL, "pcns.projectcalico.org/name"),
                (
                    super::ir::NAMESPACE_LABEL,
                    super::ir::K8S_NAMESPACE_NAME_LABEL,
                ),
                (
                    super::ir::SERVICE_ACCOUNT_LABEL,
                    "pcsa.projectcalico.org/name",
                ),
            ] {
                if let (Some(va), Some(vb)) = (labels.get(a).cloned(), labels.get(b).cloned()) {
                    if vb == self.u.other_value(b) {
                        labels.insert(b.to_string(), va);
                    }
                }
            }
            Side {
                is_entity: boolean(&s.is_entity),
                labels,
                ip: big(&s.ip),
                port: bits(&s.port) as u16,
                named_ports,
                services: s
                    .services
                    .iter()
                    .filter(|(_, b)| boolean(b))
                    .map(|(n, _)| n.clone())
                    .collect(),
            }
        };
        let method_idx = model
            .eval(&v.method, true)
            .and_then(|x| x.as_u64())
            .unwrap_or(0) as usize;
        Packet {
            v6: boolean(&v.v6),
            protocol: bits(&v.protocol) as u8,
            icmp_type: bits(&v.icmp_type) as u8,
            icmp_code: bits(&v.icmp_code) as u8,
            src: side(&v.src),
            dst: side(&v.dst),
            http_method: self
                .u
                .methods
                .get(method_idx)
                .cloned()
                .unwrap_or_else(|| "OTHER".into()),
            http_path: model
                .eval(&v.path, true)
                .and_then(|x| x.as_u64())
                .and_then(|i| self.u.paths.get(i as usize).cloned())
                .unwrap_or_default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side2 {
    Src,
    Dst,
}

impl Side2 {
    fn name(self) -> &'static str {
        match self {
            Side2::Src => "source",
            Side2::Dst => "destination",
        }
    }

    fn local(d: Direction) -> Side2 {
        match d {
            Direction::Ingress => Side2::Dst,
            Direction::Egress => Side2::Src,
        }
    }
}

/// Which protocols a flow question is about.
#[derive(Clone, Copy, Debug)]
pub enum ProtocolClass<'a> {
    Any,
    Is(u8),
    /// Any protocol except these.
    Other(&'a [u8]),
}

/// A reachability question in domain terms.
#[derive(Clone, Copy, Debug)]
pub struct FlowQuestion<'a> {
    pub from: &'a Group,
    pub to: &'a Group,
    pub protocol: ProtocolClass<'a>,
    /// Destination ports (inclusive range).
    pub dst_ports: Option<(u16, u16)>,
    /// Look for an allowed packet (true) or a denied one (false).
    pub allowed: bool,
    /// Only IPv4 packets (examples read better).
    pub ipv4_only: bool,
    /// Which policies may select members of `from` / `to` (see [`Group::may_be_selected_by`]),
    /// computed once per group by the caller.
    pub from_policies: &'a [bool],
    pub to_policies: &'a [bool],
}

/// Run `f` with a session in a fresh Z3 context: answers (and witnesses) then depend only on
/// the questions asked, not on what the thread solved before.
pub fn with_fresh_session<R: Send + Sync>(
    u: &Universe,
    timeout_ms: u32,
    f: impl FnOnce(&mut Session<'_>) -> R + Send + Sync,
) -> R {
    let mut cfg = z3::Config::new();
    cfg.set_timeout_msec(u64::from(timeout_ms));
    z3::with_z3_config(&cfg, || {
        let mut s = Session::new(u, timeout_ms);
        f(&mut s)
    })
}

/// A solver answer that may be "undecided" (timeout or unknown).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer<T> {
    Known(T),
    Undecided,
}

/// A solver session for one thread: one Z3 solver reused with push/pop.
///
/// Queries are made of *frames* (push/pop) holding named conditions guarded by fresh
/// literals, checked under assumptions: many related questions about one rule share a frame
/// and the solver's learned state.
pub struct Session<'u> {
    pub enc: Encoder<'u>,
    solver: Solver,
    /// Solver calls made and how many were undecided.
    pub calls: usize,
    pub undecided: usize,
    guards: usize,
    allowed_cache: std::collections::HashMap<(usize, usize, Direction), Bool>,
}

impl<'u> Session<'u> {
    pub fn new(u: &'u Universe, timeout_ms: u32) -> Session<'u> {
        let solver = Solver::new();
        let mut params = Params::new();
        params.set_u32("timeout", timeout_ms);
        solver.set_params(&params);
        let enc = Encoder::new(u);
        // Domain facts hold in every query: asserted once, below every frame.
        solver.assert(enc.domain());
        Session {
            enc,
            solver,
            calls: 0,
            undecided: 0,
            guards: 0,
            allowed_cache: std::collections::HashMap::new(),
        }
    }

    pub fn open(&mut self) {
        self.solver.push();
    }

    pub fn close(&mut self) {
        self.solver.pop(1);
    }

    /// Assert each condition behind a fresh literal (in the current frame); returns the
    /// literals, to be passed as assumptions.
    pub fn guard(&mut self, conds: &[Bool]) -> Vec<Bool> {
        conds
            .iter()
            .map(|c| {
                self.guards += 1;
                let lit = Bool::new_const(format!("guard{}", self.guards));
                self.solver.assert(lit.implies(c));
                lit
            })
            .collect()
    }

    /// Satisfiable under these assumptions? `None` when undecided.
    pub fn holds(&mut self, assumptions: &[Bool]) -> Option<bool> {
        match self.check(assumptions) {
            SatResult::Sat => Some(true),
            SatResult::Unsat => Some(false),
            SatResult::Unknown => None,
        }
    }

    fn check(&mut self, assumptions: &[Bool]) -> SatResult {
        self.calls += 1;
        let r = self.solver.check_assumptions(assumptions);
        if r == SatResult::Unknown {
            self.undecided += 1;
        }
        r
    }

    /// Are `fixed` and `optional` satisfiable together? `Known(None)` when they are;
    /// otherwise a minimal subset of `optional` (indexes) that is unsatisfiable with `fixed`.
    /// Minimisation is deletion-based in index order, so the result does not depend on which
    /// core the solver happened to return.
    pub fn core(&mut self, fixed: &[Bool], optional: &[Bool]) -> Answer<Option<Vec<usize>>> {
        let with = |keep: &[usize]| -> Vec<Bool> {
            fixed
                .iter()
                .cloned()
                .chain(keep.iter().filter_map(|&i| optional.get(i).cloned()))
                .collect()
        };
        let mut keep: Vec<usize> = (0..optional.len()).collect();
        match self.check(&with(&keep)) {
            SatResult::Sat => return Answer::Known(None),
            SatResult::Unknown => return Answer::Undecided,
            SatResult::Unsat => {}
        }
        let mut core = self.core_indexes(optional);
        // Delete from the last index to the first: the earliest parts (earlier rules,
        // earlier tiers and policies, which decide first) are the ones kept.
        for k in (0..optional.len()).rev() {
            if !keep.contains(&k) {
                continue;
            }
            let trial: Vec<usize> = keep.iter().copied().filter(|&j| j != k).collect();
            if !core.contains(&k) {
                // The current core does not use `k`: dropping it keeps the set unsatisfiable.
                keep = trial;
                continue;
            }
            match self.check(&with(&trial)) {
                SatResult::Unsat => {
                    core = self.core_indexes(optional);
                    keep = trial;
                }
                SatResult::Sat => {}
                SatResult::Unknown => return Answer::Undecided,
            }
        }
        Answer::Known(Some(keep))
    }

    fn core_indexes(&self, optional: &[Bool]) -> Vec<usize> {
        let core = self.solver.get_unsat_core();
        (0..optional.len())
            .filter(|&i| optional.get(i).is_some_and(|l| core.contains(l)))
            .collect()
    }

    /// Is there a packet from `from` to `to` with these properties whose verdict is
    /// `q.allowed`? With `Some`, a witness packet.
    pub fn flow(&mut self, set: &PolicySet, q: &FlowQuestion<'_>) -> Answer<Option<Packet>> {
        let f = self.flow_formula(set, q);
        self.sat(&f)
    }

    /// Like [`Session::flow`], but the witness has the smallest destination port, then the
    /// smallest source port: examples stay the same when unrelated parts of the encoding
    /// change.
    pub fn flow_example(
        &mut self,
        set: &PolicySet,
        q: &FlowQuestion<'_>,
    ) -> Answer<Option<Packet>> {
        let mut f = self.flow_formula(set, q);
        if !matches!(self.sat(&f), Answer::Known(Some(_))) {
            return self.sat(&f);
        }
        if let Some(pref) = self.enc.nice_addresses().into_iter().find(|pref| {
            matches!(
                self.sat(&Bool::and(&[f.clone(), pref.clone()])),
                Answer::Known(Some(_))
            )
        }) {
            f = Bool::and(&[f, pref]);
        }
        for port in [
            self.enc.vars.dst.port.clone(),
            self.enc.vars.src.port.clone(),
        ] {
            let (mut lo, mut hi) = (0u64, 65535u64);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let bounded = Bool::and(&[f.clone(), port.bvule(BV::from_u64(mid, 16))]);
                match self.sat(&bounded) {
                    Answer::Known(Some(_)) => hi = mid,
                    Answer::Known(None) => lo = mid + 1,
                    Answer::Undecided => break,
                }
            }
            f = Bool::and(&[f, port.eq(BV::from_u64(hi, 16))]);
        }
        self.sat(&f)
    }

    fn flow_formula(&mut self, set: &PolicySet, q: &FlowQuestion<'_>) -> Bool {
        let e = &self.enc;
        let mut c = vec![e.group(Side2::Src, q.from), e.group(Side2::Dst, q.to)];
        match q.protocol {
            ProtocolClass::Any => {}
            ProtocolClass::Is(p) => c.push(e.vars.protocol.eq(bv(u128::from(p), 8))),
            ProtocolClass::Other(known) => {
                for p in known {
                    c.push(e.vars.protocol.eq(bv(u128::from(*p), 8)).not());
                }
            }
        }
        if q.ipv4_only {
            c.push(e.vars.v6.not());
        }
        if let Some((lo, hi)) = q.dst_ports {
            c.push(e.vars.dst.port.bvuge(bv(u128::from(lo), 16)));
            c.push(e.vars.dst.port.bvule(bv(u128::from(hi), 16)));
        }
        let mut verdict = Vec::new();
        if q.from.policed {
            verdict.push(self.allowed_memo(set, q.from_policies, Direction::Egress));
        }
        if q.to.policed {
            verdict.push(self.allowed_memo(set, q.to_policies, Direction::Ingress));
        }
        let allowed = all(verdict);
        c.push(if q.allowed { allowed } else { allowed.not() });
        all(c)
    }

    /// The allow verdict formula for one policy subset and direction, built once: the subset
    /// is identified by the address of the caller's slice, stable while the caller holds it.
    fn allowed_memo(&mut self, set: &PolicySet, keep: &[bool], d: Direction) -> Bool {
        let key = (keep.as_ptr() as usize, keep.len(), d);
        if let Some(b) = self.allowed_cache.get(&key) {
            return b.clone();
        }
        let b = self.enc.allowed(set, keep, d);
        self.allowed_cache.insert(key, b.clone());
        b
    }

    /// A witness of `formula`, preferring plausible-looking packets (see
    /// [`Encoder::plausible`]).
    pub fn plausible_witness(&mut self, formula: &Bool) -> Answer<Option<Packet>> {
        let nice = Bool::and(&[formula.clone(), self.enc.plausible()]);
        match self.sat(&nice) {
            Answer::Known(Some(p)) => Answer::Known(Some(self.nicer_addresses(&nice).unwrap_or(p))),
            _ => match self.sat(formula) {
                Answer::Known(Some(p)) => {
                    Answer::Known(Some(self.nicer_addresses(formula).unwrap_or(p)))
                }
                other => other,
            },
        }
    }

    /// A witness of `formula` with the first address preference that can hold.
    fn nicer_addresses(&mut self, formula: &Bool) -> Option<Packet> {
        self.enc.nice_addresses().into_iter().find_map(|pref| {
            match self.sat(&Bool::and(&[formula.clone(), pref])) {
                Answer::Known(Some(p)) => Some(p),
                _ => None,
            }
        })
    }

    /// Is `formula` satisfiable? With `Some`, returns a witness packet.
    pub fn sat(&mut self, formula: &Bool) -> Answer<Option<Packet>> {
        self.open();
        self.solver.assert(formula);
        let result = match self.check(&[]) {
            SatResult::Sat => match self.solver.get_model() {
                Some(m) => Answer::Known(Some(self.enc.read_packet(&m))),
                None => Answer::Undecided,
            },
            SatResult::Unsat => Answer::Known(None),
            SatResult::Unknown => Answer::Undecided,
        };
        self.close();
        result
    }
}

/// Answers a fixed question with a known answer on each theory calint uses (bit-vectors,
/// integers, strings); proves the linked library works.
pub fn smoke_check() -> Result<(), String> {
    let solver = Solver::new();
    let port = BV::new_const("port", 16);
    solver.assert(port.bvuge(BV::from_u64(80, 16)));
    solver.assert(port.bvule(BV::from_u64(81, 16)));
    solver.assert(port.eq(BV::from_u64(80, 16)).not());
    if solver.check() != SatResult::Sat {
        return Err("Z3 did not find the only model".into());
    }
    let model = solver.get_model().ok_or("no model")?;
    let value = model
        .eval(&port, true)
        .and_then(|v| v.as_u64())
        .ok_or("model has no value for port")?;
    if value != 81 {
        return Err(format!("Z3 answered port = {value}, expected 81"));
    }
    solver.push();
    solver.assert(port.eq(BV::from_u64(81, 16)).not());
    let unsat = solver.check() == SatResult::Unsat;
    solver.pop(1);
    if !unsat {
        return Err("Z3 failed to prove unsatisfiability".into());
    }
    // Strings: a value that starts with "ab", ends with "yz" and contains "m".
    let s = ZString::new_const("s");
    solver.assert(ZString::from(encode("ab")).prefix(&s));
    solver.assert(ZString::from(encode("yz")).suffix(&s));
    solver.assert(s.contains(ZString::from(encode("m"))));
    if solver.check() != SatResult::Sat {
        return Err("Z3 string constraints unexpectedly unsatisfiable".into());
    }
    let m = solver.get_model().ok_or("no model")?;
    let text = m
        .eval(&s, true)
        .and_then(|v| v.as_string())
        .and_then(|v| decode(&v))
        .ok_or("no string value")?;
    if !(text.starts_with("ab") && text.ends_with("yz") && text.contains('m')) {
        return Err(format!("Z3 string model `{text}` is wrong"));
    }
    solver.assert(ZString::from(encode("b")).prefix(&s));
    if solver.check() != SatResult::Unsat {
        return Err("Z3 string prefixes `ab` and `b` should contradict".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_z3_answers_bit_vector_and_string_queries() {
        assert_eq!(smoke_check(), Ok(()));
        assert!(!z3_version().is_empty());
    }

    /// Every path's truth assignment over the patterns is the assignment of some
    /// representative, so the finite path domain is exact.
    #[test]
    fn path_representatives_cover_every_class() {
        use super::super::concrete::path_prefix_matches;
        let exact: BTreeSet<String> = ["/a/b", "/pub", "/x/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let prefixes: BTreeSet<String> = ["/a", "/a/b", "/pub", "/x/", "/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let reps = path_representatives(&exact, &prefixes);
        let signature = |path: &str| -> Vec<bool> {
            exact
                .iter()
                .map(|e| e == path)
                .chain(prefixes.iter().map(|p| path_prefix_matches(p, path)))
                .collect()
        };
        let rep_sigs: Vec<Vec<bool>> = reps.iter().map(|r| signature(r)).collect();
        let probes = [
            "/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/bc", "/ab", "/pub", "/public",
            "/pub/x", "/x", "/x/", "/x/y", "/y", "", "a", "/a//b",
        ];
        for p in probes {
            assert!(
                rep_sigs.contains(&signature(p)),
                "no representative for {p:?}"
            );
        }
        assert!(path_representatives(&BTreeSet::new(), &BTreeSet::new()).is_empty());
    }

    #[test]
    fn string_encoding_round_trips_and_is_alignment_safe() {
        for s in [
            "",
            "abc",
            "é\"'\\x00",
            "日本",
            "/api/v1?x=%20",
            "\u{10ffff}",
        ] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
        assert_eq!(encode("/api/v1"), "/api/v1");
        // "ba" must not be found inside "abab" shifted by half a character, nor a plain
        // needle inside an escape.
        assert!(encode("abab").contains(&encode("ba")));
        assert!(!encode("ab").contains(&encode("ba")));
        for (hay, needle) in [("é", "00"), ("%", "25"), ("a b", "!"), ("日", "e")] {
            assert!(!encode(hay).contains(&encode(needle)), "{hay} / {needle}");
        }
        assert!(encode("x é y").contains(&encode(" é ")));
        assert!(decode("a\u{0}").is_none());
    }
}
