//! The audit journal as the runner's observer: every write is journaled before it is sent (its intent)
//! and after (Loket's answer). It also moves the apply phase's progress bar (hidden off a terminal), and
//! holds the test-only crash points
//! (`--crash-after-writes`, `--pause-after-writes`) that the crash-convergence tests use instead of timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::errors::{Cause, chain};
use engine::plan::Write;
use loket::LoketError;

use indicatif::ProgressBar;

use crate::printer::Printer;
use crate::runner::{Hook, Observer};
use crate::store::{StateStore, Store};

/// Where a test stops the process: after the k-th write's answer is journaled.
#[derive(Clone, Debug, Default)]
pub struct CrashPoint {
    /// Exit at once (as a crash would) after this many writes.
    pub exit_after: Option<usize>,
    /// Stop and wait after this many writes: forever (for a `kill -9` from outside), or until
    /// `resume_when` exists (for a test that changes the world, say stops the database, mid-apply).
    pub pause_after: Option<usize>,
    pub resume_when: Option<std::path::PathBuf>,
}

pub struct Journal {
    pub store: Arc<StateStore>,
    pub run_id: i64,
    progress: ProgressBar,
    pub crash: CrashPoint,
    printer: Printer,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Journal {
    pub fn new(
        store: Arc<StateStore>,
        run_id: i64,
        progress: ProgressBar,
        crash: CrashPoint,
        printer: Printer,
    ) -> Journal {
        Journal { store, run_id, progress, crash, printer, done: AtomicUsize::new(0), failed: AtomicUsize::new(0) }
    }
}

impl Observer for Journal {
    fn before<'a>(&'a self, write: &'a Write) -> Hook<'a, Result<(), Cause>> {
        Box::pin(async move { self.store.journal_intent(self.run_id, write).await.map_err(Cause::from) })
    }

    fn after<'a>(&'a self, write: &'a Write, outcome: Result<(), &'a LoketError>) -> Hook<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self.store.journal_result(self.run_id, write, outcome).await {
                self.printer.warn(format!(
                    "the answer to \"{}\" could not be journaled: {}",
                    write.describe(),
                    chain(&error)
                ));
            }
            let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
            self.progress.inc(1);
            if outcome.is_err() {
                let failed = self.failed.fetch_add(1, Ordering::SeqCst) + 1;
                self.progress.set_message(format!("writes sent, {failed} failed"));
            }
            if self.crash.exit_after == Some(done) {
                std::process::exit(137);
            }
            if self.crash.pause_after == Some(done) {
                self.printer.note(format!("paused after {done} writes (a test's crash point)"));
                match &self.crash.resume_when {
                    // A file the test makes when it is ready: a gate, not a timer.
                    Some(gate) => {
                        while !gate.exists() {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        self.printer.note(format!("resumed after {done} writes"));
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        })
    }
}
