//! Fault knobs and request counting, shared by both emulators.
//!
//! `PUT /_emulator/faults` sets them; every draw comes from a generator seeded by `seed`, so a test that
//! sets a seed sees the same faults on every run.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every API request.
    pub latency_ms: u64,
    /// The fraction of API requests answered with `error_status` instead (nothing happens).
    pub error_rate: f64,
    pub error_status: u16,
    /// Above this many API requests per second, answer 429.
    pub rate_limit_per_second: Option<u32>,
    /// The fraction of writes that happen but are answered 500 ("the answer was lost").
    pub fail_after_commit_rate: f64,
    pub seed: u64,
    /// Answer the next this-many API requests with `error_status`, then behave (an extension of the knobs
    /// of SCENARIOS.md, for tests that need "one failure, then success" without chance).
    pub fail_first: u32,
    /// When set, `error_rate` and `fail_first` apply only to this route (`GET /v2/compensations`), so a
    /// test can fail one kind of read.
    pub fail_route: Option<String>,
    /// Answer writes as if they succeeded, and forget them (a Loket that loses data; the runner's
    /// read-back must notice).
    pub lose_writes: bool,
    /// Answer this route (`GET /v2/compensations/types`) with 200 and a body that is not JSON (an answer
    /// that cannot be read; the client must call it a failed read).
    pub corrupt_route: Option<String>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            error_status: 503,
            rate_limit_per_second: None,
            fail_after_commit_rate: 0.0,
            seed: 1,
            fail_first: 0,
            fail_route: None,
            lose_writes: false,
            corrupt_route: None,
        }
    }
}

/// A fault knob out of range.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum FaultsError {
    #[error("{name} must be between 0 and 1, not {rate}")]
    Rate { name: &'static str, rate: f64 },
    #[error("error_status must be a 4xx or 5xx status, not {0}")]
    Status(u16),
    #[error("latency_ms must be at most 60000")]
    Latency,
}

impl Faults {
    /// Every field in range, or what is wrong.
    pub fn check(&self) -> Result<(), FaultsError> {
        for (name, rate) in [("error_rate", self.error_rate), ("fail_after_commit_rate", self.fail_after_commit_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultsError::Rate { name, rate });
            }
        }
        if !(400..=599).contains(&self.error_status) {
            return Err(FaultsError::Status(self.error_status));
        }
        if self.latency_ms > 60_000 {
            return Err(FaultsError::Latency);
        }
        Ok(())
    }
}

/// What the fault knobs decide for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer 429: over the rate limit.
    RateLimited,
    /// Answer this status without doing anything.
    Fail(u16),
    /// Do the work, then answer 500.
    FailAfterCommit,
    /// Answer 200 with a body that cannot be read.
    Corrupt,
}

/// The body of a `Corrupt` answer.
pub const CORRUPT_BODY: &str = "{\"_data\": [ this is not JSON";

/// The mutable part: the knobs, the generator, the rate window and the counts.
pub struct FaultState {
    pub faults: Faults,
    generator: u64,
    window_start: Option<Instant>,
    window_count: u32,
    pub requests: BTreeMap<String, usize>,
    pub writes: usize,
    failed_first: u32,
}

impl Default for FaultState {
    fn default() -> FaultState {
        FaultState::new(Faults::default())
    }
}

impl FaultState {
    pub fn new(faults: Faults) -> FaultState {
        let generator = faults.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        FaultState {
            faults,
            generator,
            window_start: None,
            window_count: 0,
            requests: BTreeMap::new(),
            writes: 0,
            failed_first: 0,
        }
    }

    pub fn set(&mut self, faults: Faults) {
        let (requests, writes) = (std::mem::take(&mut self.requests), self.writes);
        *self = FaultState::new(faults);
        self.requests = requests;
        self.writes = writes;
    }

    pub fn reset_counts(&mut self) {
        self.requests.clear();
        self.writes = 0;
    }

    fn draw(&mut self) -> f64 {
        self.generator ^= self.generator >> 12;
        self.generator ^= self.generator << 25;
        self.generator ^= self.generator >> 27;
        let value = self.generator.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (value >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Counts the request and decides its fate.
    pub fn admit(&mut self, route: &str, is_write: bool) -> Verdict {
        *self.requests.entry(route.to_string()).or_default() += 1;
        if is_write {
            self.writes += 1;
        }
        if self.faults.corrupt_route.as_deref() == Some(route) {
            return Verdict::Corrupt;
        }
        let targeted = self.faults.fail_route.as_deref().is_none_or(|only| only == route);
        if targeted && self.failed_first < self.faults.fail_first {
            self.failed_first += 1;
            return Verdict::Fail(self.faults.error_status);
        }
        if let Some(limit) = self.faults.rate_limit_per_second {
            let now = Instant::now();
            match self.window_start {
                Some(start) if now.duration_since(start) < Duration::from_secs(1) => self.window_count += 1,
                _ => {
                    self.window_start = Some(now);
                    self.window_count = 1;
                }
            }
            if self.window_count > limit {
                return Verdict::RateLimited;
            }
        }
        if targeted && self.faults.error_rate > 0.0 && self.draw() < self.faults.error_rate {
            return Verdict::Fail(self.faults.error_status);
        }
        if is_write && self.faults.fail_after_commit_rate > 0.0 && self.draw() < self.faults.fail_after_commit_rate {
            return Verdict::FailAfterCommit;
        }
        Verdict::Pass
    }

    /// Requests left in the current second under the rate limit (for the `x-ratelimit-remaining` header).
    pub fn remaining(&self) -> u32 {
        self.faults.rate_limit_per_second.map_or(u32::MAX, |limit| limit.saturating_sub(self.window_count))
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency_ms)
    }
}

/// Shared access to a fault state.
pub type SharedFaults = std::sync::Arc<Mutex<FaultState>>;

/// Locks a fault state; the crate's own `lock`, kept under this public path for callers outside the crate.
pub fn lock(faults: &SharedFaults) -> std::sync::MutexGuard<'_, FaultState> {
    crate::common::lock(faults)
}
