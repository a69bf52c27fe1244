//! The GET handlers: the employer, its administration and employments, an employment's records, the
//! period data of a payroll period, the component catalogue and the payroll periods.

use engine::model::Refusal as LoketRefusal;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use engine::state::PeriodData;
use engine::{ComponentKey, PeriodId};
use loket::wire;
use serde::Serialize;

use super::records::{ListedRecords, RecordsWithIds};
use super::responses::{
    HandlerResult, broken_rule, broken_rule_list, entity_response, list_response, not_found, ok_json, version_for,
    whole_list_response,
};
use super::views::{
    administration_view, component_view, employer_view, employment_view, period_data_defaults_view,
    period_data_of_period_view, period_views,
};
use super::{SharedState, World};
use crate::common::lock;

type QueryMap = Query<HashMap<String, String>>;

pub(super) async fn employers(State(shared): SharedState, headers: HeaderMap, Query(query): QueryMap) -> Response {
    // Every employer of the provider login: a payroll bureau sees all of its employers.
    let worlds = lock(&shared.worlds);
    list_response(
        &headers,
        &query,
        wire::VERSION_2018,
        worlds.iter().map(|world| employer_view(&world.section)).collect(),
    )
}

pub(super) async fn employer(
    State(shared): SharedState,
    Path(employer_id): Path<String>,
    headers: HeaderMap,
) -> HandlerResult {
    let world = shared.world_of_employer(&employer_id)?;
    Ok(entity_response(StatusCode::OK, &headers, wire::VERSION_2018, employer_view(&world.section)))
}

/// A list the employer serves, one handler for each: its payroll administrations, its employments.
pub(super) trait ListOfEmployer {
    type View: Serialize;
    /// The oldest version of the resource.
    const VERSION: &'static str;

    fn views(world: &World) -> Vec<Self::View>;
}

/// The one payroll administration of the employer.
pub(super) struct Administrations;

impl ListOfEmployer for Administrations {
    type View = wire::PayrollAdministration;
    const VERSION: &'static str = wire::VERSION_2018;

    fn views(world: &World) -> Vec<wire::PayrollAdministration> {
        vec![administration_view(&world.section)]
    }
}

/// The employments of the employer; an employment's payroll id is its place in the list, from 1.
pub(super) struct EmploymentsOfEmployer;

impl ListOfEmployer for EmploymentsOfEmployer {
    type View = wire::Employment;
    const VERSION: &'static str = wire::VERSION_EMPLOYMENTS;

    fn views(world: &World) -> Vec<wire::Employment> {
        let employments = world.state.employments.iter().enumerate();
        employments.map(|(index, employment)| employment_view(&world.section, employment, index as i64 + 1)).collect()
    }
}

pub(super) async fn list_of_employer<List: ListOfEmployer>(
    State(shared): SharedState,
    Path(employer_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> HandlerResult {
    let world = shared.world_of_employer(&employer_id)?;
    Ok(list_response(&headers, &query, List::VERSION, List::views(&world)))
}

pub(super) async fn employment(
    State(shared): SharedState,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = shared.world_holding(&employment_id);
    match world.state.employments.iter().position(|employment| employment.id.as_str() == employment_id) {
        Some(index) => entity_response(
            StatusCode::OK,
            &headers,
            wire::VERSION_EMPLOYMENTS,
            employment_view(&world.section, &world.state.employments[index], index as i64 + 1),
        ),
        None => not_found(),
    }
}

/// One kind of an employment's records (wages, benefits and deductions, period data), as a list.
pub(super) async fn records_of_employment<Kind: ListedRecords>(
    State(shared): SharedState,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = shared.world_holding(&employment_id);
    match world.employment(&employment_id) {
        Some(employment) => list_response(&headers, &query, wire::VERSION_2018, Kind::views(&world, employment)),
        None => not_found(),
    }
}

/// One record with an id of its own (a wage, a benefit or deduction), with its ETag.
pub(super) async fn record<Kind: RecordsWithIds>(
    State(shared): SharedState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = shared.world_holding(&id);
    match Kind::find(&world, &id) {
        Some(found) => entity_response(StatusCode::OK, &headers, wire::VERSION_2018, found.view),
        None => not_found(),
    }
}

/// The defaults of a PATCH, as Loket serves them: a GET-shaped record, bare, with `payrollPeriod` null and
/// every field without a default null (as the file's `period_data_defaults` says).
pub(super) async fn period_data_defaults(
    State(shared): SharedState,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
) -> HandlerResult {
    let world = shared.world_holding(&employment_id);
    let employment = world.employment(&employment_id).ok_or_else(not_found)?;
    let version = version_for(&headers, wire::VERSION_2018).map_err(broken_rule)?;
    Ok(ok_json(&version, &period_data_defaults_view(&world, employment)))
}

/// The period data of one payroll period, for every employment active in it: the records of one payslip
/// type, with the values of the components of one category.
pub(super) async fn period_data_of_period(
    State(shared): SharedState,
    Path((administration_id, period_id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> HandlerResult {
    let world = shared.world_of_administration(&administration_id)?;
    let Some(period) = period_id.parse::<i64>().ok().and_then(PeriodId::from_loket_id) else {
        return Err(broken_rule_list(format!(
            "`{period_id}` is not a payroll period id (year × 100 + period, such as 202602)"
        ))
        .into());
    };
    let found = world.state.calendar.get(period).cloned().ok_or_else(not_found)?;
    let (payslip, category) = period_data_filters(&query).map_err(broken_rule_list)?;
    let catalogue = world.state.components.get(&period.year);
    let in_category = |key: &ComponentKey| {
        catalogue.and_then(|catalogue| catalogue.get(key)).is_some_and(|component| component.category == category)
    };
    let mut items = Vec::new();
    // Only active employments: those whose dates overlap the period.
    for (index, employment) in
        world.state.employments.iter().enumerate().filter(|(_, employment)| {
            employment.start <= found.end && employment.end.is_none_or(|end| end >= found.start)
        })
    {
        let mut records: Vec<PeriodData> = employment
            .period_data
            .iter()
            .filter(|record| record.key.period == period && record.key.payslip_type == payslip)
            .map(|record| PeriodData {
                id: record.id.clone(),
                key: record.key.clone(),
                values: record
                    .values
                    .iter()
                    .filter(|(key, _)| in_category(key))
                    .map(|(key, value)| (*key, *value))
                    .collect(),
            })
            .collect();
        records.sort_by(|a, b| a.key.cmp(&b.key));
        for record in &records {
            items.push(period_data_of_period_view(&world, employment, index as i64 + 1, record));
        }
    }
    Ok(list_response(&headers, &query, wire::VERSION_2018, items))
}

/// The payslip type and the component category of a period-data list: Loket requires a payslip type and
/// one of a component set or category, one of each per call.
fn period_data_filters(query: &HashMap<String, String>) -> Result<(u32, u16), LoketRefusal> {
    let payslip = match query.get("payslipType").map(|text| text.parse::<u32>()) {
        Some(Ok(key)) => key,
        Some(Err(_)) => return Err("payslipType must be a whole number (1 normal, 2 special rate)".into()),
        None => return Err("The query parameter payslipType is required.".into()),
    };
    let category = match (
        query.get("payrollComponentSet"),
        query.get("payrollComponentCategory"),
        query.get("payrollComponentId"),
    ) {
        (_, _, Some(_)) => {
            return Err(
                "payrollComponentId is not available yet; use payrollComponentCategory or payrollComponentSet.".into(),
            );
        }
        (Some(_), Some(_), _) => {
            return Err("Give either payrollComponentSet or payrollComponentCategory, not both.".into());
        }
        (Some(set), None, _) => {
            return Err(LoketRefusal(format!("Payroll component set `{set}` does not exist for this administration.")));
        }
        (None, Some(text), _) => match text.parse::<u16>() {
            Ok(category) => category,
            Err(_) => return Err("payrollComponentCategory must be a whole number".into()),
        },
        (None, None, _) => {
            return Err(
                "Either payrollComponentSet or payrollComponentCategory or payrollComponentId must have a value."
                    .into(),
            );
        }
    };
    Ok((payslip, category))
}

pub(super) async fn components(
    State(shared): SharedState,
    Path((administration_id, year)): Path<(String, String)>,
    headers: HeaderMap,
) -> HandlerResult {
    let world = shared.world_of_administration(&administration_id)?;
    let Ok(year) = year.parse::<i16>() else {
        return Err(broken_rule_list(format!("`{year}` is not a year")).into());
    };
    let items: Vec<wire::PayrollComponent> = match world.state.components.get(&year) {
        Some(catalogue) => catalogue.values().map(|component| component_view(&world.section, component)).collect(),
        None => Vec::new(),
    };
    Ok(whole_list_response(&headers, wire::VERSION_2018, items, false))
}

pub(super) async fn periods(
    State(shared): SharedState,
    Path(administration_id): Path<String>,
    headers: HeaderMap,
) -> HandlerResult {
    let world = shared.world_of_administration(&administration_id)?;
    Ok(whole_list_response(&headers, wire::VERSION_2018, period_views(&world), true))
}
