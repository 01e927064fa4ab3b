//! Posture facts for `calint check`: which workloads no policy selects (CAL310), what the
//! world can reach (CAL311), and the configuration's `no-path` assertions (CAL301). Computed
//! once after the analysis by `check`, read by the lints from `LintContext::posture`.
//!
//! Layer 6: uses `analysis` (it asks `groups`, `exposure`, `paths` and `reach`) and below;
//! `lints` read it. It owns the posture settings' types (`config` reads `.calint.yaml` into
//! them).

use crate::analysis::exposure::{Flow, NamespaceScopes, Policied, policied_in, world_ingress};
use crate::analysis::groups::{Group, GroupKind, discover, resolve_named_in};
use crate::analysis::ir::PolicySet;
use crate::analysis::paths::{nodes, search};
use crate::analysis::reach::AllowedProtocol;
use crate::analysis::spec::GroupDef;
use crate::model::resource::Direction;
use crate::model::version::CalicoVersion;
use crate::project::Project;
use crate::source::FileId;
use crate::source::{Span, Spanned};
use rayon::prelude::*;

/// One `public:` entry: the group may be reached from the world on these ports.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicDef {
    pub span: Span,
    pub group: Spanned<String>,
    pub ports: Spanned<String>,
    /// `ports` read: protocols, each with its port ranges (`None`: every port).
    pub allowed: Vec<AllowedProtocol>,
}

/// One `no-path` assertion: no chain of allowed connections leads from `from` to `to` within
/// `max_hops` hops.
#[derive(Clone, Debug, PartialEq)]
pub struct NoPathDef {
    pub span: Span,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub max_hops: Option<Spanned<usize>>,
}

/// The posture settings of a configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostureConfig {
    pub public: Vec<PublicDef>,
    /// `isolation.ingress` / `isolation.egress` as written.
    pub isolation_ingress: Option<Spanned<bool>>,
    pub isolation_egress: Option<Spanned<bool>>,
    pub no_paths: Vec<NoPathDef>,
}

impl PostureConfig {
    /// Whether `unisolated-workload` reports ingress (default yes) and egress (default no).
    pub fn isolation(&self) -> (bool, bool) {
        (
            self.isolation_ingress.as_ref().is_none_or(|b| b.value),
            self.isolation_egress.as_ref().is_some_and(|b| b.value),
        )
    }
}

/// What the posture lints read.
#[derive(Debug)]
pub struct PostureOutcome {
    pub set: PolicySet,
    /// The discovered workloads.
    pub workloads: Vec<Group>,
    /// Per workload (same order): policied in ingress and in egress.
    pub policied: Vec<(Policied, Policied)>,
    /// Per workload index: what the world can reach, with the deciding rules (empty when
    /// `world-exposure` is off).
    pub world: Vec<(usize, Flow)>,
    pub config: PostureConfig,
    /// The configuration file, for locating `public:` and `no-path` findings.
    pub config_file: Option<FileId>,
    /// Per `public:` entry: its group, resolved.
    pub public_groups: Vec<Result<Group, String>>,
    pub no_paths: Vec<NoPathOutcome>,
}

/// One `no-path` assertion and the shortest path found (group names), if any.
#[derive(Clone, Debug)]
pub struct NoPathOutcome {
    pub def: NoPathDef,
    pub result: Result<Option<Vec<String>>, String>,
    pub undecided: usize,
}

/// Whether a workload is in a `public:` entry's group: the same name, or every member of
/// the group is satisfied by the workload's known labels.
pub fn in_group(workload: &Group, g: &Group) -> bool {
    if g.name == workload.name {
        return true;
    }
    let Some(w) = workload.members.first() else {
        return false;
    };
    g.kind == GroupKind::Selector
        && g.members.iter().any(|m| {
            m.identity
                .fixed
                .iter()
                .all(|(k, v)| w.identity.fixed.get(k) == Some(v))
                && m.identity
                    .selector
                    .as_ref()
                    .is_none_or(|s| s.eval(&w.identity.fixed))
        })
}

/// What [`evaluate`] is asked: the facts wanted (the caller knows which lints are on), the
/// configuration's posture settings and groups, and the solver settings.
#[derive(Clone, Copy, Debug)]
pub struct PostureInputs<'a> {
    pub config: &'a PostureConfig,
    /// Named groups `public:` and `no-path` entries may refer to.
    pub groups: &'a [GroupDef],
    /// The configuration file, already in `Project::sources`.
    pub config_file: Option<FileId>,
    /// CAL310: which workloads no policy selects.
    pub unisolated: bool,
    /// CAL311: what the world can reach.
    pub exposure: bool,
    /// CAL301: the `no-path` assertions.
    pub no_paths: bool,
    pub target: CalicoVersion,
    pub timeout_ms: u32,
}

/// Compute the posture facts; `None` when none is wanted.
pub fn evaluate(project: &Project, inputs: &PostureInputs<'_>) -> Option<PostureOutcome> {
    let (unisolated, exposure, assertions) = (inputs.unisolated, inputs.exposure, inputs.no_paths);
    if !(unisolated || exposure || assertions) {
        return None;
    }
    let config = inputs.config.clone();
    let config_file = inputs.config_file;
    let set = PolicySet::for_version(project, inputs.target).into_workload_view();
    let timeout_ms = inputs.timeout_ms;
    let discovered = discover(project);
    let workloads: Vec<Group> = discovered
        .iter()
        .filter(|g| g.kind == GroupKind::Workload)
        .cloned()
        .collect();
    // Per workload and direction, the policies of its namespace and the cluster-wide ones:
    // in parallel, collected in order.
    let scopes = NamespaceScopes::new(&set);
    let policied_list = workloads
        .par_iter()
        .map(|g| {
            (
                policied_in(&set, &scopes, g, Direction::Ingress),
                policied_in(&set, &scopes, g, Direction::Egress),
            )
        })
        .collect();
    let world = if exposure {
        world_ingress(project, &set, &workloads, timeout_ms)
    } else {
        Vec::new()
    };
    let named = inputs.groups;
    let public_groups = config
        .public
        .iter()
        .map(|p| resolve_named_in(project, &discovered, named, &p.group.value))
        .collect();
    let no_paths = if assertions {
        config
            .no_paths
            .iter()
            .map(|def| {
                let resolved = resolve_named_in(project, &discovered, named, &def.from.value)
                    .and_then(|f| {
                        Ok((
                            f,
                            resolve_named_in(project, &discovered, named, &def.to.value)?,
                        ))
                    });
                match resolved {
                    Err(e) => NoPathOutcome {
                        def: def.clone(),
                        result: Err(e),
                        undecided: 0,
                    },
                    Ok((from, to)) => {
                        let (groups, fi, ti) = nodes(discovered.clone(), from, to);
                        let max = def.max_hops.as_ref().map_or(groups.len(), |h| h.value);
                        let found = search(&set, &groups, (fi, ti), max, 1, timeout_ms);
                        NoPathOutcome {
                            def: def.clone(),
                            result: Ok(found.paths.first().map(|p| {
                                p.iter()
                                    .map(|&i| groups.get(i).map_or("?", |g| &g.name).to_string())
                                    .collect()
                            })),
                            undecided: found.undecided,
                        }
                    }
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Some(PostureOutcome {
        set,
        workloads,
        policied: policied_list,
        world,
        config,
        config_file,
        public_groups,
        no_paths,
    })
}
