//! What reachability answers are made of, shared by the engines that compute them (`reach`
//! with the solver, `decided_pair` with boxes): the verdict of a pair, and the protocols and
//! ports on which something is allowed.

use crate::model::port::FlowProtocol;

/// A protocol on which some packet is allowed (or every protocol not named on its own,
/// together), with its allowed destination port ranges (`None` for protocols without ports).
pub type AllowedProtocol = (FlowProtocol, Option<Vec<(u16, u16)>>);

/// Protocols reported one by one; every other protocol is reported together.
pub const NAMED_PROTOCOLS: [u8; 5] = [6, 17, 132, 1, 58];
/// The protocols with ports, whose allowed destination ports are reported.
pub const PORT_PROTOCOLS: [u8; 3] = [6, 17, 132];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    Partial,
}

impl Verdict {
    /// `allowed`, `denied` or `partial`: how the configuration and the command line write it.
    pub fn parse(text: &str) -> Option<Verdict> {
        [Verdict::Allowed, Verdict::Denied, Verdict::Partial]
            .into_iter()
            .find(|v| v.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::Partial => "partial",
        }
    }
}
