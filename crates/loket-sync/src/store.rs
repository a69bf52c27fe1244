//! The state store: runs, their issues, the audit journal of every write, and the run lock. SQLite in a
//! file beside the configuration (sqlx, migrations embedded in the binary), behind the `Store` trait. The
//! statements go through sqlx's Any driver with numbered placeholders (`$1`), flags as 0/1 integers and
//! ids from `RETURNING`, so that the same SQL runs on PostgreSQL (issue 15). Money is stored as TEXT (exact
//! decimals), run dates as DATE on PostgreSQL (written through `date_param`, read as text) and as ISO text
//! on SQLite; never a float.
//!
//! The store is memory and evidence, never a source of truth: the plan is computed from both systems only
//! (G7), so a lost database loses history, never payroll data.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use engine::errors::{Cause, chain};
use engine::plan::Write;
use engine::{Issue, Plan};
use loket::LoketError;
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::Row;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection as _, Executor as _};

/// A flag stored as 0 or 1: SQLite has no boolean type, and through sqlx's Any driver both SQLite and
/// PostgreSQL read it as the integer it is stored as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(value: i64) -> Flag {
        Flag(value != 0)
    }
}

impl Flag {
    /// The value to store.
    pub fn stored(self) -> i64 {
        i64::from(self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the state file {path} cannot be opened; check that its directory exists and is writable (nothing was written to Loket)"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: Cause,
    },
    #[error(
        "the state file {path} is not a loket-sync database; move it away or point [state] path elsewhere (nothing was written to Loket)"
    )]
    Foreign {
        path: PathBuf,
        #[source]
        source: Cause,
    },
    #[error(
        "the state file {path} was written by a newer loket-sync (schema {found}, this one knows {known}); use the newer version; nothing was written to Loket"
    )]
    Newer { path: PathBuf, found: i64, known: i64 },
    #[error(
        "another run for legal entity {key} holds the lock since {since} ({holder}); wait for it to finish, or for the lock to expire at {expires}"
    )]
    Locked { key: String, holder: String, since: String, expires: String },
    #[error(
        "the PostgreSQL database {database} cannot be reached; check [state] url or DATABASE_URL, and that the server runs (nothing was written to Loket)"
    )]
    Unreachable {
        database: String,
        #[source]
        source: Cause,
    },
    #[error(
        "the database {database} was written by a newer loket-sync (schema {found}, this one knows {known}); use the newer version; nothing was written to Loket"
    )]
    NewerDatabase { database: String, found: i64, known: i64 },
    #[error(
        "the run lock for legal entity {key} is no longer this run's; this run sends nothing more to Loket, and the next run carries on where it stopped"
    )]
    LockLost {
        key: String,
        #[source]
        source: Cause,
    },
    #[error("the state database failed")]
    Database(#[from] sqlx::Error),
    #[error("the state database could not be brought up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The schema, one file a version; a version once released is never edited.
// 0001_runs.sql starts with a blank line: its text (and so its checksum in databases) is as first released.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "runs, issues, journal, locks",
        include_str!("migrations/0001_runs.sql"),
        include_str!("migrations/postgres/0001_runs.sql"),
    ),
    (
        2,
        "the service: connections, logins, users, plans, approvals, audit",
        include_str!("migrations/0002_service.sql"),
        include_str!("migrations/postgres/0002_service.sql"),
    ),
    (
        3,
        "the dashboard: comments of approvals",
        include_str!("migrations/0003_dashboard.sql"),
        include_str!("migrations/postgres/0003_dashboard.sql"),
    ),
    (
        4,
        "several workers: the login throttle and pending Loket logins",
        include_str!("migrations/0004_workers.sql"),
        include_str!("migrations/postgres/0004_workers.sql"),
    ),
    (
        5,
        "run dates as DATE on PostgreSQL",
        include_str!("migrations/0005_dates.sql"),
        include_str!("migrations/postgres/0005_dates.sql"),
    ),
    (
        6,
        "scheduled slots leased: retry_at, attempts",
        include_str!("migrations/0006_retries.sql"),
        include_str!("migrations/postgres/0006_retries.sql"),
    ),
];

/// A date parameter of a statement: PostgreSQL's date columns are DATE, and the Any driver sends text, so
/// it is cast there; SQLite keeps dates as ISO text.
pub(crate) fn date_param(backend: Backend, number: usize) -> String {
    match backend {
        Backend::Sqlite => format!("${number}"),
        Backend::Postgres => format!("CAST(${number} AS DATE)"),
    }
}

/// The newest schema this build knows.
fn known_version() -> i64 {
    MIGRATIONS.iter().map(|(version, ..)| *version).max().unwrap_or(0)
}

/// The migrations of a backend, locked while they run (on PostgreSQL an advisory lock: two workers that
/// start at once on an empty database do not both create it).
fn migrator(backend: Backend) -> Migrator {
    let migrations: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(sql), false)
        })
        .collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

/// The database a store is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the state is kept: a SQLite file (the default), or a PostgreSQL database that several workers
/// share.
#[derive(Clone, Debug)]
pub enum Location {
    File(PathBuf),
    /// A `postgres://` URL; it may hold a password, so it is a secret and shown without it.
    Postgres(SecretString),
}

impl Location {
    /// The location as it may be shown (a URL without its password).
    pub fn shown(&self) -> String {
        match self {
            Location::File(path) => path.display().to_string(),
            Location::Postgres(url) => without_password(url.expose_secret()),
        }
    }
}

/// A database URL without its password (for messages and logs).
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(a database URL that cannot be read)".to_string(),
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// A run as listed by `loket-sync runs`.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub command: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub who: String,
    pub run_date: String,
    pub outcome: Option<String>,
    pub writes_planned: i64,
    pub writes_sent: i64,
    pub errors: i64,
    pub warnings: i64,
    #[sqlx(try_from = "i64")]
    pub allow_mass_changes: Flag,
}

#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct IssueRow {
    pub run_id: i64,
    pub code: String,
    pub severity: String,
    pub person: Option<String>,
    pub employee_number: Option<String>,
    pub period: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct JournalRow {
    pub id: i64,
    pub run_id: i64,
    pub at: String,
    pub phase: String,
    pub employee_number: String,
    pub rule: String,
    pub description: String,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
    pub outcome: Option<String>,
}

/// What a run is and how it ended.
pub struct RunStart<'a> {
    pub command: &'a str,
    pub who: &'a str,
    pub run_date: jiff::civil::Date,
    pub allow_mass_changes: bool,
    /// The run lock the run goes on under. On PostgreSQL every write's intent is journaled through the
    /// session that holds it, so a run whose lock went (its session ended) sends nothing more.
    pub lock: Option<&'a str>,
}

/// How a run ended: its outcome in words, the plan, the writes sent and the issues the apply added.
pub struct RunEnd<'a> {
    pub run_id: i64,
    pub outcome: &'a str,
    pub plan: &'a Plan,
    pub sent: usize,
    pub extra_issues: &'a [Issue],
}

impl<'a> RunEnd<'a> {
    /// A run that applied its plan: the writes sent and the issues the apply added.
    pub fn applied(run_id: i64, outcome: &'a str, plan: &'a Plan, applied: &'a crate::runner::Applied) -> RunEnd<'a> {
        RunEnd { run_id, outcome, plan, sent: applied.sent, extra_issues: &applied.issues }
    }

    /// A run that ended before any write was sent (refused, not confirmed, or without a plan).
    pub fn unapplied(run_id: i64, outcome: &'a str, plan: &'a Plan) -> RunEnd<'a> {
        RunEnd { run_id, outcome, plan, sent: 0, extra_issues: &[] }
    }
}

/// What a write came to: sent, or Loket's error.
pub type WriteOutcome<'a> = Result<(), &'a LoketError>;

/// The memory of loket-sync. A PostgreSQL store would implement the same.
#[allow(async_fn_in_trait)]
pub trait Store: Send + Sync {
    async fn start_run(&self, run: &RunStart<'_>) -> Result<i64, StoreError>;
    async fn finish_run(&self, run: &RunEnd<'_>) -> Result<(), StoreError>;
    async fn journal_intent(&self, run_id: i64, write: &Write) -> Result<(), StoreError>;
    async fn journal_result(&self, run_id: i64, write: &Write, outcome: WriteOutcome<'_>) -> Result<(), StoreError>;
    async fn runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError>;
    async fn issues(&self, run_id: Option<i64>) -> Result<Vec<IssueRow>, StoreError>;
    async fn log(&self, employee: Option<u64>, run_id: Option<i64>) -> Result<Vec<JournalRow>, StoreError>;
    /// The values loket-sync last wrote successfully, by record key (for drift).
    async fn last_written(&self) -> Result<std::collections::HashMap<String, (String, String)>, StoreError>;
    async fn acquire_lock(&self, key: &str, holder: &str, minutes: i64) -> Result<(), StoreError>;
    async fn release_lock(&self, key: &str, holder: &str) -> Result<(), StoreError>;
}

/// The key that names the Loket record a write targets, stable across runs.
pub fn record_key(write: &Write) -> String {
    use engine::Action;
    let employment = write.employment_id.as_str();
    match &write.action {
        Action::PostWage { after } | Action::PutWage { after, .. } => format!("{employment}/wage/{}", after.start),
        Action::DeleteWage { before } => format!("{employment}/wage/{}", before.value.start),
        Action::PostBenefit { after } | Action::PutBenefit { after, .. } => {
            format!("{employment}/benefit/{}/{}", after.component, after.start)
        }
        Action::DeleteBenefit { before, .. } => format!("{employment}/benefit/{}/{}", before.component, before.start),
        Action::PatchPeriodData { key, .. } => format!("{employment}/period-data/{}", key.period),
    }
}

/// The values before and after a write, as stored text (exact decimals, ISO dates).
pub fn values(write: &Write) -> (Option<String>, Option<String>) {
    use engine::Action;
    let wage = |value: &engine::state::WageValue| format!("{:?} {}", value.kind, value.amount.value());
    let benefit = |value: &engine::state::BenefitValue| {
        format!(
            "{} to {}",
            value.value.value(),
            value.end.map(|end| end.to_string()).unwrap_or_else(|| "open".to_string())
        )
    };
    match &write.action {
        Action::PostWage { after } => (None, Some(wage(after))),
        Action::PutWage { before, after, .. } => (Some(wage(&before.value)), Some(wage(after))),
        Action::DeleteWage { before } => (Some(wage(&before.value)), None),
        Action::PostBenefit { after } => (None, Some(benefit(after))),
        Action::PutBenefit { before, after, .. } => (Some(benefit(before)), Some(benefit(after))),
        Action::DeleteBenefit { before, .. } => (Some(benefit(before)), None),
        Action::PatchPeriodData { changes, .. } => {
            let side = |pick: &dyn Fn(&engine::ValueChange) -> Option<rust_decimal::Decimal>| {
                changes
                    .iter()
                    .map(|change| {
                        format!(
                            "{}={}",
                            change.component,
                            pick(change).map(|value| value.to_string()).unwrap_or_else(|| "none".to_string())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (Some(side(&|change| change.before)), Some(side(&|change| change.after)))
        }
    }
}

/// Who holds a run lock and since when (the row is replaced by each new holder).
const LOCK_ROW: &str = "INSERT INTO locks (key, holder, pid, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, pid = excluded.pid,
       acquired_at = excluded.acquired_at, expires_at = excluded.expires_at";

/// The id of the row an `INSERT … RETURNING id` made. Through the Any driver SQLite's answer to such a
/// statement is lost by `fetch_one`; `fetch_all` keeps it.
pub(crate) async fn inserted_id<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    pool: &AnyPool,
) -> Result<i64, StoreError> {
    let rows = query.fetch_all(pool).await?;
    Ok(rows.first().ok_or(sqlx::Error::RowNotFound)?.try_get::<i64, _>("id")?)
}

/// Every SQLite connection's settings: wait for a busy writer, write-ahead logging, foreign keys enforced.
const SQLITE_SETTINGS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;";

pub struct StateStore {
    pool: AnyPool,
    backend: Backend,
    /// PostgreSQL: the sessions that hold this process's run locks (advisory locks), by key.
    held: tokio::sync::Mutex<std::collections::HashMap<String, HeldLock>>,
    /// PostgreSQL: the run lock each run of this process goes on under, by run id.
    runs_under: std::sync::Mutex<std::collections::HashMap<i64, String>>,
    /// SQLite: the lock rows this process holds, by key (renewed, and checked, with each write's intent).
    rows_held: std::sync::Mutex<std::collections::HashMap<String, LockRow>>,
    /// The file, or the database as shown (without a password).
    path: PathBuf,
}

impl StateStore {
    /// Opens (creating if needed) the state file and brings its schema up to date. A foreign or corrupt
    /// file, or one from a newer version, is refused with a clear error and left as it is.
    pub async fn open(path: &Path) -> Result<StateStore, StoreError> {
        let open_error = |source: Cause| StoreError::Open { path: path.to_path_buf(), source };
        if let Some(directory) = path.parent().filter(|directory| !directory.as_os_str().is_empty())
            && !directory.exists()
        {
            return Err(open_error(format!("the directory {} does not exist", directory.display()).into()));
        }
        // A new database holds payroll data: created owner-only before SQLite opens it, so that its -wal
        // and -shm files (which SQLite creates with the database's mode) are owner-only too.
        if !path.exists() {
            crate::files::write_private(path, b"").map_err(|error| open_error(error.into()))?;
        }
        // Through sqlx's Any driver, so that the same statements run on PostgreSQL; SQLite's settings are
        // made on each connection.
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|error| open_error(error.into()))?;
        let classify = |error: sqlx::Error| {
            if error.to_string().contains("not a database") {
                StoreError::Foreign { path: path.to_path_buf(), source: error.into() }
            } else {
                open_error(error.into())
            }
        };
        // One connection first, so that a file that is not SQLite is refused at once with its cause (the
        // pool would retry such a connection until it timed out).
        let mut probe = sqlx::AnyConnection::connect_with(&options).await.map_err(classify)?;
        probe.execute(SQLITE_SETTINGS).await.map_err(classify)?;
        probe.close().await.map_err(classify)?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection.execute(SQLITE_SETTINGS).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(classify)?;
        let store = StateStore {
            pool,
            backend: Backend::Sqlite,
            held: Default::default(),
            runs_under: Default::default(),
            rows_held: Default::default(),
            path: path.to_path_buf(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the store where `location` says.
    pub async fn open_at(location: &Location) -> Result<StateStore, StoreError> {
        match location {
            Location::File(path) => StateStore::open(path).await,
            Location::Postgres(url) => StateStore::connect(url).await,
        }
    }

    /// Connects to a PostgreSQL database and brings its schema up to date (under the migrator's advisory
    /// lock); a database of a newer version is refused.
    pub async fn connect(url: &SecretString) -> Result<StateStore, StoreError> {
        sqlx::any::install_default_drivers();
        let database = without_password(url.expose_secret());
        let unreachable =
            |error: sqlx::Error| StoreError::Unreachable { database: database.clone(), source: error.into() };
        let options = AnyConnectOptions::from_str(url.expose_secret()).map_err(unreachable)?;
        let pool = AnyPoolOptions::new()
            .max_connections(12)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        let store = StateStore {
            pool,
            backend: Backend::Postgres,
            held: Default::default(),
            runs_under: Default::default(),
            rows_held: Default::default(),
            path: PathBuf::from(&database),
        };
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
        )
        .fetch_all(&store.pool)
        .await?;
        if found.first().copied().unwrap_or(0) > 0 {
            let found: Vec<i64> = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_all(&store.pool)
                .await?;
            let found = found.first().copied().unwrap_or(0);
            if found > known_version() {
                return Err(StoreError::NewerDatabase { database, found, known: known_version() });
            }
        }
        migrator(Backend::Postgres).run(&store.pool).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The run lock in PostgreSQL: a session advisory lock on a connection of its own, held while the run
    /// goes on. It is one lock for every machine that shares the database, and it goes with its holder:
    /// a worker killed with `kill -9` loses its connection, and PostgreSQL releases the lock at once; a
    /// machine that vanishes (power, network) stops answering the server's keepalive probes on that
    /// session, and the server ends it within `LOCK_KEEPALIVES`' 40 seconds. The run's write intents are
    /// journaled through the same session ([`Store::journal_intent`]), so a run that lost its lock cannot
    /// send another write. The `locks` row only says who holds it and since when.
    async fn acquire_advisory_lock(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let locked = |holder: String, since: String| StoreError::Locked {
            key: key.to_string(),
            holder,
            since,
            expires: "its end".to_string(),
        };
        if self.held.lock().await.contains_key(key) {
            let (holder, since) = self.lock_row(key).await?;
            return Err(locked(holder, since));
        }
        let mut connection = self.pool.acquire().await?;
        let taken: Vec<bool> = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(key)
            .fetch_all(&mut *connection)
            .await?;
        if taken.first() != Some(&true) {
            drop(connection);
            let (holder, since) = self.lock_row(key).await?;
            return Err(locked(holder, since));
        }
        // From here the session holds the lock: if anything fails it is closed, never put back into the
        // pool still holding it.
        let setup: Result<(), sqlx::Error> = async {
            connection.execute(LOCK_KEEPALIVES).await?;
            sqlx::query(LOCK_ROW)
                .bind(key)
                .bind(holder)
                .bind(i64::from(std::process::id()))
                .bind(now())
                .bind("while its holder's connection lasts")
                .execute(&mut *connection)
                .await?;
            Ok(())
        }
        .await;
        if let Err(error) = setup {
            connection.close_on_drop();
            return Err(error.into());
        }
        let mut held = self.held.lock().await;
        if held.contains_key(key) {
            // Another task of this process took it meanwhile on another session (not possible while the
            // advisory lock is exclusive, but never two holders in the map).
            connection.close_on_drop();
            drop(held);
            let (holder, since) = self.lock_row(key).await?;
            return Err(locked(holder, since));
        }
        held.insert(key.to_string(), std::sync::Arc::new(tokio::sync::Mutex::new(Some(connection))));
        Ok(())
    }

    /// Who holds a run lock and since when, as its row says.
    async fn lock_row(&self, key: &str) -> Result<(String, String), StoreError> {
        let rows =
            sqlx::query("SELECT holder, acquired_at FROM locks WHERE key = $1").bind(key).fetch_all(&self.pool).await?;
        Ok(match rows.first() {
            Some(row) => (row.try_get("holder")?, row.try_get("acquired_at")?),
            None => ("another worker".to_string(), "a moment ago".to_string()),
        })
    }

    /// The PostgreSQL session that holds a run lock of this process, as the server sees it: its process id
    /// and its keepalive settings. None when this process does not hold it (or on SQLite).
    #[doc(hidden)]
    pub async fn lock_session(&self, key: &str) -> Result<Option<LockSession>, StoreError> {
        let Some(held) = self.held.lock().await.get(key).cloned() else { return Ok(None) };
        let mut guard = held.lock().await;
        let Some(connection) = guard.as_mut() else { return Ok(None) };
        let row = sqlx::query(
            "SELECT pg_backend_pid() AS pid, current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS every, current_setting('tcp_keepalives_count') AS count",
        )
        .fetch_one(&mut **connection)
        .await?;
        Ok(Some(LockSession {
            backend_pid: i64::from(row.try_get::<i32, _>("pid")?),
            keepalives: format!(
                "idle {}, every {}, {} probes",
                row.try_get::<String, _>("idle")?,
                row.try_get::<String, _>("every")?,
                row.try_get::<String, _>("count")?
            ),
        }))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let known = known_version();
        // A file that is not SQLite at all, or SQLite without our tables but with others, is foreign.
        let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&self.pool)
            .await
            .map_err(|error| StoreError::Foreign { path: self.path.clone(), source: error.into() })?
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect();
        let ours = [
            "runs",
            "issues",
            "journal",
            "locks",
            "_sqlx_migrations",
            "loket_logins",
            "connections",
            "users",
            "sessions",
            "api_tokens",
            "plans",
            "approvals",
            "notifications",
            "outbox",
            "audit",
            "login_failures",
            "pending_loket_logins",
        ];
        if let Some(foreign) =
            tables.iter().find(|table| !ours.contains(&table.as_str()) && !table.starts_with("sqlite_"))
        {
            return Err(StoreError::Foreign {
                path: self.path.clone(),
                source: format!("it has a table `{foreign}`").into(),
            });
        }
        if tables.iter().any(|table| table == "_sqlx_migrations") {
            let found: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            if found > known {
                return Err(StoreError::Newer { path: self.path.clone(), found, known });
            }
        }
        Ok(migrator(Backend::Sqlite).run(&self.pool).await?)
    }

    /// The pool, for the service's own tables (`service/records.rs`).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(self) {
        // The connections that hold run locks go first (closing the pool waits for every connection).
        self.held.lock().await.clear();
        self.pool.close().await;
    }

    /// Journals a write on the pool (its answer; every intent on SQLite, or of a run with no lock).
    async fn journal(
        &self,
        run_id: i64,
        write: &Write,
        phase: &'static str,
        outcome: Option<String>,
    ) -> Result<(), StoreError> {
        journal_row(run_id, write, phase, outcome).execute(&self.pool).await?;
        Ok(())
    }

    /// Journals a write's intent through the session that holds the run's lock (PostgreSQL): if that
    /// session is gone, so is the lock, and the write is not sent. A session that fails once is closed.
    async fn journal_fenced(&self, run_id: i64, write: &Write, key: &str) -> Result<(), StoreError> {
        let lost = |source: Cause| StoreError::LockLost { key: key.to_string(), source };
        let Some(held) = self.held.lock().await.get(key).cloned() else {
            return Err(lost("the lock was released before the run ended".into()));
        };
        let mut guard = held.lock().await;
        let Some(connection) = guard.as_mut() else {
            return Err(lost("its session failed earlier in this run".into()));
        };
        match journal_row(run_id, write, "intent", None).execute(&mut **connection).await {
            Ok(_) => Ok(()),
            Err(error) => {
                if let Some(mut connection) = guard.take() {
                    connection.close_on_drop();
                }
                Err(lost(format!("the database session that held it failed: {error}").into()))
            }
        }
    }
}

/// A SQLite lock row this process holds: who, since when, for how long each renewal.
#[derive(Clone, Debug)]
struct LockRow {
    holder: String,
    acquired_at: String,
    minutes: i64,
}

impl StateStore {
    /// SQLite: journals a write's intent and renews the run's lock in one transaction, only while the lock
    /// row is still this run's. A run outlives `lock_minutes` without losing its lock; a run whose lock
    /// another took over (it had expired) sends nothing more.
    async fn journal_renewing(&self, run_id: i64, write: &Write, key: &str) -> Result<(), StoreError> {
        let lost = |source: Cause| StoreError::LockLost { key: key.to_string(), source };
        let held = self.rows_held.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).cloned();
        let Some(held) = held else { return Err(lost("the lock was released before the run ended".into())) };
        let now = jiff::Timestamp::now();
        let expires = now.checked_add(jiff::SignedDuration::from_mins(held.minutes)).unwrap_or(now);
        let mut connection = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
        let result: Result<(), StoreError> = async {
            let renewed = sqlx::query(
                "UPDATE locks SET expires_at = $1 WHERE key = $2 AND holder = $3 AND acquired_at = $4 AND pid = $5",
            )
            .bind(expires.to_string())
            .bind(key)
            .bind(&held.holder)
            .bind(&held.acquired_at)
            .bind(i64::from(std::process::id()))
            .execute(&mut *connection)
            .await?;
            if renewed.rows_affected() != 1 {
                return Err(lost("another run took it over after it expired".into()));
            }
            journal_row(run_id, write, "intent", None).execute(&mut *connection).await?;
            Ok(())
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end).execute(&mut *connection).await?;
        result
    }
}

/// The PostgreSQL session that holds a run lock (see [`StateStore::lock_session`]).
#[derive(Clone, Debug)]
pub struct LockSession {
    pub backend_pid: i64,
    pub keepalives: String,
}

/// A run lock's session; None once it failed (and was closed, which ended the lock with it).
type HeldLock = std::sync::Arc<tokio::sync::Mutex<Option<sqlx::pool::PoolConnection<sqlx::Any>>>>;

/// The keepalives of a run lock's session: the server probes a silent client after 20 seconds, every 5,
/// and ends the session (releasing the lock) after 4 unanswered probes.
const LOCK_KEEPALIVES: &str =
    "SET tcp_keepalives_idle = 20; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 4;";

/// The journal row of a write.
fn journal_row<'q>(
    run_id: i64,
    write: &'q Write,
    phase: &'static str,
    outcome: Option<String>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let (before, after) = values(write);
    sqlx::query(
        "INSERT INTO journal (run_id, at, phase, employment_id, employee_number, rule, record_key, description, before_value, after_value, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(run_id)
    .bind(now())
    .bind(phase)
    .bind(write.employment_id.as_str())
    .bind(write.employee_number.to_string())
    .bind(write.rule.as_ref())
    .bind(record_key(write))
    .bind(write.describe())
    .bind(before)
    .bind(after)
    .bind(outcome)
}

impl StateStore {
    /// The lock a run of this process goes on under (PostgreSQL only: SQLite's lock is its file's).
    fn lock_of_run(&self, run_id: i64) -> Option<String> {
        self.runs_under.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&run_id).cloned()
    }
}

impl Store for StateStore {
    async fn start_run(&self, run: &RunStart<'_>) -> Result<i64, StoreError> {
        let statement = format!(
            "INSERT INTO runs (command, started_at, who, run_date, allow_mass_changes) VALUES ($1, $2, $3, {}, $5) RETURNING id",
            date_param(self.backend, 4)
        );
        let query = sqlx::query(&statement)
            .bind(run.command)
            .bind(now())
            .bind(run.who)
            .bind(run.run_date.to_string())
            .bind(i64::from(run.allow_mass_changes));
        let id = crate::store::inserted_id(query, &self.pool).await?;
        if let Some(key) = run.lock {
            self.runs_under.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(id, key.to_string());
        }
        Ok(id)
    }

    async fn finish_run(&self, run: &RunEnd<'_>) -> Result<(), StoreError> {
        let RunEnd { run_id, outcome, plan, sent, extra_issues } = *run;
        let issues: Vec<&Issue> = plan.issues.iter().chain(extra_issues).collect();
        let count =
            |severity: engine::Severity| issues.iter().filter(|issue| issue.severity == severity).count() as i64;
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE runs SET finished_at = $1, outcome = $2, writes_planned = $3, writes_sent = $4, errors = $5, warnings = $6, guard_report = $7 WHERE id = $8",
        )
        .bind(now())
        .bind(outcome)
        .bind(plan.n_writes() as i64)
        .bind(sent as i64)
        .bind(count(engine::Severity::Error))
        .bind(count(engine::Severity::Warning))
        .bind(serde_json::to_string(&plan.guard).unwrap_or_default())
        .bind(run_id)
        .execute(&mut *transaction)
        .await?;
        for issue in issues {
            sqlx::query("INSERT INTO issues (run_id, code, severity, person, employee_number, period, message) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(run_id)
                .bind(issue.code.as_str())
                .bind(issue.severity.to_string())
                .bind(issue.person.map(|person| person.to_string()))
                .bind(issue.employee_number.map(|number| number.to_string()))
                .bind(issue.period.map(|period| period.to_string()))
                .bind(&issue.message)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        self.runs_under.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&run_id);
        Ok(())
    }

    async fn journal_intent(&self, run_id: i64, write: &Write) -> Result<(), StoreError> {
        match (self.lock_of_run(run_id), self.backend) {
            (Some(key), Backend::Postgres) => self.journal_fenced(run_id, write, &key).await,
            (Some(key), Backend::Sqlite) => self.journal_renewing(run_id, write, &key).await,
            (None, _) => self.journal(run_id, write, "intent", None).await,
        }
    }

    async fn journal_result(&self, run_id: i64, write: &Write, outcome: WriteOutcome<'_>) -> Result<(), StoreError> {
        let outcome = match outcome {
            Ok(()) => "ok".to_string(),
            Err(error) => format!("failed: {}", chain(error)),
        };
        self.journal(run_id, write, "result", Some(outcome)).await
    }

    async fn runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, command, started_at, finished_at, who, CAST(run_date AS TEXT) AS run_date, outcome, writes_planned, writes_sent, errors, warnings, allow_mass_changes FROM runs ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn issues(&self, run_id: Option<i64>) -> Result<Vec<IssueRow>, StoreError> {
        let run_id = match run_id {
            Some(id) => id,
            None => sqlx::query("SELECT COALESCE(MAX(id), 0) FROM runs").fetch_one(&self.pool).await?.try_get(0)?,
        };
        let rows = sqlx::query_as("SELECT run_id, code, severity, person, employee_number, period, message FROM issues WHERE run_id = $1 ORDER BY code, id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    async fn log(&self, employee: Option<u64>, run_id: Option<i64>) -> Result<Vec<JournalRow>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, run_id, at, phase, employee_number, rule, description, before_value, after_value, outcome FROM journal WHERE ($1 IS NULL OR employee_number = $2) AND ($3 IS NULL OR run_id = $4) ORDER BY id",
        )
        .bind(employee.map(|number| number.to_string()))
        .bind(employee.map(|number| number.to_string()))
        .bind(run_id)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn last_written(&self) -> Result<std::collections::HashMap<String, (String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT record_key, COALESCE(after_value, ''), at FROM journal WHERE id IN (SELECT MAX(id) FROM journal WHERE phase = 'result' AND outcome = 'ok' GROUP BY record_key)",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get::<String, _>(0)?, (row.try_get::<String, _>(1)?, row.try_get::<String, _>(2)?))))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn acquire_lock(&self, key: &str, holder: &str, minutes: i64) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            return self.acquire_advisory_lock(key, holder).await;
        }
        let now = jiff::Timestamp::now();
        let expires = now.checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap_or(now);
        // BEGIN IMMEDIATE takes SQLite's write lock first, so two runs cannot both see the lock free.
        let mut connection = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
        let result: Result<(), StoreError> = async {
            let existing = sqlx::query("SELECT holder, acquired_at, expires_at, pid FROM locks WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *connection)
                .await?;
            if let Some(row) = existing {
                let expires_at: String = row.try_get("expires_at")?;
                let pid: i64 = row.try_get("pid")?;
                // A lock expires with time, and at once when its process is gone (killed) on this machine.
                let alive = pid > 0 && Path::new(&format!("/proc/{pid}")).exists() || !Path::new("/proc/self").exists();
                let still_held = alive && expires_at.parse::<jiff::Timestamp>().map(|at| at > now).unwrap_or(false);
                if still_held {
                    return Err(StoreError::Locked {
                        key: key.to_string(),
                        holder: row.try_get("holder")?,
                        since: row.try_get("acquired_at")?,
                        expires: expires_at,
                    });
                }
            }
            sqlx::query(LOCK_ROW)
                .bind(key)
                .bind(holder)
                .bind(i64::from(std::process::id()))
                .bind(now.to_string())
                .bind(expires.to_string())
                .execute(&mut *connection)
                .await?;
            Ok(())
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end).execute(&mut *connection).await?;
        if result.is_ok() {
            let row = LockRow { holder: holder.to_string(), acquired_at: now.to_string(), minutes };
            self.rows_held.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key.to_string(), row);
        }
        result
    }

    async fn release_lock(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let held = self.held.lock().await.remove(key);
        self.runs_under.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|_, under| under != key);
        self.rows_held.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
        if let Some(held) = held {
            // After an intent under way through the session, if any.
            if let Some(mut connection) = held.lock().await.take() {
                let unlocked =
                    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(key).execute(&mut *connection).await;
                if unlocked.is_err() {
                    // Closed rather than put back into the pool still holding the lock.
                    connection.close_on_drop();
                }
            }
        }
        sqlx::query("DELETE FROM locks WHERE key = $1 AND holder = $2")
            .bind(key)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
