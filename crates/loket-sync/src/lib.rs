//! loket-sync as a library: what the binary is made of, so that tests and the benchmark use the same
//! code. The binary (`main.rs`) parses the command line and hands it to `commands`.
//!
//! - `cli`: the command line; `commands`: one module per group of verbs, each returning an `ExitStatus`;
//! - `printer`: the one place that writes to stdout and stderr; `report`: what plans, issues and results
//!   look like (text, JSON, CSV); `logs`: `-v`/`RUST_LOG` logging through `tracing`, secrets redacted;
//! - `settings`: the configuration file, resolved once; `env`: the environment variables it reads;
//! - `connections`: both clients, for a configuration and for the local emulators;
//! - `runner`: read (the company-wide data once, then the employees) → plan → apply through the clients;
//! - `saved_plan`, `drift`, `oauth_redirect`: saved plans, drift notes, the login redirect;
//! - `store`, `journal`, `files`: runs, issues, the audit journal of every write, the run lock, and the
//!   owner-only files that hold payroll data;
//! - `scenario_run`: scenario files end to end through both emulators; `demo`: the demo company.

pub mod cli;
pub mod commands;
pub mod connections;
pub mod demo;
pub mod drift;
pub mod env;
pub mod files;
pub mod journal;
pub mod logs;
pub mod oauth_redirect;
pub mod printer;
pub mod report;
pub mod runner;
pub mod saved_plan;
pub mod scenario_run;
pub mod service;
pub mod settings;
pub mod store;
