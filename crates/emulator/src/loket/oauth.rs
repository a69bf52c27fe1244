//! Loket's OAuth server: `/oauth/authorize` redirects with a code, `/oauth/token` exchanges a code or a
//! refresh token (which rotates) for tokens of the demo client. A browser (it asks for `text/html`) first
//! gets an authorize page to allow access on, as Loket's own login page asks; a program gets the code at
//! once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use loket::wire;
use scenario::derived_id;

use super::SharedState;
use crate::common::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, json_response, lock};

const ACCESS_TOKEN_SECONDS: u64 = 3599;

/// The codes, access tokens and refresh tokens handed out and not yet used up.
#[derive(Default)]
pub(super) struct Auth {
    codes: HashSet<String>,
    /// Each access token with the moment it stops working.
    pub(super) access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    counter: u64,
}

impl Auth {
    fn token(&mut self, prefix: &str) -> String {
        self.counter += 1;
        derived_id(prefix, &format!("{}/{:?}", self.counter, Instant::now()))
    }

    pub(super) fn issue(&mut self) -> wire::TokenResponse {
        let access = self.token("access");
        let refresh = self.token("refresh");
        self.access.insert(access.clone(), Instant::now() + Duration::from_secs(ACCESS_TOKEN_SECONDS));
        self.refresh.insert(refresh.clone());
        wire::TokenResponse {
            access_token: access,
            token_type: "bearer".to_string(),
            expires_in: ACCESS_TOKEN_SECONDS as i64,
            refresh_token: Some(refresh),
        }
    }
}

/// The page a browser allows access on: a form that sends the same query back with `approve=yes`.
fn authorize_page(query: &HashMap<String, String>) -> Response {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    let mut fields = String::new();
    let mut keys: Vec<&String> = query.keys().filter(|key| key.as_str() != "approve").collect();
    keys.sort();
    for key in keys {
        fields.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(key), escape(&query[key])));
    }
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Loket (local emulator): allow access</title></head><body><main><h1>Loket (local emulator)</h1><p>Allow <strong>{}</strong> to read and change payroll data of this provider's employers?</p><form method=\"get\" action=\"/oauth/authorize\">{fields}<input type=\"hidden\" name=\"approve\" value=\"yes\"><button type=\"submit\">Allow</button></form></main></body></html>",
        escape(query.get("client_id").map(String::as_str).unwrap_or(""))
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

pub(super) async fn authorize(
    State(shared): SharedState,
    headers: axum::http::HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let client_id = query.get("client_id").map(String::as_str).unwrap_or("");
    if client_id != DEMO_CLIENT_ID {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown client_id");
    }
    let Some(redirect) = query.get("redirect_uri") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is required");
    };
    if query.get("response_type").map(String::as_str) != Some("code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_response_type", "response_type must be code");
    }
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if browser && query.get("approve").map(String::as_str) != Some("yes") {
        return authorize_page(&query);
    }
    let code = {
        let mut auth = lock(&shared.auth);
        let code = auth.token("code");
        auth.codes.insert(code.clone());
        code
    };
    let Ok(mut location) = url::Url::parse(redirect) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is not a URL");
    };
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = query.get("state") {
        location.query_pairs_mut().append_pair("state", state);
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = wire::OAuthError { error: error.to_string(), error_description: Some(description.to_string()) };
    json_response(status, "application/json", &body)
}

pub(super) async fn token(State(shared): SharedState, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("client_id") != DEMO_CLIENT_ID || field("client_secret") != DEMO_CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret");
    }
    let mut auth = lock(&shared.auth);
    match field("grant_type") {
        "authorization_code" => {
            if !auth.codes.remove(field("code")) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code is unknown or used");
            }
        }
        "refresh_token" => {
            // Rotation: the old refresh token stops working now.
            if !auth.refresh.remove(field("refresh_token")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is unknown, used or revoked",
                );
            }
        }
        "" => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use authorization_code or refresh_token",
            );
        }
    }
    let tokens = auth.issue();
    json_response(StatusCode::OK, "application/json", &tokens)
}
