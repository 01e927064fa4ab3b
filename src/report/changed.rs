//! The lines a pull request changed, read from a unified diff (`git diff -U0 --relative BASE...`),
//! so that the `github` format annotates only findings on those lines: GitHub shows ten error
//! and ten warning annotations per step, and they should be the ones the author touched.

use crate::finding::Finding;
use crate::project::Project;
use std::collections::BTreeMap;

/// Changed (added or modified) line ranges of the new side, by file name as calint displays it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedLines {
    files: BTreeMap<String, Vec<(usize, usize)>>,
}

impl ChangedLines {
    /// Read a unified diff. Only `+++ b/PATH` headers and `@@ -a,b +c,d @@` hunk headers
    /// matter; a deleted file (`+++ /dev/null`) has no lines.
    pub fn from_unified_diff(diff: &str) -> ChangedLines {
        let mut files: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in diff.lines() {
            if let Some(path) = line.strip_prefix("+++ ") {
                let path = path.trim_end();
                current = path
                    .strip_prefix("b/")
                    .or((path != "/dev/null").then_some(path))
                    .map(|p| p.trim_start_matches("./").to_string());
                continue;
            }
            let (Some(file), Some(hunk)) = (&current, line.strip_prefix("@@ ")) else {
                continue;
            };
            let Some(new) = hunk.split_whitespace().find_map(|t| t.strip_prefix('+')) else {
                continue;
            };
            let mut parts = new.splitn(2, ',');
            let start: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let count: usize = parts
                .next()
                .map_or(Some(1), |s| s.parse().ok())
                .unwrap_or(0);
            if count > 0 && start > 0 {
                files
                    .entry(file.clone())
                    .or_default()
                    .push((start, start + count - 1));
            }
        }
        ChangedLines { files }
    }

    /// Whether the finding's primary location overlaps a changed line.
    pub fn touches(&self, project: &Project, f: &Finding) -> bool {
        let Some(l) = super::line_location(project, f.location) else {
            return false;
        };
        let name = l.file.trim_start_matches("./");
        self.files.get(name).is_some_and(|ranges| {
            ranges
                .iter()
                .any(|&(a, b)| a <= l.end_line.max(l.line) && l.line <= b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hunks_of_the_new_side() {
        let diff = "diff --git a/x.yaml b/x.yaml\n--- a/x.yaml\n+++ b/x.yaml\n@@ -3,0 +4,2 @@\n+a\n+b\n@@ -10 +12 @@\n-c\n+d\n@@ -20,3 +22,0 @@\n-e\n\
                    --- a/gone.yaml\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n";
        let c = ChangedLines::from_unified_diff(diff);
        assert_eq!(
            c.files,
            BTreeMap::from([("x.yaml".to_string(), vec![(4, 5), (12, 12)])])
        );
    }
}
