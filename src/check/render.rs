//! `--render`: build each top-level Kustomize root (`kustomize build`, else `kubectl
//! kustomize`) and each Helm chart (`helm template`) with the tools on PATH, and analyse each
//! output as its own view.
//!
//! Findings in the rendered text are mapped back to the source document that produced the
//! resource (same kind; the rendered name is the source name with the kustomization's
//! prefixes and suffixes; same namespace when the source sets one), or to the kustomization
//! file (`Chart.yaml`) when no source document matches. A root that cannot be rendered (no
//! tool on PATH, a build error) is a note on stderr and its source files are checked as a view
//! of their own instead, exactly as without `--render`: never a false finding.

use super::views::{ViewSpec, check_members, members_of};
use super::{CheckOptions, append_source, display_name};
use crate::finding::{Finding, Location, Related};
use crate::progress::Progress;
use crate::project::Project;
use crate::source::{FileId, Span};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A program found on PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// What to run to build a root: the command line, and how it is described to users.
struct Builder {
    program: PathBuf,
    args: Vec<String>,
    shown: String,
}

fn kustomize_builder(dir: &Path, helm: bool) -> Option<Builder> {
    let dir_arg = dir.to_string_lossy().into_owned();
    let mut extra = Vec::new();
    if helm {
        extra.push("--enable-helm".to_string());
    }
    if let Some(program) = on_path("kustomize") {
        let mut args = vec!["build".to_string()];
        args.extend(extra);
        args.push(dir_arg);
        return Some(Builder {
            program,
            args,
            shown: "kustomize build".into(),
        });
    }
    let program = on_path("kubectl")?;
    let mut args = vec!["kustomize".to_string()];
    args.extend(extra);
    args.push(dir_arg);
    Some(Builder {
        program,
        args,
        shown: "kubectl kustomize".into(),
    })
}

fn helm_builder(dir: &Path) -> Option<Builder> {
    let program = on_path("helm")?;
    Some(Builder {
        program,
        args: vec![
            "template".into(),
            "calint-render".into(),
            dir.to_string_lossy().into_owned(),
        ],
        shown: "helm template".into(),
    })
}

fn run(b: &Builder) -> Result<Vec<u8>, String> {
    let out = Command::new(&b.program)
        .args(&b.args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", b.shown))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(format!("{} failed: {}", b.shown, first.trim()))
    }
}

/// One root that was rendered.
struct Rendered {
    /// The rendered text's file id.
    file: FileId,
    /// The kustomization file (`Chart.yaml`), where unmapped findings go.
    anchor: Option<FileId>,
    /// Ids of the source files the build read.
    sources: BTreeSet<FileId>,
    shown: String,
}

/// Render every root, analyse each output as a view, map findings back to source documents.
pub(super) fn check_rendered(
    mut project: Project,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> (Project, Vec<Finding>) {
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs_ids: BTreeMap<PathBuf, FileId> = project
        .sources
        .files()
        .map(|(id, s)| (crate::config::absolute(&s.path, &cwd), id))
        .collect();
    // (directory, files read, builder, anchor file)
    let mut roots: Vec<(PathBuf, BTreeSet<PathBuf>, Option<Builder>, PathBuf)> = Vec::new();
    for k in project.kustomize.top_level() {
        let files = project.kustomize.files_of(k);
        roots.push((
            k.dir.clone(),
            files,
            kustomize_builder(&k.dir, k.helm_charts),
            k.file.clone(),
        ));
    }
    let mut charts: Vec<PathBuf> = abs_ids
        .keys()
        .filter(|p| p.file_name().is_some_and(|n| n == "Chart.yaml"))
        .cloned()
        .collect();
    charts.sort();
    for chart in charts {
        let Some(dir) = chart.parent().map(Path::to_path_buf) else {
            continue;
        };
        let files = abs_ids
            .keys()
            .filter(|p| p.starts_with(&dir))
            .cloned()
            .collect();
        roots.push((dir.clone(), files, helm_builder(&dir), chart));
    }
    let mut views = Vec::new();
    let mut rendered = Vec::new();
    let mut missing_tool = Vec::new();
    for (dir, files, builder, anchor) in roots {
        let name = display_name(&dir, Some(&cwd));
        let output = match &builder {
            Some(b) => run(b).map(|bytes| (bytes, b.shown.clone())),
            None => Err(String::new()),
        };
        match output {
            Ok((bytes, shown)) => {
                let path = dir.join(format!(
                    "{}#rendered",
                    anchor
                        .file_name()
                        .map_or("".into(), |n| n.to_string_lossy())
                ));
                let file = append_source(
                    &mut project,
                    format!("{name} ({shown})"),
                    &path,
                    bytes,
                    opts,
                );
                rendered.push(Rendered {
                    file,
                    anchor: abs_ids.get(&anchor).copied(),
                    sources: files
                        .iter()
                        .filter_map(|f| abs_ids.get(f).copied())
                        .collect(),
                    shown: format!("{shown} {name}"),
                });
                views.push(ViewSpec {
                    name: name.clone(),
                    base: dir.clone(),
                    patterns: Vec::new(),
                    files: BTreeSet::from([crate::config::absolute(&path, &cwd)]),
                    covers: files,
                });
            }
            Err(message) => {
                if message.is_empty() {
                    missing_tool.push(name.clone());
                } else {
                    project.stats.notes.push(format!(
                        "{name} was not rendered ({message}); its source files are checked as they are"
                    ));
                }
                views.push(ViewSpec {
                    name,
                    base: dir,
                    patterns: Vec::new(),
                    files: files.clone(),
                    covers: BTreeSet::new(),
                });
            }
        }
    }
    if !missing_tool.is_empty() {
        project.stats.notes.push(format!(
            "--render: {} not rendered: no kustomize, kubectl or helm on PATH to build {}; \
             their source files are checked as they are, each root as its own view",
            missing_tool.join(", "),
            if missing_tool.len() == 1 {
                "it"
            } else {
                "them"
            }
        ));
    }
    // Views made here have no patterns, so computing their files cannot fail; should it,
    // the whole tree is checked as one cluster and the note says why.
    let members = match members_of(&project, &views, &cwd) {
        Ok(m) => m,
        Err(e) => {
            project.stats.notes.push(format!("--render: {e}"));
            vec![(None, (0..project.sources.len()).map(FileId).collect())]
        }
    };
    let (project, findings) = check_members(project, members, opts, progress);
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .map(|f| map_back(&project, &rendered, f))
        .collect();
    crate::lints::sort_findings(&project, &mut findings);
    (project, findings)
}

/// Move a finding made in rendered text to the source document of its resource.
fn map_back(project: &Project, rendered: &[Rendered], mut f: Finding) -> Finding {
    let Some(root) = rendered.iter().find(|r| r.file == f.location.file) else {
        return f;
    };
    let target = |loc: Location| -> Option<Location> {
        let produced = project.resources.iter().find(|r| {
            r.file == root.file && r.span.start <= loc.span.start && loc.span.start <= r.span.end
        })?;
        let source = source_of(project, root, produced)?;
        let span = source
            .meta
            .name
            .as_ref()
            .map_or(Span::new(source.span.start, source.span.start), |n| n.span);
        Some(Location::new(source.file, span))
    };
    let anchor = root.anchor.map(|a| Location::new(a, Span::default()));
    let rendered_at = f.location;
    match target(rendered_at).or(anchor) {
        Some(loc) => f.location = loc,
        None => return f,
    }
    f.notes.push(format!(
        "found in the output of `{}`; shown at the source document that produced it",
        root.shown
    ));
    f.related = f
        .related
        .into_iter()
        .map(|r| match r.location {
            Some(loc) if loc.file == root.file => Related {
                location: target(loc),
                ..r
            },
            _ => r,
        })
        .collect();
    // Spans of the rendered text mean nothing in the source files.
    f.fixes.clear();
    f
}

/// The source resource that `produced` (in the rendered output) came from.
fn source_of<'a>(
    project: &'a Project,
    root: &Rendered,
    produced: &crate::model::resource::Resource,
) -> Option<&'a crate::model::resource::Resource> {
    let name = produced.name();
    let candidates = project.resources.iter().filter(|r| {
        root.sources.contains(&r.file)
            && r.kind == produced.kind
            && !r.name().is_empty()
            && name.contains(r.name())
            && r.meta
                .namespace
                .as_ref()
                .is_none_or(|ns| Some(ns.value.as_str()) == produced.namespace())
    });
    // The exact name first, then the longest source name the rendered one contains.
    candidates.max_by_key(|r| {
        (
            r.name() == name,
            r.name().len(),
            std::cmp::Reverse((r.file, r.span.start)),
        )
    })
}
