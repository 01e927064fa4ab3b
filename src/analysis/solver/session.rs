//! Solver sessions: one Z3 solver per thread reused with push/pop, guarded assumptions,
//! deterministic minimal cores, and reachability flow questions.

use super::Answer;
use super::encode::Encoder;
use super::universe::Universe;
use super::vars::{Side2, all, any, bv};
use crate::analysis::concrete::Packet;
use crate::analysis::groups::Group;
use crate::analysis::ir::PolicySet;
use crate::analysis::pair_rules::{PairRules, RuleMask};
use crate::model::resource::Direction;
use std::collections::HashMap;
use z3::ast::{BV, Bool};
use z3::{Params, SatResult, Solver};

/// Which protocols a flow question is about.
#[derive(Clone, Copy, Debug)]
pub enum ProtocolClass<'a> {
    Any,
    Is(u8),
    /// Any protocol except these.
    Other(&'a [u8]),
}

/// A reachability question in domain terms.
#[derive(Clone, Copy, Debug)]
pub struct FlowQuestion<'a> {
    pub from: &'a Group,
    pub to: &'a Group,
    pub protocol: ProtocolClass<'a>,
    /// Destination ports (inclusive range).
    pub dst_ports: Option<(u16, u16)>,
    /// Look for an allowed packet (true) or a denied one (false).
    pub allowed: bool,
    /// Only IPv4 packets (examples read better).
    pub ipv4_only: bool,
    /// Which policies may select members of `from` / `to` (see [`Group::may_be_selected_by`]),
    /// computed once per group by the caller.
    pub from_policies: &'a [bool],
    pub to_policies: &'a [bool],
    /// The rules of those policies that may match a packet of the pair ([`PairRules`]);
    /// `None`: every rule takes part.
    pub rules: Option<&'a PairRules>,
}

impl<'a> FlowQuestion<'a> {
    /// Is some packet of any protocol and port from `from` to `to` allowed? (with the policies
    /// that may select each end, and the pair's rules). Other questions change fields of it.
    pub fn allowed_between(
        (from, from_policies): (&'a Group, &'a [bool]),
        (to, to_policies): (&'a Group, &'a [bool]),
        rules: Option<&'a PairRules>,
    ) -> FlowQuestion<'a> {
        FlowQuestion {
            from,
            to,
            protocol: ProtocolClass::Any,
            dst_ports: None,
            allowed: true,
            ipv4_only: false,
            from_policies,
            to_policies,
            rules,
        }
    }
}

/// Z3 resource units ("rlimit") a query may spend per millisecond of the configured solver
/// timeout. Limits are deterministic: `--solver-timeout 2000` means 2000 × this many units,
/// the same amount of work on every machine and at every thread count, so a query undecided
/// on one machine is undecided on all. Calibrated on the dense benchmark trees (2-core
/// machine, libz3 4.8.12): about this many units per millisecond of solver time.
pub const RLIMIT_PER_MS: u64 = 2_000;

/// The wall-clock safety net, as a multiple of the configured time: it only stops a query
/// (or the analysis) that the resource limit failed to stop, and makes the output depend on
/// the machine when it fires.
pub const WALL_CLOCK_SAFETY_FACTOR: u64 = 10;

/// The wall-clock safety net of the whole analysis is never shorter than this.
pub const WALL_CLOCK_SAFETY_FLOOR_MS: u64 = 60_000;

/// The resource limit of one query for a configured solver timeout.
fn rlimit_for(timeout_ms: u32) -> u32 {
    u32::try_from(u64::from(timeout_ms).saturating_mul(RLIMIT_PER_MS)).unwrap_or(u32::MAX)
}

/// The wall-clock safety net of one query: [`WALL_CLOCK_SAFETY_FACTOR`] times the configured
/// timeout, at least 10 s.
fn safety_ms(timeout_ms: u32) -> u32 {
    u32::try_from(u64::from(timeout_ms).saturating_mul(WALL_CLOCK_SAFETY_FACTOR))
        .unwrap_or(u32::MAX)
        .max(10_000)
}

/// Run `f` in a fresh Z3 context: terms, and so solver behaviour, resource use and unsat
/// cores, then depend only on what `f` asks, not on what the thread solved before.
pub fn in_fresh_context<R: Send + Sync>(f: impl FnOnce() -> R + Send + Sync) -> R {
    let cfg = z3::Config::new();
    z3::with_z3_config(&cfg, f)
}

/// Run `f` with a session in a fresh Z3 context: answers (and witnesses) then depend only on
/// the questions asked, not on what the thread solved before.
pub fn with_fresh_session<R: Send + Sync>(
    u: &Universe,
    set: &PolicySet,
    timeout_ms: u32,
    f: impl FnOnce(&mut Session<'_>) -> R + Send + Sync,
) -> R {
    let mut cfg = z3::Config::new();
    cfg.set_timeout_msec(u64::from(safety_ms(timeout_ms)));
    z3::with_z3_config(&cfg, || {
        let mut s = Session::new(u, set, timeout_ms);
        f(&mut s)
    })
}

/// A solver session for one thread: one Z3 solver reused with push/pop.
///
/// Queries are made of *frames* (push/pop) holding named conditions guarded by fresh
/// literals, checked under assumptions: many related questions about one rule share a frame
/// and the solver's learned state.
pub struct Session<'u> {
    pub enc: Encoder<'u>,
    solver: Solver,
    /// Solver calls made and how many were undecided.
    pub calls: usize,
    pub undecided: usize,
    /// Z3 resource units spent by this session's queries (deterministic, see
    /// [`RLIMIT_PER_MS`]).
    pub work: u64,
    /// The context's resource counter after the last query.
    rlimit_count: u32,
    guards: usize,
    /// Allow verdicts by (policy subset, direction): the subset is a caller's `keep` mask,
    /// keyed by its contents.
    allowed_cache: HashMap<(Vec<bool>, Direction), Bool>,
    /// The open pair scope ([`Session::in_scope`]), if any.
    scope: Option<Scope>,
}

/// What a pair scope holds: formulas defined once in its frame, each standing behind a literal
/// (the many questions about one pair then assert only the literal, not the formula again),
/// and the verdict formulas restricted to the pair's rules.
#[derive(Default)]
struct Scope {
    literals: HashMap<Bool, Bool>,
    allowed: HashMap<(Vec<bool>, RuleMask, Direction), Bool>,
}

impl<'u> Session<'u> {
    pub fn new(u: &'u Universe, set: &'u PolicySet, timeout_ms: u32) -> Session<'u> {
        let solver = Solver::new();
        let mut params = Params::new();
        params.set_u32("rlimit", rlimit_for(timeout_ms));
        params.set_u32("timeout", safety_ms(timeout_ms));
        solver.set_params(&params);
        let enc = Encoder::new(u, set);
        // Domain facts hold in every query: asserted once, below every frame.
        solver.assert(enc.domain());
        let rlimit_count = match solver.get_statistics().value("rlimit count") {
            Some(z3::StatisticsValue::UInt(n)) => n,
            _ => 0,
        };
        Session {
            enc,
            solver,
            calls: 0,
            undecided: 0,
            work: 0,
            rlimit_count,
            guards: 0,
            allowed_cache: HashMap::new(),
            scope: None,
        }
    }

    pub fn open(&mut self) {
        self.solver.push();
    }

    pub fn close(&mut self) {
        self.solver.pop(1);
    }

    /// Run `f` in a pair scope: a frame in which the formulas of the questions `f` asks (group
    /// membership, verdicts) are defined once behind literals. Answers do not change, only
    /// their cost; a scope inside a scope is the outer one.
    pub fn in_scope<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        if self.scope.is_some() {
            return f(self);
        }
        self.open();
        self.scope = Some(Scope::default());
        let r = f(self);
        self.scope = None;
        self.close();
        r
    }

    /// `formula`, or inside a pair scope the literal defined as it in the scope's frame.
    fn defined(&mut self, formula: Bool) -> Bool {
        let Some(scope) = self.scope.as_mut() else {
            return formula;
        };
        if let Some(lit) = scope.literals.get(&formula) {
            return lit.clone();
        }
        self.guards += 1;
        let lit = Bool::new_const(format!("def{}", self.guards));
        self.solver.assert(lit.eq(&formula));
        scope.literals.insert(formula, lit.clone());
        lit
    }

    /// Assert each condition behind a fresh literal (in the current frame); returns the
    /// literals, to be passed as assumptions.
    pub fn guard(&mut self, conds: &[Bool]) -> Vec<Bool> {
        conds
            .iter()
            .map(|c| {
                self.guards += 1;
                let lit = Bool::new_const(format!("guard{}", self.guards));
                self.solver.assert(lit.implies(c));
                lit
            })
            .collect()
    }

    /// Satisfiable under these assumptions? `None` when undecided.
    pub fn holds(&mut self, assumptions: &[Bool]) -> Option<bool> {
        match self.check(assumptions) {
            SatResult::Sat => Some(true),
            SatResult::Unsat => Some(false),
            SatResult::Unknown => None,
        }
    }

    fn check(&mut self, assumptions: &[Bool]) -> SatResult {
        self.calls += 1;
        let r = self.solver.check_assumptions(assumptions);
        if r == SatResult::Unknown {
            self.undecided += 1;
        }
        self.count_work();
        r
    }

    /// Adds the resource units the last query spent to `work` (the counter is the
    /// context's, 32 bits wide: differences wrap).
    fn count_work(&mut self) {
        if let Some(z3::StatisticsValue::UInt(now)) =
            self.solver.get_statistics().value("rlimit count")
        {
            self.work += u64::from(now.wrapping_sub(self.rlimit_count));
            self.rlimit_count = now;
        }
    }

    /// Are `fixed` and `optional` satisfiable together? `Known(None)` when they are;
    /// otherwise a minimal subset of `optional` (indexes) that is unsatisfiable with `fixed`.
    /// Minimisation is deletion-based in index order, so the result does not depend on which
    /// core the solver happened to return.
    pub fn core(&mut self, fixed: &[Bool], optional: &[Bool]) -> Answer<Option<Vec<usize>>> {
        let with = |keep: &[usize]| -> Vec<Bool> {
            fixed
                .iter()
                .cloned()
                .chain(keep.iter().filter_map(|&i| optional.get(i).cloned()))
                .collect()
        };
        let mut keep: Vec<usize> = (0..optional.len()).collect();
        match self.check(&with(&keep)) {
            SatResult::Sat => return Answer::Known(None),
            SatResult::Unknown => return Answer::Undecided,
            SatResult::Unsat => {}
        }
        let mut core = self.core_indexes(optional);
        // Delete from the last index to the first: the earliest parts (earlier rules,
        // earlier tiers and policies, which decide first) are the ones kept.
        for k in (0..optional.len()).rev() {
            if !keep.contains(&k) {
                continue;
            }
            let trial: Vec<usize> = keep.iter().copied().filter(|&j| j != k).collect();
            if !core.contains(&k) {
                // The current core does not use `k`: dropping it keeps the set unsatisfiable.
                keep = trial;
                continue;
            }
            match self.check(&with(&trial)) {
                SatResult::Unsat => {
                    core = self.core_indexes(optional);
                    keep = trial;
                }
                SatResult::Sat => {}
                SatResult::Unknown => return Answer::Undecided,
            }
        }
        Answer::Known(Some(keep))
    }

    fn core_indexes(&self, optional: &[Bool]) -> Vec<usize> {
        let core = self.solver.get_unsat_core();
        (0..optional.len())
            .filter(|&i| optional.get(i).is_some_and(|l| core.contains(l)))
            .collect()
    }

    /// Is there a packet from `from` to `to` with these properties whose verdict is
    /// `q.allowed`? With `Some`, a witness packet.
    pub fn flow(&mut self, q: &FlowQuestion<'_>) -> Answer<Option<Packet>> {
        let f = self.flow_formula(q);
        self.sat(&f)
    }

    /// Like [`Session::flow`], with the destination port in one of `ranges` (inclusive) instead
    /// of `q.dst_ports`.
    pub fn flow_on_ports(
        &mut self,
        q: &FlowQuestion<'_>,
        ranges: &[(u16, u16)],
    ) -> Answer<Option<Packet>> {
        let f = self.flow_formula(&FlowQuestion {
            dst_ports: None,
            ..*q
        });
        let port = &self.enc.vars.dst.port;
        let on = any(ranges
            .iter()
            .map(|&(lo, hi)| {
                Bool::and(&[
                    port.bvuge(bv(u128::from(lo), 16)),
                    port.bvule(bv(u128::from(hi), 16)),
                ])
            })
            .collect());
        self.sat(&Bool::and(&[f, on]))
    }

    /// Like [`Session::flow`], but the witness has the smallest destination port, then the
    /// smallest source port: examples stay the same when unrelated parts of the encoding
    /// change.
    pub fn flow_example(&mut self, q: &FlowQuestion<'_>) -> Answer<Option<Packet>> {
        let mut f = self.flow_formula(q);
        if !matches!(self.sat(&f), Answer::Known(Some(_))) {
            return self.sat(&f);
        }
        if let Some(pref) = self.enc.nice_addresses().into_iter().find(|pref| {
            matches!(
                self.sat(&Bool::and(&[f.clone(), pref.clone()])),
                Answer::Known(Some(_))
            )
        }) {
            f = Bool::and(&[f, pref]);
        }
        for port in [
            self.enc.vars.dst.port.clone(),
            self.enc.vars.src.port.clone(),
        ] {
            let (mut lo, mut hi) = (0u64, 65535u64);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let bounded = Bool::and(&[f.clone(), port.bvule(BV::from_u64(mid, 16))]);
                match self.sat(&bounded) {
                    Answer::Known(Some(_)) => hi = mid,
                    Answer::Known(None) => lo = mid + 1,
                    Answer::Undecided => break,
                }
            }
            f = Bool::and(&[f, port.eq(BV::from_u64(hi, 16))]);
        }
        self.sat(&f)
    }

    fn flow_formula(&mut self, q: &FlowQuestion<'_>) -> Bool {
        let ends = [
            self.enc.group(Side2::Src, q.from),
            self.enc.group(Side2::Dst, q.to),
        ];
        let mut c: Vec<Bool> = ends.into_iter().map(|g| self.defined(g)).collect();
        let e = &self.enc;
        match q.protocol {
            ProtocolClass::Any => {}
            ProtocolClass::Is(p) => c.push(e.vars.protocol.eq(bv(u128::from(p), 8))),
            ProtocolClass::Other(known) => {
                for p in known {
                    c.push(e.vars.protocol.eq(bv(u128::from(*p), 8)).not());
                }
            }
        }
        if q.ipv4_only {
            c.push(e.vars.v6.not());
        }
        if let Some((lo, hi)) = q.dst_ports {
            c.push(e.vars.dst.port.bvuge(bv(u128::from(lo), 16)));
            c.push(e.vars.dst.port.bvule(bv(u128::from(hi), 16)));
        }
        let mut verdict = Vec::new();
        let rules = |d| q.rules.map(|r| r.of(d));
        if q.from.policed {
            let v = self.allowed_memo(q.from_policies, rules(Direction::Egress), Direction::Egress);
            verdict.push(self.defined(v));
        }
        if q.to.policed {
            let v = self.allowed_memo(q.to_policies, rules(Direction::Ingress), Direction::Ingress);
            verdict.push(self.defined(v));
        }
        let allowed = all(verdict);
        c.push(if q.allowed { allowed } else { allowed.not() });
        all(c)
    }

    /// The allow verdict formula for one policy subset and direction, built once per session;
    /// restricted to a pair's rules, built once per pair scope (each pair has its own, so they
    /// are not kept beyond it).
    fn allowed_memo(&mut self, keep: &[bool], rules: Option<&RuleMask>, d: Direction) -> Bool {
        match (rules, self.scope.as_mut()) {
            (Some(mask), Some(scope)) => {
                let key = (keep.to_vec(), mask.clone(), d);
                if let Some(b) = scope.allowed.get(&key) {
                    return b.clone();
                }
                let b = self.enc.allowed(keep, Some(mask), d);
                scope.allowed.insert(key, b.clone());
                b
            }
            (Some(mask), None) => self.enc.allowed(keep, Some(mask), d),
            (None, _) => {
                let key = (keep.to_vec(), d);
                if let Some(b) = self.allowed_cache.get(&key) {
                    return b.clone();
                }
                let b = self.enc.allowed(keep, None, d);
                self.allowed_cache.insert(key, b.clone());
                b
            }
        }
    }

    /// A witness of `formula`, preferring plausible-looking packets (see
    /// [`Encoder::plausible`]).
    pub fn plausible_witness(&mut self, formula: &Bool) -> Answer<Option<Packet>> {
        let nice = Bool::and(&[formula.clone(), self.enc.plausible()]);
        match self.sat(&nice) {
            Answer::Known(Some(p)) => Answer::Known(Some(self.nicer_addresses(&nice).unwrap_or(p))),
            _ => match self.sat(formula) {
                Answer::Known(Some(p)) => {
                    Answer::Known(Some(self.nicer_addresses(formula).unwrap_or(p)))
                }
                other => other,
            },
        }
    }

    /// A witness of `formula` with the first address preference that can hold.
    fn nicer_addresses(&mut self, formula: &Bool) -> Option<Packet> {
        self.enc.nice_addresses().into_iter().find_map(|pref| {
            match self.sat(&Bool::and(&[formula.clone(), pref])) {
                Answer::Known(Some(p)) => Some(p),
                _ => None,
            }
        })
    }

    /// Is `formula` satisfiable? With `Some`, returns a witness packet.
    pub fn sat(&mut self, formula: &Bool) -> Answer<Option<Packet>> {
        if self.scope.is_some() {
            // Inside a pair scope no frame is pushed: popping one would also drop what the
            // solver internalised of the scope's definitions (Z3 internalises lazily, at the
            // level of the check), so each question would bit-blast them again. The question
            // stands behind a literal instead, asked as an assumption.
            let guard = self.guard(std::slice::from_ref(formula));
            return match self.check(&guard) {
                SatResult::Sat => match self.solver.get_model() {
                    Some(m) => Answer::Known(Some(self.enc.read_packet(&m))),
                    None => Answer::Undecided,
                },
                SatResult::Unsat => Answer::Known(None),
                SatResult::Unknown => Answer::Undecided,
            };
        }
        self.open();
        self.solver.assert(formula);
        let result = match self.check(&[]) {
            SatResult::Sat => match self.solver.get_model() {
                Some(m) => Answer::Known(Some(self.enc.read_packet(&m))),
                None => Answer::Undecided,
            },
            SatResult::Unsat => Answer::Known(None),
            SatResult::Unknown => Answer::Undecided,
        };
        self.close();
        result
    }
}
