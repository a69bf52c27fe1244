//! The write handlers. Every write goes through the engine's model of Loket's rules
//! (`engine::model::apply_write_with_id`), so the local Loket refuses exactly what the engine's tests prove
//! plans against. Wages and benefits share one path: find the record, read the body, check `If-Match`,
//! apply, answer with the record as it now is.

use engine::model::Refusal as LoketRefusal;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use engine::plan::{Action, ValueChange, Write};
use engine::state::{BenefitValue, PeriodDataKey};
use engine::{ComponentKey, EmploymentId, Money, PeriodId, RecordId, ShortId};
use jiff::civil::Date;
use loket::wire::{self, Envelope, Message, Version};
use scenario::derived_id;
use serde::de::DeserializeOwned;

use super::records::{BenefitsAndDeductions, RecordsWithIds};
use super::responses::{
    HandlerResult, broken_rule, empty_content, entity_response, if_match_conflict, messages_only, not_found, parse_body,
};
use super::{Shared, SharedState, World, WorldGuard};
use crate::common::{DEMO_CLIENT_ID, Refusal, json_response};

/// Applies one write to one employment through the engine's model; the id a POST creates is the world's
/// next one.
fn apply(world: &mut World, employment_id: &EmploymentId, action: Action) -> Result<RecordId, LoketRefusal> {
    let employment = world
        .state
        .employments
        .iter()
        .find(|employment| employment.id == *employment_id)
        .ok_or("the employment does not exist")?;
    let write = Write {
        employment_id: *employment_id,
        employee_number: employment.employee_number,
        rule: "api".into(),
        action,
    };
    let new_id = world.new_id();
    engine::model::apply_write_with_id(&mut world.state, &write, new_id.clone())?;
    Ok(new_id)
}

/// The answer to a POST or PUT: the record as it is after the write, with the fields the model does not
/// hold stored from the body.
fn written_record<Kind: RecordsWithIds>(
    world: &mut World,
    id: &str,
    body: &Kind::View,
    status: StatusCode,
    headers: &HeaderMap,
) -> Response {
    Kind::keep_fields_outside_the_model(world, id, body);
    match Kind::find(world, id) {
        Some(found) => entity_response(status, headers, wire::VERSION_2018, found.view),
        None => not_found(),
    }
}

pub(super) async fn post_record<Kind: RecordsWithIds>(
    State(shared): SharedState,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HandlerResult {
    let body: Kind::View = parse_body(&body)?;
    let mut world = shared.world_holding(&employment_id);
    let employment_id = world.employment(&employment_id).map(|employment| employment.id).ok_or_else(not_found)?;
    let value = Kind::value_of(&body).map_err(broken_rule)?;
    let refusal = |reason: LoketRefusal| broken_rule(format!("The {} cannot be added: {reason}.", Kind::NOUN));
    let id = apply(&mut world, &employment_id, Kind::post(value)).map_err(refusal)?;
    Ok(written_record::<Kind>(&mut world, &id.0, &body, StatusCode::CREATED, &headers))
}

pub(super) async fn put_record<Kind: RecordsWithIds>(
    State(shared): SharedState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HandlerResult {
    let mut world = shared.world_holding(&id);
    let found = Kind::find(&world, &id).ok_or_else(not_found)?;
    let body: Kind::View = parse_body(&body)?;
    if_match_conflict(&headers, &found.view)?;
    let value = Kind::value_of(&body).map_err(broken_rule)?;
    let refusal = |reason: LoketRefusal| broken_rule(format!("The {} cannot be changed: {reason}.", Kind::NOUN));
    Kind::check_put(&found.record, &body).map_err(refusal)?;
    apply(&mut world, &found.employment_id, Kind::put(found.record, value)).map_err(refusal)?;
    Ok(written_record::<Kind>(&mut world, &id, &body, StatusCode::OK, &headers))
}

pub(super) async fn delete_record<Kind: RecordsWithIds>(
    State(shared): SharedState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> HandlerResult {
    let mut world = shared.world_holding(&id);
    let found = Kind::find(&world, &id).ok_or_else(not_found)?;
    if_match_conflict(&headers, &found.view)?;
    let refusal = |reason: LoketRefusal| broken_rule(format!("The {} cannot be deleted: {reason}.", Kind::NOUN));
    apply(&mut world, &found.employment_id, Kind::delete(found.record)).map_err(refusal)?;
    Ok(empty_content())
}

/// Applies one PATCH body (the upsert) to one employment: `Err(None)` when the employment does not exist,
/// `Err(Some(reason))` when the body or Loket's rules refuse it.
fn patch_one(
    world: &mut World,
    employment_id: &str,
    body: &wire::PayrollPeriodData,
) -> Result<(), Option<LoketRefusal>> {
    let Some(employment) = world.employment(employment_id) else { return Err(None) };
    let period = PeriodId::new(
        i16::try_from(body.payroll_period.year).unwrap_or(0),
        u8::try_from(body.payroll_period.period_number).unwrap_or(0),
    )
    .ok_or_else(|| {
        Some(LoketRefusal(format!(
            "payrollPeriod {}-{} is not a period",
            body.payroll_period.year, body.payroll_period.period_number
        )))
    })?;
    let key = PeriodDataKey {
        period,
        shift: u32::try_from(body.shift.shift_number).map_err(|_| Some("shift.shiftNumber must be positive".into()))?,
        payslip_type: u32::try_from(body.payslip_type.key)
            .map_err(|_| Some("payslipType.key must be positive".into()))?,
        distribution_unit: Some(ShortId::new(&body.distribution_unit.key).ok_or_else(|| {
            Some(LoketRefusal(format!(
                "distributionUnit.key `{}` is not a distribution unit",
                body.distribution_unit.key
            )))
        })?),
        cost_center: body.cost_center.as_ref().map(|key| key.key.to_string()),
        cost_unit: body.cost_unit.as_ref().map(|key| key.key.to_string()),
    };
    let existing = employment.period_data.iter().find(|record| record.key == key).map(|record| record.values.clone());
    let mut changes = Vec::new();
    for item in &body.payroll_components {
        let component = ComponentKey(
            u32::try_from(item.payroll_component.key)
                .map_err(|_| Some("payrollComponent.key must be positive".into()))?,
        );
        let before = existing.as_ref().and_then(|values| values.get(&component)).copied();
        let after = match (item.value, item.is_supplement) {
            (Some(value), true) => Some(before.unwrap_or_default() + value),
            (value, _) => value,
        };
        changes.push(ValueChange { component, before, after });
    }
    let employment_id = employment.id;
    apply(world, &employment_id, Action::PatchPeriodData { key, changes }).map(|_| ()).map_err(Some)
}

pub(super) async fn patch_period_data(
    State(shared): SharedState,
    Path(employment_id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let body: wire::PayrollPeriodData = parse_body(&body)?;
    let mut world = shared.world_holding(&employment_id);
    match patch_one(&mut world, &employment_id, &body) {
        Ok(()) => Ok(messages_only(StatusCode::OK, Vec::new())),
        Err(None) => Err(not_found().into()),
        Err(Some(reason)) => Err(broken_rule(format!("The payroll period data cannot be saved: {reason}.")).into()),
    }
}

/// The items of a collective request, and the world locked to apply them, when `employer_id` names the
/// employer; the refusal otherwise.
fn collective_items<'shared, Item: DeserializeOwned>(
    shared: &'shared Shared,
    employer_id: &str,
    body: &Bytes,
) -> Result<(Vec<Item>, WorldGuard<'shared>), Refusal> {
    let items: Vec<Item> = parse_body(body)?;
    let world = shared.world_of_employer(employer_id)?;
    Ok((items, world))
}

/// Applies each item on its own: 200 when at least one succeeded, with a message per failed item whose `id`
/// is the employment; 400 when none did.
pub(super) async fn patch_period_data_collective(
    State(shared): SharedState,
    Path(employer_id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let (items, mut world) = collective_items::<wire::PayrollPeriodData>(&shared, &employer_id, &body)?;
    let mut messages = Vec::new();
    let mut succeeded = 0;
    for item in &items {
        let Some(employment_id) = item.employment_id.clone() else {
            messages.push(Message::broken_rule("An item has no employmentId."));
            continue;
        };
        match patch_one(&mut world, &employment_id, item) {
            Ok(()) => succeeded += 1,
            Err(reason) => messages.push(Message {
                id: Some(employment_id),
                ..Message::broken_rule(reason.map_or_else(|| "The employment does not exist.".to_string(), |r| r.0))
            }),
        }
    }
    let status = if succeeded > 0 || items.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(messages_only(status, messages))
}

/// The answer to a collective action on benefits, each item applied on its own: 200 with the counts when at
/// least one succeeded (a message per failed item, its `id` the employment), 400 when none did.
fn collective_response(world: &mut World, results: Vec<(String, Result<(), LoketRefusal>)>) -> Response {
    let total = results.len() as i64;
    let mut messages = Vec::new();
    for (employment_id, result) in &results {
        if let Err(reason) = result {
            messages.push(Message { id: Some(employment_id.clone()), ..Message::broken_rule(reason.to_string()) });
        }
    }
    let failed = messages.len() as i64;
    let content = wire::CollectiveResult {
        collective_action_id: world.new_id().0,
        item_count: wire::ItemCount {
            processed: total - failed,
            processed_with_error: failed,
            processed_with_warning: 0,
            total,
        },
        status: "Completed".to_string(),
        submitted_by_user_id: derived_id("loket-user", DEMO_CLIENT_ID),
        submitted_on: jiff::Timestamp::now().to_string(),
        kind: "Beloning".to_string(),
    };
    let envelope = Envelope { version: Some(Version::of(wire::VERSION_2018)), messages, content };
    let status = if failed < total || total == 0 { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    json_response(status, &format!("application/json;version={}", wire::VERSION_2018), &envelope)
}

/// An item of a collective action on benefits: it names its employment and is applied on its own.
pub(super) trait CollectiveBenefitItem: DeserializeOwned {
    fn employment_id(&self) -> &str;

    fn apply_to(&self, world: &mut World) -> Result<(), LoketRefusal>;
}

/// An item of the collective POST: a new benefit or deduction for one employment.
impl CollectiveBenefitItem for wire::CollectiveBenefit {
    fn employment_id(&self) -> &str {
        &self.employment_id
    }

    fn apply_to(&self, world: &mut World) -> Result<(), LoketRefusal> {
        let component = u32::try_from(self.payroll_component.key)
            .map_err(|_| "payrollComponent.key must be positive".to_string())?;
        let amount = self.value.ok_or("value is required")?;
        let value = Money::exact(amount).ok_or(format!("value {amount} has more than two decimals"))?;
        let after = BenefitValue { component: ComponentKey(component), start: self.start_date, end: None, value };
        let employment_id =
            EmploymentId::new(&self.employment_id).ok_or("the employment does not exist".to_string())?;
        apply(world, &employment_id, Action::PostBenefit { after }).map(|_| ())
    }
}

/// An item of the collective PUT: the end of one benefit or deduction, if it belongs to the employment the
/// item names.
impl CollectiveBenefitItem for wire::CollectiveEnd {
    fn employment_id(&self) -> &str {
        &self.employment_id
    }

    fn apply_to(&self, world: &mut World) -> Result<(), LoketRefusal> {
        match BenefitsAndDeductions::find(world, &self.benefit_and_deduction_id) {
            Some(found) if found.employment_id.as_str() == self.employment_id => {
                let after = BenefitValue { end: Some(self.end_date), ..found.record.value.clone() };
                apply(world, &found.employment_id, BenefitsAndDeductions::put(found.record, after)).map(|_| ())
            }
            _ => Err("the benefit or deduction does not exist for this employment".into()),
        }
    }
}

/// The collective POST (new benefits) and PUT (ends of benefits) of an employer.
pub(super) async fn benefits_collective<Item: CollectiveBenefitItem>(
    State(shared): SharedState,
    Path(employer_id): Path<String>,
    body: Bytes,
) -> HandlerResult {
    let (items, mut world) = collective_items::<Item>(&shared, &employer_id, &body)?;
    let results = items.iter().map(|item| (item.employment_id().to_string(), item.apply_to(&mut world))).collect();
    Ok(collective_response(&mut world, results))
}

pub(super) async fn terminate(
    State(shared): SharedState,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HandlerResult {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Terminate {
        end_date: Date,
    }
    let body: Terminate = parse_body(&body)?;
    let mut world = shared.world_holding(&employment_id);
    let employment = world
        .state
        .employments
        .iter_mut()
        .find(|employment| employment.id.as_str() == employment_id)
        .ok_or_else(not_found)?;
    if body.end_date < employment.start {
        return Err(broken_rule("The end date lies before the start of the employment.").into());
    }
    employment.end = Some(body.end_date);
    Ok(entity_response(StatusCode::OK, &headers, wire::VERSION_EMPLOYMENTS, serde_json::json!({})))
}
