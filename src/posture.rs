//! Posture facts for `calint check`: which workloads no policy selects (CAL310), what the
//! world can reach (CAL311), and the configuration's `no-path` assertions (CAL301). Computed
//! once after the analysis, read by the lints from [`Project::posture`].

use crate::analysis::exposure::{Flow, Policied, policied, world_ingress};
use crate::analysis::ir::PolicySet;
use crate::analysis::paths::{nodes, search};
use crate::analysis::reach::{Group, GroupKind, discover, resolve_named};
use crate::check::CheckOptions;
use crate::config::posture::{NoPathDef, PostureConfig};
use crate::model::resource::Direction;
use crate::project::Project;
use crate::source::{FileId, SourceFile};

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

fn enabled(opts: &CheckOptions, code: &str) -> bool {
    crate::lints::find(code).is_some_and(|l| opts.lints.severity(l.meta()).is_some())
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

/// Compute the posture facts when a posture lint is on (or a `no-path` assertion exists).
pub fn evaluate(project: &mut Project, opts: &CheckOptions) {
    let rc = opts.reachability.as_ref();
    let config = rc.map(|rc| rc.posture.clone()).unwrap_or_default();
    let (unisolated, exposure, assertions) = (
        enabled(opts, "CAL310"),
        // world-exposure is opt-in: it asks the solver about every workload against the world
        // on every port class, which costs minutes on dense trees of a few hundred policies.
        // It runs when the configuration declares what may be public (`public:`) or the rule
        // is turned on explicitly (`rules:` / `--rule CAL311=...`).
        enabled(opts, "CAL311")
            && (!config.public.is_empty() || opts.lints.overrides.contains_key("CAL311")),
        enabled(opts, "CAL301") && !config.no_paths.is_empty(),
    );
    if !(unisolated || exposure || assertions) {
        return;
    }
    let config_file = rc.map(|rc| {
        let (name, path, text) = rc.file.clone();
        let known = project
            .sources
            .files()
            .find(|(_, f)| f.name == name)
            .map(|(id, _)| id);
        known.unwrap_or_else(|| project.sources.add(SourceFile::new(name, path, text)))
    });
    let set = PolicySet::for_version(project, opts.validate.target).workload_view();
    let timeout_ms = opts
        .analysis
        .as_ref()
        .map_or(crate::analysis::DEFAULT_SOLVER_TIMEOUT_MS, |a| {
            a.solver_timeout_ms
        });
    let discovered = discover(project);
    let workloads: Vec<Group> = discovered
        .iter()
        .filter(|g| g.kind == GroupKind::Workload)
        .cloned()
        .collect();
    let policied_list = workloads
        .iter()
        .map(|g| {
            (
                policied(&set, g, Direction::Ingress),
                policied(&set, g, Direction::Egress),
            )
        })
        .collect();
    let world = if exposure {
        world_ingress(project, &set, &workloads, timeout_ms)
    } else {
        Vec::new()
    };
    let named = rc.map(|rc| rc.groups.as_slice()).unwrap_or_default();
    let public_groups = config
        .public
        .iter()
        .map(|p| resolve_named(project, named, &p.group.value))
        .collect();
    let no_paths = if assertions {
        config
            .no_paths
            .iter()
            .map(|def| {
                let resolved = resolve_named(project, named, &def.from.value)
                    .and_then(|f| Ok((f, resolve_named(project, named, &def.to.value)?)));
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
    project.posture = Some(PostureOutcome {
        set,
        workloads,
        policied: policied_list,
        world,
        config,
        config_file,
        public_groups,
        no_paths,
    });
}
