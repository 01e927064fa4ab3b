//! Builders for validation unit tests: model values with plausible spans.

#![allow(dead_code)]

use super::{CalicoVersion, Diagnostic, ValidateOptions, validate_resource};
use crate::model::net::{parse_cidr, parse_ip_or_cidr};
use crate::model::port::{Port, Protocol};
use crate::model::{Body, Kind, NetField, ObjectMeta, Policy, Resource, Rule, SelectorField};
use crate::source::{Span, Spanned};

pub const V3_28: CalicoVersion = CalicoVersion {
    major: 3,
    minor: 28,
};
pub const V3_29: CalicoVersion = CalicoVersion {
    major: 3,
    minor: 29,
};
pub const V3_30: CalicoVersion = CalicoVersion {
    major: 3,
    minor: 30,
};
pub const V3_31: CalicoVersion = CalicoVersion {
    major: 3,
    minor: 31,
};
pub const V3_32: CalicoVersion = CalicoVersion {
    major: 3,
    minor: 32,
};
pub const V3_33: CalicoVersion = CalicoVersion {
    major: 3,
    minor: 33,
};

/// Default start offset of strings built without an explicit position.
const DEFAULT_AT: usize = 1000;

/// A string scalar written plain at `start` (span length == value length).
pub fn s_at(value: &str, start: usize) -> Spanned<String> {
    Spanned::new(value.to_string(), Span::new(start, start + value.len()))
}

pub fn s(value: &str) -> Spanned<String> {
    s_at(value, DEFAULT_AT)
}

/// Any value with a one-byte span at `start`.
pub fn sp_at<T>(value: T, start: usize) -> Spanned<T> {
    Spanned::new(value, Span::new(start, start + 1))
}

pub fn sp<T>(value: T) -> Spanned<T> {
    sp_at(value, 2000)
}

pub fn sel(value: &str) -> SelectorField {
    SelectorField::new(s(value))
}

pub fn sel_at(value: &str, start: usize) -> SelectorField {
    SelectorField::new(s_at(value, start))
}

/// A rule CIDR (parsed as rules parse them).
pub fn net(value: &str) -> NetField {
    NetField {
        raw: s(value),
        parsed: parse_cidr(value),
    }
}

pub fn net_at(value: &str, start: usize) -> NetField {
    NetField {
        raw: s_at(value, start),
        parsed: parse_cidr(value),
    }
}

/// A NetworkSet entry (CIDR or bare IP).
pub fn set_net(value: &str) -> NetField {
    NetField {
        raw: s(value),
        parsed: parse_ip_or_cidr(value),
    }
}

pub fn port(n: u16) -> Spanned<Port> {
    sp(Port::Range { min: n, max: n })
}

pub fn port_range(min: u16, max: u16) -> Spanned<Port> {
    sp(Port::Range { min, max })
}

pub fn named_port(name: &str) -> Spanned<Port> {
    sp(Port::Named(name.to_string()))
}

pub fn proto(p: &str) -> Spanned<Protocol> {
    sp(Protocol::from_str(p))
}

pub fn proto_num(n: u8) -> Spanned<Protocol> {
    sp(Protocol::Number(n))
}

/// A rule with `action` at `/spec/ingress/0`.
pub fn rule(action: &str) -> Rule {
    Rule {
        span: Span::new(500, 600),
        pointer: "/spec/ingress/0".into(),
        action: Some(s_at(action, 510)),
        ..Default::default()
    }
}

/// A rule at `pointer`.
pub fn rule_at(action: &str, pointer: &str) -> Rule {
    Rule {
        pointer: pointer.into(),
        ..rule(action)
    }
}

pub fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        span: Span::new(20, 80),
        name: Some(s_at(name, 30)),
        ..Default::default()
    }
}

pub fn resource(kind: Kind, name: &str, body: Body) -> Resource {
    let api_version = if kind == Kind::KubernetesNetworkPolicy {
        "networking.k8s.io/v1"
    } else {
        "projectcalico.org/v3"
    };
    Resource {
        kind,
        file: crate::source::FileId(0),
        document: 0,
        base_pointer: crate::pointer::Pointer::root(),
        span: Span::new(0, 5000),
        api_version: s_at(api_version, 12),
        kind_span: Span::new(5, 10),
        meta: meta(name),
        body,
        lowering_problems: 0,
    }
}

pub fn policy_resource(kind: Kind, name: &str, policy: Policy) -> Resource {
    resource(kind, name, Body::Policy(Box::new(policy)))
}

/// A policy whose only content is `ingress` rules.
pub fn with_ingress(rules: Vec<Rule>) -> Policy {
    Policy {
        spec_span: Span::new(90, 4000),
        ingress_span: Some(Span::new(100, 3000)),
        ingress: rules,
        ..Default::default()
    }
}

pub fn validate_at(res: &Resource, target: CalicoVersion) -> Vec<Diagnostic> {
    validate_resource(res, &ValidateOptions { target })
}

pub fn validate(res: &Resource) -> Vec<Diagnostic> {
    validate_at(res, CalicoVersion::LATEST)
}

/// Validate a NetworkPolicy holding only `r` as ingress rule 0.
pub fn validate_rule_at(r: Rule, target: CalicoVersion) -> Vec<Diagnostic> {
    validate_at(
        &policy_resource(Kind::NetworkPolicy, "p", with_ingress(vec![r])),
        target,
    )
}

pub fn validate_rule(r: Rule) -> Vec<Diagnostic> {
    validate_rule_at(r, CalicoVersion::LATEST)
}

/// The violation whose message contains `needle` (panics with the full list otherwise).
#[track_caller]
pub fn find<'a>(vs: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    match vs.iter().find(|v| v.message.contains(needle)) {
        Some(v) => v,
        None => panic!("no violation containing {needle:?} in {vs:#?}"),
    }
}

/// Assert that the violation whose message contains `needle` is at `pointer`.
#[track_caller]
pub fn assert_pointer(vs: &[Diagnostic], needle: &str, pointer: &str) {
    assert_eq!(find(vs, needle).pointer, pointer);
}

/// Assert that no violation's message contains `needle`.
#[track_caller]
pub fn assert_none(vs: &[Diagnostic], needle: &str) {
    if let Some(v) = vs.iter().find(|v| v.message.contains(needle)) {
        panic!("unexpected violation containing {needle:?}: {v:#?}");
    }
}

#[track_caller]
pub fn assert_clean(vs: &[Diagnostic]) {
    assert!(vs.is_empty(), "expected no violations, got {vs:#?}");
}
