//! Calico label selectors: parser, evaluator, canonical printer (spec §3).

mod error;
mod lexer;

pub use error::SelectorError;
pub use lexer::MAX_LABEL_LEN;
