//! `calint config [PATH] [--print]`: check the configuration that applies to PATH, or print
//! the effective configuration (file, defaults and flags combined) and where it came from.

use super::settings::{SettingsArgs, describe_origin};
use super::{ColorChoice, EXIT_CLEAN, print};
use calint::config::Effective;
use calint::load::tree::{Node, NodeKind, ScalarValue};
use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrintFormat {
    Yaml,
    Json,
}

#[derive(Args)]
pub struct ConfigArgs {
    /// The path whose configuration to show (the search for .calint.yaml starts here).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Print the effective configuration.
    #[arg(long)]
    print: bool,
    /// Format of --print.
    #[arg(long, value_enum, default_value_t = PrintFormat::Yaml)]
    format: PrintFormat,
    /// Colour in error messages.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    #[command(flatten)]
    settings: SettingsArgs,
}

pub fn run(args: ConfigArgs) -> u8 {
    let effective = match args
        .settings
        .resolve(std::slice::from_ref(&args.path), args.color)
    {
        Ok(e) => e,
        Err(code) => return code,
    };
    let cwd = std::env::current_dir().ok();
    let origin = describe_origin(&effective.config.origin, cwd.as_deref());
    if !args.print {
        print(&format!("configuration: {origin}: ok\n"));
        return EXIT_CLEAN;
    }
    let value = to_json(&effective, &origin);
    let text = match args.format {
        PrintFormat::Json => {
            let mut t = serde_json::to_string_pretty(&value).unwrap_or_default();
            t.push('\n');
            t
        }
        PrintFormat::Yaml => to_yaml(&effective, &origin),
    };
    print(&text);
    EXIT_CLEAN
}

fn to_json(e: &Effective, origin: &str) -> Value {
    let mut rules = Map::new();
    for (meta, level, source) in &e.rules {
        rules.insert(
            meta.code.to_string(),
            json!({
                "name": meta.name,
                "level": level.map_or("off", |s| s.as_str()),
                "default": meta.default_severity.as_str(),
                "from": source.as_str(),
            }),
        );
    }
    json!({
        "source": origin,
        "fail-on": {"value": e.fail_on.0.map_or("never", |s| s.as_str()), "from": e.fail_on.1.as_str()},
        "calico-version": {"value": version(e), "from": e.calico_version.1.as_str()},
        "exclude": e.config_exclude,
        "exclude-command-line": e.cli_exclude,
        "rules": rules,
        "groups": e.config.groups.as_ref().map_or(Value::Null, node_value),
        "assertions": e.config.assertions.as_ref().map_or(Value::Null, node_value),
        "tiers": tiers_value(e),
        "public": public(e),
        "isolation": isolation(e),
    })
}

/// `tiers:` as read (name, order, default action).
fn tiers_value(e: &Effective) -> Value {
    Value::Array(
        e.config
            .tier_defs
            .iter()
            .map(|t| {
                json!({
                    "name": t.name.value,
                    "order": t.order.as_ref().map(|o| o.value),
                    "default-action": t.default_action.as_ref().map_or("Deny", |a| a.value.as_str()),
                })
            })
            .collect(),
    )
}

/// `public:` as read (group and ports of each entry).
fn public(e: &Effective) -> Value {
    Value::from(
        e.config
            .posture
            .public
            .iter()
            .map(|p| json!({"group": p.group.value, "ports": p.ports.value}))
            .collect::<Vec<_>>(),
    )
}

/// `isolation:` in force (defaults included).
fn isolation(e: &Effective) -> Value {
    let (ingress, egress) = e.config.posture.isolation();
    json!({"ingress": ingress, "egress": egress})
}

fn version(e: &Effective) -> String {
    let v = e.calico_version.0;
    format!("{}.{}", v.major, v.minor)
}

/// YAML that reads like the file itself: strings JSON-quoted (valid YAML), where each value came
/// from in a comment.
fn to_yaml(e: &Effective, origin: &str) -> String {
    let q = |s: &str| Value::from(s).to_string();
    let mut out = String::from("# effective calint configuration\n");
    out.push_str(&format!("# source: {origin}\n"));
    out.push_str("exclude:");
    if e.config_exclude.is_empty() {
        out.push_str(" []");
    }
    out.push_str("  # relative to the configuration file's directory\n");
    for g in &e.config_exclude {
        out.push_str(&format!("  - {}\n", q(g)));
    }
    if !e.cli_exclude.is_empty() {
        out.push_str("# --exclude (relative to each PATH):\n");
        for g in &e.cli_exclude {
            out.push_str(&format!("#   - {}\n", q(g)));
        }
    }
    out.push_str("rules:\n");
    for (meta, level, source) in &e.rules {
        let level = level.map_or("off", |s| s.as_str());
        out.push_str(&format!(
            "  {}: {level:<8} # {}; {}",
            meta.code,
            meta.name,
            source.as_str()
        ));
        if level != meta.default_severity.as_str() {
            out.push_str(&format!(" (default: {})", meta.default_severity));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "fail-on: {}  # {}\n",
        e.fail_on.0.map_or("never", |s| s.as_str()),
        e.fail_on.1.as_str()
    ));
    out.push_str(&format!(
        "calico-version: {}  # {}\n",
        q(&version(e)),
        e.calico_version.1.as_str()
    ));
    for (key, node, what) in [
        (
            "groups",
            &e.config.groups,
            "named groups for reach, graph and assertions",
        ),
        (
            "assertions",
            &e.config.assertions,
            "checked by `check` (CAL301)",
        ),
    ] {
        if let Some(node) = node {
            out.push_str(&format!("{key}: {}  # {what}\n", node_value(node)));
        }
    }
    if !e.config.tier_defs.is_empty() {
        out.push_str(&format!(
            "tiers: {}  # defined outside the tree\n",
            tiers_value(e)
        ));
    }
    if !e.config.posture.public.is_empty() {
        out.push_str(&format!(
            "public: {}  # what the world may reach (CAL311)\n",
            public(e)
        ));
    }
    out.push_str(&format!(
        "isolation: {}  # directions unisolated-workload (CAL310) reports\n",
        isolation(e)
    ));
    out
}

/// A span-tree node as JSON (for printing the reserved keys as written).
fn node_value(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Scalar(s) => match s.typed() {
            ScalarValue::Null => Value::Null,
            ScalarValue::Bool(b) => Value::Bool(b),
            ScalarValue::Int(i) => Value::from(i),
            ScalarValue::Float(f) => {
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            ScalarValue::Str(t) => Value::from(t),
        },
        NodeKind::Seq(items) => Value::Array(items.iter().map(node_value).collect()),
        NodeKind::Map(entries) => {
            let mut map = Map::new();
            for e in entries {
                let key = e.key.scalar_str().unwrap_or("?").to_string();
                map.insert(key, node_value(&e.value));
            }
            Value::Object(map)
        }
        NodeKind::Alias(name) => Value::from(format!("*{name}")),
    }
}
