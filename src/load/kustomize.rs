//! Kustomize layouts: which files a `kustomization.yaml` reads as resources, which as patches,
//! and which kustomization directories are top-level roots (built on their own, like
//! `overlays/prod`), so that calint neither reads patches as resources nor analyses several
//! overlays as one cluster.
//!
//! Only what kustomize itself resolves from the file is read: `resources`, `bases` and
//! `components` (files or directories holding a kustomization), and the patch lists
//! `patches` (`path:` entries, or plain strings as older kustomize wrote them),
//! `patchesStrategicMerge` (file names; inline patches hold a newline and are skipped) and
//! `patchesJson6902` (`path:` entries). Remote resources (URLs) are ignored.

use crate::load::tree::Node;
use crate::load::yaml::{self, ParseLimits};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `path` made absolute against `cwd` and lexically normalized (`..` applied), as kustomize
/// resolves relative entries.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Largest kustomization file read (1 MiB).
const MAX_BYTES: u64 = 1024 * 1024;

/// The file names kustomize looks for in a directory, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One kustomization file, paths absolute and normalized.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kustomization {
    pub file: PathBuf,
    pub dir: PathBuf,
    /// Files and directories under `resources`, `bases`, `components`.
    pub resources: Vec<PathBuf>,
    /// Files listed as patches.
    pub patches: Vec<PathBuf>,
    /// Whether it inflates Helm charts (`helmCharts:`), which needs `--enable-helm`.
    pub helm_charts: bool,
}

/// Every kustomization of a tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// By directory.
    pub kustomizations: BTreeMap<PathBuf, Kustomization>,
}

/// Whether `path` is a kustomization file by name.
pub fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| FILE_NAMES.contains(&n))
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://") || entry.starts_with("github.com/") || entry.starts_with("git@")
}

fn strings<'a>(doc: &'a Node, key: &str) -> Vec<&'a Node> {
    doc.get(key)
        .and_then(Node::as_seq)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// Read one kustomization file's text (`file` absolute and normalized).
pub fn parse(file: &Path, text: &str) -> Kustomization {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut k = Kustomization {
        file: file.to_path_buf(),
        dir: dir.clone(),
        ..Kustomization::default()
    };
    let parsed = yaml::parse(text, &ParseLimits::default());
    let Some(doc) = parsed.documents.first().map(|d| &d.root) else {
        return k;
    };
    let local = |s: &str| -> Option<PathBuf> {
        (!s.is_empty() && !is_remote(s) && !s.contains('\n')).then(|| absolute(Path::new(s), &dir))
    };
    for key in ["resources", "bases", "components"] {
        k.resources.extend(
            strings(doc, key)
                .into_iter()
                .filter_map(|n| n.scalar_str().and_then(local)),
        );
    }
    for key in ["patches", "patchesJson6902", "patchesStrategicMerge"] {
        for n in strings(doc, key) {
            let path = match n.scalar_str() {
                Some(s) => local(s),
                None => n.get("path").and_then(Node::scalar_str).and_then(local),
            };
            k.patches.extend(path);
        }
    }
    k.helm_charts = doc.get("helmCharts").is_some();
    k
}

impl Layout {
    /// The kustomizations among `files` (read from disk; unreadable ones are skipped: the
    /// walker reports them).
    pub fn from_files(files: &[PathBuf], cwd: &Path) -> Layout {
        let mut layout = Layout::default();
        for f in files.iter().filter(|f| is_kustomization(f)) {
            // Kustomization files are small; a huge one is left to the normal reader and its
            // file-size limit (it is then simply not a kustomization here).
            let small = std::fs::metadata(f).is_ok_and(|m| m.is_file() && m.len() <= MAX_BYTES);
            let Some(text) = small.then(|| std::fs::read_to_string(f).ok()).flatten() else {
                continue;
            };
            let k = parse(&absolute(f, cwd), &text);
            layout.kustomizations.entry(k.dir.clone()).or_insert(k);
        }
        layout
    }

    /// Every file some kustomization lists as a patch.
    pub fn patch_files(&self) -> BTreeSet<PathBuf> {
        self.kustomizations
            .values()
            .flat_map(|k| k.patches.iter().cloned())
            .collect()
    }

    /// Kustomization directories no other kustomization of the tree refers to: what one runs
    /// `kustomize build` on (`overlays/prod`, `overlays/staging`).
    pub fn top_level(&self) -> Vec<&Kustomization> {
        let referenced: BTreeSet<&PathBuf> = self
            .kustomizations
            .values()
            .flat_map(|k| k.resources.iter())
            .collect();
        self.kustomizations
            .values()
            .filter(|k| !referenced.contains(&k.dir))
            .collect()
    }

    /// The files a build of `root` reads: its kustomization, its resource files, and those of
    /// the kustomizations it refers to, transitively (patches included).
    pub fn files_of(&self, root: &Kustomization) -> BTreeSet<PathBuf> {
        let mut files = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![root];
        while let Some(k) = stack.pop() {
            if !seen.insert(k.dir.clone()) {
                continue; // a cycle, or a base shared twice
            }
            files.insert(k.file.clone());
            files.extend(k.patches.iter().cloned());
            for r in &k.resources {
                match self.kustomizations.get(r) {
                    Some(sub) => stack.push(sub),
                    None => {
                        files.insert(r.clone());
                    }
                }
            }
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resources_and_every_patch_form() {
        let k = parse(
            Path::new("/r/overlays/prod/kustomization.yaml"),
            "resources:\n  - ../../base\n  - extra.yaml\n  - https://example.com/x.yaml\n\
             patches:\n  - path: p1.yaml\n  - patch: |-\n      inline\n  - p2.yaml\n\
             patchesStrategicMerge:\n  - p3.yaml\n  - |-\n    apiVersion: v1\n    kind: X\n\
             patchesJson6902:\n  - target: {kind: X}\n    path: p4.yaml\n",
        );
        assert_eq!(
            k.resources,
            [
                PathBuf::from("/r/base"),
                PathBuf::from("/r/overlays/prod/extra.yaml")
            ]
        );
        let patches: Vec<String> = k
            .patches
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            patches,
            [
                "/r/overlays/prod/p1.yaml",
                "/r/overlays/prod/p2.yaml",
                "/r/overlays/prod/p4.yaml",
                "/r/overlays/prod/p3.yaml"
            ]
        );
    }

    #[test]
    fn top_level_roots_and_their_files() {
        let mut layout = Layout::default();
        for (file, text) in [
            ("/r/base/kustomization.yaml", "resources: [a.yaml]\n"),
            (
                "/r/overlays/prod/kustomization.yaml",
                "resources: [../../base, b.yaml]\npatches: [{path: p.yaml}]\n",
            ),
            (
                "/r/overlays/staging/kustomization.yaml",
                "resources: [../../base]\n",
            ),
        ] {
            let k = parse(Path::new(file), text);
            layout.kustomizations.insert(k.dir.clone(), k);
        }
        let roots: Vec<&Path> = layout.top_level().iter().map(|k| k.dir.as_path()).collect();
        assert_eq!(
            roots,
            [
                Path::new("/r/overlays/prod"),
                Path::new("/r/overlays/staging")
            ]
        );
        let files = layout.files_of(layout.top_level()[0]);
        let files: Vec<&str> = files.iter().filter_map(|p| p.to_str()).collect();
        assert_eq!(
            files,
            [
                "/r/base/a.yaml",
                "/r/base/kustomization.yaml",
                "/r/overlays/prod/b.yaml",
                "/r/overlays/prod/kustomization.yaml",
                "/r/overlays/prod/p.yaml"
            ]
        );
    }
}
