//! loket-sync as a library: what the binary is made of, so that tests and the benchmark use the same
//! code. The binary (`main.rs`) is the command line on top.
//!
//! - `settings`: the configuration file, resolved once;
//! - `runner`: read → plan → apply through the clients;
//! - `report`: the one printer of plans, issues and results;
//! - `scenario_run`: scenario files end to end through both emulators;
//! - `demo`: the demo company;
//! - `store` and `journal`: runs, issues, the audit journal of every write, and the run lock.

pub mod demo;
pub mod journal;
pub mod report;
pub mod runner;
pub mod scenario_run;
pub mod settings;
pub mod store;
