//! CAL141 dangling-selector: a namespaced policy's selector, or a rule selector scoped to the
//! policy's namespace, matches none of the workloads the tree defines for that namespace
//! (kube-linter's dangling-networkpolicy). Informational, and only where the tree defines
//! workloads for the namespace: unlike CAL110/CAL111 it is a fact about this tree, not about
//! every endpoint that could exist.

use super::LintContext;
use super::Pointer;
use super::{Lint, LintMeta, Sink};
use crate::analysis::groups::ORCHESTRATOR_LABEL;
use crate::analysis::ir::{NAMESPACE_LABEL, SERVICE_ACCOUNT_LABEL};
use crate::finding::Severity;
use crate::model::resource::{Body, Direction, Kind, SelectorField};
use crate::model::selector::Selector;
use crate::project::Project;
use std::collections::{BTreeMap, HashMap};

pub struct DanglingSelector;

static META: LintMeta = LintMeta {
    code: "CAL141",
    name: "dangling-selector",
    default_severity: Severity::Info,
    summary: "A selector matches none of the workloads the tree defines for its namespace",
    doc: include_str!("../../rules/CAL141.md"),
};

type LabelMap = BTreeMap<String, String>;

/// What the tree defines in one namespace: workloads (with a display name) and network sets.
#[derive(Default)]
struct Defined {
    workloads: Vec<(String, LabelMap)>,
    sets: Vec<LabelMap>,
}

/// Labels the tree's workloads and network sets carry, by namespace: `(workloads, network sets)`.
fn tree_labels(project: &Project) -> BTreeMap<String, Defined> {
    let mut out: BTreeMap<String, Defined> = BTreeMap::new();
    for r in &project.resources {
        let ns = r.namespace().unwrap_or("default").to_string();
        match &r.body {
            Body::Workload(w) => {
                let mut labels = LabelMap::new();
                labels.insert(NAMESPACE_LABEL.into(), ns.clone());
                labels.insert(ORCHESTRATOR_LABEL.into(), "k8s".into());
                let sa = w
                    .service_account
                    .as_ref()
                    .map_or("default", |s| s.value.as_str());
                if sa.len() < 63 {
                    labels.insert(SERVICE_ACCOUNT_LABEL.into(), sa.into());
                }
                for (k, v) in &w.pod_labels {
                    labels.insert(k.value.clone(), v.value.clone());
                }
                let name = format!("{} {}", r.kind.name(), r.name());
                out.entry(ns).or_default().workloads.push((name, labels));
            }
            Body::NetworkSet(_) if r.kind == Kind::NetworkSet => {
                let mut labels: LabelMap = r.meta.label_values().collect();
                labels.insert(NAMESPACE_LABEL.into(), ns.clone());
                out.entry(ns).or_default().sets.push(labels);
            }
            _ => {}
        }
    }
    out
}

/// A selector this check can decide on the tree's labels: parsed, and not testing inherited
/// namespace or service-account labels (the tree may not define those).
fn decidable(field: &SelectorField) -> Option<&Selector> {
    let sel = field.selector()?;
    let inherited = sel
        .labels_used()
        .iter()
        .any(|k| k.starts_with("pcns.") || k.starts_with("pcsa."));
    (!inherited).then_some(sel)
}

impl Lint for DanglingSelector {
    fn meta(&self) -> &'static LintMeta {
        &META
    }

    fn check(&self, project: &LintContext<'_>, sink: &mut Sink<'_>) {
        let labels = tree_labels(project);
        // Whether a rule selector (by its text) matches something the tree defines in a
        // namespace, `None` when it cannot be decided: asked once per namespace and text (the
        // rules of a namespace's policies repeat their selectors; at 10,000 policies this is
        // millions of label-map matches otherwise).
        let mut rule_selector_matches: HashMap<(&str, &str), Option<bool>> = HashMap::new();
        for (_, res) in project.policies() {
            if !res.kind.is_namespaced() {
                continue;
            }
            let Some(policy) = res.policy() else { continue };
            if res.lowering_problems > 0 {
                continue; // the selector may be a fail-closed stand-in (CAL002)
            }
            let ns = res.namespace().unwrap_or("default");
            let Some(Defined { workloads, sets }) =
                labels.get(ns).filter(|d| !d.workloads.is_empty())
            else {
                continue;
            };
            let names: Vec<&str> = workloads.iter().take(3).map(|(n, _)| n.as_str()).collect();
            let listed = format!(
                "{}{}",
                names.join(", "),
                if workloads.len() > 3 { ", …" } else { "" }
            );
            let sa_selector = policy
                .service_account_selector
                .as_ref()
                .is_some_and(|s| !s.is_empty());
            if let Some(field) = policy.selector.as_ref().filter(|_| !sa_selector) {
                if let Some(sel) = decidable(field) {
                    if !workloads.iter().any(|(_, l)| sel.matches(l)) {
                        sink.at(
                            res.location(field.raw.span),
                            format!(
                                "the policy's selector matches none of the {} workloads this tree defines in namespace `{ns}` ({listed}): it applies to nothing here",
                                workloads.len()
                            ),
                        )
                        .in_resource(res, &Pointer::of(&["spec", "selector"]))
                        .note("this is about the workloads in this tree only; a policy selector that can match no endpoint at all is CAL111")
                        .note("help: check the labels against the workloads' pod template labels, or delete the policy if its workloads are gone")
                        .emit();
                        continue;
                    }
                }
            }
            // Rule selectors scoped to the policy's namespace (no namespaceSelector, no
            // service accounts), in Calico-format policies (Kubernetes peers are generated).
            if !res.kind.is_calico_policy() {
                continue;
            }
            for d in [Direction::Ingress, Direction::Egress] {
                for rule in policy.rules(d) {
                    for (side, e) in [("source", &rule.source), ("destination", &rule.destination)]
                    {
                        if e.namespace_selector.is_some() || e.service_accounts.is_some() {
                            continue;
                        }
                        let Some(field) = e.selector.as_ref().filter(|s| !s.is_empty()) else {
                            continue;
                        };
                        let matches = *rule_selector_matches
                            .entry((ns, field.raw.value.as_str()))
                            .or_insert_with(|| {
                                let sel = decidable(field)?;
                                Some(
                                    workloads.iter().any(|(_, l)| sel.matches(l))
                                        || sets.iter().any(|l| sel.matches(l)),
                                )
                            });
                        if matches != Some(false) {
                            continue;
                        }
                        sink.at(
                            res.location(field.raw.span),
                            format!(
                                "`{side}.selector` matches none of the {} workloads or network sets this tree defines in namespace `{ns}` ({listed}): the rule matches no peer here",
                                workloads.len()
                            ),
                        )
                        .in_resource(res, &rule.pointer.child(side).child("selector"))
                        .note("this is about the workloads in this tree only; a rule that can match no packet at all is CAL110")
                        .note("help: check the labels against the workloads' pod template labels; to reach another namespace, add `namespaceSelector`")
                        .emit();
                    }
                }
            }
        }
    }
}
