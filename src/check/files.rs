//! Loading a project: the files under the paths (or held in memory) are read, parsed and
//! lowered in parallel, placed by their position in the sorted file list, validated, and their
//! problems capped per file ([`CheckOptions::max_problems_per_file`]). Reading and decoding one
//! file is `load::read`'s; this module puts the outcomes together into a [`Project`].

use super::{CheckOptions, STDIN_NAME, is_stdin};
use crate::diagnostic::Diagnostic;
use crate::load::read;
use crate::load::walk::{self, Discovered, WalkOptions};
use crate::model::lower::{Lowered, lower_file_with};
use crate::progress::{NoProgress, Progress};
use crate::project::{FileProblem, Project, ResourceId};
use crate::source::{FileId, SourceFile, SourceMap, Span};
use crate::validate::validate_resource;
use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A problem with the paths the user gave (exit code 2).
#[derive(Debug)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Load, parse, lower and validate every file under `opts.paths`.
pub fn load_project(opts: &CheckOptions) -> Result<Project, LoadError> {
    load_project_with(opts, &NoProgress)
}

/// [`load_project`], reporting progress and recording stage timings in `Project::timings`.
pub fn load_project_with(
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<Project, LoadError> {
    let started = Instant::now();
    progress.stage("discover", 0);
    let walk_opts = WalkOptions {
        excludes: opts.excludes.clone(),
        follow_symlinks: opts.follow_symlinks,
    };
    let roots: Vec<PathBuf> = opts
        .paths
        .iter()
        .filter(|p| !is_stdin(p))
        .cloned()
        .collect();
    let mut discovered =
        walk::discover(&roots, &walk_opts).map_err(|e| LoadError(e.to_string()))?;
    let cwd = std::env::current_dir().ok();
    if let Some(anchored) = &opts.anchored_excludes {
        anchored
            .filter(&mut discovered.files, &roots, cwd.as_deref())
            .map_err(LoadError)?;
    }
    // Files a kustomization lists as patches are not resources: read as such they would be
    // duplicates of what they patch and policies without a selector.
    let layout = crate::load::kustomize::Layout::from_files(
        &discovered.files,
        cwd.as_deref().unwrap_or(Path::new("/")),
    );
    let patches = layout.patch_files();
    let before = discovered.files.len();
    if !patches.is_empty() {
        let cwd = cwd.clone().unwrap_or_default();
        discovered
            .files
            .retain(|f| !patches.contains(&crate::load::kustomize::absolute(f, &cwd)));
    }
    let patches_skipped = before - discovered.files.len();
    let discover_time = started.elapsed();
    let mut project = load_discovered_with(discovered, opts, progress);
    project.stats.kustomize_patches_skipped = patches_skipped;
    project.kustomize = layout;
    project
        .timings
        .insert(0, ("discover".to_string(), discover_time));
    Ok(project)
}

/// Read, parse, lower and validate discovered files. A file that cannot be read (it vanished
/// since discovery, permissions, not a regular file, too large) is a file problem, not an error.
pub fn load_discovered(discovered: Discovered, opts: &CheckOptions) -> Project {
    load_discovered_with(discovered, opts, &NoProgress)
}

pub(super) fn load_discovered_with(
    discovered: Discovered,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Project {
    let cwd = std::env::current_dir().ok();
    let started = Instant::now();
    progress.stage("load", discovered.files.len());
    // Read, parse and lower each file independently, in parallel; collect in file order.
    let outcomes: Vec<FileOutcome> = discovered
        .files
        .par_iter()
        .enumerate()
        .map(|(id, path)| {
            let name = display_name(path, cwd.as_deref());
            let outcome = match read::read_file(path, opts.max_file_size) {
                Ok(bytes) => process_bytes(FileId(id), name, path, bytes, opts),
                Err(message) => FileOutcome::unread(name, path, message),
            };
            progress.advance(1);
            outcome
        })
        .collect();
    let mut outcomes = outcomes;
    if opts.paths.iter().any(|p| is_stdin(p)) {
        let bytes = opts.stdin.clone().unwrap_or_default();
        let path = Path::new(STDIN_NAME);
        outcomes.push(
            match read::too_large(bytes.len() as u64, opts.max_file_size) {
                Some(message) => FileOutcome::unread(STDIN_NAME.to_string(), path, message),
                None => {
                    let id = FileId(outcomes.len());
                    process_bytes(id, STDIN_NAME.to_string(), path, bytes, opts)
                }
            },
        );
    }
    let walk_problems = discovered
        .problems
        .into_iter()
        .map(|wp| {
            let name = display_name(&wp.path, cwd.as_deref());
            FileOutcome::unread(name, &wp.path, wp.message)
        })
        .collect();
    let parse_time = started.elapsed();
    let started = Instant::now();
    let mut project = assemble(outcomes, walk_problems, opts, progress);
    project.stats.helm_templates_skipped = discovered.helm_templates_skipped;
    project.timings = vec![
        ("parse and lower".to_string(), parse_time),
        ("validate".to_string(), started.elapsed()),
    ];
    project
}

/// Load files held in memory (a tree read from a git revision): `(display name, bytes)` in
/// the order given, each processed as [`load_discovered`] processes a file read from disk
/// (same limits, same per-file problems).
/// A file that could not be read is `Err(why)` and becomes a file problem, as on disk.
pub fn load_files(files: Vec<(String, Result<Vec<u8>, String>)>, opts: &CheckOptions) -> Project {
    let outcomes: Vec<FileOutcome> = files
        .into_par_iter()
        .enumerate()
        .map(|(id, (name, bytes))| {
            let path = PathBuf::from(&name);
            let too_big = |b: &Vec<u8>| read::too_large(b.len() as u64, opts.max_file_size);
            match bytes {
                Err(message) => FileOutcome::unread(name, &path, message),
                Ok(b) => match too_big(&b) {
                    Some(message) => FileOutcome::unread(name, &path, message),
                    None => process_bytes(FileId(id), name, &path, b, opts),
                },
            }
        })
        .collect();
    assemble(outcomes, Vec::new(), opts, &NoProgress)
}

/// Parse, lower and validate `bytes` as one more file of `project` (a rendered Kustomize root),
/// named `name` in locations; returns its id.
pub(super) fn append_source(
    project: &mut Project,
    name: String,
    path: &Path,
    bytes: Vec<u8>,
    opts: &CheckOptions,
) -> FileId {
    let id = project.sources.next_id();
    let outcome = match read::too_large(bytes.len() as u64, opts.max_file_size) {
        Some(message) => FileOutcome::unread(name, path, message),
        None => process_bytes(id, name, path, bytes, opts),
    };
    let id = project.sources.add(outcome.source);
    if !outcome.lowered.resources.is_empty() || !outcome.problems.is_empty() {
        project.stats.object_files.insert(id);
    }
    project.stats.files += 1;
    project.file_problems.extend(
        outcome
            .problems
            .into_iter()
            .map(|problem| FileProblem { file: id, problem }),
    );
    project.lower_problems.extend(outcome.lowered.problems);
    for r in outcome.lowered.resources {
        let i = ResourceId(project.resources.len());
        project.violations.extend(
            validate_resource(&r, &opts.validate)
                .into_iter()
                .map(|v| (i, v)),
        );
        project.resources.push(r);
    }
    id
}

/// Put per-file outcomes (in file order) and walk problems together, then validate.
pub(super) fn assemble(
    outcomes: Vec<FileOutcome>,
    walk_problems: Vec<FileOutcome>,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Project {
    let mut sources = SourceMap::default();
    let mut file_problems = Vec::new();
    let mut lowered = Lowered::default();
    // Walk problems (symbolic link loops and escapes, unreadable directories) become
    // file-level findings too.
    let mut object_files = std::collections::BTreeSet::new();
    for outcome in outcomes.into_iter().chain(walk_problems) {
        let id = sources.add(outcome.source);
        if !outcome.problems.is_empty()
            || !outcome.lowered.resources.is_empty()
            || !outcome.lowered.problems.is_empty()
            || !outcome.lowered.unknown_kinds.is_empty()
        {
            object_files.insert(id);
        }
        file_problems.extend(
            outcome
                .problems
                .into_iter()
                .map(|problem| FileProblem { file: id, problem }),
        );
        lowered.resources.extend(outcome.lowered.resources);
        lowered.problems.extend(outcome.lowered.problems);
        for (k, n) in outcome.lowered.unknown_kinds {
            *lowered.unknown_kinds.entry(k).or_default() += n;
        }
    }
    let mut project = Project::from_lowered(sources, file_problems, lowered);
    project.external_tiers = opts.external_tiers.clone();
    project.stats.object_files = object_files;
    progress.stage("validate", project.resources.len());
    project.violations = project
        .resources
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, r)| {
            let violations = validate_resource(r, &opts.validate);
            progress.advance(1);
            violations.into_iter().map(move |v| (ResourceId(i), v))
        })
        .collect();
    cap_problems(&mut project, opts.max_problems_per_file);
    project
}

/// Keep at most `max` problems per file (parse, lowering and validation together, the first
/// by position) and add one file problem saying how many more there were.
pub(super) fn cap_problems(project: &mut Project, max: usize) {
    use std::collections::{BTreeMap, HashSet};
    let file_of_violation = |resources: &[crate::model::resource::Resource], i: ResourceId| {
        resources.get(i.0).map_or(FileId(usize::MAX), |r| r.file)
    };
    let mut counts: BTreeMap<FileId, usize> = BTreeMap::new();
    for fp in &project.file_problems {
        *counts.entry(fp.file).or_default() += 1;
    }
    for lp in &project.lower_problems {
        *counts.entry(lp.file).or_default() += 1;
    }
    for (i, _) in &project.violations {
        *counts
            .entry(file_of_violation(&project.resources, *i))
            .or_default() += 1;
    }
    counts.retain(|_, n| *n > max);
    if counts.is_empty() {
        return;
    }
    // Per file over the limit: (start, list, index) of each problem, in position order.
    let mut dropped: [HashSet<usize>; 3] = Default::default();
    let mut summaries = Vec::new();
    for &file in counts.keys() {
        let mut all: Vec<(Span, u8, usize)> = Vec::new();
        all.extend(
            (project.file_problems.iter().enumerate())
                .filter(|(_, p)| p.file == file)
                .map(|(i, p)| (p.problem.span, 0, i)),
        );
        all.extend(
            (project.lower_problems.iter().enumerate())
                .filter(|(_, p)| p.file == file)
                .map(|(i, p)| (p.violation.span, 1, i)),
        );
        all.extend(
            (project.violations.iter().enumerate())
                .filter(|(_, (r, _))| file_of_violation(&project.resources, *r) == file)
                .map(|(i, (_, v))| (v.span, 2, i)),
        );
        all.sort_by_key(|&(span, list, i)| (span.start, list, i));
        let rest = all.get(max..).unwrap_or_default();
        if let Some(&(first, _, _)) = rest.first() {
            summaries.push(FileProblem {
                file,
                problem: Diagnostic::new(
                    first,
                    "",
                    format!(
                        "more than {max} problems in this file: the {} from here on are not \
                         reported",
                        rest.len()
                    ),
                ),
            });
        }
        for &(_, list, i) in rest {
            if let Some(set) = dropped.get_mut(usize::from(list)) {
                set.insert(i);
            }
        }
    }
    let [d_file, d_lower, d_valid] = dropped;
    retain_unlisted(&mut project.file_problems, &d_file);
    retain_unlisted(&mut project.lower_problems, &d_lower);
    retain_unlisted(&mut project.violations, &d_valid);
    project.file_problems.extend(summaries);
}

/// Drop the elements whose indexes are in `drop`.
pub(super) fn retain_unlisted<T>(v: &mut Vec<T>, drop: &std::collections::HashSet<usize>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

pub(super) struct FileOutcome {
    source: SourceFile,
    problems: Vec<Diagnostic>,
    lowered: Lowered,
}

impl FileOutcome {
    /// A file that was not read, with one problem at its start.
    pub(super) fn unread(name: String, path: &Path, message: String) -> Self {
        FileOutcome {
            source: SourceFile::new(name, path.to_path_buf(), String::new()),
            problems: vec![Diagnostic::new(Span::default(), "", message)],
            lowered: Lowered::default(),
        }
    }
}

/// Path as users should see it: relative to the working directory when under it, no `./`.
pub fn display_name(path: &Path, cwd: Option<&Path>) -> String {
    let rel = cwd
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let rel = rel.strip_prefix(".").unwrap_or(rel);
    let name = rel.to_string_lossy().replace('\\', "/");
    if name.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        name
    }
}

/// The roots of `paths` under which no file holds a Kubernetes object (or a problem worth
/// reporting): an empty directory, a typo'd path, a directory of unrelated YAML. `calint check`
/// warns about each (and fails with `--strict-paths`), so a wrong path in CI never passes
/// silently as "no findings".
pub fn paths_without_objects(project: &Project, paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .filter(|root| {
            !project.stats.object_files.iter().any(|&id| {
                project.sources.get(id).is_some_and(|src| {
                    if is_stdin(root) {
                        src.path.as_os_str() == STDIN_NAME
                    } else {
                        src.path.starts_with(root)
                    }
                })
            })
        })
        .cloned()
        .collect()
}

pub(super) fn process_bytes(
    id: FileId,
    name: String,
    path: &Path,
    bytes: Vec<u8>,
    opts: &CheckOptions,
) -> FileOutcome {
    let (text, documents, problems) = match read::parse_bytes(bytes, &opts.parse_limits) {
        Ok(parsed) => parsed,
        Err(undecodable) => {
            return FileOutcome {
                source: SourceFile::new(name, path.to_path_buf(), undecodable.prefix),
                problems: undecodable.problems,
                lowered: Lowered::default(),
            };
        }
    };
    let mut lowered = Lowered::default();
    lower_file_with(id, &documents, &opts.selector_limits, &mut lowered);
    FileOutcome {
        source: SourceFile::new(name, path.to_path_buf(), text),
        problems,
        lowered,
    }
}
