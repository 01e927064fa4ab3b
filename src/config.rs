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
use crate::lints::{self, LintMeta};
use crate::load::tree::{Node, NodeKind};
use crate::load::yaml::{self, ParseLimits};
use crate::model::lower::reader::{Reader, child, did_you_mean};
use crate::source::{SourceFile, Span, Spanned};
use crate::validate::CalicoVersion;
use std::fmt;
use std::path::{Path, PathBuf};

mod effective;
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

/// Keys of `limits:` (every one optional; defaults in `check`'s module documentation).
const LIMIT_KEYS: &[&str] = &[
    "max-file-size",
    "max-yaml-depth",
    "max-alias-nodes",
    "max-yaml-nodes",
    "max-problems-per-file",
    "max-selector-bytes",
    "max-selector-terms",
    "solver-timeout-ms",
    "analysis-budget-ms",
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
    pub problems: Vec<Diagnostic>,
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
        problems: vec![Diagnostic::new(Span::default(), "", message)],
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
            problems,
            unreadable: false,
        })
    }
}

fn problem(span: Span, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        span,
        pointer: String::new(),
        message,
        help,
        related: Vec::new(),
    }
}

fn read_root(root: &Node, r: &mut Reader, config: &mut Config, problems: &mut Vec<Diagnostic>) {
    if root.is_null() {
        return; // an empty file (or only comments): the defaults
    }
    let Some(fields) = r.fields(root, "", FILE_NAME, KEYS) else {
        return;
    };
    config.exclude = r.string_list(&fields, "exclude");
    for glob in &config.exclude {
        if let Some(e) = glob_error(&glob.value) {
            problems.push(problem(
                glob.span,
                format!("`{}` is not a valid glob: {e}", glob.value),
                None,
            ));
        }
    }
    if let Some((node, _)) = fields.get("rules") {
        config.rules = read_rules(node, r, problems);
    }
    if let Some((node, ptr)) = fields.get("limits") {
        config.limits = read_limits(node, &ptr, r);
    }
    if let Some((node, ptr)) = fields.get("tiers") {
        config.tier_defs = tiers::read_tiers(node, &ptr, r);
    }
    if let Some((node, ptr)) = fields.get("public") {
        config.posture.public = posture::read_public(node, &ptr, r);
    }
    if let Some((node, ptr)) = fields.get("isolation") {
        posture::read_isolation(node, &ptr, r, &mut config.posture);
    }
    if let Some((node, ptr)) = fields.get("fail-on") {
        config.fail_on = if scalar_text(node) == Some("never") {
            Some(Spanned::new(None, node.span))
        } else {
            read_level(node, &ptr, r, problems, false)
                .and_then(|l| l.value.map(|s| Spanned::new(Some(s), l.span)))
        };
    }
    if fields.get("baseline").is_some() {
        config.baseline = r.opt_string(&fields, "baseline");
    }
    if let Some((node, _)) = fields.get("render") {
        match scalar_text(node) {
            Some("true") => config.render = Some(Spanned::new(true, node.span)),
            Some("false") => config.render = Some(Spanned::new(false, node.span)),
            _ => problems.push(problem(
                node.span,
                format!("`render` must be true or false, found {}", node.describe()),
                None,
            )),
        }
    }
    if let Some((node, _)) = fields.get("views") {
        config.views = read_views(node, problems);
    }
    if let Some((node, _)) = fields.get("calico-version") {
        config.calico_version = read_version(node, problems);
    }
    if let Some((node, _)) = fields.get("groups") {
        if let Some(entries) = node.as_map() {
            config.groups = Some(node.clone());
            for e in entries {
                match (e.key.scalar_str(), e.value.scalar_str()) {
                    (Some(k), Some(v)) => config.group_defs.push(GroupDef {
                        name: Spanned::new(k.to_string(), e.key.span),
                        expression: Spanned::new(v.to_string(), e.value.span),
                    }),
                    _ => problems.push(problem(
                        e.value.span,
                        "each group maps a name to a group expression string".to_string(),
                        Some("e.g. `web: \"shop/app == 'web'\"`, `partners: \"set:shop/partners\"`, `internet: world`".to_string()),
                    )),
                }
            }
        } else {
            problems.push(problem(
                node.span,
                format!("`groups` must be a mapping, found {}", node.describe()),
                Some(
                    "`groups` names reachability groups: `groups: {web: \"shop/app == 'web'\"}`"
                        .to_string(),
                ),
            ));
        }
    }
    if let Some((node, ptr)) = fields.get("assertions") {
        if node.as_seq().is_some() {
            config.assertions = Some(node.clone());
            let mut no_paths = Vec::new();
            config.assertion_defs = r.list(node, &ptr, |r, n, p| {
                let f = r.fields(
                    n,
                    &p,
                    "assertion",
                    &["from", "to", "protocol", "port", "expect", "no-path"],
                )?;
                if let Some((node, ptr)) = f.get("no-path") {
                    if let Some(def) = posture::read_no_path(n, node, &ptr, r) {
                        no_paths.push(def);
                    }
                    return None;
                }
                let from = r.opt_string(&f, "from");
                let to = r.opt_string(&f, "to");
                let expect = r.opt_string(&f, "expect");
                let port = r.opt_int(&f, "port");
                let (Some(from), Some(to), Some(expect)) = (from, to, expect) else {
                    r.report(
                        n.span,
                        &p,
                        "an assertion needs `from`, `to` and `expect` (or `no-path: {from, to}`)",
                    );
                    return None;
                };
                let Some(verdict) = crate::analysis::reach::Verdict::parse(&expect.value) else {
                    r.report(
                        expect.span,
                        &p,
                        format!(
                            "`expect` must be allowed, denied or partial, found `{}`",
                            expect.value
                        ),
                    );
                    return None;
                };
                let expect = Spanned::new(verdict, expect.span);
                let port = match port {
                    Some(p16) => match u16::try_from(p16.value) {
                        Ok(v) if v > 0 => Some(Spanned::new(v, p16.span)),
                        _ => {
                            r.report(
                                p16.span,
                                &p,
                                format!("port {} is out of range (1-65535)", p16.value),
                            );
                            return None;
                        }
                    },
                    None => None,
                };
                Some(AssertionDef {
                    span: n.span,
                    from,
                    to,
                    protocol: r.opt_string(&f, "protocol"),
                    port,
                    expect,
                })
            });
            config.posture.no_paths = no_paths;
        } else {
            problems.push(problem(
                node.span,
                format!("`assertions` must be a list, found {}", node.describe()),
                Some("`assertions` is a list of `{from, to, protocol, port, expect}`".to_string()),
            ));
        }
    }
}

/// `views:`: a mapping of names to a list of directories or globs (or one string).
fn read_views(node: &Node, problems: &mut Vec<Diagnostic>) -> Vec<ViewDef> {
    let help = || {
        Some(
            "e.g. `views: {prod: [clusters/prod, base], staging: [clusters/staging, base]}`"
                .to_string(),
        )
    };
    let Some(entries) = node.as_map() else {
        problems.push(problem(
            node.span,
            format!("`views` must be a mapping, found {}", node.describe()),
            help(),
        ));
        return Vec::new();
    };
    let mut views: Vec<ViewDef> = Vec::new();
    for e in entries {
        let Some(name) = e.key.scalar_str() else {
            problems.push(problem(
                e.key.span,
                "a view name must be a string".into(),
                help(),
            ));
            continue;
        };
        let items: Vec<&Node> = match (e.value.as_seq(), e.value.scalar_str()) {
            (Some(seq), _) => seq.iter().collect(),
            (None, Some(_)) => vec![&e.value],
            _ => {
                problems.push(problem(
                    e.value.span,
                    format!("view `{name}` must list directories or globs"),
                    help(),
                ));
                continue;
            }
        };
        let mut paths = Vec::new();
        for item in items {
            match item.scalar_str() {
                Some(p) if glob_error(p).is_none() && !p.is_empty() => {
                    paths.push(Spanned::new(p.to_string(), item.span));
                }
                _ => problems.push(problem(
                    item.span,
                    format!("view `{name}`: not a directory or glob"),
                    help(),
                )),
            }
        }
        if paths.is_empty() {
            problems.push(problem(
                e.value.span,
                format!("view `{name}` lists no directories"),
                help(),
            ));
        }
        views.push(ViewDef {
            name: Spanned::new(name.to_string(), e.key.span),
            paths,
        });
    }
    views
}

/// `limits:`: positive whole numbers (a bound of zero would reject everything; only the
/// analysis budget takes `0`, meaning none).
fn read_limits(node: &Node, ptr: &str, r: &mut Reader) -> Limits {
    let mut limits = Limits::default();
    let Some(f) = r.fields(node, ptr, "limits", LIMIT_KEYS) else {
        return limits;
    };
    let mut num = |key: &str, zero_ok: bool| -> Option<u64> {
        let v = r.opt_int(&f, key)?;
        match u64::try_from(v.value) {
            Ok(n) if n > 0 || zero_ok => Some(n),
            _ => {
                r.report(
                    v.span,
                    &format!("{ptr}/{key}"),
                    format!("`{key}` must be a positive whole number, found {}", v.value),
                );
                None
            }
        }
    };
    let size = |n: Option<u64>| n.and_then(|n| usize::try_from(n).ok());
    limits.max_file_size = num("max-file-size", false);
    limits.max_yaml_depth = size(num("max-yaml-depth", false));
    limits.max_alias_nodes = size(num("max-alias-nodes", false));
    limits.max_yaml_nodes = size(num("max-yaml-nodes", false));
    limits.max_problems_per_file = size(num("max-problems-per-file", false));
    limits.max_selector_bytes = size(num("max-selector-bytes", false));
    limits.max_selector_terms = size(num("max-selector-terms", false));
    limits.solver_timeout_ms = num("solver-timeout-ms", false).and_then(|n| u32::try_from(n).ok());
    limits.analysis_budget_ms = num("analysis-budget-ms", true);
    limits
}

/// The raw text of a scalar: `off` and `3.30` must not go through YAML typing (which reads a
/// boolean and the number 3.3).
fn scalar_text(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Scalar(s) => Some(s.value.as_str()),
        _ => None,
    }
}

const LEVELS: &[&str] = &["off", "info", "warning", "error"];
const SEVERITIES: &[&str] = &["info", "warning", "error"];

/// `off|info|warning|error` (`off` only when `allow_off`); `value: None` means off.
fn read_level(
    node: &Node,
    ptr: &str,
    r: &mut Reader,
    problems: &mut Vec<Diagnostic>,
    allow_off: bool,
) -> Option<Spanned<Option<Severity>>> {
    let allowed = if allow_off { LEVELS } else { SEVERITIES };
    let Some(text) = scalar_text(node) else {
        r.report(
            node.span,
            ptr,
            format!(
                "expected one of {}, found {}",
                allowed.join(", "),
                node.describe()
            ),
        );
        return None;
    };
    if allow_off && text == "off" {
        return Some(Spanned::new(None, node.span));
    }
    match Severity::parse(text) {
        Some(s) => Some(Spanned::new(Some(s), node.span)),
        None => {
            let help = did_you_mean(text, allowed).map(|s| format!("did you mean `{s}`?"));
            problems.push(problem(
                node.span,
                format!("`{text}` is not one of {}", allowed.join(", ")),
                help,
            ));
            None
        }
    }
}

fn read_rules(node: &Node, r: &mut Reader, problems: &mut Vec<Diagnostic>) -> Vec<RuleSetting> {
    let Some(entries) = node.as_map() else {
        problems.push(problem(
            node.span,
            format!(
                "`rules` must be a mapping of lint codes to levels, found {}",
                node.describe()
            ),
            Some("for example `rules: {CAL101: off, unknown-tier: error}`".to_string()),
        ));
        return Vec::new();
    };
    let known = lints::suppress::known_names();
    let mut out: Vec<RuleSetting> = Vec::new();
    for entry in entries {
        let Some(key) = scalar_text(&entry.key) else {
            problems.push(problem(
                entry.key.span,
                "rule keys must be lint codes or names".to_string(),
                None,
            ));
            continue;
        };
        let Some(lint) = lints::find(key) else {
            let help = match did_you_mean(key, &known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "`calint rules` lists the codes and names".to_string(),
            };
            problems.push(problem(
                entry.key.span,
                format!("`{key}` is not a calint lint code or name"),
                Some(help),
            ));
            continue;
        };
        let meta = lint.meta();
        if let Some(earlier) = out.iter().find(|s| s.lint.code == meta.code) {
            problems.push(problem(
                entry.key.span,
                format!(
                    "{} ({}) is configured twice (also as `{}`)",
                    meta.code, meta.name, earlier.key.value
                ),
                None,
            ));
            continue;
        }
        let ptr = child("/rules", key);
        if let Some(level) = read_level(&entry.value, &ptr, r, problems, true) {
            out.push(RuleSetting {
                key: Spanned::new(key.to_string(), entry.key.span),
                lint: meta,
                level: level.value,
            });
        }
    }
    out
}

fn read_version(node: &Node, problems: &mut Vec<Diagnostic>) -> Option<Spanned<CalicoVersion>> {
    let parsed = scalar_text(node).and_then(|t| CalicoVersion::parse(t.trim()));
    if parsed.is_none() {
        problems.push(problem(
            node.span,
            format!(
                "`calico-version` must be a Calico release like \"3.31\", found {}",
                scalar_text(node).map_or_else(|| node.describe().to_string(), |t| format!("`{t}`"))
            ),
            Some(
                "for example `calico-version: \"3.31\"` (major.minor; a patch level is ignored)"
                    .to_string(),
            ),
        ));
    }
    parsed.map(|v| Spanned::new(v, node.span))
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
