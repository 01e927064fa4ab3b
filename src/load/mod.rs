//! Loading: discover files, parse YAML/JSON into span trees.
//!
//! Layer 1: uses only `source`, `finding` and `diagnostic`.

pub mod exclude;
pub mod json;
pub mod kustomize;
pub mod read;
pub mod tree;
pub mod walk;
pub mod yaml;
