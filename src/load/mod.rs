//! Loading: discover files, parse YAML/JSON into span trees.

pub mod json;
pub mod kustomize;
pub mod tree;
pub mod walk;
pub mod yaml;
