//! The service's rows in the state store (migration 0002): Loket logins, connections, users, sessions, API
//! tokens, plans, approvals and the audit journal. SQL only; what the rows mean is in the modules beside.

use serde::Serialize;
use sqlx::AnyPool;

use crate::store::StoreError;

pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct LoginRow {
    pub id: i64,
    pub base_url: String,
    pub oauth_url: String,
    pub client_id: String,
    #[serde(skip)]
    pub client_secret_sealed: String,
    #[serde(skip)]
    pub tokens_sealed: Option<String>,
    #[sqlx(try_from = "i64")]
    pub needs_login: crate::store::Flag,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: i64,
    pub name: String,
    /// The configuration as TOML, without secrets.
    pub settings: String,
    #[serde(skip)]
    pub personio_secret_sealed: String,
    pub loket_login_id: i64,
    pub mode: String,
    pub schedule: Option<String>,
    /// When the schedule last made a plan (missed slots are made up for once, not once each).
    pub last_scheduled_at: Option<String>,
    pub approvals_required: i64,
    pub created_at: String,
    pub updated_at: String,
    /// When the last scheduled slot, not finished, is due again: the lease of the worker running it, or
    /// after a failure the retry. None once its run ended.
    pub retry_at: Option<String>,
    /// Failed attempts of that slot.
    pub attempts: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub connection_id: i64,
    pub status: String,
    pub requested_by: Option<String>,
    /// The mass-change guard was overridden for this plan by the one who asked for it (journaled).
    #[sqlx(try_from = "i64")]
    pub allow_mass_changes: crate::store::Flag,
    pub run_date: String,
    pub fingerprint: String,
    #[serde(skip)]
    pub document: String,
    pub writes: i64,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub run_id: Option<i64>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ApprovalRow {
    pub plan_id: i64,
    pub user_name: String,
    pub decision: String,
    pub at: String,
    /// Why, in the approver's words (optional).
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub action: String,
    pub subject: String,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
}

/// A run with the connection it belongs to (none for a run of the CLI on the same store).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ConnectionRun {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub run: crate::store::RunRow,
    pub connection_id: Option<i64>,
    pub connection_name: Option<String>,
}

/// One change to the service's state, for the audit journal.
pub struct AuditEntry<'a> {
    pub who: &'a str,
    pub action: &'a str,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The SQL of the service's tables, on the state store's pool.
#[derive(Clone)]
pub struct Records {
    pub(crate) pool: AnyPool,
    pub(crate) backend: crate::store::Backend,
}

/// The columns of a plan as `PlanRow` reads them (its run date as text on both stores).
const PLAN_COLUMNS: &str = "id, connection_id, status, requested_by, allow_mass_changes, CAST(run_date AS TEXT) AS run_date, fingerprint, document, writes, created_at, decided_at, run_id";

impl Records {
    pub async fn audit(&self, entry: AuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (at, who, action, subject, before_value, after_value) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now())
        .bind(entry.who)
        .bind(entry.action)
        .bind(entry.subject)
        .bind(entry.before)
        .bind(entry.after)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An audit entry without a before value: something was made, started or decided.
    pub async fn note(
        &self,
        who: &str,
        action: &str,
        subject: String,
        after: Option<String>,
    ) -> Result<(), StoreError> {
        self.audit(AuditEntry { who, action, subject, before: None, after }).await
    }

    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM audit ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(&self.pool).await?)
    }

    /// Whether the store answers (a worker whose database is away serves what it can and starts no run).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether any secret is stored (then the service refuses to start without its key).
    pub async fn holds_secrets(&self) -> Result<bool, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM loket_logins) + (SELECT COUNT(*) FROM connections)")
                .fetch_one(&self.pool)
                .await?;
        Ok(count > 0)
    }

    /// The login of one OAuth client at one Loket: the API it calls is part of it, so that a configuration
    /// naming another host never gets a login's tokens.
    pub async fn login_by_client(
        &self,
        base_url: &str,
        oauth_url: &str,
        client_id: &str,
    ) -> Result<Option<LoginRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM loket_logins WHERE base_url = $1 AND oauth_url = $2 AND client_id = $3")
            .bind(base_url)
            .bind(oauth_url)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn login(&self, id: i64) -> Result<Option<LoginRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM loket_logins WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn insert_login(&self, login: &LoginRow) -> Result<i64, StoreError> {
        let query = sqlx::query(
            "INSERT INTO loket_logins (base_url, oauth_url, client_id, client_secret_sealed, tokens_sealed, needs_login) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&login.base_url)
        .bind(&login.oauth_url)
        .bind(&login.client_id)
        .bind(&login.client_secret_sealed)
        .bind(&login.tokens_sealed)
        .bind(login.needs_login.stored());
        let id = crate::store::inserted_id(query, &self.pool).await?;
        Ok(id)
    }

    /// New tokens of a login (sealed), or none: the login is needed again.
    pub async fn set_login_tokens(&self, id: i64, tokens_sealed: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE loket_logins SET tokens_sealed = COALESCE($1, tokens_sealed), needs_login = $2 WHERE id = $3",
        )
        .bind(tokens_sealed)
        .bind(i64::from(tokens_sealed.is_none()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn connections(&self) -> Result<Vec<ConnectionRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM connections ORDER BY name").fetch_all(&self.pool).await?)
    }

    pub async fn connection(&self, id: i64) -> Result<Option<ConnectionRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM connections WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn connection_named(&self, name: &str) -> Result<Option<ConnectionRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM connections WHERE name = $1").bind(name).fetch_optional(&self.pool).await?)
    }

    /// Inserts the connection, or replaces the one of the same name (an import of a changed file).
    pub async fn upsert_connection(&self, row: &ConnectionRow) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO connections (name, settings, personio_secret_sealed, loket_login_id, mode, schedule, approvals_required, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, personio_secret_sealed = excluded.personio_secret_sealed,
               loket_login_id = excluded.loket_login_id, updated_at = excluded.updated_at
             RETURNING id",
        )
        .bind(&row.name)
        .bind(&row.settings)
        .bind(&row.personio_secret_sealed)
        .bind(row.loket_login_id)
        .bind(&row.mode)
        .bind(&row.schedule)
        .bind(row.approvals_required)
        .bind(&row.created_at)
        .bind(&row.updated_at)
        .fetch_all(&self.pool)
        .await?
        .first()
        .copied()
        .ok_or(sqlx::Error::RowNotFound)?;
        Ok(id)
    }

    /// Saves a connection's mode, schedule and approvals. Its `last_scheduled_at` only with `restart_schedule`
    /// (a new schedule starts from now): otherwise a worker may have claimed a slot since `row` was read, and
    /// writing back the older value would make that slot due again.
    pub async fn update_connection_policy(
        &self,
        row: &ConnectionRow,
        restart_schedule: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE connections SET mode = $1, schedule = $2, last_scheduled_at = CASE WHEN $3 = 1 THEN $4 ELSE last_scheduled_at END, approvals_required = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&row.mode)
        .bind(&row.schedule)
        .bind(i64::from(restart_schedule))
        .bind(&row.last_scheduled_at)
        .bind(row.approvals_required)
        .bind(now())
        .bind(row.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the schedule made a plan at `at`.
    /// Takes a connection's due slot for this worker: moves `last_scheduled_at` from what this worker read
    /// (`seen`) to `at`, in one statement. Of several workers that saw the same slot due, exactly one moves
    /// it (the others find it moved and take nothing), on PostgreSQL across machines as on SQLite.
    /// The slot is leased until `lease` (`retry_at`), and `attempts` are kept with it.
    pub async fn claim_slot(
        &self,
        seen: &ConnectionRow,
        at: &str,
        lease: &str,
        attempts: i64,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE connections SET last_scheduled_at = $1, retry_at = $2, attempts = $3
             WHERE id = $4 AND (last_scheduled_at = $5 OR (last_scheduled_at IS NULL AND $6 IS NULL))
               AND (retry_at = $7 OR (retry_at IS NULL AND $8 IS NULL))",
        )
        .bind(at)
        .bind(lease)
        .bind(attempts)
        .bind(seen.id)
        .bind(&seen.last_scheduled_at)
        .bind(&seen.last_scheduled_at)
        .bind(&seen.retry_at)
        .bind(&seen.retry_at)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected() == 1)
    }

    /// Moves a slot's `retry_at` from `held` (this worker's lease) to `next`: a longer lease (the
    /// heartbeat), a retry after a failure, or none (the run ended); `attempts` with it. False when the
    /// slot is no longer this worker's.
    pub async fn move_lease(&self, id: i64, held: &str, next: Option<&str>, attempts: i64) -> Result<bool, StoreError> {
        let moved = sqlx::query("UPDATE connections SET retry_at = $1, attempts = $2 WHERE id = $3 AND retry_at = $4")
            .bind(next)
            .bind(attempts)
            .bind(id)
            .bind(held)
            .execute(&self.pool)
            .await?;
        Ok(moved.rows_affected() == 1)
    }

    pub async fn delete_connection(&self, id: i64) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE runs SET connection_id = NULL WHERE connection_id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        let deleted = sqlx::query("DELETE FROM connections WHERE id = $1").bind(id).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users ORDER BY name").fetch_all(&self.pool).await?)
    }

    pub async fn user_named(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE name = $1").bind(name).fetch_optional(&self.pool).await?)
    }

    pub async fn insert_user(&self, name: &str, role: &str, password_hash: &str) -> Result<i64, StoreError> {
        let query = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(now());
        let id = crate::store::inserted_id(query, &self.pool).await?;
        Ok(id)
    }

    /// Counts a login attempt of `name` at `now` (seconds) in the table every worker shares, in one
    /// statement (so parallel guesses on several workers count too): the seconds until it may try again
    /// when it has used up its `max` attempts of the `window`.
    pub async fn count_login_attempt(
        &self,
        name: &str,
        now: i64,
        window: i64,
        max: i64,
    ) -> Result<Result<(), i64>, StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE since <= $1").bind(now - window).execute(&self.pool).await?;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "INSERT INTO login_failures (name, attempts, since) VALUES ($1, 1, $2)
             ON CONFLICT (name) DO UPDATE SET
                 attempts = CASE WHEN $2 - login_failures.since >= $3 THEN 1
                                 WHEN login_failures.attempts > $4 THEN login_failures.attempts
                                 ELSE login_failures.attempts + 1 END,
                 since = CASE WHEN $2 - login_failures.since >= $3 THEN $2 ELSE login_failures.since END
             RETURNING attempts, since",
        )
        .bind(name)
        .bind(now)
        .bind(window)
        .bind(max)
        .fetch_all(&self.pool)
        .await?;
        let (attempts, since) = rows.first().copied().unwrap_or((1, now));
        Ok(if attempts > max { Err(since + window - now) } else { Ok(()) })
    }

    /// Forgets the failed attempts of `name` (it logged in).
    pub async fn clear_login_attempts(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(())
    }

    /// Keeps a Loket login's `state` (its hash) until `expires` (seconds), forgetting those expired.
    pub async fn insert_pending_login(
        &self,
        state_hash: &str,
        login_id: i64,
        now: i64,
        expires: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pending_loket_logins WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        sqlx::query("INSERT INTO pending_loket_logins (state_hash, loket_login_id, expires_at) VALUES ($1, $2, $3)")
            .bind(state_hash)
            .bind(login_id)
            .bind(expires)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes a pending Loket login by its `state`'s hash, once (of two workers that get the same redirect,
    /// one takes it): its login and when it expires.
    pub async fn take_pending_login(&self, state_hash: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "DELETE FROM pending_loket_logins WHERE state_hash = $1 RETURNING loket_login_id, expires_at",
        )
        .bind(state_hash)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().next())
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        expires: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf)
            .bind(expires)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user of a live session and its CSRF token.
    pub async fn session_user(&self, token_hash: &str, now: &str) -> Result<Option<(UserRow, String)>, StoreError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT user_id, csrf_token FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        let Some((user_id, csrf)) = row else { return Ok(None) };
        let user: Option<UserRow> =
            sqlx::query_as("SELECT * FROM users WHERE id = $1").bind(user_id).fetch_optional(&self.pool).await?;
        Ok(user.map(|user| (user, csrf)))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn insert_api_token(&self, token_hash: &str, user_id: i64, name: &str) -> Result<i64, StoreError> {
        let query = sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(name)
        .bind(now());
        let id = crate::store::inserted_id(query, &self.pool).await?;
        Ok(id)
    }

    pub async fn token_user(&self, token_hash: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT users.* FROM users JOIN api_tokens ON api_tokens.user_id = users.id WHERE api_tokens.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn insert_plan(&self, plan: &PlanRow) -> Result<i64, StoreError> {
        let statement = format!(
            "INSERT INTO plans (connection_id, status, requested_by, allow_mass_changes, run_date, fingerprint, document, writes, created_at) VALUES ($1, $2, $3, $4, {}, $6, $7, $8, $9) RETURNING id",
            crate::store::date_param(self.backend, 5)
        );
        let query = sqlx::query(&statement)
            .bind(plan.connection_id)
            .bind(&plan.status)
            .bind(&plan.requested_by)
            .bind(plan.allow_mass_changes.stored())
            .bind(&plan.run_date)
            .bind(&plan.fingerprint)
            .bind(&plan.document)
            .bind(plan.writes)
            .bind(now());
        let id = crate::store::inserted_id(query, &self.pool).await?;
        Ok(id)
    }

    /// The newest plans of a connection.
    pub async fn plans_of(&self, connection_id: i64, limit: i64) -> Result<Vec<PlanRow>, StoreError> {
        let statement = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE connection_id = $1 ORDER BY id DESC LIMIT $2");
        Ok(sqlx::query_as(&statement).bind(connection_id).bind(limit).fetch_all(&self.pool).await?)
    }

    pub async fn plan(&self, id: i64) -> Result<Option<PlanRow>, StoreError> {
        let statement = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1");
        Ok(sqlx::query_as(&statement).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn plans(&self, status: Option<&str>) -> Result<Vec<PlanRow>, StoreError> {
        let statement =
            format!("SELECT {PLAN_COLUMNS} FROM plans WHERE ($1 IS NULL OR status = $2) ORDER BY id DESC LIMIT 500");
        Ok(sqlx::query_as(&statement).bind(status).bind(status).fetch_all(&self.pool).await?)
    }

    /// Moves a plan from `from` to `to`; false when it was no longer `from` (another approver was first).
    pub async fn move_plan(&self, id: i64, from: &str, to: &str, run_id: Option<i64>) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE plans SET status = $1, decided_at = $2, run_id = COALESCE($3, run_id) WHERE id = $4 AND status = $5",
        )
        .bind(to)
        .bind(now())
        .bind(run_id)
        .bind(id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected() > 0)
    }

    /// Records a decision; false when this user already decided on the plan.
    pub async fn insert_approval(
        &self,
        plan_id: i64,
        user_name: &str,
        decision: &str,
        comment: Option<&str>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO approvals (plan_id, user_name, decision, at, comment) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(plan_id)
        .bind(user_name)
        .bind(decision)
        .bind(now())
        .bind(comment)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }

    pub async fn approvals(&self, plan_id: i64) -> Result<Vec<ApprovalRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM approvals WHERE plan_id = $1 ORDER BY at")
            .bind(plan_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The audit journal of one connection's writes, of one employee or of all.
    pub async fn journal_of(
        &self,
        connection_id: i64,
        employee: Option<u64>,
    ) -> Result<Vec<crate::store::JournalRow>, StoreError> {
        let employee = employee.map(|number| number.to_string());
        Ok(sqlx::query_as(
            "SELECT journal.id, journal.run_id, journal.at, journal.phase, journal.employee_number, journal.rule, journal.description,
                    journal.before_value, journal.after_value, journal.outcome
             FROM journal JOIN runs ON runs.id = journal.run_id
             WHERE runs.connection_id = $1 AND ($2 IS NULL OR journal.employee_number = $3) ORDER BY journal.id",
        )
        .bind(connection_id)
        .bind(&employee)
        .bind(&employee)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The runs of one connection (or of all), newest first, with the connection each belongs to.
    pub async fn runs_of(&self, connection_id: Option<i64>, limit: i64) -> Result<Vec<ConnectionRun>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT runs.id, runs.command, runs.started_at, runs.finished_at, runs.who, CAST(runs.run_date AS TEXT) AS run_date, runs.outcome,
                    runs.writes_planned, runs.writes_sent, runs.errors, runs.warnings, runs.allow_mass_changes,
                    runs.connection_id, connections.name AS connection_name
             FROM runs LEFT JOIN connections ON connections.id = runs.connection_id
             WHERE ($1 IS NULL OR runs.connection_id = $2) ORDER BY runs.id DESC LIMIT $3",
        )
        .bind(connection_id)
        .bind(connection_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The connection a run belongs to (none for a run of the CLI).
    pub async fn run(&self, run_id: i64) -> Result<Option<ConnectionRun>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT runs.id, runs.command, runs.started_at, runs.finished_at, runs.who, CAST(runs.run_date AS TEXT) AS run_date, runs.outcome,
                    runs.writes_planned, runs.writes_sent, runs.errors, runs.warnings, runs.allow_mass_changes,
                    runs.connection_id, connections.name AS connection_name
             FROM runs LEFT JOIN connections ON connections.id = runs.connection_id WHERE runs.id = $1",
        )
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The audit journal of the service, newest first; `text` (when given) found in its subject, action,
    /// who, before or after.
    pub async fn audit_search(&self, text: Option<&str>, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let pattern =
            text.map(|text| format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        Ok(sqlx::query_as(
            "SELECT * FROM audit WHERE ($1 IS NULL OR subject LIKE $1 ESCAPE '\\' OR action LIKE $1 ESCAPE '\\' OR who LIKE $1 ESCAPE '\\'
                OR before_value LIKE $1 ESCAPE '\\' OR after_value LIKE $1 ESCAPE '\\') ORDER BY id DESC LIMIT $2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn link_run(&self, run_id: i64, connection_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET connection_id = $1 WHERE id = $2")
            .bind(connection_id)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
