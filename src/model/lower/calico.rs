//! Lowering of `projectcalico.org/v3` kinds: policies, rules, tiers, sets, profiles, host
//! endpoints.

use super::reader::{Fields, Reader};
use crate::load::tree::Node;
use crate::model::net::parse_cidr;
use crate::model::net::parse_ip_or_cidr;
use crate::model::resource::*;
use crate::pointer::Lazy;
use crate::source::{Span, Spanned};

const POLICY_FIELDS: &[&str] = &[
    "tier",
    "order",
    "selector",
    "types",
    "ingress",
    "egress",
    "serviceAccountSelector",
    "performanceHints",
];
const GLOBAL_POLICY_FIELDS: &[&str] = &[
    "namespaceSelector",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
];

const RULE_FIELDS: &[&str] = &[
    "action",
    "ipVersion",
    "protocol",
    "notProtocol",
    "icmp",
    "notICMP",
    "source",
    "destination",
    "http",
    "metadata",
];
const ENTITY_FIELDS: &[&str] = &[
    "nets",
    "notNets",
    "selector",
    "notSelector",
    "namespaceSelector",
    "ports",
    "notPorts",
    "serviceAccounts",
    "services",
];

pub fn selector_field(r: &mut Reader, f: &Fields<'_>, key: &str) -> Option<SelectorField> {
    r.opt_string(f, key).map(|raw| r.selector(raw))
}

/// NetworkPolicy, GlobalNetworkPolicy and their staged variants.
pub fn policy(r: &mut Reader, kind: Kind, spec: &Node, ptr: Lazy<'_>) -> Policy {
    let global = matches!(
        kind,
        Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy
    );
    let staged = matches!(
        kind,
        Kind::StagedNetworkPolicy | Kind::StagedGlobalNetworkPolicy
    );
    let mut known: Vec<&str> = POLICY_FIELDS.to_vec();
    if global {
        known.extend_from_slice(GLOBAL_POLICY_FIELDS);
    }
    if staged {
        known.push("stagedAction");
    }
    let what = format!("{} spec", kind.name());
    let mut policy = Policy {
        spec_span: spec.span,
        ..Policy::default()
    };
    let Some(f) = r.fields(spec, ptr, &what, &known) else {
        return policy;
    };
    policy.tier = r.opt_string(&f, "tier");
    policy.order = r.opt_number(&f, "order");
    policy.selector = selector_field(r, &f, "selector");
    policy.service_account_selector = selector_field(r, &f, "serviceAccountSelector");
    if let Some((node, p)) = f.get("types") {
        let items = r.list(node, p, |r, n, p| r.string(n, p));
        policy.types = Some(Spanned::new(items, node.span));
    }
    (policy.ingress, policy.ingress_span) = rules(r, &f, "ingress");
    (policy.egress, policy.egress_span) = rules(r, &f, "egress");
    policy.performance_hints = r.string_list(&f, "performanceHints");
    if global {
        policy.namespace_selector = selector_field(r, &f, "namespaceSelector");
        policy.do_not_track = r.opt_bool(&f, "doNotTrack");
        policy.pre_dnat = r.opt_bool(&f, "preDNAT");
        policy.apply_on_forward = r.opt_bool(&f, "applyOnForward");
    }
    if staged {
        policy.staged_action = r.opt_string(&f, "stagedAction");
    }
    policy
}

pub fn rules(r: &mut Reader, f: &Fields<'_>, key: &str) -> (Vec<Rule>, Option<Span>) {
    match f.get(key) {
        Some((node, p)) => (
            r.list(node, p, |r, n, p| Some(rule(r, n, p))),
            Some(node.span),
        ),
        None => (Vec::new(), None),
    }
}

pub fn rule(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Rule {
    let mut rule = Rule {
        span: node.span,
        ..Rule::default()
    };
    if let Some(f) = r.fields(node, ptr, "rule", RULE_FIELDS) {
        rule.action = r.opt_string(&f, "action");
        rule.ip_version = r.opt_int(&f, "ipVersion");
        rule.protocol = r.protocol(&f, "protocol");
        rule.not_protocol = r.protocol(&f, "notProtocol");
        rule.icmp = icmp(r, &f, "icmp").map(Box::new);
        rule.not_icmp = icmp(r, &f, "notICMP").map(Box::new);
        rule.source = entity(r, &f, "source");
        rule.destination = entity(r, &f, "destination");
        if let Some((n, p)) = f.get("http") {
            rule.http = http(r, n, p).map(Box::new);
        }
        if let Some((n, p)) = f.get("metadata") {
            if let Some(m) = r.fields(n, p, "rule metadata", &["annotations"]) {
                rule.annotations = r.string_map(&m, "annotations");
            }
        }
    }
    rule.pointer = ptr.pointer();
    rule
}

fn icmp(r: &mut Reader, f: &Fields<'_>, key: &str) -> Option<IcmpMatch> {
    let (node, p) = f.get(key)?;
    let m = r.fields(node, p, key, &["type", "code"])?;
    Some(IcmpMatch {
        span: node.span,
        icmp_type: r.opt_int(&m, "type"),
        code: r.opt_int(&m, "code"),
    })
}

pub fn nets(r: &mut Reader, f: &Fields<'_>, key: &str, strict_cidr: bool) -> Vec<NetField> {
    r.opt_list(f, key, |r, n, p| {
        let raw = r.string(n, p)?;
        let parsed = if strict_cidr {
            parse_cidr(&raw.value)
        } else {
            parse_ip_or_cidr(&raw.value)
        };
        Some(NetField { raw, parsed })
    })
}

fn entity(r: &mut Reader, f: &Fields<'_>, key: &str) -> EntityRule {
    let Some((node, p)) = f.get(key) else {
        return EntityRule::default();
    };
    let Some(e) = r.fields(node, p, key, ENTITY_FIELDS) else {
        return EntityRule::default();
    };
    let mut entity = EntityRule {
        span: Some(node.span),
        nets: nets(r, &e, "nets", true),
        not_nets: nets(r, &e, "notNets", true),
        selector: selector_field(r, &e, "selector"),
        not_selector: selector_field(r, &e, "notSelector").map(Box::new),
        namespace_selector: selector_field(r, &e, "namespaceSelector").map(Box::new),
        ports: r.opt_list(&e, "ports", |r, n, p| r.port(n, p)),
        not_ports: r.opt_list(&e, "notPorts", |r, n, p| r.port(n, p)),
        ..EntityRule::default()
    };
    if let Some((n, p)) = e.get("serviceAccounts") {
        if let Some(sa) = r.fields(n, p, "serviceAccounts", &["names", "selector"]) {
            entity.service_accounts = Some(Box::new(ServiceAccountMatch {
                span: n.span,
                names: r.string_list(&sa, "names"),
                selector: selector_field(r, &sa, "selector"),
            }));
        }
    } else if let Some(span) = e.key_span("serviceAccounts") {
        // `serviceAccounts:` with a null value still counts as present (it excludes services).
        entity.service_accounts = Some(Box::new(ServiceAccountMatch {
            span,
            ..ServiceAccountMatch::default()
        }));
    }
    if let Some((n, p)) = e.get("services") {
        if let Some(s) = r.fields(n, p, "services", &["name", "namespace"]) {
            entity.services = Some(Box::new(ServiceMatch {
                span: n.span,
                name: r.opt_string(&s, "name"),
                namespace: r.opt_string(&s, "namespace"),
            }));
        }
    }
    entity
}

fn http(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Option<HttpMatch> {
    let f = r.fields(node, ptr, "http", &["methods", "paths"])?;
    let methods = r.string_list(&f, "methods");
    let paths = r.opt_list(&f, "paths", |r, n, p| {
        let pf = r.fields(n, p, "http path", &["exact", "prefix"])?;
        Some(HttpPath {
            span: n.span,
            exact: r.opt_string(&pf, "exact"),
            prefix: r.opt_string(&pf, "prefix"),
        })
    });
    Some(HttpMatch {
        span: node.span,
        methods,
        paths,
    })
}

pub fn tier(r: &mut Reader, spec: &Node, ptr: Lazy<'_>) -> Tier {
    let mut tier = Tier {
        spec_span: spec.span,
        ..Tier::default()
    };
    if let Some(f) = r.fields(spec, ptr, "Tier spec", &["order", "defaultAction"]) {
        tier.order = r.opt_number(&f, "order");
        tier.default_action = r.opt_string(&f, "defaultAction");
    }
    tier
}

pub fn network_set(r: &mut Reader, spec: &Node, ptr: Lazy<'_>, what: &str) -> NetworkSet {
    let mut set = NetworkSet {
        spec_span: spec.span,
        ..NetworkSet::default()
    };
    if let Some(f) = r.fields(spec, ptr, what, &["nets"]) {
        set.nets = nets(r, &f, "nets", false);
    }
    set
}

pub fn profile(r: &mut Reader, spec: &Node, ptr: Lazy<'_>) -> Profile {
    let mut profile = Profile {
        spec_span: spec.span,
        ..Profile::default()
    };
    if let Some(f) = r.fields(
        spec,
        ptr,
        "Profile spec",
        &["ingress", "egress", "labelsToApply"],
    ) {
        profile.ingress = rules(r, &f, "ingress").0;
        profile.egress = rules(r, &f, "egress").0;
        profile.labels_to_apply = r.string_map(&f, "labelsToApply");
    }
    profile
}

pub fn host_endpoint(r: &mut Reader, spec: &Node, ptr: Lazy<'_>) -> HostEndpoint {
    let mut hep = HostEndpoint {
        spec_span: spec.span,
        ..HostEndpoint::default()
    };
    let known = ["node", "interfaceName", "expectedIPs", "profiles", "ports"];
    if let Some(f) = r.fields(spec, ptr, "HostEndpoint spec", &known) {
        hep.node = r.opt_string(&f, "node");
        hep.interface_name = r.opt_string(&f, "interfaceName");
        hep.expected_ips = nets(r, &f, "expectedIPs", false);
        hep.profiles = r.string_list(&f, "profiles");
        hep.ports = r.opt_list(&f, "ports", |r, n, p| {
            let pf = r.fields(n, p, "endpoint port", &["name", "protocol", "port"])?;
            Some(EndpointPort {
                span: n.span,
                name: r.opt_string(&pf, "name"),
                protocol: r.protocol(&pf, "protocol"),
                port: r.opt_int(&pf, "port"),
            })
        });
    }
    hep
}
