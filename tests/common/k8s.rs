//! Issue 13 item 3 (sem-b): Kubernetes NetworkPolicies as Calico converts them (spec §1.11):
//! each Kubernetes rule with several peers and protocols becomes consecutive Allow rules that
//! share the Kubernetes rule's pointer. Added to the random Calico policy sets so the split
//! rules meet shadowing, earlier policies and tiers.

use super::{BASE, Gen, policy_set, selector};
use calint::analysis::ir::{CompiledPolicy, CompiledRule, Entity, PolicySet, PortMatch};
use calint::model::net::{Cidr, IpFamily};
use calint::model::resource::{Action, Direction, Kind};

fn peer(g: &mut Gen) -> (Entity, bool) {
    let mut e = Entity::default();
    if g.chance(25) {
        let prefix = *g.pick(&[30u8, 31, 32]);
        let addr = BASE + g.below(4) as u32;
        let cidr = Cidr {
            family: IpFamily::V4,
            addr: u128::from(addr & !((1u32 << (32 - u32::from(prefix))) - 1)),
            prefix,
        };
        e.nets = vec![cidr];
        return (e, true);
    }
    e.selector = Some(selector(g));
    (e, false)
}

/// One converted Kubernetes rule: (peers × protocol groups) Allow rules from `index` on.
fn k8s_rule(g: &mut Gen, k: usize, index: &mut usize, d: Direction) -> Vec<CompiledRule> {
    let peers: Vec<(Entity, bool)> = (0..1 + g.below(3)).map(|_| peer(g)).collect();
    // No ports (any protocol), or one or two protocols with their ports.
    let groups: Vec<(Option<u8>, Vec<PortMatch>)> = match g.below(3) {
        0 => vec![(None, Vec::new())],
        1 => vec![(Some(6), vec![PortMatch::Range(1, 2)])],
        _ => vec![
            (Some(6), vec![PortMatch::Range(1 + g.below(3) as u16, 3)]),
            (
                Some(17),
                if g.chance(50) {
                    Vec::new()
                } else {
                    vec![PortMatch::Range(2, 4)]
                },
            ),
        ],
    };
    let mut out = Vec::new();
    for (entity, v4_only) in &peers {
        for (protocol, ports) in &groups {
            let (mut source, mut destination) = match d {
                Direction::Ingress => (entity.clone(), Entity::default()),
                Direction::Egress => (Entity::default(), entity.clone()),
            };
            destination.ports = ports.clone();
            if d == Direction::Ingress {
                source.ports = Vec::new();
            }
            out.push(CompiledRule {
                index: *index,
                pointer: format!("/spec/{}/{k}", d.as_str()).into(),
                action: Action::Allow,
                v4: true,
                v6: !v4_only,
                protocol: *protocol,
                not_protocol: None,
                icmp: None,
                not_icmp: None,
                source,
                destination,
                http: None,
            });
            *index += 1;
        }
    }
    out
}

/// The Calico policy set of `seed` plus one Kubernetes NetworkPolicy with split rules.
pub fn policy_set_with_k8s(seed: u64) -> PolicySet {
    let mut set = policy_set(seed);
    let mut g = Gen(seed ^ 0x6b38_735f_7069_6563);
    let rules = |g: &mut Gen, d: Direction| -> Vec<CompiledRule> {
        let mut index = 0;
        (0..1 + g.below(3) as usize)
            .flat_map(|k| k8s_rule(g, k, &mut index, d))
            .collect()
    };
    let ingress = rules(&mut g, Direction::Ingress);
    let egress = rules(&mut g, Direction::Egress);
    let resource = calint::project::ResourceId(set.policies.len());
    set.policies.push(CompiledPolicy {
        resource,
        kind: Kind::KubernetesNetworkPolicy,
        namespace: Some("ns".into()),
        name: "knp".into(),
        tier: "default".into(),
        order: Some(*g.pick(&[1000.0, 1.0, 2.0])),
        staged: false,
        selector: selector(&mut g),
        ingress_applies: true,
        egress_applies: g.chance(50),
        ingress,
        egress,
        legacy_key: false,
        class: Default::default(),
    });
    set.finish();
    set
}
