//! Personio's token endpoint (client credentials, scopes) and its revocation, with errors as Personio's
//! credentials document gives them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use personio::wire;
use scenario::derived_id;

use super::SharedState;
use crate::common::{json_response, lock};

const SCOPES: [&str; 3] = [wire::SCOPE_PERSONS, wire::SCOPE_COMPENSATIONS, wire::SCOPE_LEGAL_ENTITIES];

/// What a token allows, and until when.
pub(super) struct TokenGrant {
    pub(super) scopes: Vec<String>,
    /// The company the credentials reach.
    pub(super) company: usize,
    pub(super) expires: Instant,
}

/// A token error as Personio's credentials document gives it: 400 `application/problem+json`.
fn oauth_error(error: &str, description: &str) -> Response {
    let body = wire::OAuthError {
        error: error.to_string(),
        error_description: Some(description.to_string()),
        error_uri: Some(format!("https://developer.personio.de/reference/errors#credentials.oauth2.{error}")),
        timestamp: Some(jiff::Timestamp::now().to_string()),
        trace_id: Some(derived_id("trace", &format!("{error}/{:?}", Instant::now()))),
    };
    json_response(StatusCode::BAD_REQUEST, "application/problem+json", &body)
}

pub(super) async fn token(State(shared): SharedState, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return oauth_error("invalid_request", "the token request must be form-encoded");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "client_credentials" => {}
        "" => return oauth_error("invalid_request", "grant_type is required"),
        _ => return oauth_error("unsupported_grant_type", "use client_credentials"),
    }
    let Some(company) = shared.company_of(field("client_id"), field("client_secret")) else {
        return oauth_error("unauthorized_client", "Client is not allowed to use the specified grant type flow.");
    };
    let mut scopes: Vec<String> = match form.get("scope") {
        None => SCOPES.iter().map(|scope| scope.to_string()).collect(),
        Some(text) => text.split_whitespace().map(str::to_string).collect(),
    };
    if let Some(unknown) = scopes.iter().find(|scope| !SCOPES.contains(&scope.as_str())) {
        return oauth_error("invalid_scope", &format!("unknown scope {unknown}"));
    }
    scopes.sort();
    let value =
        format!("papi-{}", derived_id("personio-token", &format!("{}/{}", field("client_id"), scopes.join(" "))));
    let mut tokens = lock(&shared.tokens);
    let grant = tokens.entry(value.clone()).or_insert_with(|| TokenGrant {
        scopes: scopes.clone(),
        company: company.0,
        expires: Instant::now() + Duration::from_secs(86_400),
    });
    let expires_in = grant.expires.saturating_duration_since(Instant::now()).as_secs();
    json_response(
        StatusCode::OK,
        "application/json",
        &wire::TokenResponse {
            access_token: value,
            token_type: "Bearer".to_string(),
            expires_in: expires_in as i64,
            scope: scopes.join(" "),
        },
    )
}

pub(super) async fn revoke(State(shared): SharedState, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match form.get("token") {
        Some(token) => {
            lock(&shared.tokens).remove(token);
            StatusCode::OK.into_response()
        }
        None => oauth_error("invalid_request", "token is required"),
    }
}
