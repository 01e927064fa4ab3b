//! The [`Labels`] trait: anything a selector can be evaluated against.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// A set of labels (key → value). A selector asks only "is key `k` present, and with what value?".
pub trait Labels {
    /// The value of label `key`, or `None` when the label is absent.
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: BuildHasher> Labels for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for BTreeMap<&str, &str> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).copied()
    }
}

/// Slices of pairs: the first pair with a matching key wins.
impl Labels for [(&str, &str)] {
    fn label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl<const N: usize> Labels for [(&str, &str); N] {
    fn label(&self, key: &str) -> Option<&str> {
        self.as_slice().label(key)
    }
}

impl Labels for Vec<(&str, &str)> {
    fn label(&self, key: &str) -> Option<&str> {
        self.as_slice().label(key)
    }
}

impl Labels for [(String, String)] {
    fn label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl Labels for Vec<(String, String)> {
    fn label(&self, key: &str) -> Option<&str> {
        self.as_slice().label(key)
    }
}

impl<L: Labels + ?Sized> Labels for &L {
    fn label(&self, key: &str) -> Option<&str> {
        (**self).label(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_impls_agree() {
        let pairs = [("a", "1"), ("b", "")];
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let btree: BTreeMap<String, String> = owned.iter().cloned().collect();
        let hash: HashMap<String, String> = owned.iter().cloned().collect();
        let borrowed: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        let impls: [&dyn Labels; 6] = [&pairs, &&pairs[..], &owned, &btree, &hash, &borrowed];
        for l in impls {
            assert_eq!(l.label("a"), Some("1"));
            assert_eq!(l.label("b"), Some(""));
            assert_eq!(l.label("c"), None);
        }
    }
}
