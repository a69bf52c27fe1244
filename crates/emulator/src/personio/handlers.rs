//! The GET handlers of Personio's API v2: persons, a person, a person's employments, legal entities,
//! compensation types, and the compensations of one window of at most a month.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use personio::wire;

use super::paging::{ListQuery, page};
use super::views::{compensation_type_views, employment_view, legal_entity_views, person_view, window_items};
use super::{CompanyIndex, SharedState, WindowKey, problem};
use crate::common::{Refusal, json_response, lock};

/// The answer for a person id the section does not hold.
fn no_such_person(person_id: &str) -> Response {
    problem(StatusCode::NOT_FOUND, "Not found", &format!("There is no person {person_id}."))
}

pub(super) async fn persons(
    State(shared): SharedState,
    Extension(company): Extension<CompanyIndex>,
    query: ListQuery,
) -> Response {
    let section = shared.section(company);
    let mut items: Vec<wire::Person> = (0..section.persons.len()).map(|index| person_view(&section, index)).collect();
    if let Some(ids) = query.get("id") {
        let wanted: Vec<&str> = ids.split(',').map(str::trim).collect();
        items.retain(|person| wanted.contains(&person.id.as_str()));
    }
    page("/persons", &query, &items, (10, 50))
}

pub(super) async fn person(
    State(shared): SharedState,
    Extension(company): Extension<CompanyIndex>,
    Path(person_id): Path<String>,
) -> Response {
    let section = shared.section(company);
    match section.persons.iter().position(|person| person.id.to_string() == person_id) {
        Some(index) => json_response(StatusCode::OK, "application/json", &person_view(&section, index)),
        None => no_such_person(&person_id),
    }
}

pub(super) async fn employments(
    State(shared): SharedState,
    Extension(company): Extension<CompanyIndex>,
    Path(person_id): Path<String>,
    query: ListQuery,
) -> Response {
    let section = shared.section(company);
    match section.persons.iter().find(|person| person.id.to_string() == person_id) {
        Some(person) => {
            page(&format!("/persons/{person_id}/employments"), &query, &[employment_view(person)], (10, 50))
        }
        None => no_such_person(&person_id),
    }
}

pub(super) async fn legal_entities(
    State(shared): SharedState,
    Extension(company): Extension<CompanyIndex>,
    query: ListQuery,
) -> Response {
    let items = legal_entity_views(&shared.section(company));
    page("/legal-entities", &query, &items, (20, 100))
}

pub(super) async fn compensation_types(
    State(shared): SharedState,
    Extension(company): Extension<CompanyIndex>,
    query: ListQuery,
) -> Response {
    let items = compensation_type_views(&shared.section(company));
    page("/compensations/types", &query, &items, (100, 100))
}

fn parse_date(query: &ListQuery, name: &str) -> Result<Option<Date>, String> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => {
            text.parse::<Date>().map(Some).map_err(|_| format!("{name} `{text}` is not a date (YYYY-MM-DD)."))
        }
    }
}

/// The window a compensations request asks for: `start_date` and `end_date`, at most a month apart; without
/// them, the current month.
fn window(query: &ListQuery) -> Result<(Date, Date), Refusal> {
    let (start, end) = match (parse_date(query, "start_date"), parse_date(query, "end_date")) {
        (Err(reason), _) | (_, Err(reason)) => {
            return Err(problem(StatusCode::BAD_REQUEST, "Invalid date", &reason).into());
        }
        (Ok(start), Ok(end)) => (start, end),
    };
    let today = jiff::Zoned::now().date();
    let start = start.unwrap_or_else(|| today.first_of_month());
    let end = end.unwrap_or_else(|| start.last_of_month());
    if end < start {
        return Err(problem(StatusCode::BAD_REQUEST, "Invalid window", "end_date lies before start_date.").into());
    }
    let Ok(limit) = start.checked_add(jiff::Span::new().months(1)) else {
        return Err(problem(StatusCode::BAD_REQUEST, "Invalid window", "start_date is out of range.").into());
    };
    if end > limit {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "Invalid window",
            "The window may span at most one month (end_date − start_date ≤ 1 month).",
        )
        .into());
    }
    Ok((start, end))
}

pub(super) async fn compensations(
    State(shared): SharedState,
    Extension(company): Extension<CompanyIndex>,
    query: ListQuery,
) -> Result<Response, Refusal> {
    let (start, end) = window(&query)?;
    let list = |name: &str| {
        query.get(name).map(|text| text.split(',').map(|part| part.trim().to_string()).collect::<Vec<_>>())
    };
    let (persons, entities) = (list("person.id"), list("legal_entity.id"));
    let key: WindowKey = (company.0, start, end, persons, entities);
    let cached = lock(&shared.windows).get(&key).cloned();
    let items = match cached {
        Some(items) => items,
        None => {
            let section = shared.section(company);
            let types = section.compensation_types();
            let (persons, entities) = (&key.3, &key.4);
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
    Ok(page("/compensations", &query, &items, (100, 100)))
}
