//! Personio's cursor paging: opaque cursors that carry the first page's query, and absolute `self` and
//! `next` links that carry only the cursor.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use personio::wire;

use super::problem;
use crate::common::json_response;

/// A list request's parameters: the query as sent, or (with a `cursor`) the query the cursor carries; and
/// the origin its links are made absolute with. As an extractor it refuses a bad cursor before the handler
/// runs.
pub(super) struct ListQuery {
    params: BTreeMap<String, String>,
    offset: usize,
    origin: String,
}

impl ListQuery {
    pub(super) fn get(&self, name: &str) -> Option<&String> {
        self.params.get(name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ListQuery, Response> {
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        list_query(query, origin(&parts.headers)).map_err(|response| *response)
    }
}

/// A cursor carries the whole query of the first page and the offset (Personio's next links carry only
/// the cursor, so it must carry the filters): `cur_` and the hex of `offset` and the query string.
fn cursor(offset: usize, params: &BTreeMap<String, String>) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        pairs.append_pair(name, value);
    }
    let text = format!("{offset}\n{}", pairs.finish());
    format!("cur_{}", text.bytes().map(|byte| format!("{:02x}", byte ^ 0x5a)).collect::<String>())
}

fn uncursor(cursor: &str) -> Option<(usize, BTreeMap<String, String>)> {
    let hex = cursor.strip_prefix("cur_")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(hex.get(index..index + 2)?, 16).ok().map(|b| b ^ 0x5a))
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (offset, query) = text.split_once('\n')?;
    Some((offset.parse().ok()?, url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
}

/// The parameters of a list request. A cursor stands for the query it was handed out with; a request with
/// a cursor may carry no other parameter but `limit`.
fn list_query(query: HashMap<String, String>, origin: String) -> Result<ListQuery, Box<Response>> {
    let Some(text) = query.get("cursor") else {
        return Ok(ListQuery { params: query.into_iter().collect(), offset: 0, origin });
    };
    let Some((offset, mut params)) = uncursor(text) else {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "Invalid cursor",
            "The cursor was not handed out by this API.",
        )));
    };
    if let Some(other) = query.keys().find(|name| *name != "cursor" && *name != "limit") {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "Invalid cursor",
            &format!(
                "A request with a cursor carries its filters in the cursor; `{other}` may not be given beside it."
            ),
        )));
    }
    if let Some(limit) = query.get("limit") {
        params.insert("limit".to_string(), limit.clone());
    }
    Ok(ListQuery { params, offset, origin })
}

/// `http://host:port` of a request, for absolute links as Personio gives them.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// One page of `items` for the query's `limit`, with absolute `self` and `next` links that carry only the
/// cursor, as Personio's do.
pub(super) fn page<T: serde::Serialize + Clone>(
    path: &str,
    query: &ListQuery,
    items: &[T],
    (default_limit, max_limit): (usize, usize),
) -> Response {
    let limit = match query.get("limit") {
        None => default_limit,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=max_limit).contains(&limit) => limit,
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "Invalid limit",
                    &format!("limit must be a whole number from 1 to {max_limit}, not `{text}`."),
                );
            }
        },
    };
    let start = query.offset;
    if start > items.len() {
        return problem(StatusCode::BAD_REQUEST, "Invalid cursor", "The cursor was not handed out by this API.");
    }
    let data: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let link = |offset: usize| {
        let origin = &query.origin;
        let href = if offset == 0 {
            format!("{origin}/v2{path}")
        } else {
            format!("{origin}/v2{path}?cursor={}", cursor(offset, &query.params))
        };
        wire::Link { href }
    };
    let next = (start + limit < items.len()).then(|| link(start + limit));
    let list = wire::List { data, meta: wire::Meta { links: wire::Links { this: Some(link(start)), next } } };
    json_response(StatusCode::OK, "application/json", &list)
}
