//! The Calico release calint imitates: validation, lowering and the analysis all depend on it,
//! so it lives at the bottom of the model.

use std::fmt;

/// The Calico release whose validator calint imitates (spec §0.1 version matrix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalicoVersion {
    pub major: u32,
    pub minor: u32,
}

impl CalicoVersion {
    pub const LATEST: CalicoVersion = CalicoVersion {
        major: 3,
        minor: 33,
    };

    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    pub fn parse(s: &str) -> Option<CalicoVersion> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(CalicoVersion { major, minor })
    }
}

impl fmt::Display for CalicoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl Default for CalicoVersion {
    fn default() -> Self {
        CalicoVersion::LATEST
    }
}
