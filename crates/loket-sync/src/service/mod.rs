//! `loket-sync serve`: many connections (one employer each) in one state store, plans that wait for a
//! human, approvals (four eyes where a connection asks for two), users with roles, and an HTTP API.
//!
//! The HTTP layer (`api.rs`) is thin: it authenticates, parses and renders; what happens is a function of
//! `Service` here and in `connection.rs` and `plans.rs`, so it is the same whether the API, the CLI or a
//! schedule asks for it. Every change to a connection, a plan or a user is in the audit journal.

pub mod api;
pub mod connection;
pub mod crypto;
pub mod demo;
mod handlers;
pub mod login;
pub mod notify;
pub mod openapi;
pub mod plans;
pub mod policy;
pub mod records;
pub mod schedule;
pub mod scheduler;
pub mod tokens;
pub mod users;
pub mod web;

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;

use crate::store::{StateStore, StoreError};
use crypto::{KeyError, SecretKey};
use records::Records;

/// Where the time comes from: the clock, or a test's.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;

    /// Today in Europe/Amsterdam: the run date of a plan.
    fn today(&self) -> jiff::civil::Date {
        let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap_or(jiff::tz::TimeZone::UTC);
        self.now().to_zoned(zone).date()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A clock that stands where it is told (tests, and `--today`): a fixed run date at the real time of day.
pub struct FixedDate(pub jiff::civil::Date);

impl Clock for FixedDate {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
    fn today(&self) -> jiff::civil::Date {
        self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(
        "the state store holds secrets, and no key was given to open them; set LOKET_SYNC_KEY (64 hex digits) or pass --key-file"
    )]
    NoKey,
    #[error("the HTTP client for webhooks cannot be built: {0}")]
    Http(String),
    #[error("the secret key cannot be used")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The service: the state store, the key of its secrets and the clock. What workers share (sessions, the
/// login throttle, pending Loket logins) is in the store, so that any worker can answer any request.
pub struct Service {
    pub store: Arc<StateStore>,
    pub records: Records,
    key: Option<Arc<SecretKey>>,
    pub clock: Arc<dyn Clock>,
    /// Where e-mail notifications go out (none: e-mail notifications are refused).
    pub mailer: Option<notify::Mailer>,
    /// The HTTP client of webhooks.
    pub http: reqwest::Client,
    /// Test-only: where an apply stops the process (`serve --pause-after-writes`, for a `kill -9`).
    pub crash: crate::journal::CrashPoint,
    /// One Loket client per login, shared by its connections (refreshes of rotating tokens serialised):
    /// its `concurrency` is the worker's budget for that login, over every employer it runs at once.
    loket_clients: std::sync::Mutex<std::collections::HashMap<i64, Arc<loket::LoketClient>>>,
    /// The worker's Personio budget: requests under way at once over every employer's Personio
    /// (`PERSONIO_REQUESTS_AT_ONCE`).
    pub(crate) personio_permits: Arc<tokio::sync::Semaphore>,
    /// How many scheduled runs a tick runs at once (`serve --runs-at-once`); they share the budgets.
    pub runs_at_once: usize,
    /// Approved plans being applied at once (`APPROVED_APPLIES_AT_ONCE`): each holds a database session
    /// for its run lock, so that with the scheduled runs they leave the pool room for the rest.
    pub(crate) applies: Arc<tokio::sync::Semaphore>,
}

/// The Personio requests one worker has under way at once, over all the employers it runs.
pub const PERSONIO_REQUESTS_AT_ONCE: usize = 8;
/// Approved plans one worker applies at once; one more is refused (503: approve again in a moment). With
/// at most 4 scheduled runs, at most 6 of the worker's 12 PostgreSQL connections hold run locks.
pub const APPROVED_APPLIES_AT_ONCE: usize = 2;

/// Where the key comes from: the environment variable's value, or a file.
pub enum KeySource<'a> {
    None,
    Hex(SecretString),
    File(&'a Path),
}

impl Service {
    /// Opens the store. Without a key the service starts only while the store holds no secret: a key that
    /// goes missing is an error at start, not a failed run later.
    pub async fn open(path: &Path, key: KeySource<'_>, clock: Arc<dyn Clock>) -> Result<Service, ServiceError> {
        Service::open_at(&crate::store::Location::File(path.to_path_buf()), key, clock).await
    }

    /// `open`, with the store where `location` says (a SQLite file, or a PostgreSQL database that several
    /// workers share).
    pub async fn open_at(
        location: &crate::store::Location,
        key: KeySource<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<Service, ServiceError> {
        let store = Arc::new(StateStore::open_at(location).await?);
        let records = Records { pool: store.pool().clone(), backend: store.backend() };
        let key = match key {
            KeySource::None => None,
            KeySource::Hex(text) => Some(Arc::new(SecretKey::from_hex(&text)?)),
            KeySource::File(path) => Some(Arc::new(SecretKey::from_file(path)?)),
        };
        if key.is_none() && records.holds_secrets().await? {
            return Err(ServiceError::NoKey);
        }
        loket::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .user_agent(concat!("loket-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ServiceError::Http(error.to_string()))?;
        Ok(Service {
            store,
            records,
            key,
            clock,
            mailer: None,
            http,
            crash: Default::default(),
            loket_clients: Default::default(),
            personio_permits: Arc::new(tokio::sync::Semaphore::new(PERSONIO_REQUESTS_AT_ONCE)),
            applies: Arc::new(tokio::sync::Semaphore::new(APPROVED_APPLIES_AT_ONCE)),
            runs_at_once: 1,
        })
    }

    /// The service with e-mail notifications through `mailer`.
    pub fn with_mailer(mut self, mailer: notify::Mailer) -> Service {
        self.mailer = Some(mailer);
        self
    }

    /// The key, or the error that says how to give one.
    pub fn key(&self) -> Result<&Arc<SecretKey>, ServiceError> {
        self.key.as_ref().ok_or(ServiceError::NoKey)
    }
}
