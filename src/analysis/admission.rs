//! Which resources Calico would actually hold, and so which the analysis may use.
//!
//! - A resource with an error (a CAL002 from lowering or validation) is rejected by Calico as
//!   a whole (the API server or calicoctl refuses it), so none of its settings apply: an
//!   invalid Tier's order and default action, an invalid NetworkSet's nets, ... (issue 13
//!   item 6).
//! - Of several definitions of the same kind, namespace and name (CAL003), applying the
//!   tree leaves the last one: only it is used (item 8).
//!
//! Every consumer of resources in the analysis (`ir::PolicySet`, `reach` groups, namespace
//! labels) asks [`Admission`] first, so `check`, `reach`, `graph` and assertions agree.

use crate::model::resource::{Kind, Resource};
use crate::project::{Project, ResourceId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Why a resource is left out of the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeftOut {
    /// It has errors Calico rejects it for (CAL002).
    Invalid,
    /// A later definition of the same kind, namespace and name replaces it (CAL003).
    Replaced,
}

impl LeftOut {
    pub fn describe(self) -> &'static str {
        match self {
            LeftOut::Invalid => "invalid, CAL002",
            LeftOut::Replaced => "replaced by a later definition, CAL003",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Admission {
    left_out: HashMap<ResourceId, LeftOut>,
}

/// Whether lowering or validation reported an error for resource `i`.
fn has_errors(invalid: &HashSet<ResourceId>, i: ResourceId, r: &Resource) -> bool {
    invalid.contains(&i) || r.lowering_problems > 0
}

impl Admission {
    pub fn of(project: &Project) -> Admission {
        let invalid: HashSet<ResourceId> = project.violations.iter().map(|(i, _)| *i).collect();
        let mut left_out = HashMap::new();
        // The last definition of each (kind, namespace, name) wins.
        let mut last: HashMap<(Kind, Option<&str>, &str), ResourceId> = HashMap::new();
        for (i, r) in project.resources_with_ids() {
            if let Some(name) = r.meta.name.as_ref().filter(|n| !n.value.is_empty()) {
                if let Some(prev) = last.insert((r.kind, r.namespace(), name.value.as_str()), i) {
                    left_out.insert(prev, LeftOut::Replaced);
                }
            }
        }
        for (i, r) in project.resources_with_ids() {
            if !left_out.contains_key(&i) && has_errors(&invalid, i, r) {
                left_out.insert(i, LeftOut::Invalid);
            }
        }
        Admission { left_out }
    }

    /// Whether resource `i` takes part in the analysis.
    pub fn admitted(&self, i: ResourceId) -> bool {
        !self.left_out.contains_key(&i)
    }

    pub fn left_out(&self, i: ResourceId) -> Option<LeftOut> {
        self.left_out.get(&i).copied()
    }

    /// A one-line note for `reach`/`graph` when the tree has policies or other resources
    /// that the answer does not include ("2 policies not analysed: ..."), or `None`.
    pub fn note(&self, project: &Project) -> Option<String> {
        let mut by_what: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let mut indexes: Vec<ResourceId> = self.left_out.keys().copied().collect();
        indexes.sort_unstable();
        for i in indexes {
            let (Some(r), Some(why)) = (project.resource(i), self.left_out(i)) else {
                continue;
            };
            // Only kinds whose content steers an answer.
            let what = match r.kind {
                k if k.is_policy() => "policies",
                Kind::Tier => "tiers",
                Kind::NetworkSet | Kind::GlobalNetworkSet => "network sets",
                Kind::HostEndpoint => "host endpoints",
                Kind::Profile => "profiles",
                Kind::Namespace => "namespaces",
                _ => "workloads",
            };
            by_what.entry(what).or_default().push(format!(
                "{} ({})",
                r.reference(),
                why.describe()
            ));
        }
        // Files with YAML errors: what they hold beyond the error is not read (CAL001).
        let mut broken: Vec<String> = project
            .file_problems
            .iter()
            .filter_map(|p| project.sources.get(p.file).map(|s| s.name.clone()))
            .collect();
        broken.sort();
        broken.dedup();
        let broken = (!broken.is_empty()).then(|| {
            let n = broken.len();
            format!(
                "{n} file{} with errors not fully read (CAL001): {}",
                if n == 1 { "" } else { "s" },
                broken.join(", ")
            )
        });
        if by_what.is_empty() && broken.is_none() {
            return None;
        }
        let parts: Vec<String> = by_what
            .into_iter()
            .map(|(what, list)| {
                let n = list.len();
                let what = if n == 1 {
                    what.strip_suffix("ies")
                        .map(|s| format!("{s}y"))
                        .unwrap_or_else(|| what.trim_end_matches('s').to_string())
                } else {
                    what.to_string()
                };
                format!("{n} {what} not analysed: {}", list.join(", "))
            })
            .chain(broken)
            .collect();
        Some(parts.join("; "))
    }
}
