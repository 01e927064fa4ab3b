//! Rendering of `calint reach` answers.

use super::line_location;
use super::ports::format_ports;
use crate::analysis::concrete::{Packet, Side};
use crate::analysis::example_names::NamespaceNamer;
use crate::analysis::groups::Group;
use crate::analysis::ir::{NAMESPACE_LABEL, PolicySet, SERVICE_ACCOUNT_LABEL};
use crate::analysis::reach::{Decision, ReachResult};
use crate::analysis::witness::{protocol_name, to_json};
use crate::model::port::FlowProtocol;
use crate::model::resource::{Direction, Rule};
use crate::project::Project;
use serde_json::{Value, json};

/// The deciding rule's pointer: the converted piece's (peer or port entry) for a Kubernetes
/// rule Calico splits, so the answer names the peer that decided.
fn rule_pointer(rule: &Rule) -> &str {
    rule.piece.as_ref().map_or(&rule.pointer, |p| &p.pointer)
}

fn rule_span(rule: &Rule) -> crate::source::Span {
    rule.piece.as_ref().map_or(rule.head_span(), |p| p.span)
}

pub fn decision_json(project: &Project, set: &PolicySet, d: &Decision) -> Value {
    let mut v = json!({
        "direction": d.direction.as_str(),
        "action": d.action,
        "example": d.example,
    });
    if let (Some((pi, ri)), Some(obj)) = (d.rule, v.as_object_mut()) {
        if let Some(res) = set
            .policies
            .get(pi)
            .and_then(|p| project.resource(p.resource))
        {
            obj.insert("resource".into(), json!(res.reference()));
            if let Some(rule) = res.policy().and_then(|p| p.rules(d.direction).get(ri)) {
                obj.insert("pointer".into(), json!(rule_pointer(rule)));
                if let Some(loc) = line_location(project, res.location(rule_span(rule))) {
                    obj.insert("location".into(), json!(loc));
                }
            }
        }
    }
    if let (Some(t), Some(obj)) = (&d.tier, v.as_object_mut()) {
        obj.insert("tier".into(), json!(t));
    }
    v
}

fn example_json(pkt: &Option<Packet>, namer: &NamespaceNamer) -> Value {
    pkt.as_ref().map_or(Value::Null, |p| {
        let mut p = p.clone();
        namer.apply(&mut p);
        to_json(&p, Direction::Ingress)
    })
}

/// Real namespace names for the examples of a reach answer between `from` and `to` (see
/// [`NamespaceNamer`]). It reads every selector of the set: the CLI builds it on one core while
/// the solver answers on the other.
pub fn example_namer(
    project: &Project,
    set: &PolicySet,
    from: &Group,
    to: &Group,
) -> NamespaceNamer {
    let extra: Vec<&crate::model::selector::Expr> =
        [from, to].into_iter().flat_map(Group::selectors).collect();
    NamespaceNamer::new(project, set, &extra)
}

pub fn render_json(
    project: &Project,
    set: &PolicySet,
    from: &Group,
    to: &Group,
    r: &ReachResult,
    namer: &NamespaceNamer,
) -> String {
    let allowed: Vec<Value> = r
        .allowed
        .iter()
        .map(|(p, ports)| json!({"protocol": p.name(), "ports": ports.as_ref().map(|p| format_ports(p)).unwrap_or_default()}))
        .collect();
    let doc = json!({
        "version": 1,
        "from": {"group": from.name, "evaluation": if from.concrete { "concrete" } else { "symbolic" }},
        "to": {"group": to.name, "evaluation": if to.concrete { "concrete" } else { "symbolic" }},
        "question": {
            "protocol": r.protocol.map(|p| FlowProtocol::Number(p).name()),
            "port": r.port,
            "protocol_assumed": r.protocol_assumed,
        },
        "verdict": r.verdict.as_str(),
        "allowed": allowed,
        "allowed_example": example_json(&r.allowed_example, namer),
        "denied_example": example_json(&r.denied_example, namer),
        "decisions": r.decisions.iter().map(|d| decision_json(project, set, d)).collect::<Vec<_>>(),
        "undecided": r.undecided,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

fn side_text(s: &Side, v6: bool) -> String {
    let ip = if v6 {
        std::net::Ipv6Addr::from(s.ip).to_string()
    } else {
        std::net::Ipv4Addr::from(s.ip as u32).to_string()
    };
    if s.is_entity {
        // Inherited namespace (`pcns.*`) and service-account (`pcsa.*`) labels are shown:
        // policies select on them, and two examples may differ only there. The two name
        // labels that always repeat another label are left out.
        let repeats = |v: &str, of: &str| s.labels.get(of).is_some_and(|o| o == v);
        let labels: Vec<String> = s
            .labels
            .iter()
            .filter(|(k, v)| match k.as_str() {
                "pcns.projectcalico.org/name" => !repeats(v, NAMESPACE_LABEL),
                "pcsa.projectcalico.org/name" => !repeats(v, SERVICE_ACCOUNT_LABEL),
                _ => true,
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{{{}}} {ip}:{}", labels.join(", "), s.port)
    } else {
        format!("{ip}:{}", s.port)
    }
}

pub fn example_text(p: &Packet) -> String {
    format!(
        "{} {} -> {}",
        protocol_name(p.protocol),
        side_text(&p.src, p.v6),
        side_text(&p.dst, p.v6)
    )
}

/// Where a decision was made: the rule (resource, pointer, file:line) or the tier.
pub fn decision_site(project: &Project, set: &PolicySet, d: &Decision) -> String {
    match d.rule {
        Some((pi, ri)) => set
            .policies
            .get(pi)
            .and_then(|p| project.resource(p.resource))
            .and_then(|res| {
                let rule = res.policy()?.rules(d.direction).get(ri)?;
                let loc = line_location(project, res.location(rule_span(rule)))?;
                Some(format!(
                    "{} {} ({}:{})",
                    res.reference(),
                    rule_pointer(rule),
                    loc.file,
                    loc.line
                ))
            })
            .unwrap_or_default(),
        None => match &d.tier {
            Some(t) => format!("tier `{t}` applies and no rule decided (denied)"),
            None => format!(
                "no policy applies to the {} in this direction (allowed)",
                match d.direction {
                    Direction::Ingress => "destination",
                    Direction::Egress => "source",
                }
            ),
        },
    }
}

pub fn render_human(
    project: &Project,
    set: &PolicySet,
    from: &Group,
    to: &Group,
    r: &ReachResult,
    namer: &NamespaceNamer,
) -> String {
    let mode = |g: &Group| {
        if g.concrete {
            "known labels"
        } else {
            "every matching endpoint"
        }
    };
    // What was asked: the protocol (and whether it was assumed) and the port.
    let question = match (r.protocol, r.port) {
        (None, _) => String::new(),
        (Some(p), port) => format!(
            " on {}{}{}",
            FlowProtocol::Number(p).name(),
            port.map(|p| format!(" port {p}")).unwrap_or_default(),
            if r.protocol_assumed {
                " (TCP assumed: --port without --protocol)"
            } else {
                ""
            }
        ),
    };
    let mut out = format!(
        "{} -> {}{question}: {}\n  from: {} ({})\n  to:   {} ({})\n",
        from.name,
        to.name,
        r.verdict.as_str(),
        from.name,
        mode(from),
        to.name,
        mode(to)
    );
    if !r.allowed.is_empty() {
        out.push_str("  allowed:\n");
        for (p, ports) in &r.allowed {
            match ports {
                Some(ports) => out.push_str(&format!("    {} {}\n", p.name(), format_ports(ports))),
                None => out.push_str(&format!("    {}\n", p.name())),
            }
        }
    }
    for (name, ex) in [
        ("allowed", &r.allowed_example),
        ("denied", &r.denied_example),
    ] {
        if let Some(p) = ex {
            let mut p = p.clone();
            namer.apply(&mut p);
            out.push_str(&format!("  {name} example: {}\n", example_text(&p)));
        }
    }
    if !r.decisions.is_empty() {
        out.push_str("  decided by:\n");
        for d in &r.decisions {
            let what = decision_site(project, set, d);
            out.push_str(&format!(
                "    [{} example] {} {}: {}\n",
                d.example,
                d.direction.as_str(),
                d.action,
                what
            ));
        }
    }
    if r.undecided > 0 {
        out.push_str(&format!(
            "  note: {} solver queries timed out; the answer may be incomplete\n",
            r.undecided
        ));
    }
    out
}
