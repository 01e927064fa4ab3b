//! Typed model of the resources calint understands.
//!
//! Layer 2: uses `load` and layer 0; owns `CalicoVersion` and `CompiledTier`, which every layer
//! above needs.

pub mod lower;
pub mod net;
pub mod port;
pub mod resource;
pub mod selector;
pub mod tier;
pub mod version;

pub use resource::*;
