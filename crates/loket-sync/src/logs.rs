//! Logs: `-v` shows every HTTP request (method, route, status, attempt, time), every retry and its reason,
//! and the phase timings of a run; `-vv` adds detail; `RUST_LOG` (tracing's filter syntax) overrides both.
//! They go to stderr through `tracing`, never to stdout, so `--json` output stays clean. Nothing logged
//! carries a secret: the clients log methods, routes, statuses and timings, never headers, bodies, tokens or
//! form fields.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber for `verbose` (the number of `-v`s). Without `-v` and `RUST_LOG`, only
/// warnings of the libraries are shown (the printer says what a user needs).
pub fn init(verbose: u8, rust_log: Option<String>) {
    let filter = match rust_log.filter(|text| !text.trim().is_empty()) {
        Some(text) => EnvFilter::try_new(text).unwrap_or_else(|_| EnvFilter::new("warn")),
        None => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "warn,loket=info,personio=info,loket_sync=info",
            _ => "info,loket=debug,personio=debug,loket_sync=debug",
        }),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true)
        .without_time()
        .try_init();
}
