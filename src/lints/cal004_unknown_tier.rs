//! CAL004 unknown-tier: a policy names a tier that no Tier in the tree defines.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::finding::Severity;
use crate::model::resource::Kind;
use crate::model::tier::BUILTIN_TIERS;
use std::collections::BTreeSet;

pub struct UnknownTier;

static META: LintMeta = LintMeta {
    code: "CAL004",
    name: "unknown-tier",
    default_severity: Severity::Warning,
    summary: "A policy names a tier that no Tier resource in the tree defines",
    doc: include_str!("../../rules/CAL004.md"),
};

impl Lint for UnknownTier {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let defined: BTreeSet<&str> = project
            .resources
            .iter()
            .filter(|r| r.kind == Kind::Tier)
            .map(|r| r.name())
            // Tiers the configuration declares as defined outside the tree (`tiers:`).
            .chain(project.external_tiers.iter().map(|t| t.name.as_str()))
            .collect();
        for (_, res) in project.policies() {
            let Some(tier) = res.policy().and_then(|p| p.tier.as_ref()) else {
                continue;
            };
            let name = tier.value.as_str();
            if name.is_empty()
                || BUILTIN_TIERS.iter().any(|t| t.name == name)
                || defined.contains(name)
            {
                continue;
            }
            let mut f = sink
                .at(
                    res.location(tier.span),
                    format!(
                        "tier `{name}` is not defined by any Tier in the analyzed files; Calico rejects policies in a tier that does not exist"
                    ),
                )
                .in_resource(res, &Pointer::of(&["spec", "tier"]));
            if !defined.is_empty() {
                let list: Vec<_> = defined.iter().map(|t| format!("`{t}`")).collect();
                f = f.note(format!("tiers defined here: {}", list.join(", ")));
            }
            // A near miss of a defined tier is a typo; otherwise the tier may live elsewhere.
            let known: Vec<&str> = defined.iter().copied().collect();
            if crate::model::lower::reader::did_you_mean(name, &known).is_none() {
                f = f.note(
                    "help: if the tier is created outside this repository (e.g. `allow-tigera` by the Tigera operator), declare it in `.calint.yaml` under `tiers:` with its order and default action",
                );
            }
            f.emit();
        }
    }
}
