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
use crate::model::net::{Cidr, IpFamily};
use crate::model::resource::{Action, Direction};
use crate::model::selector::Expr;
use std::collections::{BTreeMap, BTreeSet};
use z3::ast::{BV, Bool, Int, String as ZString};
use z3::{Params, SatResult, Solver};

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
        let mut values: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
        let mut u = Universe::default();
        let mut methods = BTreeSet::new();
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
                }
            }
        }
        u.methods = methods.into_iter().collect();
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
    path: ZString,
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
    fn domain(&self, u: &Universe, v6: &Bool) -> Vec<Bool> {
        let mut out = Vec::new();
        for (k, dom) in &u.keys {
            if let (KeyDomain::Finite(vals), Some(LabelValue::Index(i))) = (dom, self.value.get(k))
            {
                out.push(i.ge(Int::from_u64(0)));
                out.push(i.le(Int::from_u64(vals.len() as u64)));
            }
        }
        out.push(v6.not().implies(self.ip.extract(127, 32).eq(bv(0, 96))));
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
                path: ZString::new_const("http.path"),
            },
        }
    }

    fn domain(&self) -> Bool {
        let v = &self.vars;
        let mut c = v.src.domain(self.u, &v.v6);
        c.extend(v.dst.domain(self.u, &v.v6));
        c.push(v.method.ge(Int::from_u64(0)));
        c.push(v.method.le(Int::from_u64(self.u.methods.len() as u64)));
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
            let mut paths: Vec<Bool> = h
                .exact_paths
                .iter()
                .map(|p| v.path.eq(ZString::from(encode(p))))
                .collect();
            for p in &h.prefix_paths {
                let exact = v.path.eq(ZString::from(encode(p)));
                let boundary = if p.ends_with('/') {
                    p.clone()
                } else {
                    format!("{p}/")
                };
                paths.push(Bool::or(&[
                    exact,
                    ZString::from(encode(&boundary)).prefix(&v.path),
                ]));
            }
            c.push(any(paths));
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
                .and_then(|x| x.as_string())
                .and_then(|x| decode(&x))
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
        let mut i = 0;
        while i < keep.len() {
            let Some(&k) = keep.get(i) else { break };
            if !core.contains(&k) {
                // The current core does not use `k`: dropping it keeps the set unsatisfiable.
                keep.remove(i);
                continue;
            }
            let trial: Vec<usize> = keep.iter().copied().filter(|&j| j != k).collect();
            match self.check(&with(&trial)) {
                SatResult::Unsat => {
                    core = self.core_indexes(optional);
                    keep = trial;
                }
                SatResult::Sat => i += 1,
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
