//! The HTTP API under `/api/v1` (JSON), `/healthz` and `/metrics`. Thin: authenticate, parse, call the
//! service, render. Every route is in `ROUTES` with the least role it needs; a request to a route that is
//! not there is refused (deny by default), an unauthenticated one gets 401, a role too low 403. A request
//! authenticated by its session cookie must carry the session's CSRF token in `X-CSRF-Token` to change
//! anything; API tokens (`Authorization: Bearer …`) are not ambient credentials and need none.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::handlers::*;
pub use super::openapi::openapi;

use super::connection::ConnectionError;
use super::plans::PlanningError;
use super::users::{self, Role, User, UserError};
use super::{Service, ServiceError};
use crate::runner::PlanError;

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
/// Method, path, access, and what the route does (the OpenAPI document is made from this table).
pub const ROUTES: &[(&str, &str, Access, &str)] = &[
    ("GET", "/healthz", Access::Public, "Whether the service is up, and whether its state store answers."),
    (
        "GET",
        "/metrics",
        Access::Role(Role::Viewer),
        "Prometheus metrics: connections, pending approvals, runs, writes, failures, last success per connection.",
    ),
    (
        "POST",
        "/api/v1/session",
        Access::Public,
        "Log in with a name and password: a session cookie and its CSRF token.",
    ),
    ("DELETE", "/api/v1/session", Access::Role(Role::Viewer), "Log out."),
    ("GET", "/api/v1/me", Access::Role(Role::Viewer), "The signed-in user."),
    ("GET", "/api/v1/connections", Access::Role(Role::Viewer), "Every connection (never its secrets)."),
    (
        "POST",
        "/api/v1/connections",
        Access::Role(Role::Admin),
        "Create or replace a connection from a configuration file's text and its secrets, validated as check validates.",
    ),
    ("GET", "/api/v1/connections/{id}", Access::Role(Role::Viewer), "One connection."),
    (
        "PATCH",
        "/api/v1/connections/{id}",
        Access::Role(Role::Admin),
        "Change a connection's mode (review, auto), schedule (cron in Europe/Amsterdam, or null) and approvals required (1, or 2 for four eyes).",
    ),
    (
        "DELETE",
        "/api/v1/connections/{id}",
        Access::Role(Role::Admin),
        "Remove a connection; its runs stay in the history.",
    ),
    (
        "POST",
        "/api/v1/connections/{id}/plans",
        Access::Role(Role::Operator),
        "Read both systems and make a plan that waits for approval.",
    ),
    (
        "GET",
        "/api/v1/connections/{id}/check",
        Access::Role(Role::Viewer),
        "Check a connection against both systems: validity, Personio's attributes with the suggestion, Loket's components.",
    ),
    (
        "GET",
        "/api/v1/connections/{id}/log",
        Access::Role(Role::Viewer),
        "The audit journal of a connection's writes (intent and Loket's answer); ?employee=N for one employee.",
    ),
    (
        "PUT",
        "/api/v1/connections/{id}/credentials",
        Access::Role(Role::Admin),
        "Replace the Personio or the Loket client secret (write-only: no route returns a secret).",
    ),
    ("GET", "/api/v1/runs/{id}/issues", Access::Role(Role::Viewer), "The issues of a run, by code."),
    ("GET", "/api/v1/plans", Access::Role(Role::Viewer), "Plans, newest first; ?status=pending for those waiting."),
    (
        "GET",
        "/api/v1/plans/{id}",
        Access::Role(Role::Viewer),
        "One plan: every change with from/to and rule, what is withheld, the issues, the approvals.",
    ),
    (
        "POST",
        "/api/v1/plans/{id}/approve",
        Access::Role(Role::Operator),
        "Approve a pending plan; with enough approvals it is applied if neither system changed since.",
    ),
    ("POST", "/api/v1/plans/{id}/reject", Access::Role(Role::Operator), "Reject a pending plan: nothing is written."),
    ("GET", "/api/v1/runs", Access::Role(Role::Viewer), "The runs, newest first."),
    (
        "GET",
        "/api/v1/audit",
        Access::Role(Role::Admin),
        "The audit journal of changes to connections, plans and users.",
    ),
    ("GET", "/api/v1/users", Access::Role(Role::Admin), "The users."),
    ("POST", "/api/v1/users", Access::Role(Role::Admin), "Add a user (viewer, operator or admin)."),
    ("POST", "/api/v1/tokens", Access::Role(Role::Viewer), "A new API token for the caller, shown once."),
    ("GET", "/api/v1/openapi.json", Access::Public, "This document."),
    (
        "GET",
        "/api/v1/notifications",
        Access::Role(Role::Admin),
        "The notifications: webhooks and e-mail, per connection or for all.",
    ),
    (
        "POST",
        "/api/v1/notifications",
        Access::Role(Role::Admin),
        "Add a webhook (signed with HMAC-SHA256) or an e-mail address for events: plan_pending, run_failed, new_errors, login_needed, guard_refused.",
    ),
    ("DELETE", "/api/v1/notifications/{id}", Access::Role(Role::Admin), "Remove a notification."),
    (
        "GET",
        "/api/v1/loket-logins",
        Access::Role(Role::Admin),
        "The Loket logins (never their secrets or tokens), and which need a login.",
    ),
    (
        "POST",
        "/api/v1/loket-logins/{id}/authorize",
        Access::Role(Role::Admin),
        "Start a Loket login: the address to open in the browser; Loket sends it back to the callback.",
    ),
    (
        "GET",
        "/api/v1/loket-logins/callback",
        Access::Public,
        "Loket's redirect after a login: checked by its state, the code exchanged, the tokens sealed.",
    ),
];

/// How the API runs: `secure_cookies` when it is served over TLS (directly or behind a proxy).
#[derive(Clone, Debug, Default)]
pub struct ApiOptions {
    pub secure_cookies: bool,
    /// The address browsers reach the service at (for Loket's redirect), such as
    /// `https://sync.example.nl`; by default the request's `Host`.
    pub public_url: Option<String>,
}

/// The callback address Loket sends the browser back to.
pub(super) fn callback_url(options: &ApiOptions, headers: &HeaderMap) -> String {
    let base = options.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("127.0.0.1");
        format!("http://{host}")
    });
    format!("{}/api/v1/loket-logins/callback", base.trim_end_matches('/'))
}

pub(super) struct Api {
    pub(super) service: Arc<Service>,
    pub(super) options: ApiOptions,
}

pub(super) type ApiState = State<Arc<Api>>;

/// A refused or failed request: the status and a message that says what to do, with details (such as
/// every error of a configuration) where there are several.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) details: Vec<String>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
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
pub(super) fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
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
            PlanningError::LongComment => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            PlanningError::NeedsLogin(_) => ApiError::new(StatusCode::CONFLICT, message),
            PlanningError::Busy(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message),
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
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("the request body is not what this route takes: {error}"))
    })
}

/// An id from the path, or a 404 that names it.
pub(super) fn id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("there is no {what} `{text}`")))
}

/// The authenticated caller of a request, put there by `authorize`.
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub(super) user: User,
    /// The session's cookie value, when the caller came with one (for logout).
    pub(super) session: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Caller, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first"))
    }
}

/// A JSON body of type `T`, or a 400 (413 when too large) that says what is wrong with it.
pub(super) struct Body<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        parse(&bytes).map(Body)
    }
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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
    ROUTES.iter().find(|(m, p, _, _)| *m == method.as_str() && *p == path).map(|(_, _, access, _)| *access)
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

/// The process is up (200) whatever the store does; `store` says whether the database answers now.
async fn healthz(State(api): ApiState) -> Response {
    let store = if api.service.records.ping().await.is_ok() { "ok" } else { "unreachable" };
    axum::Json(json!({"status": "ok", "store": store})).into_response()
}

/// An approval, on a task of its own: a client (a browser, a proxy) that stops waiting does not cut the
/// apply short between two writes; it finishes and is recorded.
pub(super) async fn approve_to_the_end(
    service: &Arc<Service>,
    user: &User,
    plan_id: i64,
    comment: Option<String>,
) -> Result<super::plans::Decision, ApiError> {
    let (service, user) = (Arc::clone(service), user.clone());
    let applying = tokio::spawn(async move { service.approve(&user, plan_id, comment.as_deref()).await });
    match applying.await {
        Ok(decision) => Ok(decision?),
        Err(error) => Err(internal(&error)),
    }
}

/// A path that is no route: JSON under `/api`, a page elsewhere.
async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") || !super::web::wants_html(request.headers()) {
        return ApiError::new(StatusCode::NOT_FOUND, "there is no such route; see /api/v1/openapi.json")
            .into_response();
    }
    let lang = super::web::Lang::of(request.headers());
    super::web::not_found_page(lang)
}

/// The `Set-Cookie` value of a session (`max_age` 0 ends it).
pub(super) fn session_cookie(options: &ApiOptions, value: &str, max_age: i64) -> String {
    let secure = if options.secure_cookies { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

/// The router of the service.
pub fn router(service: Arc<Service>, options: ApiOptions) -> Router {
    let api = Arc::new(Api { service, options });
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/session", post(log_in).delete(log_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/connections", get(connections).post(create_connection))
        .route("/api/v1/connections/{id}", get(connection_one).patch(change_connection).delete(remove_connection))
        .route("/api/v1/connections/{id}/plans", post(plan_now))
        .route("/api/v1/connections/{id}/log", get(connection_log))
        .route("/api/v1/connections/{id}/check", get(check_connection))
        .route("/api/v1/connections/{id}/credentials", axum::routing::put(change_credentials))
        .route("/api/v1/runs/{id}/issues", get(run_issues))
        .route("/api/v1/plans", get(plans))
        .route("/api/v1/plans/{id}", get(plan_one))
        .route("/api/v1/plans/{id}/approve", post(approve))
        .route("/api/v1/plans/{id}/reject", post(reject))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/users", get(user_list).post(create_user))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/openapi.json", get(|| async { axum::Json(openapi()) }))
        .route("/api/v1/notifications", get(notifications).post(add_notification))
        .route("/api/v1/notifications/{id}", axum::routing::delete(remove_notification))
        .route("/api/v1/loket-logins", get(loket_logins))
        .route("/api/v1/loket-logins/{id}/authorize", post(start_loket_login))
        .route("/api/v1/loket-logins/callback", get(loket_callback))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&api), authorize))
        .merge(super::web::router(Arc::clone(&api)))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .fallback(not_found)
        .with_state(api)
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
