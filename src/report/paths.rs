//! Rendering of `calint paths`: human, JSON and Graphviz dot.

use super::ports::{allowed_label, port_text};
use super::reach::{decision_json, decision_site};
use crate::analysis::exposure::Flow;
use crate::analysis::groups::Group;
use crate::analysis::ir::PolicySet;
use crate::project::Project;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What `calint paths` found: paths as indices into `groups`, and each distinct hop's
/// allowed ports and deciding rules.
pub struct PathsReport<'a> {
    pub groups: &'a [Group],
    pub from: usize,
    pub to: usize,
    pub max_hops: usize,
    pub paths: &'a [Vec<usize>],
    pub hops: &'a BTreeMap<(usize, usize), Flow>,
    pub undecided: usize,
}

impl PathsReport<'_> {
    fn name(&self, i: usize) -> &str {
        self.groups.get(i).map_or("?", |g| g.name.as_str())
    }
}

pub fn render_human(project: &Project, set: &PolicySet, r: &PathsReport<'_>) -> String {
    let mut out = String::new();
    if r.paths.is_empty() {
        let _ = writeln!(
            out,
            "no path from {} to {} within {} hops",
            r.name(r.from),
            r.name(r.to),
            r.max_hops
        );
    }
    for (n, path) in r.paths.iter().enumerate() {
        let names: Vec<&str> = path.iter().map(|&i| r.name(i)).collect();
        let _ = writeln!(
            out,
            "path {} ({} hop{}): {}",
            n + 1,
            path.len().saturating_sub(1),
            if path.len() == 2 { "" } else { "s" },
            names.join(" -> ")
        );
        for w in path.windows(2) {
            let (a, b) = (w[0], w[1]);
            let Some(f) = r.hops.get(&(a, b)) else {
                continue;
            };
            let _ = writeln!(
                out,
                "  {} -> {}: {}",
                r.name(a),
                r.name(b),
                allowed_label(&f.allowed)
            );
            for p in &f.by_port {
                // Pass rules on the way are in the JSON; here the final decisions.
                for d in p.decisions.iter().filter(|d| d.action != "Pass") {
                    let line = format!(
                        "    {}: {} {} {}",
                        port_text(p.protocol, p.ports),
                        d.direction.as_str(),
                        d.action,
                        decision_site(project, set, d)
                    );
                    let _ = writeln!(out, "{}", line.trim_end());
                }
            }
        }
    }
    if r.undecided > 0 {
        let _ = writeln!(
            out,
            "note: {} solver queries timed out; some hops may be missing",
            r.undecided
        );
    }
    out
}

pub fn render_json(project: &Project, set: &PolicySet, r: &PathsReport<'_>) -> String {
    let paths: Vec<Value> = r
        .paths
        .iter()
        .map(|path| {
            let hops: Vec<Value> = path
                .windows(2)
                .map(|w| {
                    let (a, b) = (w[0], w[1]);
                    let f = r.hops.get(&(a, b));
                    let decided: Vec<Value> = f
                        .map(|f| {
                            f.by_port
                                .iter()
                                .flat_map(|p| {
                                    p.decisions.iter().map(move |d| {
                                        let mut v = decision_json(project, set, d);
                                        if let Some(o) = v.as_object_mut() {
                                            o.insert(
                                                "decides".into(),
                                                json!(port_text(p.protocol, p.ports)),
                                            );
                                        }
                                        v
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    json!({
                        "from": r.name(a),
                        "to": r.name(b),
                        "verdict": f.map(|f| f.verdict.as_str()),
                        "allowed": f.map(|f| allowed_label(&f.allowed)).unwrap_or_default(),
                        "decided_by": decided,
                    })
                })
                .collect();
            json!({
                "groups": path.iter().map(|&i| r.name(i)).collect::<Vec<_>>(),
                "hops": hops,
            })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "from": r.name(r.from),
        "to": r.name(r.to),
        "max_hops": r.max_hops,
        "paths": paths,
        "undecided": r.undecided,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Every group and hop on some path; the start and the end are drawn doubled.
pub fn render_dot(r: &PathsReport<'_>) -> String {
    let mut out = String::from(
        "digraph paths {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
    );
    let mut nodes: Vec<usize> = r.paths.iter().flatten().copied().collect();
    nodes.extend([r.from, r.to]);
    nodes.sort_unstable();
    nodes.dedup();
    for i in nodes {
        let peripheries = if i == r.from || i == r.to {
            ", peripheries=2"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  n{i} [label=\"{}\"{peripheries}];",
            dot_escape(r.name(i))
        );
    }
    let mut hops: Vec<(usize, usize)> = r
        .paths
        .iter()
        .flat_map(|p| p.windows(2).map(|w| (w[0], w[1])))
        .collect();
    hops.sort_unstable();
    hops.dedup();
    for (a, b) in hops {
        let label = r
            .hops
            .get(&(a, b))
            .map(|f| allowed_label(&f.allowed))
            .unwrap_or_default();
        let _ = writeln!(out, "  n{a} -> n{b} [label=\"{}\"];", dot_escape(&label));
    }
    out.push_str("}\n");
    out
}
