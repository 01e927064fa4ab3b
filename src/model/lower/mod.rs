//! Lowering: span-tree documents → typed [`Resource`]s, collecting every problem.
//!
//! A document is a Kubernetes-style object when it is a mapping with `apiVersion` and `kind`;
//! anything else is skipped silently (Helm values, CI configs, ...). `<Kind>List` and `v1 List`
//! are unwrapped, and so is a top-level sequence of objects (calicoctl accepts it).

mod calico;
mod cluster;
mod k8s;
pub mod reader;

pub use k8s::MAX_CONVERTED_PORT_ENTRIES;

use crate::diagnostic::Diagnostic;
use crate::finding::ResourceRef;
use crate::load::tree::{Document, Node};
use crate::model::resource::*;
use crate::model::selector::SelectorLimits;
use crate::pointer::Lazy;
use crate::source::{FileId, Spanned};
use reader::{Reader, index};
use std::collections::BTreeMap;

/// A problem found while lowering, with the resource it belongs to (when known).
#[derive(Clone, Debug, PartialEq)]
pub struct LowerProblem {
    pub file: FileId,
    pub resource: Option<ResourceRef>,
    pub violation: Diagnostic,
}

/// Everything lowering produced for a set of documents.
#[derive(Debug, Default)]
pub struct Lowered {
    pub resources: Vec<Resource>,
    pub problems: Vec<LowerProblem>,
    /// Objects of kinds calint does not model, by `apiVersion/kind`.
    pub unknown_kinds: BTreeMap<String, usize>,
}

const META_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generateName",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
];

const CALICO_GROUP: &str = "projectcalico.org/v3";

fn classify(api_version: &str, kind: &str) -> Option<Kind> {
    let calico = api_version == CALICO_GROUP || api_version == CALICO_STORAGE_GROUP;
    Some(match (api_version, kind) {
        (_, "NetworkPolicy") if calico => Kind::NetworkPolicy,
        (_, "GlobalNetworkPolicy") if calico => Kind::GlobalNetworkPolicy,
        (_, "StagedNetworkPolicy") if calico => Kind::StagedNetworkPolicy,
        (_, "StagedGlobalNetworkPolicy") if calico => Kind::StagedGlobalNetworkPolicy,
        (_, "StagedKubernetesNetworkPolicy") if calico => Kind::StagedKubernetesNetworkPolicy,
        (_, "Tier") if calico => Kind::Tier,
        (_, "NetworkSet") if calico => Kind::NetworkSet,
        (_, "GlobalNetworkSet") if calico => Kind::GlobalNetworkSet,
        (_, "Profile") if calico => Kind::Profile,
        (_, "HostEndpoint") if calico => Kind::HostEndpoint,
        ("networking.k8s.io/v1", "NetworkPolicy") => Kind::KubernetesNetworkPolicy,
        ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy") => Kind::AdminNetworkPolicy,
        ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy") => {
            Kind::BaselineAdminNetworkPolicy
        }
        ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy") => Kind::ClusterNetworkPolicy,
        ("v1", "Namespace") => Kind::Namespace,
        ("v1", "Pod") => Kind::Pod,
        ("apps/v1", "Deployment") => Kind::Deployment,
        ("apps/v1", "StatefulSet") => Kind::StatefulSet,
        ("apps/v1", "DaemonSet") => Kind::DaemonSet,
        ("apps/v1", "ReplicaSet") => Kind::ReplicaSet,
        ("batch/v1", "Job") => Kind::Job,
        ("batch/v1", "CronJob") => Kind::CronJob,
        _ => return None,
    })
}

/// Lower every document of one file, with the default [`SelectorLimits`].
pub fn lower_file(file: FileId, documents: &[Document], out: &mut Lowered) {
    lower_file_with(file, documents, &SelectorLimits::default(), out);
}

/// Lower every document of one file; selectors beyond `limits` are kept unparsed.
pub fn lower_file_with(
    file: FileId,
    documents: &[Document],
    limits: &SelectorLimits,
    out: &mut Lowered,
) {
    let cx = Cx { file, limits };
    for doc in documents {
        match doc.root.as_seq() {
            // A top-level sequence of objects (calicoctl input form).
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = index("", i);
                    lower_object(&cx, doc.index, item, Lazy::from(&at), None, out);
                }
            }
            None => lower_object(&cx, doc.index, &doc.root, Lazy::Text(""), None, out),
        }
    }
}

/// What every object of one file is lowered with.
struct Cx<'a> {
    file: FileId,
    limits: &'a SelectorLimits,
}

/// `inherited`: apiVersion/kind of the enclosing `<Kind>List`, for items that omit them.
fn lower_object(
    cx: &Cx<'_>,
    document: usize,
    node: &Node,
    base: Lazy<'_>,
    inherited: Option<(&str, &str)>,
    out: &mut Lowered,
) {
    if node.as_map().is_none() {
        return;
    }
    let api = node.get("apiVersion").and_then(Node::scalar_str);
    let kind = node.get("kind").and_then(Node::scalar_str);
    let (api, kind) = match (api, kind, inherited) {
        (Some(a), Some(k), _) => (a, k),
        (None, None, Some((a, k))) => (a, k),
        (a, k, Some((ia, ik))) => (a.unwrap_or(ia), k.unwrap_or(ik)),
        _ => return, // not a Kubernetes-style object
    };

    // Lists: `<Kind>List` of Calico and the generic `v1 List`.
    if let Some(items) = node.get("items").filter(|_| kind.ends_with("List")) {
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        let inherited = item_kind.map(|k| (api, k));
        match items.as_seq() {
            Some(seq) => {
                let list = base.child("items");
                for (i, item) in seq.iter().enumerate() {
                    lower_object(cx, document, item, list.index(i), inherited, out);
                }
            }
            None if !items.is_null() => out.problems.push(LowerProblem {
                file: cx.file,
                resource: None,
                violation: Diagnostic::new(
                    items.span,
                    base.child("items"),
                    format!(
                        "`items` of a {kind} must be a list, found {}",
                        items.describe()
                    ),
                ),
            }),
            None => {}
        }
        return;
    }

    let Some(kind_enum) = classify(api, kind) else {
        *out.unknown_kinds
            .entry(format!("{api}/{kind}"))
            .or_default() += 1;
        return;
    };
    let (resource, problems) = lower_resource(cx, document, node, base, kind_enum);
    let reference = resource.reference();
    out.problems
        .extend(problems.into_iter().map(|violation| LowerProblem {
            file: cx.file,
            resource: Some(reference.clone()),
            violation,
        }));
    out.resources.push(resource);
}

fn lower_resource(
    cx: &Cx<'_>,
    document: usize,
    node: &Node,
    base: Lazy<'_>,
    kind: Kind,
) -> (Resource, Vec<Diagnostic>) {
    let strict = !kind.is_workload() && kind != Kind::Namespace;
    let mut r = Reader::new(strict);
    r.selector_limits = *cx.limits;
    let api_node = node.get("apiVersion");
    let api_version = Spanned::new(
        api_node
            .and_then(Node::scalar_str)
            .unwrap_or_default()
            .to_string(),
        api_node.map_or(node.span, |n| n.span),
    );
    let kind_span = node.get("kind").map_or(node.span, |n| n.span);
    // `crd.projectcalico.org/v1` (Calico's storage form) is analysed as Calico enforces it;
    // CAL008 says it is not meant to be written by hand (`Resource::is_storage_form`).
    let mut top_known = vec!["apiVersion", "kind", "metadata", "spec", "status"];
    if kind == Kind::Namespace || kind.is_workload() {
        top_known.clear();
    }
    let root = r.fields(node, "", kind.name(), &top_known);
    let mut meta = ObjectMeta::default();
    if let Some((m, p)) = root.as_ref().and_then(|f| f.get("metadata")) {
        meta.span = m.span;
        let strict_meta = r.strict;
        if let Some(mf) = r.fields(m, p, "metadata", META_FIELDS) {
            meta.name = r.opt_string(&mf, "name");
            meta.namespace = r.opt_string(&mf, "namespace");
            meta.labels = r.string_map(&mf, "labels");
            meta.annotations = r.string_map(&mf, "annotations");
        }
        r.strict = strict_meta;
    } else if root.is_some() {
        r.report(node.span, "", format!("{} has no `metadata`", kind.name()));
    }

    let spec = root.as_ref().and_then(|f| f.get("spec"));
    let body = match kind {
        Kind::NetworkPolicy
        | Kind::GlobalNetworkPolicy
        | Kind::StagedNetworkPolicy
        | Kind::StagedGlobalNetworkPolicy => match spec {
            Some((s, p)) => Body::Policy(Box::new(calico::policy(&mut r, kind, s, p))),
            None => {
                missing_spec(&mut r, node, kind);
                Body::Policy(Box::default())
            }
        },
        Kind::KubernetesNetworkPolicy | Kind::StagedKubernetesNetworkPolicy => match spec {
            Some((s, p)) => Body::Policy(Box::new(k8s::network_policy(&mut r, kind, s, p))),
            None => {
                missing_spec(&mut r, node, kind);
                Body::Policy(Box::default())
            }
        },
        Kind::AdminNetworkPolicy
        | Kind::BaselineAdminNetworkPolicy
        | Kind::ClusterNetworkPolicy => match spec {
            Some((s, p)) => Body::Policy(Box::new(cluster::cluster_policy(&mut r, kind, s, p))),
            None => {
                missing_spec(&mut r, node, kind);
                Body::Policy(Box::default())
            }
        },
        Kind::Tier => Body::Tier(match spec {
            Some((s, p)) => calico::tier(&mut r, s, p),
            None => Tier::default(),
        }),
        Kind::NetworkSet | Kind::GlobalNetworkSet => Body::NetworkSet(match spec {
            Some((s, p)) => calico::network_set(&mut r, s, p, &format!("{} spec", kind.name())),
            None => NetworkSet::default(),
        }),
        Kind::Profile => Body::Profile(match spec {
            Some((s, p)) => calico::profile(&mut r, s, p),
            None => Profile::default(),
        }),
        Kind::HostEndpoint => Body::HostEndpoint(match spec {
            Some((s, p)) => calico::host_endpoint(&mut r, s, p),
            None => {
                missing_spec(&mut r, node, kind);
                HostEndpoint::default()
            }
        }),
        Kind::Namespace => k8s::namespace(),
        Kind::Pod
        | Kind::Deployment
        | Kind::StatefulSet
        | Kind::DaemonSet
        | Kind::ReplicaSet
        | Kind::Job
        | Kind::CronJob => match &root {
            Some(f) => Body::Workload(k8s::workload(&mut r, kind, f, &meta.labels)),
            None => Body::Workload(Workload::default()),
        },
    };

    let resource = Resource {
        kind,
        file: cx.file,
        document,
        base_pointer: base.into(),
        span: node.span,
        api_version,
        kind_span,
        meta,
        body,
        lowering_problems: 0,
    };
    // calint reads only a few fields of Namespaces and workloads and is not a Kubernetes
    // validator: problems in them are not reported.
    let problems = if strict { r.problems } else { Vec::new() };
    let mut resource = resource;
    resource.lowering_problems = problems.len();
    (resource, problems)
}

fn missing_spec(r: &mut Reader, node: &Node, kind: Kind) {
    r.report(node.span, "", format!("{} has no `spec`", kind.name()));
}
