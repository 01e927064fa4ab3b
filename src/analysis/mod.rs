//! Semantic analysis. Z3 lives behind [`solver`]; the rest of the analysis speaks in rules,
//! endpoints and port sets.

pub mod concrete;
pub mod ir;
pub mod order;
pub mod solver;
