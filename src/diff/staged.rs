//! Promoting staged policies (spec §1.6, §4.7): the tree as it would be enforced if every
//! staged policy were applied. `stagedAction: Set` (the default; `Learn` and `Ignore` have no
//! special handling in Calico OSS and are treated like `Set`) replaces the enforced policy of
//! the same kind, namespace and name, or adds it; `Delete` removes it.

use crate::model::resource::{Body, Kind};
use crate::project::{Project, ResourceId};
use std::collections::{HashMap, HashSet};

/// The enforced kind a staged kind becomes.
pub fn enforced_kind(kind: Kind) -> Option<Kind> {
    match kind {
        Kind::StagedNetworkPolicy => Some(Kind::NetworkPolicy),
        Kind::StagedGlobalNetworkPolicy => Some(Kind::GlobalNetworkPolicy),
        Kind::StagedKubernetesNetworkPolicy => Some(Kind::KubernetesNetworkPolicy),
        _ => None,
    }
}

/// [`enforced_kind`] on the names reports use (`ResourceRef::kind`).
pub fn enforced_kind_name(kind: &str) -> &str {
    match kind {
        "StagedNetworkPolicy" | "StagedKubernetesNetworkPolicy" => "NetworkPolicy",
        "StagedGlobalNetworkPolicy" => "GlobalNetworkPolicy",
        other => other,
    }
}

/// What promotion did, for the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Promotion {
    /// Staged policies applied with `Set` (or `Learn`/`Ignore`).
    pub set: usize,
    /// Staged `Delete` policies applied.
    pub deleted: usize,
    /// Enforced policies replaced or removed.
    pub replaced: usize,
}

/// The project with every staged policy promoted. Must run before analysis: resource
/// indices change (validation results are carried over to the kept resources).
pub fn promote(mut project: Project) -> (Project, Promotion) {
    let key =
        |kind: Kind, ns: Option<&str>, name: &str| (kind, ns.map(str::to_string), name.to_string());
    let mut promotion = Promotion::default();
    // Enforced policies a staged policy replaces or deletes, and the staged Deletes themselves.
    let mut targets = HashSet::new();
    let mut drop = HashSet::new();
    for (i, r) in project.resources_with_ids() {
        let Some(kind) = enforced_kind(r.kind) else {
            continue;
        };
        targets.insert(key(kind, r.namespace(), r.name()));
        let delete = r
            .policy()
            .and_then(|p| p.staged_action.as_ref())
            .is_some_and(|a| a.value == "Delete");
        if delete {
            drop.insert(i);
            promotion.deleted += 1;
        } else {
            promotion.set += 1;
        }
    }
    for (i, r) in project.resources_with_ids() {
        if enforced_kind(r.kind).is_none()
            && targets.contains(&key(r.kind, r.namespace(), r.name()))
        {
            drop.insert(i);
            promotion.replaced += 1;
        }
    }
    let mut remap = HashMap::new();
    let mut kept = Vec::with_capacity(project.resources.len());
    for (i, mut r) in std::mem::take(&mut project.resources)
        .into_iter()
        .enumerate()
        .map(|(i, r)| (ResourceId(i), r))
    {
        if drop.contains(&i) {
            continue;
        }
        if let Some(kind) = enforced_kind(r.kind) {
            r.kind = kind;
            if let Body::Policy(p) = &mut r.body {
                p.staged_action = None;
            }
        }
        remap.insert(i, ResourceId(kept.len()));
        kept.push(r);
    }
    project.resources = kept;
    project.violations = std::mem::take(&mut project.violations)
        .into_iter()
        .filter_map(|(i, v)| Some((*remap.get(&i)?, v)))
        .collect();
    (project, promotion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckOptions, load_files};

    const TREE: &str = "\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  selector: app == 'db'
  ingress: [{action: Deny}]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  stagedAction: Set
  selector: app == 'db'
  ingress: [{action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: new, namespace: shop}
spec:
  selector: app == 'web'
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: old}
spec:
  selector: all()
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: old}
spec:
  stagedAction: Delete
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: kept}
spec:
  selector: all()
";

    #[test]
    fn set_replaces_or_adds_and_delete_removes() {
        let opts = CheckOptions {
            analysis: None,
            ..CheckOptions::default()
        };
        let project = load_files(vec![("t.yaml".into(), Ok(TREE.as_bytes().to_vec()))], &opts);
        assert_eq!(project.resources.len(), 6);
        let (p, promotion) = promote(project);
        let kinds: Vec<(Kind, &str)> = p.resources.iter().map(|r| (r.kind, r.name())).collect();
        assert_eq!(
            kinds,
            [
                (Kind::NetworkPolicy, "db"),
                (Kind::NetworkPolicy, "new"),
                (Kind::GlobalNetworkPolicy, "kept"),
            ]
        );
        // The promoted `db` is the staged one (Allow), no longer staged.
        let db = p.resources.first().and_then(|r| r.policy()).expect("db");
        assert_eq!(
            db.ingress.first().and_then(|r| r.action()),
            Some(crate::model::resource::Action::Allow)
        );
        assert!(db.staged_action.is_none());
        assert_eq!(
            promotion,
            Promotion {
                set: 2,
                deleted: 1,
                replaced: 2
            }
        );
    }

    #[test]
    fn kind_names() {
        assert_eq!(
            enforced_kind_name("StagedGlobalNetworkPolicy"),
            "GlobalNetworkPolicy"
        );
        assert_eq!(
            enforced_kind_name("StagedKubernetesNetworkPolicy"),
            "NetworkPolicy"
        );
        assert_eq!(enforced_kind_name("Tier"), "Tier");
    }
}
