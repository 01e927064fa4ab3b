//! Typed model of the resources calint understands.

pub mod lower;
pub mod net;
pub mod port;
pub mod resource;
pub mod selector;
pub mod tier;
pub mod version;

pub use resource::*;
