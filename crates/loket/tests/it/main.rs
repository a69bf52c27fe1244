//! The Loket crate's one integration-test binary: the client against the local Loket over real sockets,
//! OpenAPI conformance of both, and hand-written fixtures.

mod client;
mod conformance;
mod openapi;
mod support;
