//! CAL128 egress-without-dns: a policy isolates its endpoints for egress, and no policy that
//! could apply to the same endpoints allows DNS (UDP port 53) to anywhere.

use super::LintContext;
use super::Pointer;
use super::pitfall::{dns_allowing, enforced_egress_policies, may_share_endpoints};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;

pub struct EgressWithoutDns;

static META: LintMeta = LintMeta {
    code: "CAL128",
    name: "egress-without-dns",
    default_severity: Severity::Warning,
    summary: "Endpoints are isolated for egress and no policy allows DNS (UDP 53) for them",
    doc: include_str!("../../rules/CAL128.md"),
};

impl Lint for EgressWithoutDns {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let governing: Vec<_> = enforced_egress_policies(project).collect();
        let allowing = dns_allowing(&governing, 17);
        for (res, policy) in &governing {
            if res.lowering_problems > 0 {
                continue; // rules may be missing (CAL002)
            }
            let dns_somewhere = allowing.iter().any(|other| may_share_endpoints(res, other));
            if dns_somewhere {
                continue;
            }
            let span = policy
                .types
                .as_ref()
                .and_then(|t| t.value.iter().find(|t| t.value == "Egress"))
                .map(|t| t.span)
                .or(policy.egress_span)
                .unwrap_or(policy.spec_span);
            let scope = match res.namespace() {
                Some(ns) if res.kind.is_namespaced() => {
                    format!("no policy in namespace `{ns}` and no global policy")
                }
                _ => "no policy in the tree".to_string(),
            };
            sink.at(
                res.location(span),
                format!(
                    "this policy isolates the endpoints it selects for egress, and {scope} allows DNS (UDP port 53) for them: name lookups from these pods will time out"
                ),
            )
            .in_resource(res, &Pointer::of(&["spec"]))
            .note("help: add an egress rule such as `- action: Allow` with `protocol: UDP` and `destination: {ports: [53]}` (and the same for TCP), narrowed to the cluster DNS with `selector: k8s-app == 'kube-dns'` and `namespaceSelector: projectcalico.org/name == 'kube-system'`")
            .emit();
        }
    }
}
