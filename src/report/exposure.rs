//! Rendering of `calint exposure`: human, JSON, Markdown and one self-contained HTML page.

use super::ports::{allowed_label, format_ports, port_text};
use super::reach::{decision_json, decision_site};
use super::{group_kind as kind, html_escape};
use crate::analysis::exposure::{Exposure, Flow, Policied};
use crate::analysis::groups::Group;
use crate::analysis::ir::PolicySet;
use crate::analysis::reach::Decision;
use crate::project::Project;
use serde_json::{Value, json};
use std::fmt::Write;

/// The questions, in report order: (JSON key, human wording).
const QUESTIONS: [(&str, &str); 4] = [
    ("from_world", "from world"),
    ("from_other_namespaces", "from other namespaces"),
    ("from_any_pod", "from any pod"),
    ("to_world", "to world"),
];

fn flows(e: &Exposure) -> [(&'static str, &'static str, Option<&Flow>); 4] {
    let [w, o, a, t] = QUESTIONS;
    [
        (w.0, w.1, Some(&e.from_world)),
        (o.0, o.1, e.from_other_namespaces.as_ref()),
        (a.0, a.1, Some(&e.from_any_pod)),
        (t.0, t.1, Some(&e.to_world)),
    ]
}

/// The decisions of a flow with what they decide: (ports or "denied", decision).
fn explained(f: &Flow) -> Vec<(String, &Decision)> {
    let mut out: Vec<(String, &Decision)> = Vec::new();
    for p in &f.by_port {
        for d in &p.decisions {
            out.push((port_text(p.protocol, p.ports), d));
        }
    }
    if out.is_empty() {
        out.extend(f.denied_by.iter().map(|d| ("denied".to_string(), d)));
    }
    out
}

/// For the human report: the final decisions on the group's own side (the Pass rules on the
/// way are in the JSON), each with what it decides, rules deciding several ranges merged.
fn final_decisions(
    project: &Project,
    set: &PolicySet,
    flow: Option<&Flow>,
    side: crate::model::resource::Direction,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (what, d) in flow.map(explained).unwrap_or_default() {
        if d.direction != side || d.action == "Pass" {
            continue;
        }
        let site = format!(
            "{} {} {}",
            d.direction.as_str(),
            d.action,
            decision_site(project, set, d)
        )
        .trim_end()
        .to_string();
        match out.iter_mut().find(|(s, _)| *s == site) {
            Some((_, list)) => {
                if !list.contains(&what) {
                    list.push(what)
                }
            }
            None => out.push((site, vec![what])),
        }
    }
    out.into_iter().map(|(s, l)| (s, l.join(", "))).collect()
}

fn policied_text(p: Policied) -> &'static str {
    match p {
        Policied::Yes => "policied",
        Policied::No => "not policied (no policy selects it: everything is allowed)",
        Policied::Maybe => "policied for some members",
    }
}

pub fn render_human(
    project: &Project,
    set: &PolicySet,
    groups: &[Group],
    exposures: &[Exposure],
) -> String {
    let mut out = String::new();
    for e in exposures {
        let Some(g) = groups.get(e.group) else {
            continue;
        };
        let _ = writeln!(out, "{} ({})", g.name, kind(g));
        for (i, (_, words, flow)) in flows(e).into_iter().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "  ingress: {}", policied_text(e.ingress_policied));
            }
            if i == 3 {
                let _ = writeln!(out, "  egress: {}", policied_text(e.egress_policied));
            }
            let answer = match flow {
                None => "n/a (the group spans namespaces)".to_string(),
                Some(f) if f.allowed.is_empty() => "nothing".to_string(),
                Some(f) => allowed_label(&f.allowed),
            };
            let _ = writeln!(out, "    {:<23}{answer}", format!("{words}:"));
            let side = if i == 3 {
                crate::model::resource::Direction::Egress
            } else {
                crate::model::resource::Direction::Ingress
            };
            for (site, what) in final_decisions(project, set, flow, side) {
                let _ = writeln!(out, "      {site}: {what}");
            }
        }
        let undecided: usize = flows(e)
            .iter()
            .filter_map(|(_, _, f)| f.map(|f| f.undecided))
            .sum();
        if undecided > 0 {
            let _ = writeln!(
                out,
                "  note: {undecided} solver queries timed out; the answers may be incomplete"
            );
        }
    }
    let _ = writeln!(
        out,
        "{} groups; \"from any pod\": some pod with labels and a namespace of an attacker's choosing",
        exposures.len()
    );
    out
}

fn decisions_json(project: &Project, set: &PolicySet, key: &str, f: &Flow) -> Vec<Value> {
    explained(f)
        .into_iter()
        .map(|(what, d)| {
            let mut v = decision_json(project, set, d);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("question".into(), json!(key));
                obj.insert("decides".into(), json!(what));
            }
            v
        })
        .collect()
}

fn allowed_json(f: &Flow) -> Value {
    json!(
        f.allowed
            .iter()
            .map(|(p, ports)| json!({
                "protocol": p.name(),
                "ports": ports.as_ref().map(|r| format_ports(r)).unwrap_or_default(),
            }))
            .collect::<Vec<_>>()
    )
}

pub fn render_json(
    project: &Project,
    set: &PolicySet,
    groups: &[Group],
    exposures: &[Exposure],
) -> String {
    let workloads: Vec<Value> = exposures
        .iter()
        .filter_map(|e| {
            let g = groups.get(e.group)?;
            let mut ingress = serde_json::Map::new();
            let mut egress = serde_json::Map::new();
            for (p, obj) in [
                (e.ingress_policied, &mut ingress),
                (e.egress_policied, &mut egress),
            ] {
                obj.insert("policied".into(), json!(p != Policied::No));
                obj.insert("policied_exact".into(), json!(p != Policied::Maybe));
            }
            let mut in_decided = Vec::new();
            let mut out_decided = Vec::new();
            for (i, (key, _, flow)) in flows(e).into_iter().enumerate() {
                let (obj, decided) = if i == 3 {
                    (&mut egress, &mut out_decided)
                } else {
                    (&mut ingress, &mut in_decided)
                };
                match flow {
                    Some(f) => {
                        obj.insert(key.into(), json!(allowed_label(&f.allowed)));
                        obj.insert(
                            format!("{key}_detail"),
                            json!({
                                "verdict": f.verdict.as_str(),
                                "allowed": allowed_json(f),
                                "undecided": f.undecided,
                            }),
                        );
                        decided.extend(decisions_json(project, set, key, f));
                    }
                    None => {
                        obj.insert(key.into(), Value::Null);
                    }
                }
            }
            ingress.insert("decided_by".into(), json!(in_decided));
            egress.insert("decided_by".into(), json!(out_decided));
            Some(json!({
                "group": g.name,
                "kind": kind(g),
                "evaluation": if g.concrete { "concrete" } else { "symbolic" },
                "ingress": ingress,
                "egress": egress,
            }))
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&json!({"version": 1, "workloads": workloads}))
        .unwrap_or_default();
    out.push('\n');
    out
}

fn cell(flow: Option<&Flow>) -> String {
    match flow {
        None => "n/a".to_string(),
        Some(f) if f.allowed.is_empty() => "—".to_string(),
        Some(f) => allowed_label(&f.allowed),
    }
}

fn yes_no(p: Policied) -> &'static str {
    match p {
        Policied::Yes => "yes",
        Policied::No => "**no**",
        Policied::Maybe => "some",
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'")
}

pub fn render_markdown(groups: &[Group], exposures: &[Exposure]) -> String {
    let mut out = String::from(
        "## calint exposure\n\n| group | ingress policied | from world | from other namespaces | from any pod | egress policied | to world |\n|---|---|---|---|---|---|---|\n",
    );
    for e in exposures {
        let Some(g) = groups.get(e.group) else {
            continue;
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            md_escape(&g.name),
            yes_no(e.ingress_policied),
            md_escape(&cell(Some(&e.from_world))),
            md_escape(&cell(e.from_other_namespaces.as_ref())),
            md_escape(&cell(Some(&e.from_any_pod))),
            yes_no(e.egress_policied),
            md_escape(&cell(Some(&e.to_world))),
        );
    }
    let _ = writeln!(
        out,
        "\n{} groups. Deciding rules: `calint exposure --format human` or `--format json`.",
        exposures.len()
    );
    out
}

pub fn render_html(
    project: &Project,
    set: &PolicySet,
    groups: &[Group],
    exposures: &[Exposure],
) -> String {
    let mut rows = String::new();
    let mut details = String::new();
    for e in exposures {
        let Some(g) = groups.get(e.group) else {
            continue;
        };
        let class = |f: Option<&Flow>| match f {
            Some(f) if !f.allowed.is_empty() => "open",
            _ => "closed",
        };
        let _ = write!(
            rows,
            "<tr><th>{}</th><td class=\"{}\">{}</td>",
            html_escape(&g.name),
            if e.ingress_policied == Policied::No {
                "open"
            } else {
                "closed"
            },
            yes_no(e.ingress_policied).trim_matches('*')
        );
        for (i, (_, _, f)) in flows(e).into_iter().enumerate() {
            if i == 3 {
                let _ = write!(
                    rows,
                    "<td class=\"{}\">{}</td>",
                    if e.egress_policied == Policied::No {
                        "open"
                    } else {
                        "closed"
                    },
                    yes_no(e.egress_policied).trim_matches('*')
                );
            }
            let _ = write!(
                rows,
                "<td class=\"{}\">{}</td>",
                class(f),
                html_escape(&cell(f))
            );
        }
        rows.push_str("</tr>\n");
        let _ = write!(details, "<h3>{}</h3>\n<ul>\n", html_escape(&g.name));
        for (_, words, f) in flows(e) {
            for (what, d) in f.map(explained).unwrap_or_default() {
                let _ = writeln!(
                    details,
                    "<li>{words}, {}: {} {} {}</li>",
                    html_escape(&what),
                    d.direction.as_str(),
                    html_escape(&d.action),
                    html_escape(&decision_site(project, set, d))
                );
            }
        }
        details.push_str("</ul>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>calint exposure</title>\n<style>\nbody{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}}\nh1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}} h3{{font-size:14px}}\ntable{{border-collapse:collapse;font-size:12px}} th,td{{border:1px solid #ddd;padding:3px 6px;text-align:left}}\ntd.open{{background:#f4cccc}} td.closed{{background:#d9ead3}}\n</style></head><body>\n<h1>calint exposure</h1>\n<p>Red: open (allowed, or no policy selects the workload). \"From any pod\": some pod with labels and a namespace of an attacker's choosing.</p>\n<table>\n<tr><th>group</th><th>ingress policied</th><th>from world</th><th>from other namespaces</th><th>from any pod</th><th>egress policied</th><th>to world</th></tr>\n{rows}</table>\n<h2>Deciding rules</h2>\n{details}</body></html>\n"
    )
}
