//! CAL131 host-endpoint-only-policy: a `doNotTrack`, `preDNAT` or `applyOnForward`
//! GlobalNetworkPolicy whose selector can only match workload endpoints (spec W-11, §4.8).

use super::LintContext;
use super::Pointer;
use super::cal122_namespace_selector_matches_host_endpoints::matches_unnamespaced;
use super::pitfall::calico_policies;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::Kind;
use crate::source::Spanned;

pub struct HostEndpointOnlyPolicy;

static META: LintMeta = LintMeta {
    code: "CAL131",
    name: "host-endpoint-only-policy",
    default_severity: Severity::Warning,
    summary: "A doNotTrack/preDNAT/applyOnForward policy selects only workloads, where those flags do nothing",
    doc: include_str!("../../rules/CAL131.md"),
};

/// Labels only workload endpoints carry (spec §3.7.3); a selector that needs one of them can
/// never select a HostEndpoint.
const WORKLOAD_ONLY: [&str; 3] = [
    "projectcalico.org/namespace",
    "projectcalico.org/orchestrator",
    "projectcalico.org/serviceaccount",
];

fn on(f: &Option<Spanned<bool>>) -> Option<&Spanned<bool>> {
    f.as_ref().filter(|b| b.value)
}

impl Lint for HostEndpointOnlyPolicy {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        for (res, policy) in calico_policies(project) {
            if !matches!(
                res.kind,
                Kind::GlobalNetworkPolicy | Kind::StagedGlobalNetworkPolicy
            ) {
                continue;
            }
            let flag = on(&policy.do_not_track)
                .map(|f| ("doNotTrack", f))
                .or_else(|| on(&policy.pre_dnat).map(|f| ("preDNAT", f)))
                .or_else(|| on(&policy.apply_on_forward).map(|f| ("applyOnForward", f)));
            let Some((flag, spanned)) = flag else {
                continue;
            };
            let mut why = None;
            if let Some(sel) = policy.selector.as_ref().and_then(|s| s.selector()) {
                let r = sel.label_restrictions();
                why = WORKLOAD_ONLY
                    .iter()
                    .find(|k| r.get(**k).is_some_and(|x| x.must_be_present))
                    .map(|k| {
                        format!(
                            "its selector requires `{k}`, a label only workload endpoints carry"
                        )
                    });
                if why.is_none() {
                    why = sel
                        .labels_used()
                        .into_iter()
                        .find(|k| {
                            (k.starts_with("pcns.") || k.starts_with("pcsa."))
                                && r.get(k).is_some_and(|x| x.must_be_present)
                        })
                        .map(|k| {
                            format!(
                                "its selector requires `{k}`, a label only workload endpoints carry"
                            )
                        });
                }
            }
            if why.is_none() {
                why = policy
                    .namespace_selector
                    .as_ref()
                    .filter(|f| !f.is_empty() && f.selector().is_some() && !matches_unnamespaced(f))
                    .map(|_| {
                        "its `namespaceSelector` only matches namespaced (workload) endpoints"
                            .to_string()
                    });
            }
            if why.is_none() {
                why = policy
                    .service_account_selector
                    .as_ref()
                    .filter(|f| !f.is_empty())
                    .map(|_| "its `serviceAccountSelector` only matches pods".to_string());
            }
            let Some(why) = why else { continue };
            let effect = match flag {
                "applyOnForward" => "only changes how host endpoints treat forwarded traffic",
                _ => "policies apply only to host endpoints, so this policy has no effect at all",
            };
            sink.at(
                res.location(spanned.span),
                format!("`{flag}: true` {effect}, and this policy cannot select a host endpoint: {why}"),
            )
            .in_resource(res, &Pointer::of(&["spec", flag]))
            .note("Felix renders untracked, pre-DNAT and forward policy only into host-endpoint chains (felix/calc/event_sequencer.go; all versions)")
            .note(if flag == "applyOnForward" {
                "help: remove `applyOnForward` (workload policy applies to forwarded traffic anyway), or select host endpoints"
            } else {
                "help: select the host endpoints (by their labels) the policy is meant for, or drop the flag and enforce the rules as normal workload policy"
            })
            .emit();
        }
    }
}
