//! A local Personio (API v2), seeded from and dumped to the `personio` section of the scenario format.
//!
//! # Model
//! Per person: an employment (legal entity, status, dates, hours), custom attributes (keyed by label or id in
//! the file, resolved to definitions with ids, SCENARIOS.md), a base-salary
//! history, recurring histories per type (a 0 ends one) and one-time payments. `GET /v2/compensations` is a
//! view of one month at most, shown as SCENARIOS.md says: a salary or recurring record appears in every
//! month in which it is in effect for at least one day, with its own `effective_from` and `interval`; a
//! one-time payment only in the month of its date; a record with value 0 never; nothing dated after the
//! person's employment end; item ids are stable per record.
//!
//! # As Personio's documents and live checks say (PERSONIO-API.md)
//! - Custom attributes are served as `{id, global_id, type, value}` **without a label** (a section with
//!   `labels_served: true` adds them); an `INT` attribute whose value is a whole number comes as a JSON
//!   number, others as strings; `type` is served as the file's definition writes it (upper case for
//!   defined ones, lower-case `string` for undefined ones, as Personio's examples show both).
//! - `self` and `next` links are absolute (`http://host/v2/persons?cursor=…`) and carry only the cursor;
//!   the cursor carries the first page's query (filters and `limit`).
//! - The token endpoint answers errors with 400 `application/problem+json` (`error`, `error_description`,
//!   `error_uri`, `timestamp`, `trace_id`): a wrong secret is `unauthorized_client`, a form without
//!   `grant_type` `invalid_request`, another grant `unsupported_grant_type`, an unknown scope `invalid_scope`.
//!
//! # Decisions where the real behaviour is unconfirmed
//! - A window is at most one calendar month: `end_date` on or before `start_date` plus one month; without
//!   dates the current month is shown (the only use of the clock).
//! - Cursors are opaque (`cur_…`); a cursor that was not handed out is a 400, and so is a request that gives
//!   any parameter but `limit` beside a cursor (a client must follow the link, not rebuild it).
//! - `limit` ranges: persons and employments 1–50 (default 10), compensations and types 1–100 (default
//!   100), legal entities 1–100 (default 20); outside them, a 400.
//! - A token is `papi-` plus a value stable per credential and scopes, valid 24 h; revoking it ends it.
//!   Only the demo credential `loket-sync-demo` / `demo-secret` is known.
//! - Scopes: persons and employments need `personio:persons:read`, compensations and types
//!   `personio:compensations:read`, legal entities `personio:legal-entities:read`; without, a 403 (a live
//!   Personio has been seen to answer 401 for a missing right; the client says so for either).
//! - A type counted in a unit shows `amount{value, unit}` without a currency; the type carries the unit.
//! - Rate limiting (a fault knob) answers 429 with `x-ratelimit-*` headers and no `Retry-After`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::civil::Date;
use personio::wire;
use rust_decimal::Decimal;
use scenario::{PersonSection, PersonioSection, SalaryKindSection, derived_id};
use serde_json::json;

use crate::faults::{self, FaultState, Faults, SharedFaults, Verdict};

pub const DEMO_CLIENT_ID: &str = "loket-sync-demo";
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
const SCOPES: [&str; 3] = [wire::SCOPE_PERSONS, wire::SCOPE_COMPENSATIONS, wire::SCOPE_LEGAL_ENTITIES];

struct TokenGrant {
    scopes: Vec<String>,
    expires: Instant,
}

/// The items of one compensations window, computed once for all its pages (cleared when the state is
/// replaced): a month of a large company is many pages, and each would otherwise compute the whole month.
type WindowKey = (Date, Date, Option<Vec<String>>, Option<Vec<String>>);

struct Shared {
    section: Mutex<PersonioSection>,
    tokens: Mutex<HashMap<String, TokenGrant>>,
    faults: SharedFaults,
    log: crate::RequestLog,
    windows: Mutex<HashMap<WindowKey, Arc<Vec<wire::Compensation>>>>,
}

#[derive(Clone)]
pub struct PersonioEmulator {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks what a seed must hold for the emulator to serve it.
fn check_section(section: &PersonioSection) -> Result<(), String> {
    section.to_state().map(|_| ()).map_err(|error| error.to_string())
}

impl PersonioEmulator {
    pub fn new(section: PersonioSection) -> Result<PersonioEmulator, String> {
        check_section(&section)?;
        Ok(PersonioEmulator {
            shared: Arc::new(Shared {
                section: Mutex::new(section),
                tokens: Mutex::new(HashMap::new()),
                faults: Arc::new(Mutex::new(FaultState::default())),
                log: crate::RequestLog::default(),
                windows: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn legal_entity_id(&self) -> String {
        lock(&self.shared.section).legal_entity.id.clone()
    }

    pub fn dump(&self) -> PersonioSection {
        lock(&self.shared.section).clone()
    }

    /// Replaces the whole state (the HR administrator at work) and resets the counts; tokens stay valid.
    pub fn load(&self, section: PersonioSection) -> Result<(), String> {
        check_section(&section)?;
        *lock(&self.shared.section) = section;
        lock(&self.shared.windows).clear();
        faults::lock(&self.shared.faults).reset_counts();
        Ok(())
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.check()?;
        faults::lock(&self.shared.faults).set(faults);
        Ok(())
    }

    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        faults::lock(&self.shared.faults).requests.clone()
    }

    /// Every API request served so far, as the client sent it (see `log`).
    pub fn request_log(&self) -> Vec<crate::LoggedRequest> {
        self.shared.log.entries()
    }

    pub fn router(&self) -> Router {
        let shared = Arc::clone(&self.shared);
        let api = Router::new()
            .route("/persons", get(persons))
            .route("/persons/{person_id}", get(person))
            .route("/persons/{person_id}/employments", get(employments))
            .route("/legal-entities", get(legal_entities))
            .route("/compensations/types", get(compensation_types))
            .route("/compensations", get(compensations))
            .route_layer(middleware::from_fn_with_state(Arc::clone(&shared), api_layer))
            .route("/auth/token", post(token))
            .route("/auth/revoke", post(revoke))
            .fallback(|| async { problem(StatusCode::NOT_FOUND, "Not found", "There is no such resource.") });
        let router = Router::new()
            .nest("/v2", api)
            .route("/_emulator/state", get(get_state).put(put_state))
            .route("/_emulator/requests", get(get_requests))
            .route("/_emulator/faults", axum::routing::put(put_faults))
            .with_state(shared);
        self.shared.log.layer(router)
    }
}

type SharedState = State<Arc<Shared>>;

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = wire::ErrorBody {
        personio_trace_id: derived_id("trace", &format!("{title}/{detail}/{:?}", Instant::now())),
        timestamp: jiff::Timestamp::now().to_string(),
        errors: vec![wire::ErrorItem {
            title: title.to_string(),
            detail: detail.to_string(),
            kind: Some(format!("https://developer.personio.de/errors/{}", status.as_u16())),
            meta: None,
        }],
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    let mut response = (status, text).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

fn json_ok(body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_default();
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The scope each API route needs.
fn scope_of(route: &str) -> &'static str {
    if route.contains("/compensations") {
        wire::SCOPE_COMPENSATIONS
    } else if route.contains("/legal-entities") {
        wire::SCOPE_LEGAL_ENTITIES
    } else {
        wire::SCOPE_PERSONS
    }
}

async fn api_layer(State(shared): SharedState, matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route =
        crate::route_key(request.method().as_str(), matched.as_ref().map(|path| path.as_str()), request.uri().path());
    let (verdict, latency, limit, remaining) = {
        let mut state = faults::lock(&shared.faults);
        let verdict = state.admit(&route, false);
        (verdict, state.latency(), state.faults.rate_limit_per_second, state.remaining())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let rate_headers = |response: &mut Response, remaining: u32| {
        if let Some(limit) = limit {
            for (name, value) in [
                ("x-ratelimit-replenish-rate", limit.to_string()),
                ("x-ratelimit-burst-capacity", limit.to_string()),
                ("x-ratelimit-requested-tokens", "1".to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
        }
    };
    match verdict {
        Verdict::RateLimited => {
            let mut response =
                problem(StatusCode::TOO_MANY_REQUESTS, "Too many requests", "The rate limit was exceeded; slow down.");
            rate_headers(&mut response, 0);
            return response;
        }
        Verdict::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return problem(status, "Unavailable", "A fault was injected.");
        }
        Verdict::Pass | Verdict::FailAfterCommit => {}
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let scopes = token.and_then(|token| {
        lock(&shared.tokens)
            .get(&token)
            .filter(|grant| grant.expires > Instant::now())
            .map(|grant| grant.scopes.clone())
    });
    let Some(scopes) = scopes else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The access token is missing, unknown, expired or revoked.",
        );
    };
    if !scopes.iter().any(|scope| scope == scope_of(&route)) {
        return problem(
            StatusCode::FORBIDDEN,
            "Insufficient access scope",
            &format!("This request needs the scope {}.", scope_of(&route)),
        );
    }
    let mut response = next.run(request).await;
    rate_headers(&mut response, remaining);
    response
}

// ---------------------------------------------------------------------------------------------------------
// Paging

/// A list request's parameters: the query as sent, or (with a `cursor`) the query the cursor carries.
struct ListQuery {
    params: BTreeMap<String, String>,
    offset: usize,
}

impl ListQuery {
    fn get(&self, name: &str) -> Option<&String> {
        self.params.get(name)
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
fn list_query(query: HashMap<String, String>) -> Result<ListQuery, Box<Response>> {
    let Some(text) = query.get("cursor") else {
        return Ok(ListQuery { params: query.into_iter().collect(), offset: 0 });
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
    Ok(ListQuery { params, offset })
}

/// `http://host:port` of a request, for absolute links as Personio gives them.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// One page of `items` for the query's `limit`, with absolute `self` and `next` links that carry only the
/// cursor, as Personio's do.
fn page<T: serde::Serialize + Clone>(
    origin: &str,
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
        let href = if offset == 0 {
            format!("{origin}/v2{path}")
        } else {
            format!("{origin}/v2{path}?cursor={}", cursor(offset, &query.params))
        };
        wire::Link { href }
    };
    let next = (start + limit < items.len()).then(|| link(start + limit));
    json_ok(&wire::List { data, meta: wire::Meta { links: wire::Links { this: Some(link(start)), next } } })
}

// ---------------------------------------------------------------------------------------------------------
// Views

fn employment_id(person: &PersonSection) -> String {
    derived_id("personio-employment", &person.id.to_string())
}

/// A person's attributes as Personio's v2 API serves them: `{id, global_id, type, value}`, a label only
/// when the section says `labels_served`; an `INT` attribute whose value is a whole number as a JSON number.
fn attribute_views(section: &PersonioSection, index: usize) -> Vec<wire::CustomAttribute> {
    section
        .person_attributes(index)
        .unwrap_or_default()
        .into_iter()
        .map(|attribute| {
            let number = attribute
                .kind
                .eq_ignore_ascii_case("int")
                .then(|| attribute.value.parse::<u64>().ok().filter(|number| number.to_string() == attribute.value))
                .flatten();
            wire::CustomAttribute {
                id: attribute.id,
                global_id: attribute.global_id,
                label: attribute.label,
                kind: attribute.kind,
                value: match number {
                    Some(number) => json!(number),
                    None => json!(attribute.value),
                },
            }
        })
        .collect()
}

fn person_view(section: &PersonioSection, index: usize) -> wire::Person {
    let person = &section.persons[index];
    wire::Person {
        id: person.id.to_string(),
        first_name: person.first_name.clone(),
        last_name: person.last_name.clone(),
        preferred_name: None,
        email: Some(format!("{}.{}@example.com", person.first_name.to_lowercase(), person.id)),
        status: if person.employment.status == "INACTIVE" { "INACTIVE" } else { "ACTIVE" }.to_string(),
        custom_attributes: attribute_views(section, index),
        employments: vec![wire::IdRef { id: employment_id(person) }],
        created_at: Some("2019-01-01T00:00:00Z".to_string()),
        updated_at: Some("2026-01-01T00:00:00Z".to_string()),
    }
}

fn employment_view(person: &PersonSection) -> wire::Employment {
    let employment = &person.employment;
    wire::Employment {
        id: employment_id(person),
        status: employment.status.clone(),
        legal_entity: Some(wire::IdRef { id: employment.legal_entity.clone() }),
        employment_start_date: employment.start,
        employment_end_date: employment.end,
        termination: employment.end.map(|end| wire::Termination {
            termination_date: Some(end),
            last_working_day: Some(end),
            kind: None,
            reason: None,
        }),
        weekly_working_hours: employment.weekly_hours,
        full_time_weekly_working_hours: employment.full_time_weekly_hours,
        position: Some(wire::Position { title: None }),
    }
}

/// Records in effect from their date until the next one starts (a 0 record ends the previous one).
fn in_effect<T>(records: &[T], date_of: impl Fn(&T) -> Date) -> Vec<(&T, Date, Option<Date>)> {
    let mut sorted: Vec<&T> = records.iter().collect();
    sorted.sort_by_key(|record| date_of(record));
    sorted
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let end = sorted.get(index + 1).and_then(|next| date_of(next).yesterday().ok());
            (*record, date_of(record), end)
        })
        .collect()
}

fn window_items(
    types: &[engine::state::CompensationType],
    person: &PersonSection,
    start: Date,
    end: Date,
) -> Vec<wire::Compensation> {
    let employment_end = person.employment.end;
    let visible = |from: Date, to: Option<Date>| {
        let to = match (to, employment_end) {
            (Some(to), Some(last)) => Some(to.min(last)),
            (None, last) => last,
            (to, None) => to,
        };
        from <= end && to.is_none_or(|to| to >= start) && employment_end.is_none_or(|last| from <= last)
    };
    let type_ref = |name: &str| {
        let found = types.iter().find(|kind| kind.name == name);
        (
            wire::TypeRef {
                id: found.map(|kind| kind.id.clone()).unwrap_or_default(),
                name: name.to_string(),
                category: found
                    .map(|kind| {
                        serde_json::to_value(kind.category)
                            .ok()
                            .and_then(|value| value.as_str().map(str::to_string))
                            .unwrap_or_default()
                    })
                    .unwrap_or_default(),
            },
            found.and_then(|kind| kind.unit.clone()),
        )
    };
    let amount = |value: Decimal, currency: &Option<String>, unit: Option<String>| match unit {
        Some(unit) => wire::Amount { value, currency: None, unit: Some(unit) },
        None => {
            wire::Amount { value, currency: Some(currency.clone().unwrap_or_else(|| "EUR".to_string())), unit: None }
        }
    };
    let interval_text = |interval: Option<engine::state::Interval>| {
        interval
            .and_then(|interval| serde_json::to_value(interval).ok())
            .and_then(|value| value.as_str().map(str::to_string))
    };
    let hours = (person.employment.weekly_hours, person.employment.full_time_weekly_hours);
    let item =
        |id: String, kind: wire::TypeRef, amount: wire::Amount, interval: Option<String>, effective_from: Date| {
            wire::Compensation {
                id,
                person: wire::IdRef { id: person.id.to_string() },
                legal_entity: Some(wire::IdRef { id: person.employment.legal_entity.clone() }),
                kind,
                amount,
                interval,
                effective_from,
                weekly_working_hours: hours.0,
                full_time_weekly_working_hours: hours.1,
            }
        };
    let mut items = Vec::new();
    for (record, from, to) in in_effect(&person.salaries, |record| record.effective_from) {
        if record.value.is_zero() || !visible(from, to) {
            continue;
        }
        let (name, interval) = match record.kind {
            SalaryKindSection::Fixed => (scenario::domain::FIXED_SALARY_TYPE, interval_text(record.interval)),
            SalaryKindSection::Hourly => (scenario::domain::HOURLY_SALARY_TYPE, None),
        };
        let (kind, _) = type_ref(name);
        let id = derived_id("personio-compensation", &format!("{}/salary/{from}", person.id));
        items.push(item(id, kind, amount(record.value, &record.currency, None), interval, from));
    }
    let mut by_type: BTreeMap<&str, Vec<&scenario::RecurringSection>> = BTreeMap::new();
    for record in &person.recurring {
        by_type.entry(record.type_name.as_str()).or_default().push(record);
    }
    for (type_name, records) in by_type {
        let owned: Vec<scenario::RecurringSection> = records.into_iter().cloned().collect();
        for (record, from, to) in in_effect(&owned, |record| record.effective_from) {
            if record.value.is_zero() || !visible(from, to) {
                continue;
            }
            let (kind, unit) = type_ref(type_name);
            let id = derived_id("personio-compensation", &format!("{}/{type_name}/{from}", person.id));
            items.push(item(
                id,
                kind,
                amount(record.value, &record.currency, unit),
                interval_text(record.interval),
                from,
            ));
        }
    }
    for (index, record) in person.one_time.iter().enumerate() {
        let visible_payment =
            start <= record.date && record.date <= end && employment_end.is_none_or(|last| record.date <= last);
        if record.value.is_zero() || !visible_payment {
            continue;
        }
        let (kind, unit) = type_ref(&record.type_name);
        let id = derived_id("personio-compensation", &format!("{}/one-time/{index}", person.id));
        items.push(item(id, kind, amount(record.value, &record.currency, unit), None, record.date));
    }
    items
}

// ---------------------------------------------------------------------------------------------------------
// Handlers

type QueryMap = Query<HashMap<String, String>>;

async fn persons(State(shared): SharedState, headers: HeaderMap, Query(query): QueryMap) -> Response {
    let query = match list_query(query) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let section = lock(&shared.section);
    let mut items: Vec<wire::Person> = (0..section.persons.len()).map(|index| person_view(&section, index)).collect();
    if let Some(ids) = query.get("id") {
        let wanted: Vec<&str> = ids.split(',').map(str::trim).collect();
        items.retain(|person| wanted.contains(&person.id.as_str()));
    }
    page(&origin(&headers), "/persons", &query, &items, (10, 50))
}

async fn person(State(shared): SharedState, Path(person_id): Path<String>) -> Response {
    let section = lock(&shared.section);
    match section.persons.iter().position(|person| person.id.to_string() == person_id) {
        Some(index) => json_ok(&person_view(&section, index)),
        None => problem(StatusCode::NOT_FOUND, "Not found", &format!("There is no person {person_id}.")),
    }
}

async fn employments(
    State(shared): SharedState,
    Path(person_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let query = match list_query(query) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let section = lock(&shared.section);
    match section.persons.iter().find(|person| person.id.to_string() == person_id) {
        Some(person) => page(
            &origin(&headers),
            &format!("/persons/{person_id}/employments"),
            &query,
            &[employment_view(person)],
            (10, 50),
        ),
        None => problem(StatusCode::NOT_FOUND, "Not found", &format!("There is no person {person_id}.")),
    }
}

async fn legal_entities(State(shared): SharedState, headers: HeaderMap, Query(query): QueryMap) -> Response {
    let query = match list_query(query) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let section = lock(&shared.section);
    let items: Vec<wire::LegalEntity> = std::iter::once(&section.legal_entity)
        .chain(section.other_legal_entities.iter())
        .map(|entity| wire::LegalEntity {
            id: entity.id.clone(),
            name: entity.name.clone(),
            country: entity.country.clone(),
        })
        .collect();
    page(&origin(&headers), "/legal-entities", &query, &items, (20, 100))
}

async fn compensation_types(State(shared): SharedState, headers: HeaderMap, Query(query): QueryMap) -> Response {
    let query = match list_query(query) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let section = lock(&shared.section);
    let items: Vec<wire::CompensationType> = section
        .compensation_types()
        .into_iter()
        .map(|kind| wire::CompensationType {
            id: kind.id,
            name: kind.name,
            category: serde_json::to_value(kind.category)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default(),
            unit: kind.unit,
        })
        .collect();
    page(&origin(&headers), "/compensations/types", &query, &items, (100, 100))
}

fn parse_date(query: &ListQuery, name: &str) -> Result<Option<Date>, String> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => {
            text.parse::<Date>().map(Some).map_err(|_| format!("{name} `{text}` is not a date (YYYY-MM-DD)."))
        }
    }
}

async fn compensations(State(shared): SharedState, headers: HeaderMap, Query(query): QueryMap) -> Response {
    let query = match list_query(query) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let (start, end) = match (parse_date(&query, "start_date"), parse_date(&query, "end_date")) {
        (Err(reason), _) | (_, Err(reason)) => return problem(StatusCode::BAD_REQUEST, "Invalid date", &reason),
        (Ok(start), Ok(end)) => (start, end),
    };
    let today = jiff::Zoned::now().date();
    let start = start.unwrap_or_else(|| today.first_of_month());
    let end = end.unwrap_or_else(|| start.last_of_month());
    if end < start {
        return problem(StatusCode::BAD_REQUEST, "Invalid window", "end_date lies before start_date.");
    }
    let Ok(limit) = start.checked_add(jiff::Span::new().months(1)) else {
        return problem(StatusCode::BAD_REQUEST, "Invalid window", "start_date is out of range.");
    };
    if end > limit {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid window",
            "The window may span at most one month (end_date − start_date ≤ 1 month).",
        );
    }
    let list = |name: &str| {
        query.get(name).map(|text| text.split(',').map(|part| part.trim().to_string()).collect::<Vec<_>>())
    };
    let (persons, entities) = (list("person.id"), list("legal_entity.id"));
    let key: WindowKey = (start, end, persons, entities);
    let cached = lock(&shared.windows).get(&key).cloned();
    let items = match cached {
        Some(items) => items,
        None => {
            let section = lock(&shared.section);
            let types = section.compensation_types();
            let (persons, entities) = (&key.2, &key.3);
            let mut items = Vec::new();
            for person in &section.persons {
                if persons.as_ref().is_some_and(|wanted| !wanted.contains(&person.id.to_string())) {
                    continue;
                }
                if entities.as_ref().is_some_and(|wanted| !wanted.contains(&person.employment.legal_entity)) {
                    continue;
                }
                items.extend(window_items(&types, person, start, end));
            }
            let items = Arc::new(items);
            lock(&shared.windows).insert(key, Arc::clone(&items));
            items
        }
    };
    page(&origin(&headers), "/compensations", &query, &items, (100, 100))
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
    let mut response = (StatusCode::BAD_REQUEST, serde_json::to_string(&body).unwrap_or_default()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

async fn token(State(shared): SharedState, headers: HeaderMap, body: Bytes) -> Response {
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
    if field("client_id") != DEMO_CLIENT_ID || field("client_secret") != DEMO_CLIENT_SECRET {
        return oauth_error("unauthorized_client", "Client is not allowed to use the specified grant type flow.");
    }
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
        expires: Instant::now() + Duration::from_secs(86_400),
    });
    let expires_in = grant.expires.saturating_duration_since(Instant::now()).as_secs();
    json_ok(&wire::TokenResponse {
        access_token: value,
        token_type: "Bearer".to_string(),
        expires_in: expires_in as i64,
        scope: scopes.join(" "),
    })
}

async fn revoke(State(shared): SharedState, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match form.get("token") {
        Some(token) => {
            lock(&shared.tokens).remove(token);
            StatusCode::OK.into_response()
        }
        None => oauth_error("invalid_request", "token is required"),
    }
}

async fn get_state(State(shared): SharedState) -> Response {
    json_ok(&*lock(&shared.section))
}

fn admin_error(message: String) -> Response {
    let mut response = (StatusCode::BAD_REQUEST, json!({"error": message}).to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn put_state(State(shared): SharedState, body: Bytes) -> Response {
    let section: PersonioSection = match serde_json::from_slice(&body) {
        Ok(section) => section,
        Err(error) => return admin_error(format!("the body is not a `personio` section: {error}")),
    };
    if let Err(reason) = check_section(&section) {
        return admin_error(reason);
    }
    *lock(&shared.section) = section;
    lock(&shared.windows).clear();
    faults::lock(&shared.faults).reset_counts();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_requests(State(shared): SharedState) -> Response {
    let state = faults::lock(&shared.faults);
    json_ok(&json!({"requests": state.requests, "writes": state.writes}))
}

async fn put_faults(State(shared): SharedState, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(error) => return admin_error(format!("the body is not a fault setting: {error}")),
    };
    if let Err(reason) = faults.check() {
        return admin_error(reason);
    }
    faults::lock(&shared.faults).set(faults);
    StatusCode::NO_CONTENT.into_response()
}
