//! The handlers of the API: parse the request, call the service, render the answer. Authentication and
//! authorization happened before (`api::authorize`); a handler that needs the caller takes it from there.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{ApiError, ApiState, Body, Caller, callback_url, id, parse};
use super::connection::{self, Secrets};
use super::login::LoginFlowError;
use super::notify::{NewNotification, NotifyError};
use super::policy::{PolicyChange, PolicyError};
use super::users::{self, LoginError, Role, UserError};
use crate::store::Store as _;

pub(super) type Answer = Result<Response, ApiError>;

fn ok(value: impl serde::Serialize) -> Answer {
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], axum::Json(value)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    name: String,
    password: String,
}

pub(super) async fn log_in(State(api): ApiState, Body(body): Body<LoginBody>) -> Answer {
    let service = &api.service;
    let session =
        users::log_in(&service.records, &body.name, &body.password, service.clock.now()).await.map_err(|error| {
            match error {
                LoginError::Wrong => ApiError::new(StatusCode::UNAUTHORIZED, error.to_string()),
                LoginError::Throttled(_) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, error.to_string()),
                LoginError::User(error) => error.into(),
            }
        })?;
    let cookie = super::api::session_cookie(&api.options, &session.cookie, users::SESSION_SECONDS);
    let body = json!({"user": session.user, "csrf_token": session.csrf});
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_string())],
        axum::Json(body),
    )
        .into_response())
}

pub(super) async fn log_out(State(api): ApiState, caller: Caller) -> Answer {
    if let Some(session) = caller.session {
        api.service.records.delete_session(&super::crypto::token_hash(&session)).await?;
    }
    let cookie = super::api::session_cookie(&api.options, "", 0);
    Ok((StatusCode::OK, [(header::SET_COOKIE, cookie)], axum::Json(json!({"logged_out": true}))).into_response())
}

pub(super) async fn me(caller: Caller) -> Answer {
    ok(caller.user)
}

pub(super) async fn connections(State(api): ApiState) -> Answer {
    ok(api.service.records.connections().await?)
}

pub(super) async fn connection_one(State(api): ApiState, Path(text): Path<String>) -> Answer {
    let connection_id = id(&text, "connection")?;
    let row = api.service.records.connection(connection_id).await?;
    ok(row.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("there is no connection {connection_id}")))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConnection {
    name: String,
    /// The configuration file's text (TOML), as `loket-sync init` writes it.
    settings: String,
    personio_client_secret: String,
    loket_client_secret: String,
}

pub(super) async fn create_connection(State(api): ApiState, caller: Caller, Body(body): Body<NewConnection>) -> Answer {
    let secrets = Secrets {
        personio_client_secret: Some(SecretString::from(body.personio_client_secret)),
        loket_client_secret: Some(SecretString::from(body.loket_client_secret)),
        loket_tokens: None,
    };
    let settings = connection::read_for_api(&body.name, &body.settings, &secrets)?;
    let saved = api.service.save_connection(&caller.user.name, &body.name, &settings, &body.settings, secrets).await?;
    Ok((StatusCode::CREATED, axum::Json(saved)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectionPolicy {
    mode: Option<String>,
    approvals_required: Option<i64>,
    /// A cron expression in Europe/Amsterdam, or null for manual only.
    #[serde(default)]
    schedule: Option<Value>,
}

pub(super) async fn change_connection(
    State(api): ApiState,
    caller: Caller,
    Path(text): Path<String>,
    Body(body): Body<ConnectionPolicy>,
) -> Answer {
    let connection_id = id(&text, "connection")?;
    let schedule = match body.schedule {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text)),
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("schedule is a cron expression such as \"0 6 * * 1-5\", or null for manual only; not {other}"),
            ));
        }
    };
    let change = PolicyChange { mode: body.mode, approvals_required: body.approvals_required, schedule };
    let row =
        api.service.change_policy(&caller.user.name, connection_id, change).await.map_err(|error| match error {
            PolicyError::Invalid { .. } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
            PolicyError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, error.to_string()),
            PolicyError::Store(error) => error.into(),
        })?;
    ok(row)
}

pub(super) async fn remove_connection(State(api): ApiState, caller: Caller, Path(text): Path<String>) -> Answer {
    api.service.delete_connection(&caller.user.name, id(&text, "connection")?).await?;
    ok(json!({"removed": true}))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanRequest {
    /// Let the mass-change guard through (journaled with the user who asks).
    #[serde(default)]
    allow_mass_changes: bool,
}

pub(super) async fn plan_now(State(api): ApiState, caller: Caller, Path(text): Path<String>, body: Bytes) -> Answer {
    let request: PlanRequest = if body.is_empty() { PlanRequest::default() } else { parse(&body)? };
    let connection_id = id(&text, "connection")?;
    let view = if request.allow_mass_changes {
        api.service.make_plan_overriding_the_guard(connection_id, &caller.user.name).await?
    } else {
        api.service.make_plan(connection_id, Some(&caller.user.name)).await?
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

#[derive(Deserialize)]
pub(super) struct LogFilter {
    employee: Option<u64>,
}

pub(super) async fn connection_log(
    State(api): ApiState,
    Path(text): Path<String>,
    Query(filter): Query<LogFilter>,
) -> Answer {
    let connection_id = id(&text, "connection")?;
    if api.service.records.connection(connection_id).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("there is no connection {connection_id}")));
    }
    ok(api.service.records.journal_of(connection_id, filter.employee).await?)
}

pub(super) async fn run_issues(State(api): ApiState, Path(text): Path<String>) -> Answer {
    let run_id = id(&text, "run")?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&api.service.records.pool)
        .await
        .map_err(crate::store::StoreError::from)?;
    if exists.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("there is no run {run_id}")));
    }
    ok(api.service.store.issues(Some(run_id)).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCredentials {
    personio_client_secret: Option<String>,
    loket_client_secret: Option<String>,
}

pub(super) async fn change_credentials(
    State(api): ApiState,
    caller: Caller,
    Path(text): Path<String>,
    Body(body): Body<NewCredentials>,
) -> Answer {
    let connection_id = id(&text, "connection")?;
    let changed = api
        .service
        .change_credentials(
            &caller.user.name,
            connection_id,
            body.personio_client_secret.map(SecretString::from),
            body.loket_client_secret.map(SecretString::from),
        )
        .await?;
    ok(json!({"changed": changed}))
}

#[derive(Deserialize)]
pub(super) struct PlanFilter {
    status: Option<String>,
}

pub(super) async fn plans(State(api): ApiState, Query(filter): Query<PlanFilter>) -> Answer {
    ok(api.service.records.plans(filter.status.as_deref()).await?)
}

pub(super) async fn plan_one(State(api): ApiState, Path(text): Path<String>) -> Answer {
    ok(api.service.plan_view(id(&text, "plan")?).await?)
}

/// The optional body of an approval or a rejection.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionBody {
    comment: Option<String>,
}

fn decision_body(body: &Bytes) -> Result<DecisionBody, ApiError> {
    if body.is_empty() { Ok(DecisionBody::default()) } else { parse(body) }
}

pub(super) async fn approve(State(api): ApiState, caller: Caller, Path(text): Path<String>, body: Bytes) -> Answer {
    let plan_id = id(&text, "plan")?;
    let comment = decision_body(&body)?.comment;
    ok(super::api::approve_to_the_end(&api.service, &caller.user, plan_id, comment).await?)
}

pub(super) async fn reject(State(api): ApiState, caller: Caller, Path(text): Path<String>, body: Bytes) -> Answer {
    let comment = decision_body(&body)?.comment;
    ok(api.service.reject(&caller.user, id(&text, "plan")?, comment.as_deref()).await?)
}

pub(super) async fn runs(State(api): ApiState) -> Answer {
    ok(api.service.store.runs(200).await?)
}

pub(super) async fn audit(State(api): ApiState) -> Answer {
    ok(api.service.records.audit_log(500).await?)
}

pub(super) async fn user_list(State(api): ApiState) -> Answer {
    ok(api.service.records.users().await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUser {
    name: String,
    role: String,
    password: String,
}

pub(super) async fn create_user(State(api): ApiState, caller: Caller, Body(body): Body<NewUser>) -> Answer {
    let role = Role::parse(&body.role).ok_or_else(|| UserError::BadRole(body.role.clone()))?;
    let records = &api.service.records;
    let user = users::add_user(records, &body.name, role, &body.password).await?;
    records
        .note(&caller.user.name, "user added", format!("user {}", user.name), Some(role.as_str().to_string()))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    name: String,
}

pub(super) async fn create_token(State(api): ApiState, caller: Caller, Body(body): Body<NewToken>) -> Answer {
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "a token's name is 1 to 100 characters"));
    }
    let token = users::new_api_token(&api.service.records, &caller.user, &body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"name": body.name, "token": token, "shown_once": true})))
        .into_response())
}

/// Prometheus text: connections, pending approvals, runs and writes, last success per connection.
pub(super) async fn metrics(State(api): ApiState) -> Answer {
    let pool = &api.service.records.pool;
    let scalar = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.map_err(crate::store::StoreError::from)
    };
    let connections = scalar("SELECT COUNT(*) FROM connections").await?;
    let pending = scalar("SELECT COUNT(*) FROM plans WHERE status = 'pending'").await?;
    let runs = scalar("SELECT COUNT(*) FROM runs").await?;
    let writes = scalar("SELECT CAST(COALESCE(SUM(writes_sent), 0) AS BIGINT) FROM runs").await?;
    let failures = scalar("SELECT COUNT(*) FROM runs WHERE errors > 0").await?;
    let mut text = String::new();
    for (name, help, value) in [
        ("loket_sync_connections", "Connections configured.", connections),
        ("loket_sync_pending_approvals", "Plans waiting for approval.", pending),
        ("loket_sync_runs_total", "Runs recorded.", runs),
        ("loket_sync_writes_total", "Writes sent to Loket.", writes),
        ("loket_sync_failed_runs_total", "Runs that ended with errors.", failures),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
    }
    let last: Vec<(String, String)> = sqlx::query_as(
        "SELECT connections.name, MAX(runs.finished_at) FROM runs JOIN connections ON connections.id = runs.connection_id WHERE runs.errors = 0 AND runs.finished_at IS NOT NULL GROUP BY connections.name",
    )
    .fetch_all(pool)
    .await
    .map_err(crate::store::StoreError::from)?;
    text.push_str("# HELP loket_sync_last_success_timestamp_seconds The end of the last run without errors.\n# TYPE loket_sync_last_success_timestamp_seconds gauge\n");
    for (name, at) in last {
        let seconds = at.parse::<jiff::Timestamp>().map(|at| at.as_second()).unwrap_or(0);
        text.push_str(&format!("loket_sync_last_success_timestamp_seconds{{connection=\"{name}\"}} {seconds}\n"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

pub(super) async fn loket_logins(State(api): ApiState) -> Answer {
    let rows: Vec<super::records::LoginRow> = sqlx::query_as("SELECT * FROM loket_logins ORDER BY id")
        .fetch_all(&api.service.records.pool)
        .await
        .map_err(crate::store::StoreError::from)?;
    ok(rows)
}

pub(super) fn login_error(error: LoginFlowError) -> ApiError {
    let message = engine::errors::chain(&error);
    match error {
        LoginFlowError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, message),
        LoginFlowError::UnknownState => ApiError::new(StatusCode::BAD_REQUEST, message),
        LoginFlowError::Refused(_) => ApiError::new(StatusCode::BAD_GATEWAY, message),
        LoginFlowError::Connection(error) => error.into(),
        LoginFlowError::Store(error) => error.into(),
        LoginFlowError::Sealed(_) => super::api::internal(&error),
    }
}

pub(super) async fn start_loket_login(
    State(api): ApiState,
    caller: Caller,
    Path(text): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let login_id = id(&text, "Loket login")?;
    let redirect = callback_url(&api.options, &headers);
    let url = api.service.start_loket_login(&caller.user.name, login_id, &redirect).await.map_err(login_error)?;
    ok(json!({"authorize_url": url, "redirect_uri": redirect}))
}

#[derive(Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub(super) async fn loket_callback(State(api): ApiState, Query(query): Query<Callback>, headers: HeaderMap) -> Answer {
    let (code, state) = match (query.error, query.code, query.state) {
        (None, Some(code), Some(state)) => (code, state),
        (error, ..) => {
            let refused = match error {
                Some(error) => ApiError::new(StatusCode::BAD_REQUEST, format!("Loket did not log in: {error}")),
                None => ApiError::new(StatusCode::BAD_REQUEST, "the redirect carries no code and state"),
            };
            if super::web::wants_html(&headers) {
                return Ok(super::web::after_loket_login(&headers, Err(refused)));
            }
            return Err(refused);
        }
    };
    let redirect = callback_url(&api.options, &headers);
    let finished = api.service.finish_loket_login(&state, &code, &redirect).await.map_err(login_error);
    // A browser (the dashboard's "log in to Loket") goes back to the dashboard; an API client gets JSON.
    if super::web::wants_html(&headers) {
        return Ok(super::web::after_loket_login(&headers, finished));
    }
    ok(json!({"logged_in": true, "loket_login": finished?}))
}

pub(super) async fn notifications(State(api): ApiState) -> Answer {
    ok(api.service.notifications().await?)
}

pub(super) async fn add_notification(State(api): ApiState, caller: Caller, Body(new): Body<NewNotification>) -> Answer {
    let (row, secret) = api.service.add_notification(new).await.map_err(|error| match error {
        NotifyError::Store(error) => error.into(),
        NotifyError::Service(error) => error.into(),
        NotifyError::Seal(_) => super::api::internal(&error),
        other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    })?;
    api.service
        .records
        .note(
            &caller.user.name,
            "notification added",
            format!("notification {}", row.id),
            Some(format!("{} {} for {}", row.kind, row.target, row.events)),
        )
        .await?;
    let mut answer = serde_json::to_value(&row).unwrap_or_default();
    if let Some(secret) = secret {
        answer["secret"] = json!(secret);
        answer["secret_shown_once"] = json!(true);
    }
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

pub(super) async fn remove_notification(State(api): ApiState, caller: Caller, Path(text): Path<String>) -> Answer {
    let notification_id = id(&text, "notification")?;
    let removed = sqlx::query("DELETE FROM notifications WHERE id = $1")
        .bind(notification_id)
        .execute(&api.service.records.pool)
        .await
        .map_err(crate::store::StoreError::from)?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("there is no notification {notification_id}")));
    }
    api.service
        .records
        .note(&caller.user.name, "notification removed", format!("notification {notification_id}"), None)
        .await?;
    ok(json!({"removed": true}))
}

pub(super) async fn check_connection(State(api): ApiState, Path(text): Path<String>) -> Answer {
    ok(api.service.check_connection(id(&text, "connection")?).await?)
}
