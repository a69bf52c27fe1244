//! The Personio API v2 client of loket-sync.
//!
//! - `wire`: the serde types of the API, shared with the local Personio (`crates/emulator`);
//! - `client`: `PersonioClient`, with a cached client-credentials token, cursor paging, pacing and retries;
//! - `history`: month windows read and rebuilt into the engine's `PersonioState`.

pub mod client;
pub mod history;
pub mod wire;

pub use client::{PersonioClient, PersonioError, PersonioSettings, Sleeper, TokioSleeper};
pub use history::{ReadReport, read_state};
