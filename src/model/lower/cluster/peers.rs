//! The peers of a rule (`namespaces`, `pods`, `networks`, and the kinds Calico cannot
//! convert) and the subject's selectors, read from the raw nodes with the CRD's checks.

use super::*;

/// A `null` list entry (the API server rejects it: entries are objects). `Fields` reads treat
/// null as absent, so without this report the entry would vanish silently.
pub(super) fn null_entry<T>(r: &mut Reader, node: &Node, ptr: Lazy<'_>) -> Option<T> {
    if node.is_null() {
        r.report(node.span, ptr, "list entries must be objects, found null");
    }
    None
}

/// Exactly one of `keys` is set (CRD `minProperties: 1`, `maxProperties: 1`).
pub(super) fn exactly_one(
    r: &mut Reader,
    f: &Fields<'_>,
    node: &Node,
    ptr: Lazy<'_>,
    what: &str,
    keys: &[&str],
) -> bool {
    // A null value is an absent one for the API server.
    let set: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    match set.len() {
        1 => true,
        0 => {
            r.report(
                node.span,
                ptr,
                format!("{what} must set exactly one of {}", keys.join(", ")),
            );
            false
        }
        _ => {
            r.report(
                node.span,
                ptr,
                format!(
                    "{what} must set exactly one of {} (found {})",
                    keys.join(", "),
                    set.join(" and ")
                ),
            );
            false
        }
    }
}

/// A Kubernetes label selector used as a namespace selector: empty = `all()`.
pub(super) fn namespace_selector_text(
    r: &mut Reader,
    node: &Node,
    ptr: Lazy<'_>,
) -> Option<String> {
    let terms = label_selector_terms(r, node, ptr)?;
    Some(if terms.is_empty() {
        "all()".to_string()
    } else {
        join_terms(None, &terms)
    })
}

/// `pods: {namespaceSelector, podSelector}` → (namespace selector, pod selector) texts.
/// AdminNetworkPolicy and BaselineAdminNetworkPolicy require both selectors;
/// ClusterNetworkPolicy requires `podSelector` (an absent namespace selector is empty).
pub(super) fn pods_selectors(
    r: &mut Reader,
    node: &Node,
    ptr: Lazy<'_>,
    require_ns: bool,
) -> Option<(Spanned<String>, Spanned<String>)> {
    let f = r.fields(
        node,
        ptr,
        "pods selector",
        &["namespaceSelector", "podSelector"],
    )?;
    let mut missing = Vec::new();
    if require_ns && f.get("namespaceSelector").is_none() {
        missing.push("namespaceSelector");
    }
    if f.get("podSelector").is_none() {
        missing.push("podSelector");
    }
    if !missing.is_empty() {
        let verb = if missing.len() > 1 { "are" } else { "is" };
        r.report(
            node.span,
            ptr,
            format!("`{}` {verb} required in `pods`", missing.join("` and `")),
        );
        return None;
    }
    let ns = match f.get("namespaceSelector") {
        Some((n, p)) => Spanned::new(namespace_selector_text(r, n, p)?, n.span),
        None => Spanned::new("all()".to_string(), node.span),
    };
    let (pn, pp) = f.get("podSelector")?;
    let terms = label_selector_terms(r, pn, pp)?;
    let pods = Spanned::new(join_terms(Some(ORCHESTRATOR_TERM), &terms), pn.span);
    Some((ns, pods))
}

/// Why a rule could not be converted (Calico then fails closed).
pub(super) enum Unconvertible {
    Peer(&'static str),
    Other(String),
}

/// One peer → the entity it becomes; `Err` when Calico's conversion fails on it.
pub(super) fn peer(
    r: &mut Reader,
    flavor: Flavor,
    node: &Node,
    ptr: Lazy<'_>,
    direction: Direction,
) -> Option<Result<EntityRule, Unconvertible>> {
    let allowed: &[&str] = match direction {
        Direction::Ingress => INGRESS_PEERS,
        Direction::Egress => flavor.egress_peers,
    };
    let f = r
        .fields(node, ptr, "peer", allowed)
        .or_else(|| null_entry(r, node, ptr))?;
    if !exactly_one(r, &f, node, ptr, "a peer", allowed) {
        return None;
    }
    let mut entity = EntityRule {
        span: Some(node.span),
        ..EntityRule::default()
    };
    if let Some((n, p)) = f.get("namespaces") {
        let ns = namespace_selector_text(r, n, p)?;
        entity.namespace_selector = Some(Box::new(r.selector(Spanned::new(ns, n.span))));
    } else if let Some((n, p)) = f.get("pods") {
        let (ns, pods) = pods_selectors(r, n, p, flavor.kind != Kind::ClusterNetworkPolicy)?;
        entity.namespace_selector = Some(Box::new(r.selector(ns)));
        entity.selector = Some(r.selector(pods));
    } else if let Some((n, p)) = f.get("networks") {
        let nets = r.list(n, p, |r, n, p| r.string(n, p).map(|s| (s, p.pointer())));
        let count = n.as_seq().map_or(0, <[Node]>::len);
        if !(1..=MAX_NETWORKS).contains(&count) {
            r.report(
                n.span,
                p,
                format!("`networks` must have 1 to {MAX_NETWORKS} entries (found {count})"),
            );
            return None;
        }
        let mut failed = None;
        for (raw, p) in nets {
            // The CRD's own check (CEL): v1alpha1 only tells IPv4 from IPv6 and leaves the rest
            // to the implementation; v1alpha2 requires a CIDR.
            let family_ok = raw.value.contains(':') != raw.value.contains('.');
            if raw.value.len() > 43 || !family_ok {
                r.report(
                    raw.span,
                    &p,
                    format!(
                        "`{}` is not an IPv4 or IPv6 CIDR of at most 43 characters",
                        raw.value
                    ),
                );
                return None;
            }
            match parse_cidr(&raw.value) {
                Ok(c) => entity.nets.push(NetField {
                    raw,
                    parsed: Ok(c.network()),
                }),
                Err(e) if flavor.kind == Kind::ClusterNetworkPolicy => {
                    r.report(raw.span, &p, format!("invalid CIDR: {}", e.0));
                    return None;
                }
                Err(e) => {
                    failed.get_or_insert(format!("`{}` is not a CIDR ({})", raw.value, e.0));
                }
            }
        }
        if let Some(reason) = failed {
            return Some(Err(Unconvertible::Other(reason)));
        }
    } else if f.has("nodes") {
        return Some(Err(Unconvertible::Peer("nodes")));
    }
    Some(Ok(entity))
}
