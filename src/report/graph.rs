//! Renderers of the reachability graph: JSON, Graphviz dot, Mermaid, and one self-contained
//! HTML page (inline SVG and a from×to matrix; no scripts, no network fetches).

use super::ports::{allowed_label, format_ports};
use super::{group_kind as kind, html_escape};
use crate::analysis::graph::{Edge, ReachGraph, edge_between};
use crate::analysis::groups::GroupKind;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde_json::json;
use std::fmt::Write;

/// The edges in the order they were added ((from, to) order), with their ends as group
/// indexes.
fn edges(graph: &ReachGraph) -> impl Iterator<Item = (usize, usize, &Edge)> {
    graph
        .edge_references()
        .map(|e| (e.source().index(), e.target().index(), e.weight()))
}

/// The name of group `i`.
fn name(graph: &ReachGraph, i: usize) -> &str {
    graph
        .node_weight(NodeIndex::new(i))
        .map_or("", |g| g.name.as_str())
}

/// "TCP 5432; UDP 53; ICMP", or "any" when every protocol and port is allowed.
pub fn edge_label(e: &Edge) -> String {
    allowed_label(&e.allowed)
}

pub fn json(graph: &ReachGraph, undecided: usize) -> String {
    let doc = json!({
        "version": 1,
        "nodes": graph.node_weights().enumerate().map(|(i, g)| json!({
            "id": i, "name": g.name, "kind": kind(g),
            "evaluation": if g.concrete { "concrete" } else { "symbolic" },
        })).collect::<Vec<_>>(),
        "edges": edges(graph).map(|(from, to, e)| json!({
            "from": from, "to": to, "verdict": e.verdict.as_str(),
            "allowed": e.allowed.iter().map(|(p, ports)| json!({
                "protocol": p.name(),
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

pub fn dot(graph: &ReachGraph) -> String {
    let mut out = String::from(
        "digraph calint {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
    );
    for (i, g) in graph.node_weights().enumerate() {
        let shape = match g.kind {
            GroupKind::World | GroupKind::Net => ", shape=ellipse",
            GroupKind::NetworkSet => ", shape=folder",
            _ => "",
        };
        let _ = writeln!(out, "  n{i} [label=\"{}\"{shape}];", dot_escape(&g.name));
    }
    for (from, to, e) in edges(graph) {
        let style = if e.verdict == crate::analysis::reach::Verdict::Partial {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  n{} -> n{} [label=\"{}\"{style}];",
            from,
            to,
            dot_escape(&edge_label(e))
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

pub fn mermaid(graph: &ReachGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, g) in graph.node_weights().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_escape(&g.name));
    }
    for (from, to, e) in edges(graph) {
        let arrow = if e.verdict == crate::analysis::reach::Verdict::Partial {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(
            out,
            "  n{} {arrow}|\"{}\"| n{}",
            from,
            mermaid_escape(&edge_label(e)),
            to
        );
    }
    out
}

/// Shorten a label drawn on the canvas (the full text is in the edge's tooltip and the matrix).
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The SVG: groups on a circle, labels radial (so neighbours never overlap), each edge a
/// curve bent to its own left so `A → B` and `B → A` never overlap, edge labels on the
/// curves, and each group's blast radius next to its name.
fn svg(graph: &ReachGraph, radius: &[usize]) -> (String, usize) {
    use std::f64::consts::{FRAC_PI_2, TAU};
    let n = graph.node_count().max(1);
    // At least 18 px of arc per group: radial labels 11 px high never touch.
    // ... and room inside the circle for the edge labels (about 60 × 13 px each, on a third
    // of the disc).
    let label_room = (3.0 * graph.edge_count() as f64 * 60.0 * 13.0 / std::f64::consts::PI).sqrt();
    let r = (n as f64 * 18.0 / TAU).max(label_room).max(160.0);
    // Room for the longest radial label (name and blast radius; ~6.5 px per character).
    let longest = graph
        .node_weights()
        .map(|g| g.name.chars().count())
        .max()
        .unwrap_or(0);
    let margin = 40.0 + 6.5 * (longest + 5) as f64;
    let size = 2.0 * (r + margin);
    let c = size / 2.0;
    let angle = |i: usize| TAU * i as f64 / n as f64 - FRAC_PI_2;
    let pos = |i: usize| (c + r * angle(i).cos(), c + r * angle(i).sin());
    let mut out = format!(
        "<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{size:.0}\" height=\"{size:.0}\" viewBox=\"0 0 {size:.0} {size:.0}\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#3b6ea5\"/></marker></defs>\n"
    );
    let mut labels = String::new();
    // Where the radial node labels are (generous estimate: 6.5 px per character at 11 px,
    // 14 px thick), as quadrilaterals.
    let node_labels: Vec<[(f64, f64); 4]> = graph
        .node_weights()
        .enumerate()
        .map(|(i, g)| {
            let a = angle(i);
            let (ux, uy) = (a.cos(), a.sin());
            let (vx, vy) = (-uy * 7.0, ux * 7.0);
            let len = 6.5 * (g.name.chars().count() + 5) as f64;
            let (sx, sy) = (c + (r + 9.0) * ux, c + (r + 9.0) * uy);
            let (ex, ey) = (sx + len * ux, sy + len * uy);
            [
                (sx + vx, sy + vy),
                (ex + vx, ey + vy),
                (ex - vx, ey - vy),
                (sx - vx, sy - vy),
            ]
        })
        .collect();
    // Boxes of the edge labels placed so far (x0, y0, x1, y1).
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut unplaced = 0usize;
    for (from, to, e) in edges(graph) {
        let ((x1, y1), (x2, y2)) = (pos(from), pos(to));
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        // Control point off the chord, to the left of the direction of travel: the reverse
        // edge bends the other way.
        let bend = (len * 0.15).max(24.0);
        let (nx, ny) = (dy / len, -dx / len);
        let (qx, qy) = ((x1 + x2) / 2.0 + nx * bend, (y1 + y2) / 2.0 + ny * bend);
        // Stop short of the node so the arrowhead stays visible.
        let (tx, ty) = (x2 - qx, y2 - qy);
        let tl = (tx * tx + ty * ty).sqrt().max(1.0);
        let (ex, ey) = (x2 - tx / tl * 9.0, y2 - ty / tl * 9.0);
        let dash = if e.verdict == crate::analysis::reach::Verdict::Partial {
            " stroke-dasharray=\"5,4\""
        } else {
            ""
        };
        let label = edge_label(e);
        let title = format!(
            "{} → {}: {}",
            html_escape(name(graph, from)),
            html_escape(name(graph, to)),
            html_escape(&label)
        );
        let _ = writeln!(
            out,
            "<path class=\"edge\" data-from=\"{}\" data-to=\"{}\" d=\"M {x1:.1} {y1:.1} Q {qx:.1} {qy:.1} {ex:.1} {ey:.1}\" fill=\"none\" stroke=\"#3b6ea5\" stroke-opacity=\"0.6\" stroke-width=\"1.4\" marker-end=\"url(#arrow)\"{dash}><title>{title}</title></path>",
            from, to
        );
        // The label goes at the first point along the curve (from the middle outwards) where
        // its box, estimated conservatively, meets no label or node placed so far.
        let text = short(&label, 28);
        let (w, h) = (5.6 * text.chars().count() as f64 + 6.0, 13.0);
        let at = |t: f64| {
            let u = 1.0 - t;
            (
                u * u * x1 + 2.0 * u * t * qx + t * t * x2,
                u * u * y1 + 2.0 * u * t * qy + t * t * y2,
            )
        };
        let free = |(mx, my): (f64, f64), placed: &[(f64, f64, f64, f64)]| {
            let me = (mx - w / 2.0, my - h / 2.0, mx + w / 2.0, my + h / 2.0);
            let quad = [(me.0, me.1), (me.2, me.1), (me.2, me.3), (me.0, me.3)];
            placed
                .iter()
                .all(|b| me.2 < b.0 || b.2 < me.0 || me.3 < b.1 || b.3 < me.1)
                && node_labels.iter().all(|q| !quads_overlap(&quad, q))
                && (0..graph.node_count()).all(|i| {
                    let (px, py) = pos(i);
                    px + 8.0 < me.0 || me.2 < px - 8.0 || py + 8.0 < me.1 || me.3 < py - 8.0
                })
        };
        // Along the curve from the middle outwards, on it or just beside it.
        let spot = (0..17).flat_map(|k| {
            let t = 0.5 + if k % 2 == 0 { 1.0 } else { -1.0 } * f64::from((k + 1) / 2) * 0.05;
            [0.0, 9.0, -9.0].map(move |off| (t, off))
        });
        let found = spot
            .map(|(t, off)| {
                let (x, y) = at(t);
                (x + nx * off, y + ny * off)
            })
            .find(|&p| free(p, &placed));
        // A label that fits nowhere is left to the tooltip and the matrix.
        let Some((mx, my)) = found else {
            unplaced += 1;
            continue;
        };
        placed.push((mx - w / 2.0, my - h / 2.0, mx + w / 2.0, my + h / 2.0));
        let _ = writeln!(
            labels,
            "<text class=\"edge-label\" x=\"{mx:.1}\" y=\"{my:.1}\" dy=\"0.35em\" font-size=\"9\" text-anchor=\"middle\" fill=\"#1f3f66\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"><title>{title}</title>{}</text>",
            html_escape(&text)
        );
    }
    out.push_str(&labels);
    for (i, g) in graph.node_weights().enumerate() {
        let (x, y) = pos(i);
        let a = angle(i);
        let fill = match g.kind {
            GroupKind::World | GroupKind::Net => "#c0504d",
            GroupKind::NetworkSet => "#9bbb59",
            _ => "#4f81bd",
        };
        // Radial labels: on the left half the text is turned over so it reads left to right.
        let deg = a.to_degrees();
        let (anchor, rot) = if a.cos() < -1e-9 {
            ("end", deg + 180.0)
        } else {
            ("start", deg)
        };
        let (lx, ly) = (x + 11.0 * a.cos(), y + 11.0 * a.sin());
        let reach = radius.get(i).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "<circle class=\"node\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"{fill}\"><title>{}</title></circle><text class=\"node-label\" data-reach=\"{reach}\" x=\"{lx:.1}\" y=\"{ly:.1}\" dy=\"0.35em\" font-size=\"11\" text-anchor=\"{anchor}\" transform=\"rotate({rot:.2} {lx:.1} {ly:.1})\">{} <tspan class=\"reach\" fill=\"#8a2b2b\" font-weight=\"bold\">⟶{reach}</tspan></text>",
            html_escape(&g.name),
            html_escape(&g.name)
        );
    }
    out.push_str("</svg>\n");
    if unplaced > 0 {
        let _ = writeln!(
            out,
            "<p class=\"unplaced\">{unplaced} of {} edge labels did not fit on the drawing without overlapping: the tooltip and the matrix below show them.</p>",
            graph.edge_count()
        );
    }
    (out, unplaced)
}

/// Separating-axis test for two convex quadrilaterals.
fn quads_overlap(p: &[(f64, f64); 4], q: &[(f64, f64); 4]) -> bool {
    for poly in [p, q] {
        for i in 0..4 {
            let (x1, y1) = poly[i];
            let (x2, y2) = poly[(i + 1) % 4];
            let (ax, ay) = (y1 - y2, x2 - x1);
            let proj = |pts: &[(f64, f64); 4]| {
                pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (x, y)| {
                    let d = x * ax + y * ay;
                    (lo.min(d), hi.max(d))
                })
            };
            let ((a0, a1), (b0, b1)) = (proj(p), proj(q));
            if a1 <= b0 || b1 <= a0 {
                return false;
            }
        }
    }
    true
}

const LEGEND: &str = "<div id=\"legend\" class=\"legend\">\n<span><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" fill=\"#4f81bd\"/></svg> workload or selector group</span>\n<span><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" fill=\"#9bbb59\"/></svg> network set</span>\n<span><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" fill=\"#c0504d\"/></svg> world / addresses</span>\n<span><svg width=\"34\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"34\" y2=\"5\" stroke=\"#3b6ea5\" stroke-width=\"1.6\"/></svg> every packet allowed</span>\n<span><svg width=\"34\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"34\" y2=\"5\" stroke=\"#3b6ea5\" stroke-width=\"1.6\" stroke-dasharray=\"5,4\"/></svg> some packets allowed</span>\n<span>edges bend to the left of their direction, so A → B and B → A stay apart; the label is what is allowed</span>\n<span><b style=\"color:#8a2b2b\">⟶N</b> blast radius: groups reachable through chains of allowed connections (see <code>calint paths</code>)</span>\n</div>\n";

/// One page: a circular-layout SVG of the graph with each group's blast radius, a legend,
/// the blast radius table and the from×to matrix.
pub fn html(graph: &ReachGraph) -> String {
    let radius = crate::analysis::paths::blast_radius(graph);
    let (svg, _) = svg(graph, &radius);
    let mut order: Vec<usize> = (0..graph.node_count()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(radius.get(i).copied().unwrap_or(0)));
    let mut blast = String::from(
        "<table id=\"blast\">\n<tr><th>group</th><th>reaches (transitively)</th><th>directly</th></tr>\n",
    );
    for i in order {
        let Some(g) = graph.node_weight(NodeIndex::new(i)) else {
            continue;
        };
        let direct = graph.edges(NodeIndex::new(i)).count();
        let _ = writeln!(
            blast,
            "<tr><th>{}</th><td>{}</td><td>{direct}</td></tr>",
            html_escape(&g.name),
            radius.get(i).copied().unwrap_or(0)
        );
    }
    blast.push_str("</table>\n");
    let mut table = String::from("<table>\n<tr><th>from \\ to</th>");
    for g in graph.node_weights() {
        let _ = write!(
            table,
            "<th class=\"col\"><div>{}</div></th>",
            html_escape(&g.name)
        );
    }
    table.push_str("</tr>\n");
    for (a, ga) in graph.node_weights().enumerate() {
        let _ = write!(table, "<tr><th>{}</th>", html_escape(&ga.name));
        for (b, gb) in graph.node_weights().enumerate() {
            let cell = edge_between(graph, a, b);
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
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>calint reachability</title>\n<style>\nbody{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}}\nh1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}}\n.legend{{font-size:12px;margin:8px 0}} .legend span{{display:inline-block;margin:2px 18px 2px 0;vertical-align:middle}} .legend svg{{vertical-align:middle}}\ntable{{border-collapse:collapse;font-size:11px}}\nth,td{{border:1px solid #ddd;padding:3px 5px;white-space:nowrap}}\nth.col{{height:140px;vertical-align:bottom}} th.col div{{writing-mode:vertical-rl;transform:rotate(180deg)}}\ntd.allowed{{background:#d9ead3}} td.partial{{background:#fff2cc}} td.denied{{background:#fafafa}} td.self{{background:#eee}}\n</style></head><body>\n<h1>calint reachability</h1>\n<p class=\"summary\"><span>{} groups</span> · <span>{} allowed or partial flows</span></p>\n{LEGEND}<h2>Graph</h2>\n{svg}<h2>Blast radius</h2>\n{blast}<h2>Matrix (rows: from, columns: to)</h2>\n{table}</body></html>\n",
        graph.node_count(),
        graph.edge_count()
    )
}
