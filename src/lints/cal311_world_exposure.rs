//! CAL311 world-exposure: the world (addresses outside every network set) can reach a
//! workload on a port the configuration's `public:` allowance does not list. Located at the
//! rule that allows it (at the workload when no policy selects it).

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::analysis::exposure::PortDecision;
use crate::analysis::reach::AllowedProtocol;
use crate::finding::{Location, Related, Severity};
use crate::model::resource::Direction;
use crate::posture::in_group;

pub struct WorldExposure;

/// (policy index in the set, rule index).
type RuleIndex = (usize, usize);

static META: LintMeta = LintMeta {
    code: "CAL311",
    name: "world-exposure",
    default_severity: Severity::Warning,
    summary: "The world can reach a workload on a port the `public:` allowance does not list",
    doc: include_str!("../../rules/CAL311.md"),
};

/// Whether every port of `p` is in one of the allowances.
fn covered(p: &PortDecision, allowances: &[&AllowedProtocol]) -> bool {
    allowances.iter().any(|(proto, ports)| {
        *proto == p.protocol
            && match (ports, p.ports) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(ranges), Some((lo, hi))) => {
                    // The ranges are sorted: walk them, extending the covered prefix.
                    let mut next = u32::from(lo);
                    for (a, b) in ranges {
                        if u32::from(*a) <= next && u32::from(*b) >= next {
                            next = u32::from(*b) + 1;
                        }
                    }
                    next > u32::from(hi)
                }
            }
    })
}

fn port_text(p: &PortDecision) -> String {
    let name = p.protocol.label();
    match p.ports {
        Some((0, 65535)) => format!("{name} (every port)"),
        Some((lo, hi)) if lo == hi => format!("{name} {lo}"),
        Some((lo, hi)) => format!("{name} {lo}-{hi}"),
        None => name,
    }
}

impl Lint for WorldExposure {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let Some(p) = &project.posture else { return };
        // A `public:` entry whose group cannot be resolved allows nothing; say so there.
        for (def, g) in p.config.public.iter().zip(&p.public_groups) {
            if let (Err(e), Some(file)) = (g, p.config_file) {
                sink.at(
                    Location::new(file, def.group.span),
                    format!("`public:` entry allows nothing: {e}"),
                )
                .emit();
            }
        }
        for (wi, flow) in &p.world {
            let Some(g) = p.workloads.get(*wi) else {
                continue;
            };
            let Some(res) = g.resource.and_then(|i| project.resource(i)) else {
                continue;
            };
            let allowances: Vec<&AllowedProtocol> = p
                .config
                .public
                .iter()
                .zip(&p.public_groups)
                .filter(|(_, pg)| pg.as_ref().is_ok_and(|pg| in_group(g, pg)))
                .flat_map(|(def, _)| &def.allowed)
                .collect();
            // Uncovered port ranges, grouped by the ingress rule that lets the world in (the
            // final ingress decision of an example packet; `None`: no policy selects it).
            let mut by_rule: Vec<(Option<RuleIndex>, Vec<String>)> = Vec::new();
            for port in flow.by_port.iter().filter(|pd| !covered(pd, &allowances)) {
                let rule = port
                    .decisions
                    .iter()
                    .rev()
                    .find(|d| d.direction == Direction::Ingress)
                    .and_then(|d| d.rule);
                match by_rule.iter_mut().find(|(r, _)| *r == rule) {
                    Some((_, list)) => list.push(port_text(port)),
                    None => by_rule.push((rule, vec![port_text(port)])),
                }
            }
            let wspan = res.meta.name.as_ref().map_or(res.span, |n| n.span);
            for (rule, ports) in by_rule {
                let site = rule.and_then(|(pi, ri)| {
                    let pres = p
                        .set
                        .policies
                        .get(pi)
                        .and_then(|pol| project.resource(pol.resource))?;
                    let rule = pres.policy()?.rules(Direction::Ingress).get(ri)?;
                    Some((pres, rule))
                });
                let what = ports.join(", ");
                let message = format!(
                    "workload {} is reachable from the world on {what}, which `public:` does not allow",
                    g.name
                );
                let f = match site {
                    Some((pres, rule)) => sink
                        .at(pres.location(rule.head_span()), message)
                        .in_resource(pres, &rule.pointer)
                        .related(Related {
                            message: format!("the workload {}", g.name),
                            location: Some(res.location(wspan)),
                            resource: Some(res.reference()),
                            pointer: Some(Pointer::of(&["metadata", "name"])),
                        }),
                    None => sink
                        .at(res.location(wspan), message)
                        .in_resource(res, &Pointer::of(&["metadata", "name"]))
                        .note("no policy selects the workload for ingress: everything is allowed"),
                };
                f.note(format!(
                    "help: if this is intended, list it under `public:` in `.calint.yaml` (`{{group: {}, ports: \"TCP 443\"}}`); otherwise narrow the rule's source",
                    g.name
                ))
                .emit();
            }
        }
    }
}
