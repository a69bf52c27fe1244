//! The engine's one integration-test binary: every rule of SYNC-RULES.md by id (tests are named after the
//! rule they prove), the Loket model, and every scenario file in-process.

mod support;

mod config;
mod errors;
mod guarantees;
mod model;
mod one_time;
mod people;
mod properties;
mod recurring;
mod salary;
mod scenarios;
mod types;
