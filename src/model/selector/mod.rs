//! Calico label selectors: parser, evaluator, canonical printer (spec §3).
