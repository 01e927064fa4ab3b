//! The posture keys of `.calint.yaml`:
//!
//! ```yaml
//! public:                       # world-exposure (CAL311): what may be reached from the world
//!   - group: shop/frontend      # a workload, a configured group or a group expression
//!     ports: "TCP 443, 8443"    # PROTOCOL [PORTS]; clauses separated by `;` ("TCP 80,443; UDP 53")
//! isolation:                    # unisolated-workload (CAL310)
//!   ingress: true               # default true
//!   egress: false               # default false: egress is often left open on purpose
//! assertions:
//!   - no-path: {from: world, to: shop/database, max-hops: 3}   # CAL301 when a path exists
//! ```

use crate::analysis::reach::AllowedProtocol;
use crate::load::tree::Node;
use crate::model::lower::reader::Reader;
use crate::pointer::Lazy;
pub use crate::posture::{NoPathDef, PostureConfig, PublicDef};
use crate::source::Spanned;

/// Parse "TCP 443, 8443; UDP 53; ICMP" (protocol names or numbers; ports or ranges; a
/// protocol alone means every port).
pub fn parse_ports(text: &str) -> Result<Vec<AllowedProtocol>, String> {
    let mut out: Vec<AllowedProtocol> = Vec::new();
    for clause in text.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        let (proto, ports) = match clause.split_once(char::is_whitespace) {
            Some((p, rest)) => (p, Some(rest.trim())),
            None => (clause, None),
        };
        let protocol = crate::model::port::Protocol::from_str(proto);
        let number = match protocol.number() {
            Some(n) if protocol.is_valid() => n,
            _ => return Err(format!("unknown protocol `{proto}`")),
        };
        let ranges = match ports.filter(|p| !p.is_empty()) {
            None => None,
            Some(list) => {
                let mut ranges = Vec::new();
                for item in list.split(',').map(str::trim) {
                    let (lo, hi) = item.split_once('-').unwrap_or((item, item));
                    let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u16>(), hi.trim().parse::<u16>())
                    else {
                        return Err(format!("`{item}` is not a port or a port range"));
                    };
                    if lo > hi {
                        return Err(format!("port range `{item}` is empty"));
                    }
                    ranges.push((lo, hi));
                }
                ranges.sort_unstable();
                Some(ranges)
            }
        };
        out.push((crate::model::port::FlowProtocol::Number(number), ranges));
    }
    if out.is_empty() {
        return Err("no protocol given".to_string());
    }
    Ok(out)
}

/// `public:`: a list of `{group, ports}`.
pub fn read_public(node: &Node, ptr: Lazy<'_>, r: &mut Reader) -> Vec<PublicDef> {
    r.list(node, ptr, |r, n, p| {
        let f = r.fields(n, p, "public entry", &["group", "ports"])?;
        let group = r.opt_string(&f, "group");
        let ports = r.opt_string(&f, "ports");
        let (Some(group), Some(ports)) = (group, ports) else {
            r.report(
                n.span,
                p,
                "a public entry needs `group` and `ports` (e.g. `{group: shop/frontend, ports: \"TCP 443\"}`)",
            );
            return None;
        };
        match parse_ports(&ports.value) {
            Ok(allowed) => Some(PublicDef {
                span: n.span,
                group,
                ports,
                allowed,
            }),
            Err(e) => {
                r.report(ports.span, p, format!("invalid `ports`: {e}"));
                None
            }
        }
    })
}

/// `isolation:`: `{ingress: bool, egress: bool}`.
pub fn read_isolation(node: &Node, ptr: Lazy<'_>, r: &mut Reader, config: &mut PostureConfig) {
    if let Some(f) = r.fields(node, ptr, "isolation", &["ingress", "egress"]) {
        config.isolation_ingress = r.opt_bool(&f, "ingress");
        config.isolation_egress = r.opt_bool(&f, "egress");
    }
}

/// The value of an assertion's `no-path` key: `{from, to, max-hops}`.
pub fn read_no_path(item: &Node, node: &Node, ptr: Lazy<'_>, r: &mut Reader) -> Option<NoPathDef> {
    let f = r.fields(node, ptr, "no-path assertion", &["from", "to", "max-hops"])?;
    let from = r.opt_string(&f, "from");
    let to = r.opt_string(&f, "to");
    let (Some(from), Some(to)) = (from, to) else {
        r.report(node.span, ptr, "a no-path assertion needs `from` and `to`");
        return None;
    };
    let max_hops = match r.opt_int(&f, "max-hops") {
        Some(h) => match usize::try_from(h.value) {
            Ok(v) if v > 0 => Some(Spanned::new(v, h.span)),
            _ => {
                r.report(
                    h.span,
                    ptr.child("max-hops"),
                    format!(
                        "`max-hops` must be a positive whole number, found {}",
                        h.value
                    ),
                );
                return None;
            }
        },
        None => None,
    };
    Some(NoPathDef {
        span: item.span,
        from,
        to,
        max_hops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError, Origin, parse};
    use crate::source::SourceFile;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(
            SourceFile::new(".calint.yaml".into(), ".calint.yaml".into(), text.into()),
            Origin::Defaults,
        )
    }

    #[test]
    fn posture_keys_are_read() {
        let c = parse_str(
            "public:\n  - {group: shop/frontend, ports: \"TCP 443\"}\nisolation: {egress: true}\nassertions:\n  - no-path: {from: world, to: db, max-hops: 3}\n  - {from: a, to: b, expect: denied}\n",
        )
        .expect("valid");
        assert_eq!(c.posture.public.len(), 1);
        assert_eq!(c.posture.isolation(), (true, true));
        assert_eq!(c.posture.no_paths.len(), 1);
        assert_eq!(
            c.posture.no_paths[0].max_hops.as_ref().map(|h| h.value),
            Some(3)
        );
        assert_eq!(c.assertion_defs.len(), 1);
        assert_eq!(
            parse_str("").expect("valid").posture.isolation(),
            (true, false)
        );
    }

    #[test]
    fn posture_key_problems_are_located() {
        let e = parse_str(
            "public:\n  - {group: shop/frontend, ports: \"TCP http\"}\n  - {group: x}\nisolation: {egres: true}\nassertions:\n  - no-path: {from: world, max-hops: 0}\n  - no-path: {from: world, to: db, hops: 2}\n",
        )
        .expect_err("invalid");
        let m: Vec<&str> = e.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            m.iter()
                .any(|s| s.contains("invalid `ports`: `http` is not a port")),
            "{m:#?}"
        );
        assert!(
            m.iter().any(|s| s.contains("needs `group` and `ports`")),
            "{m:#?}"
        );
        assert!(
            m.iter().any(|s| s.contains("unknown field `egres`")),
            "{m:#?}"
        );
        assert!(
            m.iter().any(|s| s.contains("needs `from` and `to`")),
            "{m:#?}"
        );
        assert!(
            m.iter().any(|s| s.contains("unknown field `hops`")),
            "{m:#?}"
        );
        assert!(!e.unreadable, "{m:#?}");
    }

    #[test]
    fn ports_are_parsed() {
        use crate::model::port::FlowProtocol::Number;
        assert_eq!(
            parse_ports("TCP 443"),
            Ok(vec![(Number(6), Some(vec![(443, 443)]))])
        );
        assert_eq!(
            parse_ports("TCP 8443, 80-81; UDP 53; ICMP"),
            Ok(vec![
                (Number(6), Some(vec![(80, 81), (8443, 8443)])),
                (Number(17), Some(vec![(53, 53)])),
                (Number(1), None)
            ])
        );
        assert!(parse_ports("TCP http").is_err());
        assert!(parse_ports("TPC 80").is_err());
        assert!(parse_ports("TCP 90-80").is_err());
        assert!(parse_ports("").is_err());
    }
}
