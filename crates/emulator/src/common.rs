//! What both emulators need in the same form: the demo credentials, the lock of a shared value, JSON
//! responses and refusals, the bearer token of a request, and the fault knobs' decision on an API request.

use std::sync::{Mutex, MutexGuard};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::faults::{SharedFaults, Verdict};

/// The one client both local servers know; the tests, the demo and the docs use it.
pub const DEMO_CLIENT_ID: &str = "loket-sync-demo";
/// The secret of `DEMO_CLIENT_ID`.
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";

/// Locks a shared value, taking it over from a handler that panicked while holding it: the emulators keep
/// serving after a bug, so that the test that found it reports it instead of hanging on a poisoned lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The key requests are counted under: method and route template, with the `/v2` prefix once
/// (`GET /v2/providers/employers/{employer_id}/employees/employments`).
pub(crate) fn route_key(matched: Option<&MatchedPath>, request: &Request) -> String {
    let method = request.method().as_str();
    let route = matched.map(|path| path.as_str()).unwrap_or(request.uri().path());
    if route.starts_with("/v2") { format!("{method} {route}") } else { format!("{method} /v2{route}") }
}

/// A JSON body with the given status and content type (which carries Loket's resource version, or names
/// Personio's problem format).
pub(crate) fn json_response(status: StatusCode, content_type: &str, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    let mut response = (status, text).into_response();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A refusal (a 4xx answer) on its way out of a handler through `?`. Boxed, because a `Response` is too
/// large to pass up through every `Result` by value; `?` converts a `Response` into one.
pub(crate) struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(response: Response) -> Refusal {
        Refusal(Box::new(response))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// The token of an `Authorization: Bearer …` header, if the request has one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string)
}

/// What the fault knobs decided for one API request, and the rate limit as it stood then (Personio reports
/// it in headers).
pub(crate) struct Admission {
    pub(crate) verdict: Verdict,
    pub(crate) rate_limit_per_second: Option<u32>,
    /// The requests left in the current second under the rate limit.
    pub(crate) remaining: u32,
}

/// Counts an API request under its route, lets the fault knobs decide its fate, and waits out the injected
/// latency. The lock is released before the wait, so a slow request never holds up the others.
pub(crate) async fn admit_after_latency(faults: &SharedFaults, route: &str, is_write: bool) -> Admission {
    let (admission, latency) = {
        let mut state = lock(faults);
        let verdict = state.admit(route, is_write);
        let admission = Admission {
            verdict,
            rate_limit_per_second: state.faults.rate_limit_per_second,
            remaining: state.remaining(),
        };
        (admission, state.latency())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    admission
}
