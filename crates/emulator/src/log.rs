//! The request log of an emulator: every API request as the client sent it (method, path, query, the names
//! of its headers and of its form fields), for tests that check the clients' requests against the
//! vendored OpenAPI documents. Values of headers and form fields are not kept: they hold tokens and secrets.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Serialize;

use crate::common::lock;

/// The most requests a log keeps; later ones are counted, not kept (a benchmark sends tens of thousands).
const MAX_LOGGED: usize = 200_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    /// The path as sent, `/v2/…` included.
    pub path: String,
    /// The query pairs, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// Header names, lower case.
    pub headers: Vec<String>,
    /// The field names of a form-encoded body.
    pub form_fields: Vec<String>,
}

#[derive(Clone, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<LoggedRequest>>>,
}

impl RequestLog {
    pub fn entries(&self) -> Vec<LoggedRequest> {
        lock(&self.entries).clone()
    }

    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    /// Wraps a router so that every request under `/v2` and `/oauth` is logged.
    pub fn layer(&self, router: Router) -> Router {
        let log = self.clone();
        router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let log = log.clone();
            async move { log.record(request, next).await }
        }))
    }

    async fn record(&self, request: Request, next: Next) -> Response {
        let path = request.uri().path().to_string();
        if !(path.starts_with("/v2") || path.starts_with("/oauth")) {
            return next.run(request).await;
        }
        let query = request
            .uri()
            .query()
            .map(|text| url::form_urlencoded::parse(text.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let headers = request.headers().keys().map(|name| name.as_str().to_lowercase()).collect();
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        let method = request.method().to_string();
        let (request, form_fields) = if is_form {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            let fields = url::form_urlencoded::parse(&bytes).map(|(name, _)| name.into_owned()).collect();
            (Request::from_parts(parts, Body::from(bytes)), fields)
        } else {
            (request, Vec::new())
        };
        {
            let mut entries = lock(&self.entries);
            if entries.len() < MAX_LOGGED {
                entries.push(LoggedRequest { method, path, query, headers, form_fields });
            }
        }
        next.run(request).await
    }
}
