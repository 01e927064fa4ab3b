//! Progress reporting from the pipeline to whoever shows it (the CLI's progress bar).
//!
//! The library never draws anything: it only says which stage runs and how far it got. Calls
//! may come from several rayon threads at once, hence `Sync` and `&self`.
//!
//! Layer 0: uses nothing of the crate.

/// Receives progress events. Every method has a no-op default.
pub trait Progress: Sync {
    /// A stage starts with `total` units of work (files, resources, lints).
    fn stage(&self, _name: &'static str, _total: usize) {}
    /// `n` more units of the current stage are done.
    fn advance(&self, _n: usize) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
