//! Reading a tree straight from a git revision, without a checkout or a temporary worktree.
//!
//! calint runs the `git` found on PATH: `git ls-tree -r -l -z REV -- PATH...` lists the blobs
//! under the paths (relative to the working directory, as `check` names files) and one
//! `git cat-file --batch` process streams their contents. The repositories calint reads are
//! the ones a user or a CI job already has a `git` for (the Action checks out with it), git
//! resolves every revision syntax (`main~2`, `origin/main`, tags) exactly as the user expects,
//! and the binary stays free of a git implementation (libgit2 would add a C library, gix
//! dozens of crates).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One file of a revision: display name and contents (or why it was not read).
pub type TreeFile = (String, Result<Vec<u8>, String>);

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir);
    // Never page, never prompt, never read the user's optional locks.
    c.env("GIT_PAGER", "cat")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0");
    c
}

fn run(mut c: Command, what: &str) -> Result<Vec<u8>, String> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git ({what}): {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("git {what} failed: {}", err.trim()));
    }
    Ok(out.stdout)
}

/// The repository revisions are read from, and how the names of its files map back to the
/// names `check` gives the same files in the working tree.
#[derive(Debug)]
pub struct Repository {
    /// Where git runs.
    dir: PathBuf,
    /// `None`: git runs in the working directory and PATHs are passed as given. Otherwise
    /// (the working directory is outside every repository), per PATH: as given, and relative
    /// to the top of the repository holding the first PATH.
    roots: Option<Vec<(PathBuf, String)>>,
}

fn inside_work_tree(dir: &Path) -> bool {
    let mut c = git(dir);
    c.args(["rev-parse", "--is-inside-work-tree"]);
    run(c, "rev-parse").is_ok()
}

impl Repository {
    /// The repository of the working directory `cwd`; outside any, the one holding the first
    /// of `paths` (every PATH must then be inside it).
    pub fn locate(cwd: &Path, paths: &[PathBuf]) -> Result<Repository, String> {
        if inside_work_tree(cwd) {
            return Ok(Repository {
                dir: cwd.to_path_buf(),
                roots: None,
            });
        }
        let outside = || {
            format!(
                "neither the working directory ({}) nor {} is inside a git repository",
                cwd.display(),
                match paths.first() {
                    Some(p) => format!("`{}`", p.display()),
                    None => "any PATH".to_string(),
                }
            )
        };
        let first = cwd.join(paths.first().ok_or_else(outside)?);
        let start = if first.is_dir() {
            first.clone()
        } else {
            first
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(first.clone())
        };
        if !start.is_dir() || !inside_work_tree(&start) {
            return Err(outside());
        }
        let mut c = git(&start);
        c.args(["rev-parse", "--show-toplevel"]);
        let top = String::from_utf8_lossy(&run(c, "rev-parse")?)
            .trim()
            .to_string();
        let top = std::fs::canonicalize(&top).map_err(|e| format!("{top}: {e}"))?;
        let mut roots = Vec::new();
        for p in paths {
            let abs =
                std::fs::canonicalize(cwd.join(p)).map_err(|e| format!("{}: {e}", p.display()))?;
            let rel = abs.strip_prefix(&top).map_err(|_| {
                format!(
                    "`{}` is not in the repository at {} (revisions are read from one \
                     repository)",
                    p.display(),
                    top.display()
                )
            })?;
            let rel = rel.to_string_lossy().replace('\\', "/");
            roots.push((p.clone(), if rel.is_empty() { ".".into() } else { rel }));
        }
        Ok(Repository {
            dir: top,
            roots: Some(roots),
        })
    }

    /// The full commit id `rev` names in this repository.
    pub fn resolve(&self, rev: &str) -> Result<String, String> {
        resolve(&self.dir, rev)
    }

    /// [`read_tree`] of revision `rev` under `paths`, each file named as `check` names it
    /// when run from `cwd`.
    pub fn read_tree(
        &self,
        cwd: &Path,
        rev: &str,
        paths: &[PathBuf],
        excludes: &[String],
        max_size: u64,
    ) -> Result<Vec<TreeFile>, String> {
        let Some(roots) = &self.roots else {
            return read_tree(&self.dir, rev, paths, excludes, max_size);
        };
        let rel: Vec<PathBuf> = roots.iter().map(|(_, r)| PathBuf::from(r)).collect();
        let files = read_tree(&self.dir, rev, &rel, excludes, max_size)?;
        let mut named: Vec<TreeFile> = files
            .into_iter()
            .map(|(name, contents)| {
                let given = roots.iter().find_map(|(given, r)| {
                    let suffix = if r == "." {
                        Some(name.as_str())
                    } else if name == *r {
                        Some("")
                    } else {
                        name.strip_prefix(r.as_str())?.strip_prefix('/')
                    }?;
                    Some(if suffix.is_empty() {
                        given.clone()
                    } else {
                        given.join(suffix)
                    })
                });
                let name = match given {
                    Some(p) => crate::check::display_name(&p, Some(cwd)),
                    None => name,
                };
                (name, contents)
            })
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(named)
    }
}

/// The full commit id `rev` names in the repository of `dir`, or why it names none.
fn resolve(dir: &Path, rev: &str) -> Result<String, String> {
    if rev.starts_with('-') {
        return Err(format!("`{rev}` is not a revision"));
    }
    let mut c = git(dir);
    c.args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"));
    let out = run(c, "rev-parse")
        .map_err(|_| format!("`{rev}` is neither a directory nor a git revision"))?;
    let id = String::from_utf8_lossy(&out).trim().to_string();
    if id.is_empty() {
        return Err(format!("`{rev}` is neither a directory nor a git revision"));
    }
    Ok(id)
}

struct Entry {
    path: String,
    object: String,
    size: u64,
}

/// `git ls-tree -r -l -z` output: regular files (blobs) only; symbolic links (mode 120000)
/// and submodules are not files of the tree, as the walker does not follow links.
fn parse_ls_tree(out: &[u8]) -> Vec<Entry> {
    out.split(|&b| b == 0)
        .filter_map(|rec| {
            let rec = std::str::from_utf8(rec).ok()?;
            let (meta, path) = rec.split_once('\t')?;
            let mut f = meta.split_whitespace();
            let (mode, kind, object, size) = (f.next()?, f.next()?, f.next()?, f.next()?);
            if kind != "blob" || mode == "120000" {
                return None;
            }
            Some(Entry {
                path: path.to_string(),
                object: object.to_string(),
                size: size.parse().ok()?,
            })
        })
        .collect()
}

fn has_manifest_extension(path: &str) -> bool {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| {
            ["yaml", "yml", "json"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
}

/// The same selection as the directory walker: manifest extensions, no hidden files or
/// directories, no `target` directories, no Helm chart templates; a path named on the
/// command line is always taken.
fn selected(path: &str, roots: &[String], all: &std::collections::HashSet<&str>) -> bool {
    if roots.iter().any(|r| r == path) {
        return true;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let dirs = parts.len().saturating_sub(1);
    let hidden = parts.iter().enumerate().any(|(i, p)| {
        (p.starts_with('.') && *p != "." && *p != "..") || (i < dirs && *p == "target")
    });
    if hidden || !has_manifest_extension(path) {
        return false;
    }
    // `<chart>/templates/...` where `<chart>/Chart.yaml` exists.
    let helm = parts.iter().enumerate().take(dirs).any(|(i, p)| {
        *p == "templates" && {
            let chart = parts.get(..i).unwrap_or_default().join("/");
            let name = if chart.is_empty() {
                "Chart.yaml".to_string()
            } else {
                format!("{chart}/Chart.yaml")
            };
            all.contains(name.as_str())
        }
    });
    !helm
}

/// Every manifest under `paths` in revision `rev` (a commit id), named relative to `dir` as
/// `check` names files, sorted by name. Files over `max_size` bytes are listed unread.
fn read_tree(
    dir: &Path,
    rev: &str,
    paths: &[PathBuf],
    excludes: &[String],
    max_size: u64,
) -> Result<Vec<TreeFile>, String> {
    let mut c = git(dir);
    c.args(["ls-tree", "-r", "-l", "-z", "--end-of-options", rev, "--"]);
    let roots: Vec<String> = paths
        .iter()
        .map(|p| {
            let s = p.to_string_lossy().replace('\\', "/");
            s.trim_start_matches("./").trim_end_matches('/').to_string()
        })
        .collect();
    for p in paths {
        c.arg(p);
    }
    let entries = parse_ls_tree(&run(c, "ls-tree")?);
    let all: std::collections::HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let exclude = exclude_matcher(dir, excludes)?;
    let mut wanted: Vec<&Entry> = entries
        .iter()
        .filter(|e| selected(&e.path, &roots, &all))
        .filter(|e| {
            roots.contains(&e.path)
                || !exclude
                    .as_ref()
                    .is_some_and(|m| m.matched_path_or_any_parents(&e.path, false).is_ignore())
        })
        .collect();
    wanted.sort_by(|a, b| a.path.cmp(&b.path));
    wanted.dedup_by(|a, b| a.path == b.path);
    let readable: Vec<&Entry> = wanted
        .iter()
        .copied()
        .filter(|e| e.size <= max_size)
        .collect();
    let mut contents = cat_blobs(dir, &readable)?.into_iter();
    let mut out = Vec::with_capacity(wanted.len());
    for e in wanted {
        let name = e.path.trim_start_matches("./").to_string();
        if e.size > max_size {
            out.push((
                name,
                Err(format!(
                    "file is {} bytes, larger than the {max_size}-byte limit; it was not analyzed",
                    e.size
                )),
            ));
        } else {
            out.push((name, Ok(contents.next().unwrap_or_default())));
        }
    }
    Ok(out)
}

fn exclude_matcher(
    dir: &Path,
    excludes: &[String],
) -> Result<Option<ignore::gitignore::Gitignore>, String> {
    if excludes.is_empty() {
        return Ok(None);
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new(dir);
    for p in excludes {
        b.add_line(None, p)
            .map_err(|e| format!("invalid exclude pattern `{p}`: {e}"))?;
    }
    b.build()
        .map(Some)
        .map_err(|e| format!("invalid exclude patterns: {e}"))
}

/// Contents of the blobs, in order, through one `git cat-file --batch`.
fn cat_blobs(dir: &Path, entries: &[&Entry]) -> Result<Vec<Vec<u8>>, String> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = git(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git cat-file: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("git cat-file: no stdin")?;
    let ids: String = entries.iter().map(|e| format!("{}\n", e.object)).collect();
    // Write from another thread: git answers while we are still asking.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(ids.as_bytes());
    });
    let stdout = child.stdout.take().ok_or("git cat-file: no stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|err| format!("git cat-file: {err}"))?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                format!(
                    "git cat-file: unexpected answer for {}: {}",
                    e.path,
                    header.trim()
                )
            })?;
        let mut body = vec![0; size];
        reader
            .read_exact(&mut body)
            .map_err(|err| format!("git cat-file: {err}"))?;
        let mut newline = [0u8; 1];
        reader
            .read_exact(&mut newline)
            .map_err(|err| format!("git cat-file: {err}"))?;
        out.push(body);
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_matches_the_walker() {
        let all: std::collections::HashSet<&str> =
            ["chart/Chart.yaml", "chart/templates/np.yaml", "a.yaml"].into();
        let roots = vec![".".to_string()];
        assert!(selected("a.yaml", &roots, &all));
        assert!(selected("chart/Chart.yaml", &roots, &all));
        assert!(!selected("chart/templates/np.yaml", &roots, &all));
        assert!(!selected(".github/x.yaml", &roots, &all));
        assert!(!selected("target/x.yaml", &roots, &all));
        assert!(!selected("README.md", &roots, &all));
        assert!(selected("README.md", &["README.md".into()], &all));
        assert!(selected("other/templates/np.yaml", &roots, &all));
    }

    #[test]
    fn ls_tree_records() {
        let out = b"100644 blob 0123 12\ta.yaml\x00120000 blob 4567 5\tlink.yaml\x00160000 commit 89ab -\tsub\x00";
        let e = parse_ls_tree(out);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].path.as_str(), e[0].size), ("a.yaml", 12));
    }
}
