//! The shapes of Loket's answers: the single-entity and list envelopes, paging, the resource version from
//! the `Accept` header, ETags and `If-Match`, and the 400 bodies of a broken business rule.

use engine::model::Refusal as LoketRefusal;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use loket::wire::{self, Envelope, ListEnvelope, Message, Version};
use scenario::derived_id;
use serde_json::{Value, json};

use crate::common::{Refusal, json_response};

/// A handler's answer: `Err` holds a refusal (a 400, 404 or 409), so that `?` ends the handler with it.
pub(super) type HandlerResult = Result<Response, Refusal>;

pub(super) fn ok_json(version: &str, body: &impl serde::Serialize) -> Response {
    json_response(StatusCode::OK, &format!("application/json;version={version}"), body)
}

/// A 400 in the single-entity envelope: `{version, messages, content: {}}`.
pub(super) fn broken_rule(description: impl std::fmt::Display) -> Response {
    let envelope = Envelope {
        version: Some(Version::of(wire::VERSION_2018)),
        messages: vec![Message::broken_rule(description.to_string())],
        content: json!({}),
    };
    json_response(StatusCode::BAD_REQUEST, "application/json", &envelope)
}

/// A 400 in the list envelope: `{…paging, version, messages, _embedded: []}`.
pub(super) fn broken_rule_list(description: impl std::fmt::Display) -> Response {
    let envelope: ListEnvelope<Value> = ListEnvelope {
        total_size: 0,
        page_size: 0,
        total_pages: 0,
        current_page: 0,
        version: Some(Version::of(wire::VERSION_2018)),
        messages: vec![Message::broken_rule(description.to_string())],
        embedded: Vec::new(),
    };
    json_response(StatusCode::BAD_REQUEST, "application/json", &envelope)
}

pub(super) fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// The answer to a write that returns no record: the envelope with an empty `content`.
pub(super) fn empty_content() -> Response {
    let envelope =
        Envelope { version: Some(Version::of(wire::VERSION_2018)), messages: Vec::new(), content: json!({}) };
    json_response(StatusCode::OK, "application/json", &envelope)
}

/// The answer to a collective or single PATCH of period data: a version and the messages, no content.
pub(super) fn messages_only(status: StatusCode, messages: Vec<Message>) -> Response {
    let envelope = json!({"version": Version::of(wire::VERSION_2018), "messages": messages});
    json_response(status, "application/json", &envelope)
}

/// The resource version to serve for an `Accept` header, or the 400 that says why none fits.
pub(super) fn version_for(headers: &HeaderMap, resource: &str) -> Result<String, LoketRefusal> {
    let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or("");
    let requested = accept.split(';').find_map(|part| part.trim().strip_prefix("version=")).map(str::trim);
    match requested {
        None => Ok(resource.to_string()),
        Some(date) if date.parse::<Date>().is_err() => {
            Err(format!("`{date}` in the Accept header is not a version date (YYYY-MM-DD)").into())
        }
        Some(date) if date < resource => {
            Err(format!("this resource has no version on or before {date}; the oldest is {resource}").into())
        }
        Some(_) => Ok(resource.to_string()),
    }
}

struct Paging {
    number: usize,
    size: usize,
}

fn paging(query: &HashMap<String, String>) -> Result<Paging, LoketRefusal> {
    let number = match query.get("pageNumber") {
        None => 1,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(format!("pageNumber `{text}` must be a whole number from 1"))?,
    };
    let size = match query.get("pageSize") {
        None => 250,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or(format!("pageSize `{text}` must be a whole number from 1 to 1000"))?,
    };
    Ok(Paging { number, size })
}

/// One page of a list, as the query's `pageNumber` and `pageSize` ask, in the version the `Accept` header
/// asks for.
pub(super) fn list_response<T: serde::Serialize>(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    resource: &str,
    items: Vec<T>,
) -> Response {
    let version = match version_for(headers, resource) {
        Ok(version) => version,
        Err(reason) => return broken_rule_list(reason),
    };
    let paging = match paging(query) {
        Ok(paging) => paging,
        Err(reason) => return broken_rule_list(reason),
    };
    page_response(&version, paging, items, true)
}

/// A list that Loket's document declares without paging parameters (payroll periods, the component
/// catalogue): every item on one page.
pub(super) fn whole_list_response<T: serde::Serialize>(
    headers: &HeaderMap,
    resource: &str,
    items: Vec<T>,
    with_version: bool,
) -> Response {
    let version = match version_for(headers, resource) {
        Ok(version) => version,
        Err(reason) => return broken_rule_list(reason),
    };
    let paging = Paging { number: 1, size: items.len().max(1) };
    page_response(&version, paging, items, with_version)
}

fn page_response<T: serde::Serialize>(version: &str, paging: Paging, items: Vec<T>, with_version: bool) -> Response {
    let total = items.len();
    let total_pages = total.div_ceil(paging.size);
    let page: Vec<T> = items.into_iter().skip((paging.number - 1) * paging.size).take(paging.size).collect();
    let envelope = ListEnvelope {
        total_size: total as i64,
        page_size: paging.size as i64,
        total_pages: total_pages as i64,
        current_page: paging.number as i64,
        version: with_version.then(|| Version::of(version)),
        messages: Vec::new(),
        embedded: page,
    };
    ok_json(version, &envelope)
}

/// One record in the single-entity envelope, with its ETag.
pub(super) fn entity_response<T: serde::Serialize>(
    status: StatusCode,
    headers: &HeaderMap,
    resource: &str,
    content: T,
) -> Response {
    let version = match version_for(headers, resource) {
        Ok(version) => version,
        Err(reason) => return broken_rule(reason),
    };
    let envelope = Envelope { version: Some(Version::of(&version)), messages: Vec::new(), content };
    let etag = etag_of(&envelope.content);
    let mut response = json_response(status, &format!("application/json;version={version}"), &envelope);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn etag_of(content: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(content).unwrap_or_default();
    format!("\"{}\"", &derived_id("etag", &text)[..8])
}

/// 409 when `If-Match` names another version of the record.
pub(super) fn if_match_conflict(headers: &HeaderMap, current: &impl serde::Serialize) -> Result<(), Refusal> {
    let Some(wanted) = headers.get(header::IF_MATCH).and_then(|value| value.to_str().ok()) else { return Ok(()) };
    if wanted == "*" || wanted == etag_of(current) {
        return Ok(());
    }
    let envelope = Envelope {
        version: Some(Version::of(wire::VERSION_2018)),
        messages: vec![Message {
            code: 409,
            id: None,
            kind: "BrokenBusinessRule".to_string(),
            description: "The record was changed by someone else (If-Match does not match); read it again.".to_string(),
            properties: Vec::new(),
        }],
        content: json!({}),
    };
    Err(json_response(StatusCode::CONFLICT, "application/json", &envelope).into())
}

/// The request body as JSON, or the 400 that says why it cannot be read.
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    serde_json::from_slice(body)
        .map_err(|error| broken_rule(format!("The request body cannot be read: {error}.")).into())
}
