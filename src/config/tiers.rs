//! `tiers:` — tiers defined outside the repository (for example `allow-tigera`, created by
//! the Tigera operator), so policies in them are analysed in their real place instead of
//! as policies of an undefined tier (issue 13 item 11).
//!
//! ```yaml
//! tiers:
//!   - {name: allow-tigera, order: 100, default-action: Pass}
//! ```

use crate::analysis::ir::CompiledTier;
use crate::load::tree::Node;
use crate::model::lower::reader::Reader;
use crate::pointer::Lazy;
use crate::source::{Span, Spanned};

/// Keys of one `tiers:` entry.
pub const TIER_KEYS: &[&str] = &["name", "order", "default-action"];

/// One tier declared in the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct TierDef {
    pub span: Span,
    pub name: Spanned<String>,
    /// `None`: no order (the tier sorts after every ordered tier, as Calico does).
    pub order: Option<Spanned<f64>>,
    /// `Deny` (the default) or `Pass`.
    pub default_action: Option<Spanned<String>>,
}

impl TierDef {
    /// The tier as the analysis orders it.
    pub fn compiled(&self) -> CompiledTier {
        CompiledTier {
            name: self.name.value.clone(),
            order: self.order.as_ref().map(|o| o.value),
            defined: true,
            default_pass: self
                .default_action
                .as_ref()
                .is_some_and(|a| a.value == "Pass"),
        }
    }
}

/// Read `tiers:` (a list of `{name, order, default-action}`); problems go to `r`.
pub fn read_tiers(node: &Node, ptr: Lazy<'_>, r: &mut Reader) -> Vec<TierDef> {
    let mut seen: Vec<String> = Vec::new();
    r.list(node, ptr, |r, n, p| {
        let f = r.fields(n, p, "tier", TIER_KEYS)?;
        let name = r.opt_string(&f, "name");
        let order = r.opt_number(&f, "order");
        let default_action = r.opt_string(&f, "default-action");
        let Some(name) = name.filter(|n| !n.value.is_empty()) else {
            r.report(n.span, p, "a tier needs a `name`");
            return None;
        };
        if let Some(a) = &default_action {
            if a.value != "Deny" && a.value != "Pass" {
                r.report(
                    a.span,
                    p,
                    format!("`default-action` must be Deny or Pass, found `{}`", a.value),
                );
                return None;
            }
        }
        if seen.contains(&name.value) {
            r.report(
                name.span,
                p,
                format!("tier `{}` is declared twice", name.value),
            );
            return None;
        }
        seen.push(name.value.clone());
        Some(TierDef {
            span: n.span,
            name,
            order,
            default_action,
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError, FILE_NAME, Origin, parse};
    use crate::source::SourceFile;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(
            SourceFile::new(FILE_NAME.into(), FILE_NAME.into(), text.into()),
            Origin::Defaults,
        )
    }

    #[test]
    fn declared_tiers_become_defined_compiled_tiers() {
        let c = parse_str(
            "tiers:\n  - {name: allow-tigera, order: 100, default-action: Pass}\n  - {name: late}\n",
        )
        .expect("valid");
        let tiers: Vec<_> = c.tier_defs.iter().map(|t| t.compiled()).collect();
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[0].name, "allow-tigera");
        assert_eq!(tiers[0].order, Some(100.0));
        assert!(tiers[0].default_pass && tiers[0].defined);
        assert_eq!(tiers[1].order, None);
        assert!(!tiers[1].default_pass);
    }

    #[test]
    fn bad_declarations_are_located_errors() {
        let messages = |text: &str| -> Vec<String> {
            match parse_str(text) {
                Ok(_) => Vec::new(),
                Err(e) => e.problems.into_iter().map(|p| p.message).collect(),
            }
        };
        let m = messages("tiers:\n  - {name: a, default-action: Allow}\n");
        assert!(
            m.iter().any(|m| m.contains("must be Deny or Pass")),
            "{m:?}"
        );
        let m = messages("tiers:\n  - {order: 1}\n");
        assert!(m.iter().any(|m| m.contains("needs a `name`")), "{m:?}");
        let m = messages("tiers:\n  - {name: a}\n  - {name: a}\n");
        assert!(m.iter().any(|m| m.contains("declared twice")), "{m:?}");
        let m = messages("tiers:\n  - {name: a, ordr: 1}\n");
        assert!(
            m.iter().any(|m| m.contains("unknown field `ordr`")),
            "{m:?}"
        );
        let m = messages("tiers: {name: a}\n");
        assert!(!m.is_empty(), "a mapping is not a list");
    }
}
