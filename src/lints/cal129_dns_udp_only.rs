//! CAL129 dns-udp-only: DNS is allowed over UDP but no policy that could apply to the same
//! endpoints allows TCP port 53, so large or truncated answers fail.

use super::LintContext;
use super::pitfall::{dns_allowing, enforced_egress_policies, may_share_endpoints};
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::port::Port;
use crate::model::resource::Action;

pub struct DnsUdpOnly;

static META: LintMeta = LintMeta {
    code: "CAL129",
    name: "dns-udp-only",
    default_severity: Severity::Info,
    summary: "DNS is allowed over UDP only: truncated answers retried over TCP 53 fail",
    doc: include_str!("../../rules/CAL129.md"),
};

impl Lint for DnsUdpOnly {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let governing: Vec<_> = enforced_egress_policies(project).collect();
        let allowing = dns_allowing(&governing, 6);
        for (res, policy) in &governing {
            let tcp_somewhere = allowing.iter().any(|other| may_share_endpoints(res, other));
            if tcp_somewhere {
                continue;
            }
            // The rules written to allow DNS: UDP explicitly, port 53 explicitly.
            for rule in &policy.egress {
                let explicit = rule.action() == Some(Action::Allow)
                    && rule.protocol.as_ref().and_then(|p| p.value.number()) == Some(17)
                    && rule
                        .destination
                        .ports
                        .iter()
                        .any(|p| matches!(p.value, Port::Range { min, max } if (min..=max).contains(&53)));
                if !explicit {
                    continue;
                }
                sink.at(
                    res.location(rule.head_span()),
                    "DNS is allowed over UDP only, and no policy for these endpoints allows TCP port 53: answers too large for UDP (truncated, then retried over TCP) will fail",
                )
                .in_resource(res, &rule.pointer)
                .note("help: add the same rule with `protocol: TCP`")
                .emit();
            }
        }
    }
}
