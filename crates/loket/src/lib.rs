//! The Loket.nl REST API v2 client of loket-sync.
//!
//! - `wire`: the serde types of the API, shared with the local Loket (`crates/emulator`);
//! - `exact` (the engine's): money as JSON numbers, parsed exactly (never through `f64`);
//! - `auth`: OAuth tokens and where they are kept (a 0600 file for the binary);
//! - `client`: `LoketClient`, with paging, retries that are safe, a rate limit and a concurrency bound;
//! - `convert`: wire types to the engine's `LoketState`, and the engine's writes to requests.

pub mod auth;
pub mod client;
pub mod convert;
pub mod read;
pub mod send;
pub use engine::exact;
pub mod wire;

pub use auth::{FileTokenStore, MemoryTokenStore, TokenStore, Tokens};
pub use client::{LoketClient, LoketError, LoketSettings, Sleeper, TokioSleeper};
