//! File discovery: which files under the given roots are read as manifests.
//!
//! Directory roots are walked with the `ignore` crate:
//!
//! - `.gitignore` files are honoured even outside a git repository (and so are `.ignore` files,
//!   `.git/info/exclude` and the global git excludes file, as in ripgrep);
//! - hidden files and directories (name starting with `.`) are skipped, and so is every
//!   directory named `target`;
//! - `excludes` are gitignore-style globs, matched against paths relative to each root: a pattern
//!   without `/` matches a file or directory name at any depth (`vendor`, `*.gen.yaml`), a
//!   pattern with `/` is anchored at the root (`deploy/old/**`), and a trailing `/` matches
//!   directories only. An excluded directory is not entered;
//! - only files ending in `.yaml`, `.yml` or `.json` (in any letter case) are collected;
//! - files in the `templates/` subtree of a Helm chart (a directory holding `Chart.yaml`) are
//!   skipped and counted: they are Go templates, not YAML. The chart's own `Chart.yaml` and
//!   `values.yaml` are collected like any other file (later stages skip them as non-Kubernetes
//!   objects). The chart directory may be the root's parent (`calint chart/templates`);
//! - symbolic links are not followed unless [`WalkOptions::follow_symlinks`] is set. A link whose
//!   target is in the same root is skipped silently (the target is collected under its own
//!   path). A link that leads outside the root (to a directory, or to a file with a manifest
//!   extension), a link loop, and a broken link with a manifest extension are reported as
//!   [`WalkProblem`]s: in a pull request from a fork, a link to `/etc` or `~/.ssh` is hostile,
//!   and never read. When following, links inside the root are followed and links leading
//!   outside it are still not followed, and reported;
//! - unreadable directories and broken ignore files are reported as [`WalkProblem`]s too.
//!
//! A root that is a file is always collected as is, whatever its name, extension, or the
//! excludes. The result is sorted by path; a file reached twice (overlapping roots, or links
//! when following them) is listed once, under the first of its paths in sorted order.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::WalkBuilder;
use ignore::overrides::{Override, OverrideBuilder};

/// Options for [`discover`].
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Gitignore-style glob patterns, matched against paths relative to each root.
    pub excludes: Vec<String>,
    /// Follow symbolic links (default: false).
    pub follow_symlinks: bool,
}

/// The files found under the roots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    /// Files to load, sorted by path and deduplicated.
    pub files: Vec<PathBuf>,
    /// Number of YAML/JSON files skipped because they are Helm chart templates.
    pub helm_templates_skipped: usize,
    /// Problems met during the walk (unreadable directories, symlink loops, bad ignore files),
    /// sorted by path. They do not stop the walk.
    pub problems: Vec<WalkProblem>,
}

/// A non-fatal problem met while walking.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalkProblem {
    pub path: PathBuf,
    pub message: String,
}

/// A fatal problem with the arguments of [`discover`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// A root does not exist.
    NotFound { path: PathBuf },
    /// A root exists but cannot be read.
    Unreadable { path: PathBuf, message: String },
    /// An exclude pattern is not a valid glob.
    InvalidExclude { pattern: String, message: String },
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::NotFound { path } => {
                write!(f, "{}: no such file or directory", path.display())?;
                if let Some(near) = nearest_sibling(path) {
                    write!(f, " (did you mean `{}`?)", near.display())?;
                }
                Ok(())
            }
            WalkError::Unreadable { path, message } => {
                write!(f, "{}: cannot be read: {message}", path.display())
            }
            WalkError::InvalidExclude { pattern, message } => {
                write!(f, "invalid exclude pattern `{pattern}`: {message}")
            }
        }
    }
}

impl std::error::Error for WalkError {}

/// The entry next to a missing `path` whose name is closest to its last component (a typo in
/// the path a user typed), if one is close enough to be a likely meaning.
fn nearest_sibling(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut best: Option<(f64, String)> = None;
    for entry in fs::read_dir(parent).ok()?.flatten() {
        let Some(candidate) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let score = strsim::jaro_winkler(name, &candidate);
        // Ties go to the name that sorts first: the answer does not depend on directory order.
        let better = best
            .as_ref()
            .is_none_or(|(s, c)| score > *s || (score == *s && candidate < *c));
        if score >= 0.85 && better {
            best = Some((score, candidate));
        }
    }
    let (_, found) = best?;
    Some(match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(found),
        _ => PathBuf::from(found),
    })
}

/// Find the manifest files under `roots`. Fails only when a root is missing or unreadable, or an
/// exclude pattern is invalid; everything else becomes a [`WalkProblem`].
pub fn discover(roots: &[PathBuf], opts: &WalkOptions) -> Result<Discovered, WalkError> {
    // Check the patterns once, even when every root is a file.
    build_excludes(Path::new("."), &opts.excludes)?;

    let mut walk = Walk::default();
    for root in roots {
        let meta = fs::metadata(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => WalkError::NotFound { path: root.clone() },
            _ => WalkError::Unreadable {
                path: root.clone(),
                message: e.to_string(),
            },
        })?;
        if meta.is_dir() {
            fs::read_dir(root).map_err(|e| WalkError::Unreadable {
                path: root.clone(),
                message: e.to_string(),
            })?;
            walk.directory(root, opts)?;
        } else {
            walk.found.push(root.clone());
        }
    }
    Ok(walk.finish())
}

#[derive(Default)]
struct Walk {
    found: Vec<PathBuf>,
    helm: Vec<PathBuf>,
    problems: Vec<WalkProblem>,
    /// Whether a directory holds a `Chart.yaml`.
    chart_dirs: HashMap<PathBuf, bool>,
}

fn build_excludes(root: &Path, excludes: &[String]) -> Result<Override, WalkError> {
    let mut builder = OverrideBuilder::new(root);
    for pattern in excludes {
        builder
            .add(&format!("!{pattern}"))
            .map_err(|e| WalkError::InvalidExclude {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
    }
    builder.build().map_err(|e| WalkError::InvalidExclude {
        pattern: excludes.join(", "),
        message: e.to_string(),
    })
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["yaml", "yml", "json"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// The innermost path and a readable message for a walk error.
fn describe(err: &ignore::Error) -> (Option<PathBuf>, String) {
    match err {
        ignore::Error::WithPath { path, err } => {
            let (inner, message) = describe(err);
            (inner.or_else(|| Some(path.clone())), message)
        }
        ignore::Error::WithDepth { err, .. } => describe(err),
        ignore::Error::WithLineNumber { line, err } => {
            let (path, message) = describe(err);
            (path, format!("line {line}: {message}"))
        }
        ignore::Error::Loop { ancestor, child } => (
            Some(child.clone()),
            format!(
                "symbolic link loop: it leads back to {}; not followed",
                ancestor.display()
            ),
        ),
        ignore::Error::Partial(errs) => {
            let mut path = None;
            let mut messages = Vec::new();
            for e in errs {
                let (p, m) = describe(e);
                path = path.or(p);
                messages.push(m);
            }
            (path, messages.join("; "))
        }
        // The walker's I/O errors repeat the path in their text; keep the OS message only.
        ignore::Error::Io(io) => match io.raw_os_error() {
            Some(code) => (None, std::io::Error::from_raw_os_error(code).to_string()),
            None => (None, io.to_string()),
        },
        other => (None, other.to_string()),
    }
}

/// Whether the walker's error is a link back to an ancestor directory.
fn is_ancestor_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_ancestor_loop(err),
        ignore::Error::Partial(errs) => errs.iter().any(is_ancestor_loop),
        _ => false,
    }
}

impl Walk {
    fn problem(&mut self, root: &Path, real_root: &Path, err: &ignore::Error) {
        let (path, message) = describe(err);
        // When following links, the walker fails on broken and self-referential links before
        // any filter sees them: describe those like unfollowed links.
        if let Some(link) = path.as_deref().filter(|p| {
            !is_ancestor_loop(err) && fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink())
        }) {
            self.problems.extend(link_problem(link, real_root));
            return;
        }
        self.problems.push(WalkProblem {
            path: path.unwrap_or_else(|| root.to_path_buf()),
            message,
        });
    }

    fn directory(&mut self, root: &Path, opts: &WalkOptions) -> Result<(), WalkError> {
        let real_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        // Links met by the walker's filter when following links (the filter cannot borrow
        // `self`).
        let escapes: Arc<Mutex<Vec<WalkProblem>>> = Arc::default();
        let mut builder = WalkBuilder::new(root);
        let follow = opts.follow_symlinks;
        let filter_root = real_root.clone();
        let filter_escapes = Arc::clone(&escapes);
        builder
            .standard_filters(true)
            .hidden(true)
            .require_git(false)
            .follow_links(follow)
            .overrides(build_excludes(root, &opts.excludes)?)
            .filter_entry(move |entry| {
                if entry.depth() == 0 {
                    return true;
                }
                if entry.file_name() == "target" && entry.file_type().is_some_and(|t| t.is_dir()) {
                    return false;
                }
                if follow && entry.path_is_symlink() {
                    // Never follow a link out of the root, nor a broken or looping one. (A link
                    // back to an ancestor directory resolves fine: the walker reports that loop.)
                    let inside = fs::canonicalize(entry.path())
                        .is_ok_and(|target| target.starts_with(&filter_root));
                    if !inside {
                        if let Some(p) = link_problem(entry.path(), &filter_root) {
                            if let Ok(mut v) = filter_escapes.lock() {
                                v.push(p);
                            }
                        }
                        return false;
                    }
                }
                true
            });
        for result in builder.build() {
            let entry = match result {
                Ok(entry) => entry,
                Err(err) => {
                    self.problem(root, &real_root, &err);
                    continue;
                }
            };
            if let Some(err) = entry.error() {
                self.problem(root, &real_root, err);
            }
            if entry.depth() > 0 && entry.path_is_symlink() && !follow {
                self.problems.extend(link_problem(entry.path(), &real_root));
                continue;
            }
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.into_path();
            if !has_manifest_extension(&path) {
                continue;
            }
            if self.in_helm_templates(root, &path) {
                self.helm.push(path);
            } else {
                self.found.push(path);
            }
        }
        if let Ok(mut v) = escapes.lock() {
            self.problems.append(&mut v);
        }
        Ok(())
    }

    /// Whether `path` lies in the `templates/` subtree of a Helm chart, looking at the
    /// directories from the file up to the root.
    fn in_helm_templates(&mut self, root: &Path, path: &Path) -> bool {
        let Some(parent) = path.parent() else {
            return false;
        };
        for dir in parent.ancestors() {
            if !dir.starts_with(root) {
                break;
            }
            if dir.file_name().is_some_and(|n| n == "templates") {
                if let Some(chart) = dir.parent() {
                    if self.is_chart_dir(chart) {
                        return true;
                    }
                }
            }
        }
        false
    }

    fn is_chart_dir(&mut self, dir: &Path) -> bool {
        if let Some(&known) = self.chart_dirs.get(dir) {
            return known;
        }
        let chart = dir.join("Chart.yaml").is_file();
        self.chart_dirs.insert(dir.to_path_buf(), chart);
        chart
    }

    fn finish(mut self) -> Discovered {
        let files = dedup_sorted(std::mem::take(&mut self.found));
        let helm_templates_skipped = dedup_sorted(std::mem::take(&mut self.helm)).len();
        self.problems.sort();
        self.problems.dedup();
        Discovered {
            files,
            helm_templates_skipped,
            problems: self.problems,
        }
    }
}

/// `ELOOP`, "too many levels of symbolic links" (`ErrorKind::FilesystemLoop` is unstable).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd"
))]
const ELOOP: i32 = 62;
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd"
)))]
const ELOOP: i32 = 40;

/// Why a symbolic link met under `real_root` (canonical) is worth reporting, if it is: it
/// leads outside the root (to a directory, or to a file with a manifest extension), it is part
/// of a loop, or it is broken and has a manifest extension. Links within the root are not
/// reported: their targets are collected under their own paths.
fn link_problem(link: &Path, real_root: &Path) -> Option<WalkProblem> {
    let shown = fs::read_link(link)
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default();
    let message = match fs::canonicalize(link) {
        Ok(target) if target.starts_with(real_root) => return None,
        Ok(target) => {
            if !(target.is_dir() || has_manifest_extension(link) || has_manifest_extension(&target))
            {
                return None;
            }
            format!("symbolic link to `{shown}` leads outside the checked tree; it is not followed")
        }
        Err(e) if e.raw_os_error() == Some(ELOOP) => {
            format!("symbolic link loop (through `{shown}`); it is not followed")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !has_manifest_extension(link) {
                return None;
            }
            format!("broken symbolic link: its target `{shown}` does not exist")
        }
        Err(e) => format!("symbolic link to `{shown}` cannot be resolved: {e}"),
    };
    Some(WalkProblem {
        path: link.to_path_buf(),
        message,
    })
}

/// Sort paths and drop those naming a file already listed under another path.
fn dedup_sorted(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths.dedup();
    let mut seen = HashSet::new();
    paths.retain(|p| seen.insert(fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    paths
}

#[cfg(test)]
mod tests;
