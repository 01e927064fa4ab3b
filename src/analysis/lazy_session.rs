//! A solver session created on first use. Most policies of a large tree are settled without
//! Z3 (concrete refutation, interval prefilters), and creating a session costs more the more
//! labels the tree mentions (tens of milliseconds at 10,000 policies): a chunk of policies
//! that asks Z3 nothing creates none.

use super::ir::PolicySet;
use super::solver::{Session, Universe};

pub(crate) struct LazySession<'u> {
    universe: &'u Universe,
    set: &'u PolicySet,
    timeout_ms: u32,
    session: Option<Session<'u>>,
}

impl<'u> LazySession<'u> {
    pub(crate) fn new(universe: &'u Universe, set: &'u PolicySet, timeout_ms: u32) -> Self {
        LazySession {
            universe,
            set,
            timeout_ms,
            session: None,
        }
    }

    /// The session, created now if not yet.
    pub(crate) fn get(&mut self) -> &mut Session<'u> {
        let (u, set, timeout) = (self.universe, self.set, self.timeout_ms);
        self.session
            .get_or_insert_with(|| Session::new(u, set, timeout))
    }

    /// Calls, undecided calls and work so far (zero before the session exists).
    pub(crate) fn counters(&self) -> (usize, usize, u64) {
        self.session
            .as_ref()
            .map_or((0, 0, 0), |s| (s.calls, s.undecided, s.work))
    }
}
