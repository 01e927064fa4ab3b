//! The one module that talks to Z3.
//!
//! calint links the system libz3 (Debian's 4.8.12) by default. The `z3` crate's bindings are
//! generated for newer releases, so only the long-stable parts of the API are used here:
//! Bool, bit-vector, integer and string terms, push/pop, assumptions, models and per-solver
//! timeouts. AST kinds are never inspected (their numbering differs between releases).

use z3::ast::{BV, Bool};
use z3::{SatResult, Solver};

/// Version of the Z3 library calint is linked with, e.g. `4.8.12.0`.
pub fn z3_version() -> String {
    z3::full_version().to_string()
}

/// Answers a fixed bit-vector question whose answer is known; used by the smoke test and by
/// `calint --version`-style diagnostics to prove the linked library works.
pub fn smoke_check() -> Result<(), String> {
    let solver = Solver::new();
    let port = BV::new_const("port", 16);
    // 80 <= port <= 81 and port != 80 has exactly one model: 81.
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
    let flag = Bool::new_const("flag");
    solver.assert(&flag);
    if solver.check() != SatResult::Sat {
        return Err("Z3 lost satisfiability after pop".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn linked_z3_answers_bit_vector_queries() {
        assert_eq!(super::smoke_check(), Ok(()));
        assert!(!super::z3_version().is_empty());
    }
}
