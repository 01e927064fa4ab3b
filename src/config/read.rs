//! Reading the keys of `.calint.yaml` into a [`Config`]: one reader per key (`exclude`,
//! `rules`, `fail-on`, `views`, `limits`, `calico-version`, ... and the sections owned by
//! `config::tiers` and `config::posture`), each problem located and collected (the parent
//! module's `parse` fails as a whole at the end).

use super::{
    AssertionDef, Config, FILE_NAME, GroupDef, KEYS, Limits, RuleSetting, ViewDef, glob_error,
    posture, tiers,
};
use crate::diagnostic::Diagnostic;
use crate::finding::Severity;
use crate::lints;
use crate::load::tree::{Node, NodeKind};
use crate::model::lower::reader::{Reader, child, did_you_mean};
use crate::pointer::{Lazy, Pointer};
use crate::source::{Span, Spanned};
use crate::validate::CalicoVersion;

/// Keys of `limits:` (every one optional; defaults in `check`'s module documentation).
pub(super) const LIMIT_KEYS: &[&str] = &[
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

pub(super) fn problem(span: Span, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        span,
        pointer: Pointer::root(),
        message,
        help,
        related: Vec::new(),
    }
}

pub(super) fn read_root(
    root: &Node,
    r: &mut Reader,
    config: &mut Config,
    problems: &mut Vec<Diagnostic>,
) {
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
        config.limits = read_limits(node, ptr, r);
    }
    if let Some((node, ptr)) = fields.get("tiers") {
        config.tier_defs = tiers::read_tiers(node, ptr, r);
    }
    if let Some((node, ptr)) = fields.get("public") {
        config.posture.public = posture::read_public(node, ptr, r);
    }
    if let Some((node, ptr)) = fields.get("isolation") {
        posture::read_isolation(node, ptr, r, &mut config.posture);
    }
    if let Some((node, ptr)) = fields.get("fail-on") {
        config.fail_on = if scalar_text(node) == Some("never") {
            Some(Spanned::new(None, node.span))
        } else {
            read_level(node, ptr, r, problems, false)
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
            config.assertion_defs = r.list(node, ptr, |r, n, p| {
                let f = r.fields(
                    n,
                    p,
                    "assertion",
                    &["from", "to", "protocol", "port", "expect", "no-path"],
                )?;
                if let Some((node, ptr)) = f.get("no-path") {
                    if let Some(def) = posture::read_no_path(n, node, ptr, r) {
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
                        p,
                        "an assertion needs `from`, `to` and `expect` (or `no-path: {from, to}`)",
                    );
                    return None;
                };
                let Some(verdict) = crate::analysis::reach::Verdict::parse(&expect.value) else {
                    r.report(
                        expect.span,
                        p,
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
                                p,
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
pub(super) fn read_views(node: &Node, problems: &mut Vec<Diagnostic>) -> Vec<ViewDef> {
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
pub(super) fn read_limits(node: &Node, ptr: Lazy<'_>, r: &mut Reader) -> Limits {
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
                    ptr.child(key),
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
pub(super) fn scalar_text(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Scalar(s) => Some(s.value.as_str()),
        _ => None,
    }
}

pub(super) const LEVELS: &[&str] = &["off", "info", "warning", "error"];

pub(super) const SEVERITIES: &[&str] = &["info", "warning", "error"];

/// `off|info|warning|error` (`off` only when `allow_off`); `value: None` means off.
pub(super) fn read_level(
    node: &Node,
    ptr: Lazy<'_>,
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

pub(super) fn read_rules(
    node: &Node,
    r: &mut Reader,
    problems: &mut Vec<Diagnostic>,
) -> Vec<RuleSetting> {
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
        if let Some(level) = read_level(&entry.value, Lazy::from(&ptr), r, problems, true) {
            out.push(RuleSetting {
                key: Spanned::new(key.to_string(), entry.key.span),
                lint: meta,
                level: level.value,
            });
        }
    }
    out
}

pub(super) fn read_version(
    node: &Node,
    problems: &mut Vec<Diagnostic>,
) -> Option<Spanned<CalicoVersion>> {
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
