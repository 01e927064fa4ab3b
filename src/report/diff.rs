//! Rendering of `calint diff`: JSON (the documented shape), human text, a pull-request
//! comment in Markdown, and SARIF (the findings the change adds).

use super::line_location;
use super::markdown::{cell, link_path};
use super::ports::ports_text;
use super::reach::{decision_json, example_text};
use crate::analysis::reach::Decision;
use crate::analysis::witness::to_json;
use crate::diff::reach::{Change, PairChange};
use crate::diff::{Diff, Side};
use crate::finding::{Finding, Severity};
use crate::model::resource::Direction;
use serde_json::{Value, json};

/// GitHub refuses comments longer than this many characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// Reachability rows listed one by one in the comment; past it rows are grouped by source.
pub const MAX_ROWS: usize = 50;
/// Grouped rows and findings listed in the comment; the rest are counted.
pub const MAX_GROUPED_ROWS: usize = 50;
pub const MAX_FINDINGS: usize = 30;

fn added<'a>(d: &Diff, head: &'a Side) -> Vec<&'a Finding> {
    d.findings_added
        .iter()
        .filter_map(|&i| head.findings.get(i))
        .collect()
}

fn removed<'a>(d: &Diff, base: &'a Side) -> Vec<&'a Finding> {
    d.findings_removed
        .iter()
        .filter_map(|&i| base.findings.get(i))
        .collect()
}

pub fn json(base: &Side, head: &Side, d: &Diff) -> String {
    let changes: Vec<Value> = d
        .reach
        .changes
        .iter()
        .map(|c| {
            json!({
                "from": c.from,
                "to": c.to,
                "change": c.change.as_str(),
                "before": ports_text(&c.before.allowed),
                "after": ports_text(&c.after.allowed),
                "verdict_before": c.before.verdict.as_str(),
                "verdict_after": c.after.verdict.as_str(),
                "example": c.example.as_ref().map(example_text),
                "example_packet": c.example.as_ref().map(|p| to_json(p, Direction::Ingress)),
                "decided_by": {
                    "before": c.decided_before.iter().map(|x| decision_json(&base.project, &base.set, x)).collect::<Vec<_>>(),
                    "after": c.decided_after.iter().map(|x| decision_json(&head.project, &head.set, x)).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "base": base.label,
        "head": head.label,
        "summary": {
            "opened": d.count(Change::Opened),
            "closed": d.count(Change::Closed),
            "changed": d.count(Change::Changed),
            "findings_added": d.findings_added.len(),
            "findings_removed": d.findings_removed.len(),
            "groups": d.reach.groups,
            "pairs": d.reach.pairs,
            "pairs_solved": d.reach.pairs_solved,
            "undecided": d.reach.undecided,
        },
        "findings_added": added(d, head).iter().map(|f| super::json::finding_value(&head.project, f)).collect::<Vec<_>>(),
        "findings_removed": removed(d, base).iter().map(|f| super::json::finding_value(&base.project, f)).collect::<Vec<_>>(),
        "reachability": changes,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "opens 2 connections, closes 1, adds 1 warning" (or "no change in reachability or findings").
pub fn headline(base: &Side, head: &Side, d: &Diff) -> String {
    let mut parts = Vec::new();
    let (o, c, ch) = (
        d.count(Change::Opened),
        d.count(Change::Closed),
        d.count(Change::Changed),
    );
    let mut first_count = true;
    let mut conn = |verb: &str, n: usize| {
        if n > 0 {
            let what = if first_count {
                format!(" {}", if n == 1 { "connection" } else { "connections" })
            } else {
                String::new()
            };
            first_count = false;
            parts.push(format!("{verb} {n}{what}"));
        }
    };
    conn("opens", o);
    conn("closes", c);
    conn("changes", ch);
    let by_sev = |list: &[&Finding]| -> Vec<String> {
        [Severity::Error, Severity::Warning, Severity::Info]
            .iter()
            .filter_map(|s| {
                let n = list.iter().filter(|f| f.severity == *s).count();
                (n > 0).then(|| plural(n, s.as_str()))
            })
            .collect()
    };
    let (a, r) = (added(d, head), removed(d, base));
    if !a.is_empty() {
        parts.push(format!("adds {}", by_sev(&a).join(", ")));
    }
    if !r.is_empty() {
        parts.push(format!("removes {}", by_sev(&r).join(", ")));
    }
    if parts.is_empty() {
        "no change in reachability or findings".to_string()
    } else {
        parts.join(", ")
    }
}

/// A decision in words, with the file and line of its rule when it has one.
fn decision_text(side: &Side, x: &Decision) -> (String, Option<super::LineLocation>) {
    let dir = x.direction.as_str();
    match x.rule {
        Some((pi, ri)) => {
            let found = side
                .set
                .policies
                .get(pi)
                .and_then(|p| side.project.resource(p.resource))
                .and_then(|res| {
                    let rule = res.policy()?.rules(x.direction).get(ri)?;
                    let loc = line_location(&side.project, res.location(rule.head_span()));
                    Some((format!("{} {}", res.reference(), rule.pointer), loc))
                });
            match found {
                Some((what, loc)) => (format!("{dir} {}: {what}", x.action), loc),
                None => (format!("{dir} {}", x.action), None),
            }
        }
        None => match &x.tier {
            Some(t) => (format!("{dir} {} (tier `{t}`)", x.action), None),
            None => (format!("{dir} {}", x.action), None),
        },
    }
}

fn or_nothing(s: String) -> String {
    if s.is_empty() { "nothing".into() } else { s }
}

pub fn human(base: &Side, head: &Side, d: &Diff) -> String {
    let mut out = format!("calint diff: {} -> {}\n", base.label, head.label);
    for c in &d.reach.changes {
        out.push_str(&format!(
            "  {:<8}{} -> {}: {} => {}\n",
            c.change.as_str(),
            c.from,
            c.to,
            or_nothing(ports_text(&c.before.allowed)),
            or_nothing(ports_text(&c.after.allowed)),
        ));
        if let Some(p) = &c.example {
            out.push_str(&format!("          example: {}\n", example_text(p)));
        }
        for (label, side, list) in [
            ("before", base, &c.decided_before),
            ("after", head, &c.decided_after),
        ] {
            for x in list {
                let (text, loc) = decision_text(side, x);
                let at = loc.map_or(String::new(), |l| format!(" ({}:{})", l.file, l.line));
                out.push_str(&format!("          {label}: {text}{at}\n"));
            }
        }
    }
    for (title, side, list) in [
        ("added", head, added(d, head)),
        ("removed", base, removed(d, base)),
    ] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("  findings {title}:\n"));
        for f in list {
            let at = line_location(&side.project, f.location)
                .map_or(String::new(), |l| format!("{}:{}: ", l.file, l.line));
            out.push_str(&format!(
                "    {} {} {at}{}\n",
                f.severity,
                f.code,
                crate::source::printable(&f.message)
            ));
        }
    }
    out.push_str(&format!("{}\n", headline(base, head, d)));
    if d.reach.undecided > 0 {
        out.push_str(&format!(
            "note: {} solver queries timed out; some changes may be missing\n",
            d.reach.undecided
        ));
    }
    out
}

fn link(text: &str, loc: Option<&super::LineLocation>, link_base: Option<&str>) -> String {
    match (loc, link_base) {
        (Some(l), Some(base)) if !l.file.starts_with('/') => {
            format!("[{}]({base}{}#L{})", cell(text), link_path(&l.file), l.line)
        }
        (Some(l), _) => format!("{} ({}:{})", cell(text), cell(&l.file), l.line),
        (None, _) => cell(text),
    }
}

/// The deciding rules of a row, for the directions whose decision differs between the
/// sides (an unchanged "egress: no policy, allowed" is noise in a comment): the head side's
/// linked (links point into the head revision), the base side's as text.
fn decided_cell(base: &Side, head: &Side, c: &PairChange, link_base: Option<&str>) -> String {
    let last = |list: &[Decision], d: Direction| -> Option<Decision> {
        list.iter().rev().find(|x| x.direction == d).cloned()
    };
    let mut before = Vec::new();
    let mut after = Vec::new();
    for d in [Direction::Egress, Direction::Ingress] {
        let (b, a) = (last(&c.decided_before, d), last(&c.decided_after, d));
        let text_b = b.as_ref().map(|x| decision_text(base, x));
        let text_a = a.as_ref().map(|x| decision_text(head, x));
        if text_b.as_ref().map(|t| &t.0) == text_a.as_ref().map(|t| &t.0) {
            continue;
        }
        if let Some((t, l)) = text_b {
            before.push(link(&t, l.as_ref(), None));
        }
        if let Some((t, l)) = text_a {
            after.push(link(&t, l.as_ref(), link_base));
        }
    }
    let none = |v: Vec<String>| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.join("; ")
        }
    };
    format!("before: {}<br>after: {}", none(before), none(after))
}

fn dash(s: String) -> String {
    if s.is_empty() { "—".into() } else { cell(&s) }
}

/// A pull-request comment: headline, reachability table, new findings; always under
/// [`COMMENT_LIMIT`] characters.
pub fn markdown(base: &Side, head: &Side, d: &Diff, link_base: Option<&str>) -> String {
    let mut out = String::from("## calint diff\n\n");
    out.push_str(&format!(
        "**{}** (`{}` → `{}`)\n",
        headline(base, head, d),
        cell(&base.label),
        cell(&head.label)
    ));
    let changes = &d.reach.changes;
    if !changes.is_empty() {
        out.push_str("\n### Reachability\n\n");
        if changes.len() <= MAX_ROWS {
            out.push_str(
                "| change | from | to | before | after | decided by |\n|---|---|---|---|---|---|\n",
            );
            for c in changes {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    c.change.as_str(),
                    cell(&c.from),
                    cell(&c.to),
                    dash(ports_text(&c.before.allowed)),
                    dash(ports_text(&c.after.allowed)),
                    decided_cell(base, head, c, link_base)
                ));
            }
        } else {
            grouped(&mut out, changes);
        }
    }
    let list = added(d, head);
    if !list.is_empty() {
        out.push_str(
            "\n### New findings\n\n| severity | location | code | message |\n|---|---|---|---|\n",
        );
        for f in list.iter().take(MAX_FINDINGS) {
            let loc = line_location(&head.project, f.location);
            let text = loc
                .as_ref()
                .map_or(String::new(), |l| format!("{}:{}", l.file, l.line));
            let location = match (&loc, link_base) {
                (Some(l), Some(b)) if !l.file.starts_with('/') => {
                    format!("[{}]({b}{}#L{})", cell(&text), link_path(&l.file), l.line)
                }
                _ => cell(&text),
            };
            out.push_str(&format!(
                "| {} | {location} | {} | {} |\n",
                f.severity,
                f.code,
                cell(&f.message)
            ));
        }
        if list.len() > MAX_FINDINGS {
            out.push_str(&format!(
                "\n… and {} more new findings.\n",
                list.len() - MAX_FINDINGS
            ));
        }
    }
    if d.reach.undecided > 0 {
        out.push_str(&format!(
            "\n> {} solver queries timed out; some changes may be missing.\n",
            d.reach.undecided
        ));
    }
    bounded(out)
}

/// Many changes: one row per (source group, change) with the destinations counted.
fn grouped(out: &mut String, changes: &[PairChange]) {
    let mut rows: Vec<((&str, Change), Vec<&str>)> = Vec::new();
    for c in changes {
        let key = (c.from.as_str(), c.change);
        match rows.iter_mut().find(|(k, _)| *k == key) {
            Some((_, tos)) => tos.push(&c.to),
            None => rows.push((key, vec![&c.to])),
        }
    }
    rows.sort_by(|a, b| (a.0.1, a.0.0).cmp(&(b.0.1, b.0.0)));
    out.push_str(&format!(
        "{} pairs changed; grouped by source.\n\n| change | from | to |\n|---|---|---|\n",
        changes.len()
    ));
    for ((from, change), tos) in rows.iter().take(MAX_GROUPED_ROWS) {
        let shown: Vec<String> = tos.iter().take(5).map(|t| cell(t)).collect();
        let more = if tos.len() > 5 {
            format!(" and {} more", tos.len() - 5)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "| {} | {} | {} ({}){more} |\n",
            change.as_str(),
            cell(from),
            shown.join(", "),
            plural(tos.len(), "group"),
        ));
    }
    if rows.len() > MAX_GROUPED_ROWS {
        out.push_str(&format!(
            "\n… and {} more sources; the JSON report has every pair.\n",
            rows.len() - MAX_GROUPED_ROWS
        ));
    }
}

/// Cut at a line boundary so the comment fits GitHub's limit, saying so.
fn bounded(mut out: String) -> String {
    const NOTE: &str =
        "\n… truncated to fit a pull-request comment; the JSON report has everything.\n";
    if out.chars().count() < COMMENT_LIMIT {
        return out;
    }
    let budget = COMMENT_LIMIT - NOTE.chars().count() - 1;
    let cut = out.char_indices().nth(budget).map_or(out.len(), |(i, _)| i);
    let cut = out
        .get(..cut)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    out.truncate(cut);
    out.push_str(NOTE);
    out
}

/// SARIF 2.1.0 with the findings the change adds.
pub fn sarif(head: &Side, d: &Diff, help_base: &str) -> String {
    let list: Vec<Finding> = added(d, head).into_iter().cloned().collect();
    super::sarif::render(&head.project, &list, help_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_comments_fit_github() {
        let long = "| a | b |\n".repeat(20_000);
        let out = bounded(long);
        assert!(out.chars().count() < COMMENT_LIMIT);
        assert!(out.ends_with("has everything.\n"));
        assert_eq!(bounded("short\n".into()), "short\n");
    }
}
