//! The one module that talks to Z3.
//!
//! calint links the system libz3 (Debian's 4.8.12) by default. The `z3` crate's bindings are
//! generated for newer releases, so only long-stable parts of the API are used: Bool,
//! bit-vector, integer and string terms, push/pop, assumptions with unsat cores, models and
//! per-solver timeouts. AST kinds are never inspected (their numbering differs by release).
//!
//! Encoding (the same semantics as `analysis::concrete`, which tests it):
//! - a packet has an IP family, protocol (8 bits), ICMP type/code, and two sides, `src` and
//!   `dst`; each side has an "is a labeled entity" flag, labels, an address (128 bits; IPv4
//!   in the low 32), a port (16 bits), declarations of the named ports rules mention, and
//!   membership in the services rules mention;
//! - a label key is a presence flag plus a value. Keys used only with `==`, `!=`, `in`,
//!   `not in` get a finite domain: the values mentioned anywhere plus "any other value",
//!   which is exact because nothing else distinguishes values. Keys used with `contains`,
//!   `starts with`, `ends with` get Z3 strings, over an injective fixed-width encoding of
//!   each character (so no string escaping can differ between Z3 releases).

mod encode;
mod groups;
mod session;
mod strings;
mod universe;
mod vars;

pub use encode::Encoder;
pub use session::{
    FlowQuestion, ProtocolClass, RLIMIT_PER_MS, Session, WALL_CLOCK_SAFETY_FACTOR,
    WALL_CLOCK_SAFETY_FLOOR_MS, in_fresh_context, with_fresh_session,
};
pub use universe::Universe;

use universe::{decode, encode};
use z3::ast::{BV, Bool, String as ZString};
use z3::{SatResult, Solver};

/// A formula over one packet. The query code in `analysis` combines formulas built here
/// (`and`, `or`, `not`) but never builds terms itself.
pub type Formula = Bool;

/// Version of the Z3 library calint is linked with, e.g. `4.8.12.0`.
pub fn z3_version() -> String {
    z3::full_version().to_string()
}

/// A solver answer that may be "undecided" (timeout or unknown).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer<T> {
    Known(T),
    Undecided,
}
/// Answers a fixed question with a known answer on each theory calint uses (bit-vectors,
/// integers, strings); proves the linked library works.
pub fn smoke_check() -> Result<(), String> {
    let solver = Solver::new();
    let port = BV::new_const("port", 16);
    solver.assert(port.bvuge(BV::from_u64(80, 16)));
    solver.assert(port.bvule(BV::from_u64(81, 16)));
    solver.assert(port.eq(BV::from_u64(80, 16)).not());
    if solver.check() != SatResult::Sat {
        return Err("Z3 did not find the only model".into());
    }
    let model = solver.get_model().ok_or("no model")?;
    let value = model
        .eval(&port, true)
        .and_then(|v| v.as_u64())
        .ok_or("model has no value for port")?;
    if value != 81 {
        return Err(format!("Z3 answered port = {value}, expected 81"));
    }
    solver.push();
    solver.assert(port.eq(BV::from_u64(81, 16)).not());
    let unsat = solver.check() == SatResult::Unsat;
    solver.pop(1);
    if !unsat {
        return Err("Z3 failed to prove unsatisfiability".into());
    }
    // Strings: a value that starts with "ab", ends with "yz" and contains "m".
    let s = ZString::new_const("s");
    solver.assert(ZString::from(encode("ab")).prefix(&s));
    solver.assert(ZString::from(encode("yz")).suffix(&s));
    solver.assert(s.contains(ZString::from(encode("m"))));
    if solver.check() != SatResult::Sat {
        return Err("Z3 string constraints unexpectedly unsatisfiable".into());
    }
    let m = solver.get_model().ok_or("no model")?;
    let text = m
        .eval(&s, true)
        .and_then(|v| v.as_string())
        .and_then(|v| decode(&v))
        .ok_or("no string value")?;
    if !(text.starts_with("ab") && text.ends_with("yz") && text.contains('m')) {
        return Err(format!("Z3 string model `{text}` is wrong"));
    }
    solver.assert(ZString::from(encode("b")).prefix(&s));
    if solver.check() != SatResult::Unsat {
        return Err("Z3 string prefixes `ab` and `b` should contradict".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_z3_answers_bit_vector_and_string_queries() {
        assert_eq!(smoke_check(), Ok(()));
        assert!(!z3_version().is_empty());
    }
}
