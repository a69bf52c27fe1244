//! The Personio crate's one integration-test binary: the client against the local Personio over real
//! sockets, history rebuilt from month windows, and hand-written fixtures.

mod client;
mod history;
mod support;
