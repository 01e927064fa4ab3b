//! calint: a static analyzer and linter for repositories of Calico network policy.
//!
//! Data flows one way: [`load`] (files → spanned documents) → [`model`] (typed resources,
//! selector AST) → [`validate`] → [`lints`] → [`report`]. See `ARCHITECTURE.md`.

pub mod analysis;
pub mod check;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod finding;
pub mod fix;
pub mod lints;
pub mod load;
pub mod model;
pub mod posture;
pub mod progress;
pub mod project;
pub mod report;
pub mod source;
pub mod validate;
