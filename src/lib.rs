//! calint: a static analyzer and linter for repositories of Calico network policy.
//!
//! Data flows one way: [`load`] (files → spanned documents) → [`model`] (typed resources,
//! selector AST) → [`validate`] → [`project`] → [`analysis`] → [`posture`] → [`lints`] →
//! [`fix`] → [`config`] → [`check`] → [`diff`] → [`report`], with [`source`],
//! [`pointer`](mod@pointer), [`finding`], [`diagnostic`] and [`progress`] at the bottom. No
//! module imports from a layer above it (`tests/tidy.rs`); see the layer table in
//! `ARCHITECTURE.md`.

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
pub mod pointer;
pub mod posture;
pub mod progress;
pub mod project;
pub mod report;
pub mod source;
pub mod validate;
