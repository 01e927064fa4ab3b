//! Renderers of the reachability graph: JSON, Graphviz dot, Mermaid, and one self-contained
//! HTML page (inline SVG and a from×to matrix; no scripts, no network fetches).

use crate::analysis::reach::{Edge, Group, GroupKind, format_ports};
use crate::analysis::witness::protocol_name;
use serde_json::json;
use std::fmt::Write;

fn kind(g: &Group) -> &'static str {
    match g.kind {
        GroupKind::Workload => "workload",
        GroupKind::Selector => "selector",
        GroupKind::NetworkSet => "network-set",
        GroupKind::Net => "net",
        GroupKind::World => "world",
    }
}

/// "TCP 5432; UDP 53; ICMP", or "any" when every protocol and port is allowed.
pub fn edge_label(e: &Edge) -> String {
    allowed_label(&e.allowed)
}

/// "TCP 5432; UDP 53; ICMP", "any" when every protocol and port is allowed, "" for nothing.
pub fn allowed_label(allowed: &[crate::analysis::reach::AllowedProtocol]) -> String {
    let everything = allowed.len() == crate::analysis::reach::NAMED_PROTOCOLS.len() + 1
        && allowed
            .iter()
            .all(|(_, ports)| ports.as_ref().is_none_or(|r| r.as_slice() == [(0, 65535)]));
    if everything {
        return "any".to_string();
    }
    allowed
        .iter()
        .map(|(p, ports)| {
            let name = if *p == 0 {
                "other protocols".to_string()
            } else {
                protocol_name(*p)
            };
            match ports {
                Some(r) if r.as_slice() == [(0, 65535)] => format!("{name} any port"),
                Some(r) => format!("{name} {}", format_ports(r)),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn json(groups: &[Group], edges: &[Edge], undecided: usize) -> String {
    let doc = json!({
        "version": 1,
        "nodes": groups.iter().enumerate().map(|(i, g)| json!({
            "id": i, "name": g.name, "kind": kind(g),
            "evaluation": if g.concrete { "concrete" } else { "symbolic" },
        })).collect::<Vec<_>>(),
        "edges": edges.iter().map(|e| json!({
            "from": e.from, "to": e.to, "verdict": e.verdict.as_str(),
            "allowed": e.allowed.iter().map(|(p, ports)| json!({
                "protocol": if *p == 0 { "other".to_string() } else { protocol_name(*p) },
                "ports": ports.as_ref().map(|r| format_ports(r)).unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "label": edge_label(e),
        })).collect::<Vec<_>>(),
        "undecided": undecided,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub fn dot(groups: &[Group], edges: &[Edge]) -> String {
    let mut out = String::from(
        "digraph calint {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
    );
    for (i, g) in groups.iter().enumerate() {
        let shape = match g.kind {
            GroupKind::World | GroupKind::Net => ", shape=ellipse",
            GroupKind::NetworkSet => ", shape=folder",
            _ => "",
        };
        let _ = writeln!(out, "  n{i} [label=\"{}\"{shape}];", dot_escape(&g.name));
    }
    for e in edges {
        let style = if e.verdict == crate::analysis::reach::Verdict::Partial {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  n{} -> n{} [label=\"{}\"{style}];",
            e.from,
            e.to,
            dot_escape(&edge_label(e))
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

pub fn mermaid(groups: &[Group], edges: &[Edge]) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, g) in groups.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_escape(&g.name));
    }
    for e in edges {
        let arrow = if e.verdict == crate::analysis::reach::Verdict::Partial {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(
            out,
            "  n{} {arrow}|\"{}\"| n{}",
            e.from,
            mermaid_escape(&edge_label(e)),
            e.to
        );
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One page: a circular-layout SVG of the graph and the from×to matrix.
pub fn html(groups: &[Group], edges: &[Edge]) -> String {
    let n = groups.len().max(1);
    let size = (360.0 + 22.0 * n as f64).min(1600.0);
    let (cx, cy, r) = (size / 2.0, size / 2.0, size / 2.0 - 140.0);
    let pos = |i: usize| {
        let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
        (cx + r * a.cos(), cy + r * a.sin())
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size:.0}\" height=\"{size:.0}\" viewBox=\"0 0 {size:.0} {size:.0}\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#3b6ea5\"/></marker></defs>\n"
    );
    for e in edges {
        let ((x1, y1), (x2, y2)) = (pos(e.from), pos(e.to));
        // Stop short of the node so the arrowhead stays visible.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ex, ey) = (x2 - dx / len * 9.0, y2 - dy / len * 9.0);
        let dash = if e.verdict == crate::analysis::reach::Verdict::Partial {
            " stroke-dasharray=\"5,4\""
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{ex:.1}\" y2=\"{ey:.1}\" stroke=\"#3b6ea5\" stroke-opacity=\"0.55\" stroke-width=\"1.4\" marker-end=\"url(#arrow)\"{dash}><title>{} → {}: {}</title></line>",
            html_escape(groups.get(e.from).map_or("", |g| g.name.as_str())),
            html_escape(groups.get(e.to).map_or("", |g| g.name.as_str())),
            html_escape(&edge_label(e))
        );
    }
    for (i, g) in groups.iter().enumerate() {
        let (x, y) = pos(i);
        let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
        let anchor = if a.cos() < -0.1 {
            "end"
        } else if a.cos() > 0.1 {
            "start"
        } else {
            "middle"
        };
        let (tx, ty) = (x + 12.0 * a.cos(), y + 12.0 * a.sin() + 4.0);
        let fill = match g.kind {
            GroupKind::World | GroupKind::Net => "#c0504d",
            GroupKind::NetworkSet => "#9bbb59",
            _ => "#4f81bd",
        };
        let _ = writeln!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"{fill}\"><title>{}</title></circle><text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"11\" text-anchor=\"{anchor}\">{}</text>",
            html_escape(&g.name),
            html_escape(&g.name)
        );
    }
    svg.push_str("</svg>\n");

    let mut table = String::from("<table>\n<tr><th>from \\ to</th>");
    for g in groups {
        let _ = write!(
            table,
            "<th class=\"col\"><div>{}</div></th>",
            html_escape(&g.name)
        );
    }
    table.push_str("</tr>\n");
    for (a, ga) in groups.iter().enumerate() {
        let _ = write!(table, "<tr><th>{}</th>", html_escape(&ga.name));
        for (b, gb) in groups.iter().enumerate() {
            let cell = edges.iter().find(|e| e.from == a && e.to == b);
            match cell {
                _ if a == b => table.push_str("<td class=\"self\"></td>"),
                Some(e) => {
                    let class = if e.verdict == crate::analysis::reach::Verdict::Partial {
                        "partial"
                    } else {
                        "allowed"
                    };
                    let label = edge_label(e);
                    let _ = write!(
                        table,
                        "<td class=\"{class}\" title=\"{} → {}: {}\">{}</td>",
                        html_escape(&ga.name),
                        html_escape(&gb.name),
                        html_escape(&label),
                        html_escape(&label)
                    );
                }
                None => table.push_str("<td class=\"denied\"></td>"),
            }
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</table>\n");

    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>calint reachability</title>\n<style>\nbody{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}}\nh1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}}\n.legend span{{display:inline-block;margin-right:18px}}\ntable{{border-collapse:collapse;font-size:11px}}\nth,td{{border:1px solid #ddd;padding:3px 5px;white-space:nowrap}}\nth.col{{height:140px;vertical-align:bottom}} th.col div{{writing-mode:vertical-rl;transform:rotate(180deg)}}\ntd.allowed{{background:#d9ead3}} td.partial{{background:#fff2cc}} td.denied{{background:#fafafa}} td.self{{background:#eee}}\n</style></head><body>\n<h1>calint reachability</h1>\n<p class=\"legend\"><span>{} groups</span><span>{} allowed or partial flows</span><span>solid: every packet allowed · dashed / yellow: some packets allowed</span></p>\n<h2>Graph</h2>\n{svg}<h2>Matrix (rows: from, columns: to)</h2>\n{table}</body></html>\n",
        groups.len(),
        edges.len()
    )
}
