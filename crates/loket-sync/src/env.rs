//! The environment variables loket-sync reads, named once (as uv's `env_vars.rs`). Settings read them
//! (nothing below the settings reads `std::env`), and messages name the variable the user configured.

/// The Personio API credential's id, unless `personio.client_id` or `personio.client_id_env` says otherwise.
pub const PERSONIO_CLIENT_ID: &str = "PERSONIO_CLIENT_ID";
/// The Personio API credential's secret, unless `personio.client_secret_env` or `client_secret_file` says
/// otherwise.
pub const PERSONIO_CLIENT_SECRET: &str = "PERSONIO_CLIENT_SECRET";
/// The Loket OAuth client's secret, unless `loket.client_secret_env` or `client_secret_file` says otherwise.
pub const LOKET_CLIENT_SECRET: &str = "LOKET_CLIENT_SECRET";
/// Log filter (`tracing`'s syntax, e.g. `loket=debug`); overrides -v and -vv.
pub const RUST_LOG: &str = "RUST_LOG";
/// Who runs loket-sync, recorded with each run (on Windows `USERNAME`).
pub const USER: &str = "USER";
pub const USERNAME: &str = "USERNAME";
/// The service's key for the secrets in its store: 64 hex digits (or `--key-file`).
pub const LOKET_SYNC_KEY: &str = "LOKET_SYNC_KEY";
/// A PostgreSQL URL for the state store (runs, journal, the service's records), instead of the SQLite
/// file: several `serve` workers share one database. Overrides `[state] url`. The password may be here
/// or in `PGPASSWORD`, never in the configuration file.
pub const DATABASE_URL: &str = "DATABASE_URL";
/// The password of `users add`, for scripts; otherwise it is read from standard input.
pub const LOKET_SYNC_PASSWORD: &str = "LOKET_SYNC_PASSWORD";
