//! The Z3 variables of one packet, and reading a packet back from a model.

use super::encode::Encoder;
use super::universe::{KeyDomain, Universe, decode};
use crate::analysis::concrete::{Packet, Side};
use crate::analysis::rule_part::RuleSide;
use crate::model::resource::Direction;
use std::collections::BTreeMap;
use z3::ast::{BV, Bool, Int, String as ZString};

pub(super) enum LabelValue {
    Index(Int),
    Str(ZString),
}

pub(super) struct SideVars {
    pub(super) is_entity: Bool,
    pub(super) has: BTreeMap<String, Bool>,
    pub(super) value: BTreeMap<String, LabelValue>,
    pub(super) ip: BV,
    pub(super) port: BV,
    pub(super) named: BTreeMap<String, (Bool, BV, BV)>,
    pub(super) services: BTreeMap<String, Bool>,
}

pub(super) struct PacketVars {
    pub(super) v6: Bool,
    pub(super) protocol: BV,
    pub(super) icmp_type: BV,
    pub(super) icmp_code: BV,
    pub(super) src: SideVars,
    pub(super) dst: SideVars,
    pub(super) method: Int,
    /// Index into `Universe::paths`.
    pub(super) path: Int,
}

pub(super) fn t() -> Bool {
    Bool::from_bool(true)
}

pub(super) fn f() -> Bool {
    Bool::from_bool(false)
}

pub(super) fn all(items: Vec<Bool>) -> Bool {
    match items.len() {
        0 => t(),
        1 => items.into_iter().next().unwrap_or_else(t),
        _ => Bool::and(&items),
    }
}

pub(super) fn any(items: Vec<Bool>) -> Bool {
    match items.len() {
        0 => f(),
        1 => items.into_iter().next().unwrap_or_else(f),
        _ => Bool::or(&items),
    }
}

pub(super) fn bv(v: u128, bits: u32) -> BV {
    if bits <= 64 {
        BV::from_u64(v as u64, bits)
    } else {
        BV::from_str(bits, &v.to_string()).unwrap_or_else(|| BV::from_u64(0, bits))
    }
}

impl SideVars {
    pub(super) fn new(u: &Universe, name: &str) -> SideVars {
        let mut has = BTreeMap::new();
        let mut value = BTreeMap::new();
        for (k, dom) in &u.keys {
            has.insert(k.clone(), Bool::new_const(format!("{name}.has[{k}]")));
            let v = match dom {
                KeyDomain::Finite(_) | KeyDomain::Classes(_) => {
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
    pub(super) fn domain(&self, v6: &Bool) -> Vec<Bool> {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side2 {
    Src,
    Dst,
}

impl Side2 {
    /// The side of a rule (`source` or `destination`) whose entity fields match this end.
    pub(super) fn rule_side(self) -> RuleSide {
        match self {
            Side2::Src => RuleSide::Source,
            Side2::Dst => RuleSide::Destination,
        }
    }

    pub(super) fn local(d: Direction) -> Side2 {
        match d {
            Direction::Ingress => Side2::Dst,
            Direction::Egress => Side2::Src,
        }
    }
}

impl Encoder<'_> {
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
                    (Some(KeyDomain::Classes(c)), Some(LabelValue::Index(i))) => {
                        let idx = model.eval(i, true).and_then(|x| x.as_i64());
                        idx.and_then(|j| usize::try_from(j).ok())
                            .and_then(|j| c.reps.get(j))
                            .cloned()
                            .unwrap_or_else(|| c.other.clone())
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
                (
                    crate::analysis::ir::NAMESPACE_LABEL,
                    "pcns.projectcalico.org/name",
                ),
                (
                    crate::analysis::ir::NAMESPACE_LABEL,
                    crate::analysis::ir::K8S_NAMESPACE_NAME_LABEL,
                ),
                (
                    crate::analysis::ir::SERVICE_ACCOUNT_LABEL,
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
