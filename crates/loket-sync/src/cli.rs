//! The command line (clap): the verbs, their flags and the global options.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiff::civil::Date;

#[derive(Parser)]
#[command(name = "loket-sync", version, about = "Keeps Loket.nl payroll in line with Personio compensation data")]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "loket-sync.toml")]
    pub config: PathBuf,
    /// Output for scripts: JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Run as if today were this date (YYYY-MM-DD); default: today in Europe/Amsterdam.
    #[arg(long, global = true)]
    pub today: Option<Date>,
    /// Log to stderr: -v every HTTP request, retry and phase; -vv more detail. `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a commented loket-sync.toml to fill in.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Loket environment: production or acceptance.
        #[arg(long, default_value = "production")]
        environment: String,
    },
    /// Log in to Loket (authorization code flow) and keep the tokens in a 0600 file beside the configuration.
    Connect {
        #[command(subcommand)]
        service: ConnectService,
    },
    /// Check the configuration against both systems; show Personio types and Loket components side by side.
    Check {
        /// Check the file only, without contacting Personio or Loket.
        #[arg(long)]
        offline: bool,
    },
    /// Read both systems and show, per employee, every change and every issue. Exit 0 in sync, 1 changes
    /// pending, 2 errors.
    Plan {
        /// Save the plan (with a fingerprint of everything read) as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Export the plan as CSV for the payroll administrator.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Show the plan as the mass-change guard would let it through.
        #[arg(long)]
        allow_mass_changes: bool,
    },
    /// Plan, confirm, and apply.
    Sync {
        /// Apply without asking (for scripts).
        #[arg(long)]
        yes: bool,
        /// Let a plan through that the mass-change guard refuses (recorded with the run).
        #[arg(long)]
        allow_mass_changes: bool,
        /// Apply a plan saved with `plan --out`, only if neither system changed since.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Test-only crash point: exit after this many writes.
        #[arg(long, hide = true)]
        crash_after_writes: Option<usize>,
        /// Test-only crash point: stop and wait after this many writes (for a kill -9).
        #[arg(long, hide = true)]
        pause_after_writes: Option<usize>,
    },
    /// List the runs.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Show a run's issues grouped by code (default: the last run).
    Issues {
        #[arg(long)]
        run: Option<i64>,
    },
    /// Show the audit trail: every write's intent and Loket's answer.
    Log {
        #[arg(long)]
        employee: Option<u64>,
        #[arg(long)]
        run: Option<i64>,
    },
    /// Run the whole product against a local demo company: no account, no credentials.
    Demo,
    /// Serve a local Personio and Loket until Ctrl-C.
    Emulate {
        /// Seed both from a scenario file's `personio` and `loket` sections (default: the demo company).
        #[arg(long)]
        seed: Option<PathBuf>,
        #[arg(long, default_value_t = 7101)]
        personio_port: u16,
        #[arg(long, default_value_t = 7102)]
        loket_port: u16,
    },
    /// Scenario files: run them end to end through the emulators, or in-process.
    Scenario {
        #[command(subcommand)]
        action: ScenarioAction,
    },
    /// Run the service: many connections, plans waiting for approval, users, and an HTTP API under /api/v1.
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        store: ServiceStore,
        /// Mark the session cookie Secure: the service is reached over TLS (directly or behind a proxy).
        #[arg(long)]
        secure_cookies: bool,
        /// The address browsers reach the service at, for Loket's login redirect (default: the request's host).
        #[arg(long)]
        public_url: Option<String>,
        /// The SMTP server of e-mail notifications, such as smtps://user:password@mail.example.nl or
        /// smtp://127.0.0.1:25 for a local relay.
        #[arg(long, requires = "smtp_from")]
        smtp_url: Option<String>,
        /// The sender of e-mail notifications.
        #[arg(long)]
        smtp_from: Option<String>,
        /// Start with three demo employers as connections against local emulators, an admin whose
        /// password is printed, and schedules (a fresh store in a temporary folder; nothing else is read).
        #[arg(long)]
        demo: bool,
        /// Serve the API and the dashboard only: run no schedules and deliver no notifications (another
        /// `serve` process does; the browser tests use it so that no schedule fires while they run).
        #[arg(long)]
        no_scheduler: bool,
        /// How often the scheduler looks for due runs and undelivered notifications, in seconds.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
        tick_seconds: u64,
        /// How many scheduled runs (employers) this worker runs at once. They share the worker's request
        /// budgets (8 to Personio, each Loket login's `concurrency`), so a second run fills the gaps of
        /// the first's company-wide reads rather than doubling the load on either API. At most 4: each
        /// run on PostgreSQL holds one of the worker's 12 database connections for its lock.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=4))]
        runs_at_once: u64,
        /// Test-only crash point: stop and wait after this many writes of an apply (for a kill -9).
        #[arg(long, hide = true)]
        pause_after_writes: Option<usize>,
        /// Test-only: a paused apply goes on once this file exists (instead of waiting forever).
        #[arg(long, hide = true, requires = "pause_after_writes")]
        resume_when: Option<std::path::PathBuf>,
    },
    /// The service's users.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// The service's connections.
    Connections {
        #[command(subcommand)]
        action: ConnectionsAction,
    },
}

/// The service's state store and the key of the secrets in it.
#[derive(clap::Args, Clone, Debug)]
pub struct ServiceStore {
    /// The service's state store (SQLite).
    #[arg(long, default_value = "loket-sync-service.db")]
    pub state: PathBuf,
    /// A PostgreSQL database instead of the SQLite file, shared by several workers (`serve` processes on
    /// one or more machines), such as postgres://loket-sync@db.example.nl/loket_sync.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A file holding the key (64 hex digits) instead of the LOKET_SYNC_KEY variable.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum UsersAction {
    /// Add a user; the password comes from LOKET_SYNC_PASSWORD or the first line of standard input.
    Add {
        name: String,
        /// viewer, operator or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// The same as --role admin (the first admin).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        store: ServiceStore,
    },
}

#[derive(Subcommand)]
pub enum ConnectionsAction {
    /// Import configuration files (with the secrets they name, and the Loket tokens of their token file) as
    /// connections, each validated as `check` validates; a connection of the same name is replaced.
    Import {
        files: Vec<PathBuf>,
        #[command(flatten)]
        store: ServiceStore,
    },
}

#[derive(Subcommand)]
pub enum ConnectService {
    /// Log in to Loket.
    Loket {
        /// Give up after this many seconds without the redirect.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
pub enum ScenarioAction {
    /// Both emulators on loopback ports, two real syncs through the HTTP clients, compared with `expect`.
    Run { files: Vec<PathBuf> },
    /// The same in-process, through the engine and its model of Loket (no server).
    Check { files: Vec<PathBuf> },
    /// The plan of a file's first sync, in-process.
    Plan { file: PathBuf },
}
