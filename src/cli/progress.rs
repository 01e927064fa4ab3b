//! The progress bar: indicatif on stderr, drawn only when stderr is a terminal and only once
//! the run has taken more than a second (short runs never flicker a bar).

use calint::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a run goes before the bar appears.
const DELAY: Duration = Duration::from_secs(1);

pub struct Bar {
    bar: ProgressBar,
    stop: Option<Sender<()>>,
    waiter: Option<JoinHandle<()>>,
}

impl Bar {
    /// A bar for this run, or `None` when stderr is not a terminal.
    pub fn start() -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg:<16} [{bar:30}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = bar.clone();
        // Waits for the end of the run or the delay, whichever comes first.
        let waiter = std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(DELAY) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Some(Bar {
            bar,
            stop: Some(stop),
            waiter: Some(waiter),
        })
    }

    /// Remove the bar (if it was ever shown) before the report is printed.
    pub fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(waiter) = self.waiter.take() {
            let _ = waiter.join();
        }
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn stage(&self, name: &'static str, total: usize) {
        // Position first, so no frame shows the old count against the new length.
        self.bar.set_position(0);
        self.bar.set_length(total as u64);
        self.bar.set_message(name);
    }

    fn advance(&self, n: usize) {
        self.bar.inc(n as u64);
    }
}
