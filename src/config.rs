//! `.calint.yaml`: per-repository configuration.
//!
//! ```yaml
//! exclude: ["vendor/**", "*.gen.yaml"]   # gitignore-style, relative to this file's directory
//! rules:                                 # code or lint name → off | info | warning | error
//!   CAL101: off
//!   unknown-tier: error
//! fail-on: error                         # info | warning | error | never
//! baseline: calint-baseline.json         # report only findings not in it (relative to this file)
//! views: {prod: [clusters/prod, base]}   # named sets of dirs/globs, each analysed as a cluster
//! render: true                           # build Kustomize roots and Helm charts (tools on PATH)
//! calico-version: "3.31"
//! groups: {}                             # name: group expression (reach, graph, assertions)
//! assertions: []                         # {from, to, protocol?, port?, expect} (CAL301)
//! tiers: []                              # {name, order?, default-action?}: tiers defined elsewhere
//! ```
//!
//! The file is read with calint's own span-tree parser and the lowering [`Reader`], so every
//! problem has a file:line:col and unknown keys get a "did you mean". Parsing collects every
//! problem and fails as a whole only at the end: a config that is partly wrong is not used.
//!
//! Layer 9: uses everything below `check` (lints' metadata for `rules:`, the spec types of
//! `analysis::spec` and `posture` it reads into); `check::options` turns it into options.

use crate::diagnostic::Diagnostic;
use crate::finding::Severity;
use crate::lints::LintMeta;
use crate::load::tree::Node;
use crate::load::yaml::{self, ParseLimits};
use crate::model::lower::reader::Reader;
use crate::source::{SourceFile, Span, Spanned};
use crate::validate::CalicoVersion;
use std::fmt;
use std::path::{Path, PathBuf};

mod effective;
mod read;
use read::read_root;
pub mod posture;
pub mod tiers;
pub use effective::{DEFAULT_FAIL_ON, Effective, Overrides, SettingSource};

/// The file name looked for in each directory.
pub const FILE_NAME: &str = ".calint.yaml";

/// Top-level keys, in the order `config --print` shows them.
pub const KEYS: &[&str] = &[
    "exclude",
    "rules",
    "fail-on",
    "calico-version",
    "groups",
    "assertions",
    "limits",
    "tiers",
    "baseline",
    "views",
    "render",
    "public",
    "isolation",
];

/// Resource bounds set in `limits:`; `None` keeps the built-in default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    pub max_file_size: Option<u64>,
    pub max_yaml_depth: Option<usize>,
    pub max_alias_nodes: Option<usize>,
    pub max_yaml_nodes: Option<usize>,
    pub max_problems_per_file: Option<usize>,
    pub max_selector_bytes: Option<usize>,
    pub max_selector_terms: Option<usize>,
    pub solver_timeout_ms: Option<u32>,
    /// `0` means no budget.
    pub analysis_budget_ms: Option<u64>,
}

/// Where the configuration came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// No file: built-in defaults.
    #[default]
    Defaults,
    /// Found by walking up from the first path.
    Discovered(PathBuf),
    /// Named with `--config`.
    Explicit(PathBuf),
}

impl Origin {
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::Defaults => None,
            Origin::Discovered(p) | Origin::Explicit(p) => Some(p),
        }
    }
}

/// One `rules:` entry.
#[derive(Clone, Debug)]
pub struct RuleSetting {
    /// The key as written (a code or a lint name).
    pub key: Spanned<String>,
    pub lint: &'static LintMeta,
    /// `None` is `off`.
    pub level: Option<Severity>,
}

pub use crate::analysis::spec::{AssertionDef, GroupDef};

/// A parsed configuration file (or the defaults).
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub origin: Origin,
    pub exclude: Vec<Spanned<String>>,
    pub rules: Vec<RuleSetting>,
    /// `None` inside: `never` (report only).
    pub fail_on: Option<Spanned<Option<Severity>>>,
    pub calico_version: Option<Spanned<CalicoVersion>>,
    /// Reachability groups as written (a mapping of names to group expressions).
    pub groups: Option<Node>,
    /// Reachability assertions as written (a list).
    pub assertions: Option<Node>,
    /// `groups:` read: name → group expression (`[NAMESPACE/]SELECTOR`, `net:CIDR`, ...).
    pub group_defs: Vec<GroupDef>,
    /// `assertions:` read.
    pub assertion_defs: Vec<AssertionDef>,
    /// The file's name and text, for locating assertion findings.
    pub file: Option<(String, std::path::PathBuf, String)>,
    /// `limits:` (resource bounds for hostile input).
    pub limits: Limits,
    /// `tiers:` read: tiers defined outside the repository.
    pub tier_defs: Vec<tiers::TierDef>,
    /// `baseline:` as written (relative to the file's directory).
    pub baseline: Option<Spanned<String>>,
    /// `views:` name → directories or globs, relative to the file's directory.
    pub views: Vec<ViewDef>,
    /// `render:` build Kustomize roots and Helm charts before checking.
    pub render: Option<Spanned<bool>>,
    /// `public:`, `isolation:` and the `no-path` assertions.
    pub posture: posture::PostureConfig,
}

/// One named view: a set of directories or globs analysed as one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewDef {
    pub name: Spanned<String>,
    pub paths: Vec<Spanned<String>>,
}

impl Config {
    /// Directory the file's relative paths (`exclude`) are resolved against.
    pub fn base_dir(&self) -> Option<&Path> {
        self.origin.path().and_then(Path::parent)
    }
}

/// A configuration that cannot be used; rendered with source snippets by the CLI. Its
/// problems are [`Diagnostic`]s, like those of the manifests (pointer empty where a problem is
/// not found by the lowering `Reader`).
#[derive(Debug)]
pub struct ConfigError {
    pub source: SourceFile,
    /// Sorted by position; a boxed slice keeps the error small (`Result<_, ConfigError>`).
    pub problems: Box<[Diagnostic]>,
    /// The file could not be read or decoded: `source` holds no text and `problems` the one
    /// reason, about the file as a whole (its span names no place).
    pub unreadable: bool,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            if self.unreadable {
                writeln!(f, "{}: {}", self.source.name, p.message)?;
            } else {
                let at = self.source.line_col(p.span.start);
                writeln!(
                    f,
                    "{}:{}:{}: {}",
                    self.source.name, at.line, at.column, p.message
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The directory to start looking for `.calint.yaml` from: the first path when it is a
/// directory, else its parent directory, else (a bare file name) the working directory.
pub fn start_dir(paths: &[PathBuf], cwd: &Path) -> PathBuf {
    let Some(first) = paths.first() else {
        return cwd.to_path_buf();
    };
    let abs = absolute(first, cwd);
    if abs.is_dir() {
        return abs;
    }
    match abs.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => cwd.to_path_buf(),
    }
}

/// The nearest `.calint.yaml` in `start` or one of its ancestors, up to the filesystem root.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// `path` made absolute against `cwd` and lexically normalized (`.` dropped, `..` applied), so
/// paths from the command line and from discovery compare by prefix (the one normalization
/// `load` uses too).
pub use crate::load::kustomize::absolute;

/// Why `pattern` is not a gitignore-style glob, checked by the matcher that matches `exclude`
/// and `views` patterns (`ignore`'s gitignore builder, as `load::exclude` and `check::views`
/// build it): one glob dialect, validated where it is used.
fn glob_error(pattern: &str) -> Option<String> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new("/");
    match builder.add_line(None, pattern) {
        Ok(_) => None,
        Err(ignore::Error::Glob { err, .. }) => Some(err),
        Err(e) => Some(e.to_string()),
    }
}

/// Read and parse a configuration file. `name` is how messages show the path.
pub fn load(path: &Path, name: String, origin: Origin) -> Result<Config, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse(
                SourceFile::new(name.clone(), path.to_path_buf(), text.clone()),
                origin,
            )
            .map(|mut c| {
                c.file = Some((name, path.to_path_buf(), text));
                c
            }),
            Err(_) => Err(whole_file_error(
                name,
                path,
                "the configuration file is not valid UTF-8".to_string(),
            )),
        },
        Err(e) => Err(whole_file_error(
            name,
            path,
            format!("cannot read the configuration file: {e}"),
        )),
    }
}

fn whole_file_error(name: String, path: &Path, message: String) -> ConfigError {
    ConfigError {
        source: SourceFile::new(name, path.to_path_buf(), String::new()),
        problems: Box::new([Diagnostic::new(Span::default(), "", message)]),
        unreadable: true,
    }
}

/// Parse configuration text (held by `source`).
pub fn parse(source: SourceFile, origin: Origin) -> Result<Config, ConfigError> {
    let parsed = yaml::parse(&source.text, &ParseLimits::default());
    let mut problems: Vec<Diagnostic> = parsed.problems;
    let mut config = Config {
        origin,
        ..Config::default()
    };
    if let Some(extra) = parsed.documents.get(1) {
        problems.push(
            Diagnostic::new(
                Span::new(extra.root.span.start, extra.root.span.start),
                "",
                "the configuration must be a single YAML document",
            )
            .with_help("remove the `---` and everything after it"),
        );
    }
    if let Some(doc) = parsed.documents.first() {
        let mut reader = Reader::new(true);
        read_root(&doc.root, &mut reader, &mut config, &mut problems);
        problems.extend(reader.problems);
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        problems.sort_by_key(|p| (p.span.start, p.span.end));
        Err(ConfigError {
            source,
            problems: problems.into_boxed_slice(),
            unreadable: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_checked_by_the_matcher_that_matches_them() {
        assert_eq!(glob_error("deploy/old/**"), None);
        assert_eq!(glob_error("!keep.yaml"), None);
        // gitignore (and so the exclude matcher) reads an unclosed class literally.
        assert_eq!(glob_error("[abc"), None);
        assert!(glob_error("a[z-a]").is_some());
        let err = parse_str("exclude: [\"a[z-a]\"]\n").expect_err("invalid glob");
        assert!(
            err.problems[0].message.contains("is not a valid glob"),
            "{err}"
        );
    }

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(
            SourceFile::new(FILE_NAME.into(), FILE_NAME.into(), text.into()),
            Origin::Defaults,
        )
    }

    fn messages(text: &str) -> Vec<String> {
        match parse_str(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.into_iter().map(|p| p.message).collect(),
        }
    }

    #[test]
    fn reads_every_key() {
        let c = parse_str(
            "exclude: [vendor/**]\nrules:\n  CAL101: off\n  unknown-tier: error\nfail-on: error\ncalico-version: 3.30\ngroups: {web: app == 'web'}\nassertions: []\n",
        )
        .map_err(|e| e.to_string())
        .unwrap_or_default();
        assert_eq!(c.exclude.len(), 1);
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules.first().map(|r| r.level), Some(None));
        assert_eq!(c.fail_on.map(|s| s.value), Some(Some(Severity::Error)));
        assert_eq!(
            c.calico_version.map(|v| v.value),
            CalicoVersion::parse("3.30")
        );
        assert!(c.groups.is_some() && c.assertions.is_some());
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert!(parse_str("").is_ok());
        assert!(parse_str("# nothing yet\n").is_ok());
    }

    #[test]
    fn every_problem_is_reported() {
        let m = messages(
            "exlude: [a]\nrules:\n  CAL999: off\n  CAL101: loud\nfail-on: off\ncalico-version: three\ngroups: [a]\nassertions: {}\n",
        );
        assert_eq!(m.len(), 7, "{m:#?}");
        assert!(m.iter().any(|s| s.contains("unknown field `exlude`")));
        assert!(
            m.iter()
                .any(|s| s.contains("`off` is not one of info, warning, error"))
        );
    }

    #[test]
    fn absolute_normalizes() {
        let cwd = Path::new("/a/b");
        assert_eq!(
            absolute(Path::new("../c/./d"), cwd),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(absolute(Path::new("/x/y"), cwd), PathBuf::from("/x/y"));
    }
}
