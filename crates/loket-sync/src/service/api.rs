//! The HTTP API under `/api/v1` (JSON), `/healthz` and `/metrics`. Thin: authenticate, parse, call the
//! service, render. Every route is in `ROUTES` with the least role it needs; a request to a route that is
//! not there is refused (deny by default), an unauthenticated one gets 401, a role too low 403. A request
//! authenticated by its session cookie must carry the session's CSRF token in `X-CSRF-Token` to change
//! anything; API tokens (`Authorization: Bearer …`) are not ambient credentials and need none.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::connection::{self, ConnectionError, Secrets};
use super::plans::PlanningError;
use super::users::{self, LoginError, Role, User, UserError};
use super::{Service, ServiceError};
use crate::runner::PlanError;
use crate::store::Store as _;

pub const SESSION_COOKIE: &str = "loket_sync_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest request body taken (a configuration file is a few kilobytes).
pub const MAX_BODY: usize = 256 * 1024;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    Role(Role),
}

/// Every route of the service, with the least access it needs.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/metrics", Access::Role(Role::Viewer)),
    ("POST", "/api/v1/session", Access::Public),
    ("DELETE", "/api/v1/session", Access::Role(Role::Viewer)),
    ("GET", "/api/v1/me", Access::Role(Role::Viewer)),
    ("GET", "/api/v1/connections", Access::Role(Role::Viewer)),
    ("POST", "/api/v1/connections", Access::Role(Role::Admin)),
    ("GET", "/api/v1/connections/{id}", Access::Role(Role::Viewer)),
    ("PATCH", "/api/v1/connections/{id}", Access::Role(Role::Admin)),
    ("DELETE", "/api/v1/connections/{id}", Access::Role(Role::Admin)),
    ("POST", "/api/v1/connections/{id}/plans", Access::Role(Role::Operator)),
    ("GET", "/api/v1/plans", Access::Role(Role::Viewer)),
    ("GET", "/api/v1/plans/{id}", Access::Role(Role::Viewer)),
    ("POST", "/api/v1/plans/{id}/approve", Access::Role(Role::Operator)),
    ("POST", "/api/v1/plans/{id}/reject", Access::Role(Role::Operator)),
    ("GET", "/api/v1/runs", Access::Role(Role::Viewer)),
    ("GET", "/api/v1/audit", Access::Role(Role::Admin)),
    ("GET", "/api/v1/users", Access::Role(Role::Admin)),
    ("POST", "/api/v1/users", Access::Role(Role::Admin)),
    ("POST", "/api/v1/tokens", Access::Role(Role::Viewer)),
];

/// How the API runs: `secure_cookies` when it is served over TLS (directly or behind a proxy).
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiOptions {
    pub secure_cookies: bool,
}

struct Api {
    service: Arc<Service>,
    options: ApiOptions,
}

type ApiState = State<Arc<Api>>;

/// A refused or failed request: the status and a message that says what to do, with details (such as
/// every error of a configuration) where there are several.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    details: Vec<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), details: Vec::new() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "details": self.details});
        (self.status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    }
}

/// A failure of ours (the store, the disk): logged in full, answered without the insides.
fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
    tracing::error!(error = %engine::errors::chain(error), "request failed");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the service failed; its log says why")
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
        internal(&error)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        match error {
            ServiceError::NoKey => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            other => internal(&other),
        }
    }
}

impl From<ConnectionError> for ApiError {
    fn from(error: ConnectionError) -> ApiError {
        let message = engine::errors::chain(&error);
        match error {
            ConnectionError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, message),
            ConnectionError::Invalid(errors) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message,
                details: errors
                    .iter()
                    .map(|error| format!("line {}: {}: {}", error.line, error.field, error.message))
                    .collect(),
            },
            ConnectionError::Refused(errors) => {
                ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, message, details: errors }
            }
            ConnectionError::BadName(_) | ConnectionError::MissingSecret(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            ConnectionError::Service(error) => error.into(),
            ConnectionError::Store(error) => error.into(),
            other => internal(&other),
        }
    }
}

impl From<PlanningError> for ApiError {
    fn from(error: PlanningError) -> ApiError {
        let message = engine::errors::chain(&error);
        match error {
            PlanningError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, message),
            PlanningError::NotPending { .. } | PlanningError::AlreadyDecided(_) => {
                ApiError::new(StatusCode::CONFLICT, message)
            }
            PlanningError::OwnPlan(_) => ApiError::new(StatusCode::FORBIDDEN, message),
            PlanningError::Plan(PlanError::Config(errors)) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message,
                details: errors.iter().map(ToString::to_string).collect(),
            },
            PlanningError::Plan(_) => ApiError::new(StatusCode::CONFLICT, message),
            PlanningError::Connection(error) => error.into(),
            PlanningError::Store(crate::store::StoreError::Locked { .. }) => {
                ApiError::new(StatusCode::CONFLICT, message)
            }
            PlanningError::Store(error) => error.into(),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> ApiError {
        match error {
            UserError::Store(error) => error.into(),
            UserError::Random(_) | UserError::Hash(_) => internal(&error),
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        }
    }
}

/// A JSON body of type `T`, or a 400 that says what is wrong with it.
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("the request body is not what this route takes: {error}"))
    })
}

/// An id from the path, or a 404 that names it.
fn id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("there is no {what} `{text}`")))
}

/// The authenticated caller of a request, put there by `authorize`.
#[derive(Clone, Debug)]
struct Caller {
    user: User,
    /// The session's cookie value, when the caller came with one (for logout).
    session: Option<String>,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.to_string())
        })
}

fn access_of(method: &Method, path: &str) -> Option<Access> {
    ROUTES.iter().find(|(m, p, _)| *m == method.as_str() && *p == path).map(|(_, _, access)| *access)
}

/// Authentication and authorization of every request, by the route table.
async fn authorize(State(api): ApiState, mut request: Request, next: Next) -> Result<Response, ApiError> {
    let path = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_string()).unwrap_or_default();
    let access = access_of(request.method(), &path)
        .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "this route is not open to anyone"))?;
    let Access::Role(needed) = access else { return Ok(next.run(request).await) };
    let headers = request.headers();
    let records = &api.service.records;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let caller = if let Some(token) = bearer {
        let user = users::token_user(records, &token).await?;
        let user = user.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "the API token is not valid"))?;
        Caller { user, session: None }
    } else if let Some(session) = cookie(headers, SESSION_COOKIE) {
        let (user, csrf) = users::session(records, &session, api.service.clock.now())
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "the session has ended; log in again"))?;
        let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
        let sent = headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok());
        if changes && sent != Some(csrf.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "the CSRF token is missing or wrong: send the session's csrf_token in the X-CSRF-Token header",
            ));
        }
        Caller { user, session: Some(session) }
    } else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in first (POST /api/v1/session) or send an API token (Authorization: Bearer …)",
        ));
    };
    if caller.user.role < needed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{} is a {}; this needs the {} role", caller.user.name, caller.user.role.as_str(), needed.as_str()),
        ));
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// The router of the service.
pub fn router(service: Arc<Service>, options: ApiOptions) -> Router {
    let api = Arc::new(Api { service, options });
    Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .route("/api/v1/session", post(log_in).delete(log_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/connections", get(connections).post(create_connection))
        .route("/api/v1/connections/{id}", get(connection_one).patch(change_connection).delete(remove_connection))
        .route("/api/v1/connections/{id}/plans", post(plan_now))
        .route("/api/v1/plans", get(plans))
        .route("/api/v1/plans/{id}", get(plan_one))
        .route("/api/v1/plans/{id}/approve", post(approve))
        .route("/api/v1/plans/{id}/reject", post(reject))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/users", get(user_list).post(create_user))
        .route("/api/v1/tokens", post(create_token))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&api), authorize))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "there is no such route; see /api/v1/openapi.json") })
        .with_state(api)
}

fn caller(request_caller: Option<axum::Extension<Caller>>) -> Result<Caller, ApiError> {
    request_caller
        .map(|axum::Extension(caller)| caller)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first"))
}

type MaybeCaller = Option<axum::Extension<Caller>>;
type Answer = Result<Response, ApiError>;

fn ok(value: impl serde::Serialize) -> Answer {
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], axum::Json(value)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    name: String,
    password: String,
}

async fn log_in(State(api): ApiState, body: Bytes) -> Answer {
    let body: LoginBody = parse(&body)?;
    let service = &api.service;
    let session = users::log_in(&service.records, &service.throttle, &body.name, &body.password, service.clock.now())
        .await
        .map_err(|error| match error {
            LoginError::Wrong => ApiError::new(StatusCode::UNAUTHORIZED, error.to_string()),
            LoginError::Throttled(_) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, error.to_string()),
            LoginError::User(error) => error.into(),
        })?;
    let secure = if api.options.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        session.cookie,
        users::SESSION_SECONDS
    );
    let body = json!({"user": session.user, "csrf_token": session.csrf});
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_string())],
        axum::Json(body),
    )
        .into_response())
}

async fn log_out(State(api): ApiState, request_caller: MaybeCaller) -> Answer {
    let caller = caller(request_caller)?;
    if let Some(session) = caller.session {
        api.service.records.delete_session(&super::crypto::token_hash(&session)).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((StatusCode::OK, [(header::SET_COOKIE, cookie)], axum::Json(json!({"logged_out": true}))).into_response())
}

async fn me(request_caller: MaybeCaller) -> Answer {
    ok(caller(request_caller)?.user)
}

async fn connections(State(api): ApiState) -> Answer {
    ok(api.service.records.connections().await?)
}

async fn connection_one(State(api): ApiState, Path(text): Path<String>) -> Answer {
    let connection_id = id(&text, "connection")?;
    let row = api.service.records.connection(connection_id).await?;
    ok(row.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("there is no connection {connection_id}")))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConnection {
    name: String,
    /// The configuration file's text (TOML), as `loket-sync init` writes it.
    settings: String,
    personio_client_secret: String,
    loket_client_secret: String,
}

async fn create_connection(State(api): ApiState, request_caller: MaybeCaller, body: Bytes) -> Answer {
    let caller = caller(request_caller)?;
    let body: NewConnection = parse(&body)?;
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
struct ConnectionPolicy {
    mode: Option<String>,
    approvals_required: Option<i64>,
    /// A cron expression in Europe/Amsterdam, or null for manual only.
    #[serde(default)]
    schedule: Option<Value>,
}

async fn change_connection(
    State(api): ApiState,
    request_caller: MaybeCaller,
    Path(text): Path<String>,
    body: Bytes,
) -> Answer {
    let caller = caller(request_caller)?;
    let connection_id = id(&text, "connection")?;
    let body: ConnectionPolicy = parse(&body)?;
    let records = &api.service.records;
    let before = records
        .connection(connection_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("there is no connection {connection_id}")))?;
    let mut after = before.clone();
    if let Some(mode) = body.mode {
        if !matches!(mode.as_str(), "review" | "auto") {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("mode `{mode}` is not one; use review or auto"),
            ));
        }
        after.mode = mode;
    }
    if let Some(required) = body.approvals_required {
        if !(1..=2).contains(&required) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "approvals_required is 1, or 2 for four eyes"));
        }
        after.approvals_required = required;
    }
    match body.schedule {
        None => {}
        Some(Value::Null) => after.schedule = None,
        Some(Value::String(text)) => {
            let cron = super::schedule::Cron::parse(&text)
                .map_err(|error| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()))?;
            after.schedule = Some(cron.as_str().to_string());
            // A new schedule starts now: it does not make up for the slots before it was set.
            after.last_scheduled_at = Some(api.service.clock.now().to_string());
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("schedule is a cron expression such as \"0 6 * * 1-5\", or null for manual only; not {other}"),
            ));
        }
    }
    records.update_connection_policy(&after).await?;
    let policy = |row: &super::records::ConnectionRow| {
        format!(
            "mode {}, approvals {}, schedule {}",
            row.mode,
            row.approvals_required,
            row.schedule.as_deref().unwrap_or("manual")
        )
    };
    records
        .audit(super::records::AuditEntry {
            who: &caller.user.name,
            action: "connection policy changed",
            subject: format!("connection {}", before.name),
            before: Some(policy(&before)),
            after: Some(policy(&after)),
        })
        .await?;
    ok(records.connection(connection_id).await?)
}

async fn remove_connection(State(api): ApiState, request_caller: MaybeCaller, Path(text): Path<String>) -> Answer {
    let caller = caller(request_caller)?;
    api.service.delete_connection(&caller.user.name, id(&text, "connection")?).await?;
    ok(json!({"removed": true}))
}

async fn plan_now(State(api): ApiState, request_caller: MaybeCaller, Path(text): Path<String>) -> Answer {
    let caller = caller(request_caller)?;
    let view = api.service.make_plan(id(&text, "connection")?, Some(&caller.user.name)).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

#[derive(Deserialize)]
struct PlanFilter {
    status: Option<String>,
}

async fn plans(State(api): ApiState, Query(filter): Query<PlanFilter>) -> Answer {
    ok(api.service.records.plans(filter.status.as_deref()).await?)
}

async fn plan_one(State(api): ApiState, Path(text): Path<String>) -> Answer {
    ok(api.service.plan_view(id(&text, "plan")?).await?)
}

async fn approve(State(api): ApiState, request_caller: MaybeCaller, Path(text): Path<String>) -> Answer {
    let caller = caller(request_caller)?;
    ok(api.service.approve(&caller.user, id(&text, "plan")?).await?)
}

async fn reject(State(api): ApiState, request_caller: MaybeCaller, Path(text): Path<String>) -> Answer {
    let caller = caller(request_caller)?;
    ok(api.service.reject(&caller.user, id(&text, "plan")?).await?)
}

async fn runs(State(api): ApiState) -> Answer {
    ok(api.service.store.runs(200).await?)
}

async fn audit(State(api): ApiState) -> Answer {
    ok(api.service.records.audit_log(500).await?)
}

async fn user_list(State(api): ApiState) -> Answer {
    ok(api.service.records.users().await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

async fn create_user(State(api): ApiState, request_caller: MaybeCaller, body: Bytes) -> Answer {
    let caller = caller(request_caller)?;
    let body: NewUser = parse(&body)?;
    let role = Role::parse(&body.role).ok_or_else(|| UserError::BadRole(body.role.clone()))?;
    let records = &api.service.records;
    let user = users::add_user(records, &body.name, role, &body.password).await?;
    records
        .audit(super::records::AuditEntry {
            who: &caller.user.name,
            action: "user added",
            subject: format!("user {}", user.name),
            before: None,
            after: Some(role.as_str().to_string()),
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
}

async fn create_token(State(api): ApiState, request_caller: MaybeCaller, body: Bytes) -> Answer {
    let caller = caller(request_caller)?;
    let body: NewToken = parse(&body)?;
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "a token's name is 1 to 100 characters"));
    }
    let token = users::new_api_token(&api.service.records, &caller.user, &body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"name": body.name, "token": token, "shown_once": true})))
        .into_response())
}

/// Prometheus text: connections, pending approvals, runs and writes, last success per connection.
async fn metrics(State(api): ApiState) -> Answer {
    let pool = &api.service.records.pool;
    let scalar = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.map_err(crate::store::StoreError::from)
    };
    let connections = scalar("SELECT COUNT(*) FROM connections").await?;
    let pending = scalar("SELECT COUNT(*) FROM plans WHERE status = 'pending'").await?;
    let runs = scalar("SELECT COUNT(*) FROM runs").await?;
    let writes = scalar("SELECT COALESCE(SUM(writes_sent), 0) FROM runs").await?;
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

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    options: ApiOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(service, options)).with_graceful_shutdown(shutdown).await
}

/// The route table as JSON (for the API's description and the tests).
pub fn route_table() -> Value {
    Value::Array(
        ROUTES
            .iter()
            .map(|(method, path, access)| {
                let access = match access {
                    Access::Public => "public".to_string(),
                    Access::Role(role) => role.as_str().to_string(),
                };
                json!({"method": method, "path": path, "access": access})
            })
            .collect(),
    )
}
