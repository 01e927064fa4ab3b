//! Views: one repository, several clusters.
//!
//! GitOps repositories often hold several clusters side by side (`clusters/prod`,
//! `clusters/staging`, a shared `base/`). Analysed as one cluster, every shared policy name is a
//! duplicate and every copy "shadows" the other. A view is a named set of directories or globs
//! (`.calint.yaml` `views:`), analysed as its own cluster: duplicates, tiers, the semantic
//! analysis and assertions see only the view's files.
//!
//! The tree is loaded, parsed and validated once; each view gets a sub-project holding its
//! files' resources (file ids stay those of the whole tree, so findings of every view are
//! rendered against one source map). Files in no view are analysed together as one more
//! cluster without a name.
//!
//! Merging: a finding made identically in every view that holds its file, when several do (a
//! YAML error, an invalid CIDR in a shared base), is reported once without a view; any other
//! finding (a duplicate within `prod`, an assertion failing in `staging`) is reported once per
//! view it was made in, with the view's name. An unused suppression (CAL006) counts as unused only when it is unused in every
//! view holding it.

use super::{CheckOptions, LoadError};
use crate::finding::Finding;
use crate::progress::Progress;
use crate::project::{Project, ResourceId};
use crate::source::FileId;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One view: a name and gitignore-style patterns relative to `base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewSpec {
    pub name: String,
    /// Absolute, normalized directory the patterns are relative to (the config file's).
    pub base: PathBuf,
    /// Directories or globs (`clusters/prod`, `clusters/*/apps`, `base`).
    pub patterns: Vec<String>,
    /// Files that belong to the view whatever the patterns (absolute, normalized).
    pub files: BTreeSet<PathBuf>,
    /// Files the view stands for without analysing them (the sources of a rendered Kustomize
    /// root): they are not checked again among the files in no view.
    pub covers: BTreeSet<PathBuf>,
}

impl ViewSpec {
    /// The configuration's `views:`.
    pub fn from_config(c: &crate::config::Config) -> Vec<ViewSpec> {
        let Some(base) = c.base_dir() else {
            return Vec::new();
        };
        c.views
            .iter()
            .map(|v| ViewSpec {
                name: v.name.value.clone(),
                base: base.to_path_buf(),
                patterns: v.paths.iter().map(|p| p.value.clone()).collect(),
                files: BTreeSet::new(),
                covers: BTreeSet::new(),
            })
            .collect()
    }

    /// Which of `project`'s files belong to this view.
    pub fn files(&self, project: &Project, cwd: &Path) -> Result<BTreeSet<FileId>, LoadError> {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(&self.base);
        for p in &self.patterns {
            // Anchored at the base: `prod` means `<base>/prod`, not any directory named prod.
            let line = if p.starts_with('/') {
                p.clone()
            } else {
                format!("/{}", p.trim_start_matches("./"))
            };
            builder.add_line(None, &line).map_err(|e| {
                LoadError(format!("view `{}`: invalid pattern `{p}`: {e}", self.name))
            })?;
        }
        let matcher = builder
            .build()
            .map_err(|e| LoadError(format!("view `{}`: {e}", self.name)))?;
        Ok(project
            .sources
            .files()
            .filter(|(_, src)| {
                let abs = crate::config::absolute(&src.path, cwd);
                if self.files.contains(&abs) {
                    return true;
                }
                abs.strip_prefix(&self.base).is_ok_and(|rel| {
                    !rel.as_os_str().is_empty()
                        && matcher.matched_path_or_any_parents(rel, false).is_ignore()
                })
            })
            .map(|(id, _)| id)
            .collect())
    }
}

/// One view per top-level Kustomize root of the tree, holding the files a build of it reads,
/// named by the root's directory as displayed (`overlays/prod`).
pub fn kustomize_views(project: &Project) -> Vec<ViewSpec> {
    let cwd = std::env::current_dir().ok();
    project
        .kustomize
        .top_level()
        .into_iter()
        .map(|root| ViewSpec {
            name: super::display_name(&root.dir, cwd.as_deref()),
            base: root.dir.clone(),
            patterns: Vec::new(),
            files: project.kustomize.files_of(root),
            covers: BTreeSet::new(),
        })
        .collect()
}

/// The part of `project` made of `files`: their sources' problems, resources (with their
/// validation results re-indexed) and lowering problems. Sources are the whole map, so file
/// ids do not change.
pub fn sub_project(project: &Project, files: &BTreeSet<FileId>) -> Project {
    let mut index = BTreeMap::new();
    let mut resources = Vec::new();
    for (i, r) in project.resources_with_ids() {
        if files.contains(&r.file) {
            index.insert(i, ResourceId(resources.len()));
            resources.push(r.clone());
        }
    }
    let mut sub = Project {
        sources: project.sources.clone(),
        file_problems: (project.file_problems.iter())
            .filter(|p| files.contains(&p.file))
            .cloned()
            .collect(),
        resources,
        lower_problems: (project.lower_problems.iter())
            .filter(|p| files.contains(&p.file))
            .cloned()
            .collect(),
        violations: (project.violations.iter())
            .filter_map(|(i, v)| Some((*index.get(i)?, v.clone())))
            .collect(),
        ..Project::default()
    };
    sub.stats.files = files.len();
    sub.stats.unknown_kinds = project.stats.unknown_kinds.clone();
    sub.stats.object_files = (project.stats.object_files)
        .intersection(files)
        .copied()
        .collect();
    sub
}

/// The part of `project` in the view named `name` (for `reach` and `graph`, which answer for
/// one cluster at a time). With views configured a view must be named; without, none may be.
pub fn restrict(
    project: Project,
    views: &[ViewSpec],
    name: Option<&str>,
    cwd: &Path,
) -> Result<Project, LoadError> {
    let names = || {
        views
            .iter()
            .map(|v| format!("`{}`", v.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (name, views.is_empty()) {
        (None, true) => Ok(project),
        (Some(n), true) => Err(LoadError(format!(
            "no views are configured, so there is no view `{n}` (see `views:` in .calint.yaml)"
        ))),
        (None, false) => Err(LoadError(format!(
            "the configuration defines views ({}), each its own cluster: pick one with --view",
            names()
        ))),
        (Some(n), false) => {
            let view = views
                .iter()
                .find(|v| v.name == n)
                .ok_or_else(|| LoadError(format!("no view `{n}`; the views are {}", names())))?;
            let files = view.files(&project, cwd)?;
            Ok(sub_project(&project, &files))
        }
    }
}

/// Analyse and lint each view (and the files in none) as its own cluster; merge the findings.
/// The returned project is the whole tree, with the views' analysis totals.
pub(super) fn check_views(
    project: Project,
    views: &[ViewSpec],
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<(Project, Vec<Finding>), LoadError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let members = members_of(&project, views, &cwd)?;
    Ok(check_members(project, members, opts, progress))
}

/// A view's name (`None`: the files in no view) and its files.
pub(super) type Member = (Option<String>, BTreeSet<FileId>);

/// The files of each view, then (unnamed) the files in no view and covered by none.
pub(super) fn members_of(
    project: &Project,
    views: &[ViewSpec],
    cwd: &Path,
) -> Result<Vec<Member>, LoadError> {
    let mut members = Vec::new();
    let mut covered = BTreeSet::new();
    for v in views {
        let files = v.files(project, cwd)?;
        covered.extend(files.iter().copied());
        members.push((Some(v.name.clone()), files));
    }
    let covers: BTreeSet<&PathBuf> = views.iter().flat_map(|v| v.covers.iter()).collect();
    let rest: BTreeSet<FileId> = (project.sources.files())
        .filter(|(id, src)| {
            !covered.contains(id) && !covers.contains(&crate::config::absolute(&src.path, cwd))
        })
        .map(|(id, _)| id)
        .collect();
    if !rest.is_empty() {
        members.push((None, rest));
    }
    Ok(members)
}

/// [`check_views`] over computed members.
pub(super) fn check_members(
    mut project: Project,
    members: Vec<Member>,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> (Project, Vec<Finding>) {
    let members: Vec<(Option<&str>, BTreeSet<FileId>)> = members
        .iter()
        .map(|(n, f)| (n.as_deref(), f.clone()))
        .collect();
    // Views holding each file.
    let mut holders: BTreeMap<FileId, BTreeSet<Option<&str>>> = BTreeMap::new();
    for (name, files) in &members {
        for &f in files {
            holders.entry(f).or_default().insert(*name);
        }
    }
    let mut made: BTreeMap<FindingKey, (Finding, BTreeSet<Option<&str>>)> = BTreeMap::new();
    let mut totals = crate::project::AnalysisTotals::default();
    // Every view sees the tree's files only (the configuration file that assertions add is
    // added by each view at the same id).
    let tree_sources = project.sources.clone();
    for (name, files) in &members {
        let mut sub = sub_project(&project, files);
        sub.sources = tree_sources.clone();
        let (sub, findings) = super::analyze_and_lint(sub, opts, progress);
        project.stats.suppressed += sub.stats.suppressed;
        if let Some(t) = sub.stats.analysis_totals {
            totals.policies += t.policies;
            totals.solver_calls += t.solver_calls;
            totals.undecided += t.undecided;
        }
        let label = name.map_or("files in no view", |n| n);
        project.timings.extend(
            sub.timings
                .into_iter()
                .map(|(stage, t)| (format!("{label}: {stage}"), t)),
        );
        // The configuration file (assertions) is added to every sub-project at the same id.
        if project.sources.len() < sub.sources.len() {
            for id in project.sources.len()..sub.sources.len() {
                if let Some(src) = sub.sources.get_shared(crate::source::FileId(id)) {
                    project.sources.add_shared(src);
                }
            }
        }
        for f in findings {
            made.entry(FindingKey::of(&f))
                .or_insert_with(|| (f, BTreeSet::new()))
                .1
                .insert(*name);
        }
    }
    project.stats.analysis_totals = opts.analysis.as_ref().map(|_| totals);
    project.stats.views = members
        .iter()
        .filter_map(|(n, _)| n.map(str::to_string))
        .collect();
    let all: BTreeSet<Option<&str>> = members.iter().map(|(name, _)| *name).collect();
    let mut findings = Vec::new();
    for (_, (finding, made_in)) in made {
        // Files outside the tree (the configuration file, for assertions) are in every view.
        let held_by = holders.get(&finding.location.file).unwrap_or(&all);
        let same_everywhere = held_by.len() > 1 && held_by.is_subset(&made_in);
        if same_everywhere {
            findings.push(finding);
        } else if finding.code == "CAL006" && held_by.len() > 1 {
            // Used in another view that holds the file: not unused.
        } else {
            for name in made_in {
                findings.push(Finding {
                    view: name.map(str::to_string),
                    ..finding.clone()
                });
            }
        }
    }
    crate::lints::sort_findings(&project, &mut findings);
    (project, findings)
}

/// What makes two findings of different views "the same": everything but the view.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct FindingKey(String);

impl FindingKey {
    fn of(f: &Finding) -> FindingKey {
        // Debug output of the whole finding (the view is always `None` here): exact, and
        // independent of field additions.
        FindingKey(format!("{f:?}"))
    }
}
