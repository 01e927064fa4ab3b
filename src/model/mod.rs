//! Typed model of the resources calint understands.

pub mod selector;
