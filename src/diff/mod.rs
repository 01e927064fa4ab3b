//! Semantic diff of two trees: which findings a change adds or removes, and which connections
//! between groups of endpoints it opens, closes or changes (`calint diff`).
//!
//! Both sides go through the same `check` pipeline ([`Side`]); findings are matched by what
//! they are (code, resource, pointer), never by line or file, so moving a file or editing
//! above a finding is no change. Reachability is compared for every ordered pair of groups
//! of either side ([`reach::compare`]): pairs whose relevant policies are semantically
//! identical on both sides are not solved again.
//!
//! Layer 11: uses `check` and below; rendered by `report::diff`.

pub mod git;
pub mod reach;
pub mod staged;

use crate::analysis::ir::PolicySet;
use crate::finding::Finding;
use crate::finding::ResourceRef;
use crate::project::Project;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// One side of a diff: the tree as loaded and checked, and its policy set.
pub struct Side {
    /// What the user named: a revision, a directory, `worktree`, `staged promoted`.
    pub label: String,
    pub project: Project,
    pub findings: Vec<Finding>,
    pub set: PolicySet,
}

impl Side {
    pub fn new(
        label: String,
        project: Project,
        findings: Vec<Finding>,
        target: crate::validate::CalicoVersion,
    ) -> Side {
        // Reachability is about workload endpoints: the normal policy list (spec §4.8).
        let set = PolicySet::for_version(&project, target).into_workload_view();
        Side {
            label,
            project,
            findings,
            set,
        }
    }
}

/// Everything `calint diff` reports.
pub struct Diff {
    /// Indices into the head side's findings.
    pub findings_added: Vec<usize>,
    /// Indices into the base side's findings.
    pub findings_removed: Vec<usize>,
    pub reach: reach::Comparison,
}

impl Diff {
    pub fn count(&self, change: reach::Change) -> usize {
        self.reach
            .changes
            .iter()
            .filter(|c| c.change == change)
            .count()
    }
}

/// Options of [`diff`].
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Per-query solver timeout.
    pub timeout_ms: u32,
    /// Groups of the configuration (`groups:`); empty: every workload, set and the world.
    pub group_defs: Vec<crate::config::GroupDef>,
    /// Compare staged kinds as their enforced kinds when matching findings (`--staged`:
    /// the same resource is a StagedNetworkPolicy on one side, a NetworkPolicy on the other).
    pub staged_as_enforced: bool,
}

/// Compare `base` with `head`.
pub fn diff(base: &Side, head: &Side, opts: &DiffOptions) -> Result<Diff, String> {
    let (findings_removed, findings_added) = match_findings(base, head, opts.staged_as_enforced);
    let reach = reach::compare(base, head, &opts.group_defs, opts.timeout_ms)?;
    Ok(Diff {
        findings_added,
        findings_removed,
        reach,
    })
}

/// What identifies a finding across revisions: code, resource (or, for findings outside any
/// resource, the text of its line), and pointer.
fn identity(
    side: &Side,
    f: &Finding,
    staged_as_enforced: bool,
    renamed: &HashMap<ResourceRef, ResourceRef>,
) -> (String, String, String) {
    let place = match &f.resource {
        Some(r) => {
            let r = renamed.get(r).unwrap_or(r);
            let kind = if staged_as_enforced {
                staged::enforced_kind_name(&r.kind)
            } else {
                r.kind.as_str()
            };
            format!("{kind} {}/{}", r.namespace.as_deref().unwrap_or(""), r.name)
        }
        // Outside any resource (a YAML syntax error, a file that is not valid JSON): the text
        // of the line it points at, not the file's path, so a moved or renamed file with the
        // same mistake is the same finding, and lines added above it change nothing.
        None => side
            .project
            .sources
            .get(f.location.file)
            .map_or(String::new(), |s| {
                let start = s.clamp(f.location.span.start);
                let begin = s.text[..start].rfind('\n').map_or(0, |i| i + 1);
                let end = s.text[start..]
                    .find('\n')
                    .map_or(s.text.len(), |i| start + i);
                let mut h = std::collections::hash_map::DefaultHasher::new();
                s.text[begin..end].trim().hash(&mut h);
                format!("line {:016x}", h.finish())
            }),
    };
    (
        f.code.to_string(),
        place,
        f.pointer.as_deref().unwrap_or_default().to_string(),
    )
}

/// (removed base findings, added head findings), each sorted by index. Findings with the same
/// identity are paired as a multiset: equal messages first, then any.
fn match_findings(base: &Side, head: &Side, staged: bool) -> (Vec<usize>, Vec<usize>) {
    let renamed = renames(base, head);
    let none = HashMap::new();
    let mut buckets: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, f) in base.findings.iter().enumerate() {
        buckets
            .entry(identity(base, f, staged, &renamed))
            .or_default()
            .push(i);
    }
    let mut unmatched_head = Vec::new();
    let keys: Vec<_> = head
        .findings
        .iter()
        .map(|f| identity(head, f, staged, &none))
        .collect();
    // First pass: same identity and same message.
    let mut pending = Vec::new();
    for (i, (f, key)) in head.findings.iter().zip(&keys).enumerate() {
        let hit = buckets.get_mut(key).and_then(|b| {
            let pos = b.iter().position(|&j| {
                base.findings
                    .get(j)
                    .is_some_and(|bf| bf.message == f.message)
            })?;
            Some(b.remove(pos))
        });
        if hit.is_none() {
            pending.push(i);
        }
    }
    // Second pass: same identity, message changed (it may quote a moved file's name).
    for i in pending {
        let hit = keys
            .get(i)
            .and_then(|k| buckets.get_mut(k))
            .filter(|b| !b.is_empty())
            .map(|b| b.remove(0));
        if hit.is_none() {
            unmatched_head.push(i);
        }
    }
    let mut removed: Vec<usize> = buckets.into_values().flatten().collect();
    removed.sort_unstable();
    // Third pass: a rule moved within its list (a rule inserted above it) keeps its
    // findings when the rule's text and the message, rule positions aside, are the same.
    let moved_key = |side: &Side, f: &Finding, key: (String, String, String)| {
        let (dir, rest) = rule_pointer(&key.2)?;
        Some((
            key.0,
            key.1,
            dir.to_string(),
            rest.to_string(),
            rule_text(side, f)?,
            without_rule_positions(&f.message),
        ))
    };
    let mut moved: BTreeMap<_, Vec<usize>> = BTreeMap::new();
    for &i in &removed {
        if let Some(f) = base.findings.get(i) {
            if let Some(k) = moved_key(base, f, identity(base, f, staged, &renamed)) {
                moved.entry(k).or_default().push(i);
            }
        }
    }
    let mut matched_base = HashSet::new();
    unmatched_head.retain(|&i| {
        let hit = head.findings.get(i).and_then(|f| {
            let key = keys.get(i)?.clone();
            let b = moved.get_mut(&moved_key(head, f, key)?)?;
            (!b.is_empty()).then(|| b.remove(0))
        });
        match hit {
            Some(j) => {
                matched_base.insert(j);
                false
            }
            None => true,
        }
    });
    removed.retain(|i| !matched_base.contains(i));
    (removed, unmatched_head)
}

/// `/spec/ingress/3/source` → (`/spec/ingress`, `/source`).
fn rule_pointer(pointer: &str) -> Option<(&str, &str)> {
    for dir in ["/spec/ingress/", "/spec/egress/"] {
        if let Some(rest) = pointer.strip_prefix(dir) {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                return Some((dir.trim_end_matches('/'), rest.get(digits..).unwrap_or("")));
            }
        }
    }
    None
}

/// The message with rule positions (`/spec/egress/2`) blanked.
fn without_rule_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = ["/spec/ingress/", "/spec/egress/"]
        .iter()
        .filter_map(|d| rest.find(d).map(|i| i + d.len()))
        .min()
    {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        out.push('_');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// The source text of the rule a finding points at, each line trimmed (indentation may
/// change when a file is reorganised).
fn rule_text(side: &Side, f: &Finding) -> Option<String> {
    use crate::model::resource::Direction;
    let pointer = f.pointer.as_deref()?;
    let wanted = f.resource.as_ref()?;
    let (dir, _) = rule_pointer(pointer)?;
    let index: usize = pointer
        .strip_prefix(dir)?
        .trim_start_matches('/')
        .split('/')
        .next()?
        .parse()
        .ok()?;
    let direction = if dir.ends_with("ingress") {
        Direction::Ingress
    } else {
        Direction::Egress
    };
    let res = side
        .project
        .resources
        .iter()
        .find(|r| r.file == f.location.file && r.reference() == *wanted)?;
    let rule = res.policy()?.rules(direction).get(index)?;
    let text = side
        .project
        .sources
        .get(res.file)?
        .text
        .get(rule.span.range())?;
    Some(text.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
}

/// Policies renamed without a change of meaning: a base policy whose name is gone from head,
/// paired with a head policy of the same kind and namespace that is new and means the same
/// (see [`reach::fingerprint::policy_meaning`]). Their findings are then the same findings.
fn renames(base: &Side, head: &Side) -> HashMap<ResourceRef, ResourceRef> {
    let refs = |s: &Side| -> HashSet<ResourceRef> {
        s.project.resources.iter().map(|r| r.reference()).collect()
    };
    let (in_base, in_head) = (refs(base), refs(head));
    let only = |s: &Side, other: &HashSet<ResourceRef>| -> Vec<(ResourceRef, u64)> {
        s.set
            .policies
            .iter()
            .filter_map(|p| {
                let r = s.project.resource(p.resource)?.reference();
                (!other.contains(&r)).then(|| (r, reach::fingerprint::policy_meaning(&s.set, p)))
            })
            .collect()
    };
    let mut added = only(head, &in_base);
    let mut out = HashMap::new();
    for (r, meaning) in only(base, &in_head) {
        let hit = added
            .iter()
            .position(|(h, m)| *m == meaning && h.kind == r.kind && h.namespace == r.namespace);
        if let Some(i) = hit {
            out.insert(r, added.remove(i).0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_positions() {
        assert_eq!(
            rule_pointer("/spec/egress/12/destination"),
            Some(("/spec/egress", "/destination"))
        );
        assert_eq!(rule_pointer("/spec/ingress/0"), Some(("/spec/ingress", "")));
        assert_eq!(rule_pointer("/spec/selector"), None);
        assert_eq!(rule_pointer("/spec/ingress/x"), None);
        assert_eq!(
            without_rule_positions("shadowed by /spec/egress/10 and /spec/ingress/2 (Allow)"),
            "shadowed by /spec/egress/_ and /spec/ingress/_ (Allow)"
        );
    }
}
