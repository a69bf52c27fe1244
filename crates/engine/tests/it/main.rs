//! The engine's one integration-test binary: every rule of SYNC-RULES.md by id, and every scenario file
//! in-process.

mod support;

mod scenarios;
