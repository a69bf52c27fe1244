//! The audit journal as the runner's observer: every write is journaled before it is sent (its intent)
//! and after (Loket's answer). It also shows progress on a terminal, and holds the test-only crash points
//! (`--crash-after-writes`, `--pause-after-writes`) that the crash-convergence tests use instead of timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::plan::Write;

use crate::runner::{Hook, Observer};
use crate::store::{SqliteStore, Store};

/// Where a test stops the process: after the k-th write's answer is journaled.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrashPoint {
    /// Exit at once (as a crash would) after this many writes.
    pub exit_after: Option<usize>,
    /// Stop and wait, forever, after this many writes (for a `kill -9` from outside).
    pub pause_after: Option<usize>,
}

pub struct Journal {
    pub store: Arc<SqliteStore>,
    pub run_id: i64,
    pub total: usize,
    pub progress: bool,
    pub crash: CrashPoint,
    done: AtomicUsize,
}

impl Journal {
    pub fn new(store: Arc<SqliteStore>, run_id: i64, total: usize, progress: bool, crash: CrashPoint) -> Journal {
        Journal { store, run_id, total, progress, crash, done: AtomicUsize::new(0) }
    }
}

impl Observer for Journal {
    fn before<'a>(&'a self, write: &'a Write) -> Hook<'a, Result<(), String>> {
        Box::pin(async move { self.store.journal_intent(self.run_id, write).await.map_err(|error| error.to_string()) })
    }

    fn after<'a>(&'a self, write: &'a Write, outcome: &'a Result<(), String>) -> Hook<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self.store.journal_result(self.run_id, write, outcome).await {
                eprintln!("warning: the answer to \"{}\" could not be journaled: {error}", write.describe());
            }
            let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
            if self.progress {
                eprint!("\rapplied {done}/{} ", self.total);
            }
            if self.crash.exit_after == Some(done) {
                std::process::exit(137);
            }
            if self.crash.pause_after == Some(done) {
                eprintln!("paused after {done} writes (a test's crash point)");
                std::future::pending::<()>().await;
            }
        })
    }
}
