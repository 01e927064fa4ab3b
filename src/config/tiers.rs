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
pub fn read_tiers(node: &Node, ptr: &str, r: &mut Reader) -> Vec<TierDef> {
    let mut seen: Vec<String> = Vec::new();
    r.list(node, ptr, |r, n, p| {
        let f = r.fields(n, &p, "tier", TIER_KEYS)?;
        let name = r.opt_string(&f, "name");
        let order = r.opt_number(&f, "order");
        let default_action = r.opt_string(&f, "default-action");
        let Some(name) = name.filter(|n| !n.value.is_empty()) else {
            r.report(n.span, &p, "a tier needs a `name`");
            return None;
        };
        if let Some(a) = &default_action {
            if a.value != "Deny" && a.value != "Pass" {
                r.report(
                    a.span,
                    &p,
                    format!("`default-action` must be Deny or Pass, found `{}`", a.value),
                );
                return None;
            }
        }
        if seen.contains(&name.value) {
            r.report(
                name.span,
                &p,
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
