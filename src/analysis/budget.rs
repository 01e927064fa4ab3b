//! The analysis budget: [`WorkBudget`], the deterministic one (Z3 resource units, charged in
//! policy order), and [`Deadline`], its wall-clock safety net.

use super::ir::PolicyId;
use std::time::{Duration, Instant};

/// When the budget runs out, if there is one.
#[derive(Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub(super) fn new(budget_ms: Option<u64>) -> Deadline {
        // A budget too large to represent is no budget.
        Deadline(budget_ms.and_then(|ms| {
            // Never below a minute: a small work budget (tests use 10 ms' worth) must be
            // stopped by the deterministic work count, not by the clock.
            let safety = ms
                .saturating_mul(super::solver::WALL_CLOCK_SAFETY_FACTOR)
                .max(super::solver::WALL_CLOCK_SAFETY_FLOOR_MS);
            Instant::now().checked_add(Duration::from_millis(safety))
        }))
    }

    pub(crate) fn passed(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }
}

/// The deterministic work budget: policy `i` is analyzed only while policies `0..i` spent
/// less than `total` resource units. Workers record what each policy spent; a worker skips
/// a policy once the policies before it that are already done spent the budget (the
/// policy would be dropped anyway, see [`super::analyze_set`]).
pub(super) struct WorkBudget {
    total: Option<u64>,
    /// Work of each policy plus one; zero while not done.
    spent: Vec<std::sync::atomic::AtomicU64>,
}

impl WorkBudget {
    pub(super) fn new(total: Option<u64>, policies: usize) -> WorkBudget {
        WorkBudget {
            total,
            spent: (0..policies)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }

    pub(super) fn spent_before(&self, pi: PolicyId) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        let mut sum = 0u64;
        for w in self.spent.iter().take(pi.0) {
            sum = sum.saturating_add(
                w.load(std::sync::atomic::Ordering::Relaxed)
                    .saturating_sub(1),
            );
            if sum >= total {
                return true;
            }
        }
        sum >= total
    }

    pub(super) fn charge(&self, pi: PolicyId, work: u64) {
        if let Some(w) = self.spent.get(pi.0) {
            w.store(work.saturating_add(1), std::sync::atomic::Ordering::Relaxed);
        }
    }
}
