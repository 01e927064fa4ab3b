//! CAL301 reachability-assertion: a reachability assertion of `.calint.yaml` does not hold.

use super::LintContext;
use super::{Lint, LintMeta, Sink};
use crate::analysis::reach::Verdict;
use crate::finding::{Location, Related, Severity};

pub struct ReachabilityAssertion;

static META: LintMeta = LintMeta {
    code: "CAL301",
    name: "reachability-assertion",
    default_severity: Severity::Error,
    summary: "A reachability assertion of the configuration does not hold",
    doc: include_str!("../../rules/CAL301.md"),
};

impl Lint for ReachabilityAssertion {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        check_no_paths(project, sink);
        for o in project.assertions {
            let def = &o.def;
            let what = format!(
                "{} -> {}{}{}",
                def.from.value,
                def.to.value,
                def.protocol
                    .as_ref()
                    .map(|p| format!(" {}", p.value))
                    .unwrap_or_default(),
                def.port
                    .as_ref()
                    .map(|p| format!(" port {}", p.value))
                    .unwrap_or_default()
            );
            let result = match &o.result {
                Ok(r) => r,
                Err(e) => {
                    sink.at(
                        Location::new(o.file, def.span),
                        format!("cannot evaluate the assertion {what}: {e}"),
                    )
                    .emit();
                    continue;
                }
            };
            if result.verdict == def.expect.value {
                continue;
            }
            let mut f = sink.at(
                Location::new(o.file, def.expect.span),
                format!(
                    "reachability assertion fails: {what} is expected {} but is {}",
                    def.expect.value.as_str(),
                    result.verdict.as_str()
                ),
            );
            // Name the rules that decide the counterexample.
            let counterexample = match result.verdict {
                Verdict::Denied => "denied",
                Verdict::Allowed => "allowed",
                Verdict::Partial if def.expect.value == Verdict::Allowed => "denied",
                Verdict::Partial => "allowed",
            };
            let set = project.assertion_set.as_ref();
            for d in result
                .decisions
                .iter()
                .filter(|d| d.example == counterexample)
            {
                let (message, location, resource, pointer) = match (d.rule, set) {
                    (Some((pi, ri)), Some(set)) => {
                        let Some(res) = set
                            .policies
                            .get(pi)
                            .and_then(|p| project.resource(p.resource))
                        else {
                            continue;
                        };
                        let Some(rule) = res.policy().and_then(|p| p.rules(d.direction).get(ri))
                        else {
                            continue;
                        };
                        (
                            format!(
                                "{} {} ({counterexample} example)",
                                d.direction.as_str(),
                                d.action
                            ),
                            Some(res.location(rule.head_span())),
                            Some(res.reference()),
                            Some(rule.pointer.clone()),
                        )
                    }
                    _ => (
                        format!(
                            "{} {}{} ({counterexample} example)",
                            d.direction.as_str(),
                            d.action,
                            d.tier
                                .as_ref()
                                .map(|t| format!(" in tier `{t}`"))
                                .unwrap_or_default()
                        ),
                        None,
                        None,
                        None,
                    ),
                };
                f = f.related(Related {
                    message,
                    location,
                    resource,
                    pointer,
                });
            }
            f.note("help: `calint reach` with the same --from/--to shows the verdict, the allowed ports and examples")
                .emit();
        }
    }
}

/// `no-path` assertions: a chain of allowed connections exists (`calint paths`).
fn check_no_paths(project: &LintContext<'_>, sink: &mut Sink<'_>) {
    let Some(p) = &project.posture else { return };
    let Some(file) = p.config_file else { return };
    for o in &p.no_paths {
        let def = &o.def;
        let within = def
            .max_hops
            .as_ref()
            .map(|h| format!(" within {} hops", h.value))
            .unwrap_or_default();
        match &o.result {
            Err(e) => sink
                .at(
                    Location::new(file, def.span),
                    format!(
                        "cannot evaluate the assertion no-path {} -> {}: {e}",
                        def.from.value, def.to.value
                    ),
                )
                .emit(),
            Ok(None) => {}
            Ok(Some(path)) => sink
                .at(
                    Location::new(file, def.span),
                    format!(
                        "no-path assertion fails: {} -> {} has a path{within}: {} ({} hops)",
                        def.from.value,
                        def.to.value,
                        path.join(" -> "),
                        path.len().saturating_sub(1)
                    ),
                )
                .note(format!(
                    "help: `calint paths --from '{}' --to '{}'` shows every hop's ports and deciding rules",
                    def.from.value, def.to.value
                ))
                .emit(),
        }
    }
}
