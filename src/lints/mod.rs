//! Lints: one file per lint, each declaring its code, name, default severity and doc.
//!
//! A lint reads a [`LintContext`] (the loaded [`Project`] and what the pipeline computed over
//! it: analysis, assertion answers, posture facts) and pushes [`Finding`]s through a [`Sink`],
//! which fills in the code, name and effective severity. Registering a lint means adding it to [`REGISTRY`];
//! the CLI and every report format pick it up from there.
//!
//! [`run_all`] runs in two phases: every lint's [`Lint::check`], then the `calint.io/ignore`
//! suppressions are applied to all those findings ([`suppress`]), then
//! [`Lint::check_suppressions`] lets CAL005/CAL006 report on the suppressions themselves.
//!
//! Layer 7: uses `posture`, `analysis` and below; never `config`, which is above: lints never
//! see a configuration type (their settings are [`LintSettings`]).

mod cal001_yaml_syntax;
mod cal002_invalid_resource;
mod cal003_duplicate_resource;
mod cal004_unknown_tier;
mod cal005_suppression_without_reason;
mod cal006_unused_suppression;
mod cal007_analysis_budget_exceeded;
mod cal008_storage_api_version;
mod cal101_defaulted_types;
mod cal102_alp_egress;
mod cal103_alp_action;
mod cal104_unconverted_cluster_rule;
mod cal110_unsatisfiable_rule;
mod cal111_unsatisfiable_selector;
mod cal120_not_selector_namespace_scope;
mod cal121_deny_selector_all;
mod cal122_namespace_selector_matches_host_endpoints;
mod cal123_explicit_all_excludes_host_endpoints;
mod cal124_rules_for_unlisted_direction;
mod cal125_direction_without_rules;
mod cal126_log_only_direction;
mod cal127_log_after_deciding_rules;
mod cal128_egress_without_dns;
mod cal129_dns_udp_only;
mod cal130_http_without_alp;
mod cal131_host_endpoint_only_policy;
mod cal132_single_family_not_nets;
mod cal133_default_tier_after_kubernetes;
mod cal134_service_without_namespace;
mod cal135_service_account_name_too_long;
mod cal136_empty_service_accounts;
mod cal137_staged_kubernetes_egress_ignored;
mod cal138_staged_never_enforced;
mod cal139_dead_selector_alternative;
mod cal140_namespace_label_mixup;
mod cal141_dangling_selector;
mod cal201_shadowed_rule;
mod cal202_shadowed_by_policy;
mod cal203_order_conflict;
mod cal204_redundant_rule;
mod cal205_generalization;
mod cal206_correlation;
mod cal207_redundant_policy;
mod cal208_superseded_rule;
mod cal301_reachability_assertion;
mod cal310_unisolated_workload;
mod cal311_world_exposure;
mod pitfall;
mod semantic;
pub mod suppress;

use crate::analysis::Analysis;
use crate::analysis::ir::PolicySet;
use crate::analysis::spec::AssertionOutcome;
use crate::finding::{Finding, Location, Related, ResourceRef, Severity};
use crate::model::resource::Resource;
pub use crate::pointer::Pointer;
use crate::progress::{NoProgress, Progress};
use crate::project::Project;
use crate::source::Span;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use suppress::Suppressions;

/// What a lint reads: the loaded project (it derefs to [`Project`]) and the results the
/// pipeline computed over it before the lints ran.
#[derive(Clone, Copy, Debug)]
pub struct LintContext<'a> {
    pub project: &'a Project,
    /// Results of the semantic (Z3) analysis, when it ran.
    pub analysis: Option<&'a Analysis>,
    /// Reachability assertions of the configuration, evaluated.
    pub assertions: &'a [AssertionOutcome],
    /// The policy set the assertions were evaluated against (for naming deciding rules).
    pub assertion_set: Option<&'a PolicySet>,
    /// Posture facts (CAL310, CAL311, `no-path` assertions), when computed.
    pub posture: Option<&'a crate::posture::PostureOutcome>,
}

impl<'a> LintContext<'a> {
    /// A project with nothing computed over it (no analysis, no assertions, no posture).
    pub fn loaded(project: &'a Project) -> Self {
        LintContext {
            project,
            analysis: None,
            assertions: &[],
            assertion_set: None,
            posture: None,
        }
    }
}

impl std::ops::Deref for LintContext<'_> {
    type Target = Project;
    fn deref(&self) -> &Project {
        self.project
    }
}

/// What a lint declares about itself.
#[derive(Debug)]
pub struct LintMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub default_severity: Severity,
    /// One line, for `calint rules` and SARIF short descriptions.
    pub summary: &'static str,
    /// The full Markdown page (`rules/<CODE>.md`), embedded.
    pub doc: &'static str,
}

pub trait Lint: Sync {
    fn meta(&self) -> &'static LintMeta;
    /// First phase: report on the project and what was computed over it. (CAL005 and CAL006
    /// do everything in [`Lint::check_suppressions`] and keep this default.)
    fn check(&self, _cx: &LintContext<'_>, _sink: &mut Sink<'_>) {}

    /// Second phase, after suppressions were applied to every finding of the first: lints
    /// about the suppression annotations themselves (which ones were used) implement this.
    fn check_suppressions(
        &self,
        _cx: &LintContext<'_>,
        _suppressions: &Suppressions,
        _sink: &mut Sink<'_>,
    ) {
    }
}

/// Every lint calint knows, in code order.
pub static REGISTRY: &[&dyn Lint] = &[
    &cal001_yaml_syntax::YamlSyntax,
    &cal002_invalid_resource::InvalidResource,
    &cal003_duplicate_resource::DuplicateResource,
    &cal004_unknown_tier::UnknownTier,
    &cal005_suppression_without_reason::SuppressionWithoutReason,
    &cal006_unused_suppression::UnusedSuppression,
    &cal007_analysis_budget_exceeded::AnalysisBudgetExceeded,
    &cal008_storage_api_version::StorageApiVersion,
    &cal101_defaulted_types::DefaultedTypes,
    &cal102_alp_egress::AlpEgress,
    &cal103_alp_action::AlpAction,
    &cal104_unconverted_cluster_rule::UnconvertedClusterRule,
    &cal110_unsatisfiable_rule::UnsatisfiableRule,
    &cal111_unsatisfiable_selector::UnsatisfiableSelector,
    &cal120_not_selector_namespace_scope::NotSelectorNamespaceScope,
    &cal121_deny_selector_all::DenySelectorAll,
    &cal122_namespace_selector_matches_host_endpoints::NamespaceSelectorMatchesHostEndpoints,
    &cal123_explicit_all_excludes_host_endpoints::ExplicitAllExcludesHostEndpoints,
    &cal124_rules_for_unlisted_direction::RulesForUnlistedDirection,
    &cal125_direction_without_rules::DirectionWithoutRules,
    &cal126_log_only_direction::LogOnlyDirection,
    &cal127_log_after_deciding_rules::LogAfterDecidingRules,
    &cal128_egress_without_dns::EgressWithoutDns,
    &cal129_dns_udp_only::DnsUdpOnly,
    &cal130_http_without_alp::HttpNeedsAlp,
    &cal131_host_endpoint_only_policy::HostEndpointOnlyPolicy,
    &cal132_single_family_not_nets::SingleFamilyNotNets,
    &cal133_default_tier_after_kubernetes::DefaultTierAfterKubernetes,
    &cal134_service_without_namespace::ServiceWithoutNamespace,
    &cal135_service_account_name_too_long::ServiceAccountNameTooLong,
    &cal136_empty_service_accounts::EmptyServiceAccounts,
    &cal137_staged_kubernetes_egress_ignored::StagedKubernetesEgressIgnored,
    &cal138_staged_never_enforced::StagedNeverEnforced,
    &cal139_dead_selector_alternative::DeadSelectorAlternative,
    &cal140_namespace_label_mixup::NamespaceLabelMixup,
    &cal141_dangling_selector::DanglingSelector,
    &cal201_shadowed_rule::ShadowedRule,
    &cal202_shadowed_by_policy::ShadowedByPolicy,
    &cal203_order_conflict::OrderConflict,
    &cal204_redundant_rule::RedundantRule,
    &cal205_generalization::Generalization,
    &cal206_correlation::Correlation,
    &cal207_redundant_policy::RedundantPolicy,
    &cal208_superseded_rule::SupersededRule,
    &cal301_reachability_assertion::ReachabilityAssertion,
    &cal310_unisolated_workload::UnisolatedWorkload,
    &cal311_world_exposure::WorldExposure,
];

pub fn find(code_or_name: &str) -> Option<&'static dyn Lint> {
    REGISTRY.iter().copied().find(|l| {
        let m = l.meta();
        m.code.eq_ignore_ascii_case(code_or_name) || m.name == code_or_name
    })
}

/// Per-run lint configuration: severity overrides, `None` meaning "off".
#[derive(Clone, Debug, Default)]
pub struct LintSettings {
    pub overrides: BTreeMap<String, Option<Severity>>,
    /// Add detailed evidence (covering rules, full witness packets) to findings' notes.
    pub explain: bool,
}

impl LintSettings {
    /// The severity a lint reports at in this run; `None` when it is off.
    pub fn severity(&self, meta: &LintMeta) -> Option<Severity> {
        match self.overrides.get(meta.code) {
            Some(s) => *s,
            None => Some(meta.default_severity),
        }
    }
}

/// Where a lint puts its findings.
pub struct Sink<'a> {
    meta: &'static LintMeta,
    severity: Severity,
    explain: bool,
    out: &'a mut Vec<Finding>,
    /// The run's settings, to ask whether another lint is enabled.
    settings: &'a LintSettings,
}

impl Sink<'_> {
    /// Whether findings should carry detailed evidence (`--explain`).
    pub fn explain(&self) -> bool {
        self.explain
    }

    /// Whether the lint `code` reports in this run (for lints that leave a fact to another).
    pub fn enabled(&self, code: &str) -> bool {
        find(code).is_some_and(|l| self.settings.severity(l.meta()).is_some())
    }

    /// Start a finding at `location`; call [`FindingBuilder::emit`] to keep it.
    pub fn at(&mut self, location: Location, message: impl Into<String>) -> FindingBuilder<'_> {
        FindingBuilder {
            finding: Finding::new(
                self.meta.code,
                self.meta.name,
                self.severity,
                message,
                location,
            ),
            out: self.out,
        }
    }
}

pub struct FindingBuilder<'a> {
    finding: Finding,
    out: &'a mut Vec<Finding>,
}

impl FindingBuilder<'_> {
    pub fn resource(mut self, r: ResourceRef) -> Self {
        self.finding.resource = Some(r);
        self
    }

    /// Attach a resource and a pointer relative to it.
    pub fn in_resource(mut self, r: &Resource, pointer: &Pointer) -> Self {
        self.finding.resource = Some(r.reference());
        self.finding.pointer = Some(pointer.clone());
        self
    }

    pub fn pointer(mut self, p: Pointer) -> Self {
        self.finding.pointer = Some(p);
        self
    }

    pub fn related(mut self, r: Related) -> Self {
        self.finding.related.push(r);
        self
    }

    /// Add an explanation line; one starting with `help: ` is the finding's help.
    pub fn note(self, n: impl Into<String>) -> Self {
        let n = n.into();
        match n.strip_prefix("help: ") {
            Some(help) => {
                let help = help.to_string();
                self.help(help)
            }
            None => {
                let mut this = self;
                this.finding.notes.push(n);
                this
            }
        }
    }

    /// What to do about the finding (several helps are kept as lines of one).
    pub fn help(mut self, help: impl Into<String>) -> Self {
        let help = help.into();
        self.finding.help = Some(match self.finding.help.take() {
            Some(before) => format!("{before}\n{help}"),
            None => help,
        });
        self
    }

    pub fn witness(mut self, w: serde_json::Value) -> Self {
        self.finding.witness = Some(w);
        self
    }

    /// Attach a mechanical fix (`--fix`): replace `span` of the finding's file with
    /// `replacement`.
    pub fn fix(
        mut self,
        description: impl Into<String>,
        span: Span,
        replacement: impl Into<String>,
    ) -> Self {
        self.finding.fixes.push(crate::finding::Fix {
            description: description.into(),
            edits: vec![crate::finding::Edit {
                file: self.finding.location.file,
                span,
                replacement: replacement.into(),
            }],
        });
        self
    }

    pub fn emit(self) {
        self.out.push(self.finding);
    }
}

/// What one lint run produced.
#[derive(Debug, Default)]
pub struct LintRun {
    /// Findings in report order (file, position, code), suppressed ones removed.
    pub findings: Vec<Finding>,
    /// How many findings `calint.io/ignore` annotations suppressed.
    pub suppressed: usize,
    /// Time spent in each lint (both phases), in registry order.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Run every enabled lint and return findings in report order (file, position, code).
pub fn run(project: &Project, settings: &LintSettings) -> Vec<Finding> {
    run_all(&LintContext::loaded(project), settings, &NoProgress).findings
}

/// Run every enabled lint, apply suppressions, then run the suppression lints.
pub fn run_all(cx: &LintContext<'_>, settings: &LintSettings, progress: &dyn Progress) -> LintRun {
    let project = cx.project;
    let enabled: Vec<(&dyn Lint, Severity)> = REGISTRY
        .iter()
        .filter_map(|lint| Some((*lint, settings.severity(lint.meta())?)))
        .collect();
    progress.stage("lint", enabled.len());
    // Lints read the context and write only their own findings, so they run in parallel;
    // their findings are joined in registry order (and sorted below), as if run one by one.
    let per_lint: Vec<(Vec<Finding>, (&'static str, Duration))> = enabled
        .par_iter()
        .map(|(lint, severity)| {
            let start = Instant::now();
            let mut out = Vec::new();
            let mut sink = Sink {
                meta: lint.meta(),
                severity: *severity,
                explain: settings.explain,
                out: &mut out,
                settings,
            };
            lint.check(cx, &mut sink);
            progress.advance(1);
            (out, (lint.meta().code, start.elapsed()))
        })
        .collect();
    let mut timings = Vec::with_capacity(per_lint.len());
    let mut findings = Vec::new();
    for (out, timing) in per_lint {
        findings.extend(out);
        timings.push(timing);
    }
    // Deduplicate before suppressing so the suppressed count counts distinct findings.
    sort_findings(project, &mut findings);
    let mut suppressions = suppress::collect(project, settings);
    let (mut findings, suppressed) = suppress::apply(&mut suppressions, findings);
    for ((lint, severity), timing) in enabled.iter().zip(timings.iter_mut()) {
        let start = Instant::now();
        let mut sink = Sink {
            meta: lint.meta(),
            severity: *severity,
            explain: settings.explain,
            out: &mut findings,
            settings,
        };
        lint.check_suppressions(cx, &suppressions, &mut sink);
        timing.1 += start.elapsed();
    }
    sort_findings(project, &mut findings);
    LintRun {
        findings,
        suppressed,
        timings,
    }
}

/// Sort by file name, position, code, message; drop exact duplicates.
pub fn sort_findings(project: &Project, findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        let name = |f: &Finding| {
            project
                .sources
                .get(f.location.file)
                .map(|s| s.name.as_str())
        };
        name(a)
            .cmp(&name(b))
            .then_with(|| a.sort_key().cmp(&b.sort_key()))
    });
    findings.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_has_its_page_and_every_page_a_lint() {
        let mut codes = std::collections::BTreeSet::new();
        for lint in REGISTRY {
            let m = lint.meta();
            assert!(codes.insert(m.code), "duplicate code {}", m.code);
            let title = format!("# {} {}\n", m.code, m.name);
            assert!(
                m.doc.starts_with(&title),
                "rules/{}.md must start with `{title}`",
                m.code
            );
            assert!(
                m.doc.contains("## Example") && m.doc.contains("## Use instead"),
                "{}",
                m.code
            );
            let sev = format!("**Default severity:** {}", m.default_severity);
            assert!(m.doc.contains(&sev), "rules/{}.md must say `{sev}`", m.code);
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(code) = name.strip_suffix(".md") {
                assert!(
                    codes.contains(code),
                    "rules/{name} documents no registered lint"
                );
            }
        }
    }
}
