//! Shared by the differential tests: a deterministic generator of small random policy sets
//! over tiny label, port, protocol and address domains.
#![allow(dead_code)]

use calint::analysis::ir::{
    CompiledPolicy, CompiledRule, CompiledTier, Entity, PolicySet, PortMatch,
};
use calint::model::net::{Cidr, IpFamily};
use calint::model::resource::{Action, Direction, Kind};
use calint::model::selector::Expr;

pub mod k8s;

/// The number in environment variable `name` (a case count or a seed of a long run), else
/// `default`.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// splitmix64: a tiny deterministic generator driven by the proptest seed.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub const KEYS: [&str; 2] = ["a", "b"];
pub const VALUES: [&str; 2] = ["x", "y"];

pub fn leaf(g: &mut Gen) -> Expr {
    let k = g.pick(&KEYS).to_string();
    let v = g.pick(&VALUES).to_string();
    match g.below(6) {
        0 => Expr::Eq(k, v),
        1 => Expr::Ne(k, v),
        2 => Expr::Has(k),
        3 => Expr::Not(Box::new(Expr::Has(k))),
        4 => Expr::In(k, vec!["x".into(), "y".into()]),
        _ => Expr::NotIn(k, vec![v]),
    }
}

pub fn selector(g: &mut Gen) -> Expr {
    match g.below(5) {
        0 => Expr::All,
        1 | 2 => leaf(g),
        3 => Expr::And(vec![leaf(g), leaf(g)]),
        _ => Expr::Or(vec![leaf(g), leaf(g)]),
    }
}

fn cidr(a: u32, prefix: u8) -> Cidr {
    Cidr {
        family: IpFamily::V4,
        addr: u128::from(a),
        prefix,
    }
}

pub const BASE: u32 = 0x0a00_0000; // 10.0.0.0

fn nets(g: &mut Gen) -> Vec<Cidr> {
    let all = [
        cidr(BASE, 31),
        cidr(BASE, 32),
        cidr(BASE + 1, 32),
        cidr(BASE + 2, 31),
        cidr(BASE, 30),
    ];
    (0..1 + g.below(2)).map(|_| *g.pick(&all)).collect()
}

fn ports(g: &mut Gen) -> Vec<PortMatch> {
    (0..1 + g.below(2))
        .map(|_| {
            let lo = 1 + g.below(4) as u16;
            let hi = lo + g.below(5 - u64::from(lo)) as u16;
            PortMatch::Range(lo, hi)
        })
        .collect()
}

fn rule(g: &mut Gen, index: usize, d: Direction) -> CompiledRule {
    let action = *g.pick(&[
        Action::Allow,
        Action::Allow,
        Action::Deny,
        Action::Deny,
        Action::Pass,
        Action::Log,
    ]);
    let mut peer = Entity::default();
    let mut local = Entity::default();
    if g.chance(40) {
        peer.selector = Some(selector(g));
    }
    if g.chance(15) {
        peer.not_selector = Some(leaf(g));
    }
    if g.chance(35) {
        peer.nets = nets(g);
    }
    if g.chance(20) {
        peer.not_nets = nets(g);
    }
    if g.chance(10) {
        local.selector = Some(leaf(g));
    }
    let protocol = *g.pick(&[None, None, Some(6u8), Some(6), Some(17)]);
    let mut dst_ports = Vec::new();
    let mut dst_not_ports = Vec::new();
    if protocol.is_some() && g.chance(50) {
        dst_ports = ports(g);
    }
    if protocol.is_some() && g.chance(15) {
        dst_not_ports = ports(g);
    }
    let not_protocol = if protocol.is_none() && g.chance(15) {
        Some(17)
    } else {
        None
    };
    let (mut source, mut destination) = match d {
        Direction::Ingress => (peer, local),
        Direction::Egress => (local, peer),
    };
    destination.ports = dst_ports;
    destination.not_ports = dst_not_ports;
    let only_v4 = [
        &source.nets,
        &source.not_nets,
        &destination.nets,
        &destination.not_nets,
    ]
    .iter()
    .any(|l| !l.is_empty());
    if only_v4 {
        // Generated CIDRs are IPv4: Felix renders the rule for IPv4 only.
        source.nets.sort();
        destination.nets.sort();
    }
    CompiledRule {
        index,
        pointer: format!("/spec/{}/{index}", d.as_str()).into(),
        action,
        v4: true,
        v6: !only_v4,
        protocol,
        not_protocol,
        icmp: None,
        not_icmp: None,
        source,
        destination,
        http: None,
    }
}

pub fn policy_set(seed: u64) -> PolicySet {
    let mut g = Gen(seed);
    let n = 1 + g.below(3) as usize;
    let mut policies = Vec::new();
    for i in 0..n {
        let rules = |g: &mut Gen, d: Direction| -> Vec<CompiledRule> {
            (0..g.below(4) as usize).map(|r| rule(g, r, d)).collect()
        };
        let ingress = rules(&mut g, Direction::Ingress);
        let egress = rules(&mut g, Direction::Egress);
        policies.push(CompiledPolicy {
            resource: calint::project::ResourceId(i),
            kind: if g.chance(30) {
                Kind::GlobalNetworkPolicy
            } else {
                Kind::NetworkPolicy
            },
            namespace: Some("ns".into()),
            name: format!("p{i}"),
            tier: g.pick(&["default", "default", "t1"]).to_string(),
            order: *g.pick(&[None, Some(1.0), Some(1.0), Some(2.0)]),
            staged: g.chance(10),
            selector: selector(&mut g),
            ingress_applies: g.chance(85),
            egress_applies: g.chance(50),
            ingress,
            egress,
            legacy_key: false,
            class: Default::default(),
        });
    }
    let mut set = PolicySet {
        policies,
        tiers: Vec::new(),
    };
    set.tiers.push(CompiledTier {
        name: "t1".into(),
        order: Some(10.0),
        defined: true,
        default_pass: g.chance(30),
    });
    set.finish();
    set
}
