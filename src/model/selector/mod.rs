//! Calico label selectors: parser, evaluator, canonical printer (spec §3).
//! (Placeholder API; the full implementation lands from the `selector` branch.)

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub offset: usize,
    pub message: String,
}

pub trait Labels {
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

#[derive(Clone, Debug)]
pub struct Selector {
    source: String,
}

impl Selector {
    pub fn parse(src: &str) -> Result<Selector, SelectorError> {
        Ok(Selector {
            source: src.to_string(),
        })
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    pub fn canonical(&self) -> String {
        self.source.clone()
    }
    pub fn is_all(&self) -> bool {
        self.source.trim().is_empty()
    }
    pub fn contains_global(&self) -> bool {
        false
    }
    pub fn matches<L: Labels + ?Sized>(&self, _labels: &L) -> bool {
        true
    }
    pub fn never_matches(&self) -> Option<String> {
        None
    }
}
impl SelectorError {
    pub fn display_with_caret(&self, src: &str) -> String {
        format!("{src}\n{}^", " ".repeat(self.offset))
    }
}
