//! The configuration file's `exclude` patterns, anchored at the file's directory (the command
//! line's `--exclude` is matched by the walker, relative to each PATH).

use std::path::{Path, PathBuf};

/// Exclude patterns anchored at one directory, as `.calint.yaml` writes them: `deploy/old/**`
/// means the same files whichever PATH calint is given.
#[derive(Clone, Debug)]
pub struct AnchoredExcludes {
    /// Absolute, normalized directory the patterns are relative to.
    pub base: PathBuf,
    pub patterns: Vec<String>,
}

impl AnchoredExcludes {
    /// Drop the files the patterns match (a pattern matching a parent directory excludes
    /// everything below it, as in `.gitignore`). Files outside `base`, and files named as a
    /// root on the command line (as the walker does for `--exclude`), are kept.
    pub fn filter(
        &self,
        files: &mut Vec<PathBuf>,
        roots: &[PathBuf],
        cwd: Option<&Path>,
    ) -> Result<(), String> {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(&self.base);
        for p in &self.patterns {
            builder
                .add_line(None, p)
                .map_err(|e| format!("invalid exclude pattern `{p}`: {e}"))?;
        }
        let matcher = builder
            .build()
            .map_err(|e| format!("invalid exclude patterns: {e}"))?;
        let cwd = cwd.unwrap_or(Path::new("/"));
        files.retain(|f| {
            if roots.contains(f) {
                return true;
            }
            let abs = super::kustomize::absolute(f, cwd);
            match abs.strip_prefix(&self.base) {
                Ok(rel) => !matcher.matched_path_or_any_parents(rel, false).is_ignore(),
                Err(_) => true,
            }
        });
        Ok(())
    }
}
