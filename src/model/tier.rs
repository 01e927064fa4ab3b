//! Tiers as the analysis orders them, whether a Tier resource, the configuration (`tiers:`)
//! or Calico itself (built-in tiers) defines them. In the model so the loaded project can hold
//! the configuration's tiers without knowing the analysis.

/// A tier as Felix orders it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledTier {
    pub name: String,
    pub order: Option<f64>,
    /// Whether a Tier resource defines it (undefined tiers sort last).
    pub defined: bool,
    /// `defaultAction: Pass` (otherwise Deny).
    pub default_pass: bool,
}
