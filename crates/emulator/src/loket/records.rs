//! The kinds of record an employment lists, described once so that one list handler serves all three, and
//! one read and one write path serve the two that have ids of their own (wages, and benefits with
//! deductions): find, parse, check, apply through the engine's model, answer.

use engine::model::Refusal as LoketRefusal;
use std::cmp::Ordering;

use engine::plan::Action;
use engine::state::{BenefitOrDeduction, BenefitValue, Employment, Wage, WageKind, WageValue};
use engine::{ComponentKey, EmploymentId, Money};
use loket::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::World;
use super::views::{benefit_view, period_data_view, wage_views};

/// A kind of record an employment lists: `GET …/employments/{employment_id}/…` serves its views in order.
pub(super) trait ListedRecords {
    type View: Serialize;

    fn views(world: &World, employment: &Employment) -> Vec<Self::View>;
}

/// The views of records in the order `compare` sets: the state keeps records in the order they were
/// written, Loket lists them in a stable order.
fn views_in_order<Record, View>(
    records: &[Record],
    compare: impl Fn(&Record, &Record) -> Ordering,
    view: impl Fn(&Record) -> View,
) -> Vec<View> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by(|a, b| compare(a, b));
    sorted.into_iter().map(view).collect()
}

/// A record found by its id: the employment it belongs to, the record as the state holds it and as the
/// wire shows it (the view is what an ETag is computed from).
pub(super) struct FoundRecord<Record, View> {
    pub(super) employment_id: EmploymentId,
    pub(super) record: Record,
    pub(super) view: View,
}

/// A kind of record with an id of its own: read, replaced and deleted by that id, added to an employment.
pub(super) trait RecordsWithIds: ListedRecords<View: DeserializeOwned> {
    /// The record as the state holds it.
    type Record: Clone;
    /// What a POST or PUT body says the record's value is.
    type Value;
    /// The record's name in refusals ("The wage cannot be added: …").
    const NOUN: &'static str;

    /// The record with this id, if the employment holds it.
    fn record_in<'world>(employment: &'world Employment, id: &str) -> Option<&'world Self::Record>;

    /// The record as the wire shows it.
    fn view_of(world: &World, employment: &Employment, record: &Self::Record) -> Option<Self::View>;

    /// The record with this id in whichever employment holds it.
    fn find(world: &World, id: &str) -> Option<FoundRecord<Self::Record, Self::View>> {
        world.state.employments.iter().find_map(|employment| {
            let record = Self::record_in(employment, id)?;
            let view = Self::view_of(world, employment, record)?;
            Some(FoundRecord { employment_id: employment.id, record: record.clone(), view })
        })
    }

    fn value_of(body: &Self::View) -> Result<Self::Value, LoketRefusal>;

    /// A rule of Loket's for a PUT that the engine's model does not know, because the sync never breaks it.
    fn check_put(_before: &Self::Record, _body: &Self::View) -> Result<(), LoketRefusal> {
        Ok(())
    }

    fn post(after: Self::Value) -> Action;

    fn put(before: Self::Record, after: Self::Value) -> Action;

    fn delete(before: Self::Record) -> Action;

    /// Stores what a written body says beyond the value the engine's model applies.
    fn keep_fields_outside_the_model(_world: &mut World, _id: &str, _body: &Self::View) {}
}

/// The wages of an employment: a chain in date order.
pub(super) struct Wages;

impl ListedRecords for Wages {
    type View = wire::Wage;

    fn views(world: &World, employment: &Employment) -> Vec<wire::Wage> {
        wage_views(&world.section, employment)
    }
}

impl RecordsWithIds for Wages {
    type Record = Wage;
    type Value = WageValue;
    const NOUN: &'static str = "wage";

    fn record_in<'world>(employment: &'world Employment, id: &str) -> Option<&'world Wage> {
        employment.wages.iter().find(|wage| wage.id.0 == id)
    }

    /// A wage's view depends on the next wage (its end date), so it is taken from the whole chain.
    fn view_of(world: &World, employment: &Employment, record: &Wage) -> Option<wire::Wage> {
        let id = Some(record.id.0.as_str());
        wage_views(&world.section, employment).into_iter().find(|wage| wage.id.as_deref() == id)
    }

    fn value_of(body: &wire::Wage) -> Result<WageValue, LoketRefusal> {
        let amount = body.gross_wage.ok_or("grossWage is required")?;
        let amount = Money::exact(amount).ok_or(format!("grossWage {amount} has more than two decimals"))?;
        let kind = match body.gross_wage_type.as_ref().map(|kind| kind.key) {
            Some(wire::WAGE_PERIODIC) => WageKind::Periodic,
            Some(wire::WAGE_HOURLY) => WageKind::Hourly,
            Some(other) => {
                return Err(format!("grossWageType {other} is unknown; use 1 (periodic) or 2 (hourly)").into());
            }
            None => return Err("grossWageType is required".into()),
        };
        Ok(WageValue { start: body.start_date, kind, amount })
    }

    /// With `applyPayGrade` on (or left as read), Loket replaces `grossWage` by the pay grade's amount: a PUT
    /// that clears the pay scale must turn it off.
    fn check_put(before: &Wage, body: &wire::Wage) -> Result<(), LoketRefusal> {
        let clears_scale = body.pay_scale.is_none() && body.pay_grade.is_none();
        let had_scale = before.pay_scale.is_some() || before.pay_grade.is_some();
        if clears_scale && had_scale && body.apply_pay_grade != Some(false) {
            return Err("a PUT without a pay scale and pay grade must send applyPayGrade false".into());
        }
        Ok(())
    }

    fn post(after: WageValue) -> Action {
        Action::PostWage { after }
    }

    fn put(before: Wage, after: WageValue) -> Action {
        Action::PutWage { id: before.id.clone(), before, after }
    }

    fn delete(before: Wage) -> Action {
        Action::DeleteWage { before }
    }

    /// The pay scale a body sends is kept (the model creates a wage without one, and a PUT without one
    /// clears it).
    fn keep_fields_outside_the_model(world: &mut World, id: &str, body: &wire::Wage) {
        let scale = body.pay_scale.as_ref().map(|scale| scale.value.clone());
        for employment in &mut world.state.employments {
            for wage in &mut employment.wages {
                if wage.id.0 == id {
                    wage.pay_scale = scale.clone();
                }
            }
        }
    }
}

/// The benefits and deductions of an employment; no two of one component overlap.
pub(super) struct BenefitsAndDeductions;

impl ListedRecords for BenefitsAndDeductions {
    type View = wire::BenefitOrDeduction;

    fn views(world: &World, employment: &Employment) -> Vec<wire::BenefitOrDeduction> {
        let records = &employment.benefits_and_deductions;
        views_in_order(records, |a, b| a.value.cmp(&b.value), |record| benefit_view(&world.section, record))
    }
}

impl RecordsWithIds for BenefitsAndDeductions {
    type Record = BenefitOrDeduction;
    type Value = BenefitValue;
    const NOUN: &'static str = "benefit or deduction";

    fn record_in<'world>(employment: &'world Employment, id: &str) -> Option<&'world BenefitOrDeduction> {
        employment.benefits_and_deductions.iter().find(|record| record.id.0 == id)
    }

    fn view_of(
        world: &World,
        _employment: &Employment,
        record: &BenefitOrDeduction,
    ) -> Option<wire::BenefitOrDeduction> {
        Some(benefit_view(&world.section, record))
    }

    fn value_of(body: &wire::BenefitOrDeduction) -> Result<BenefitValue, LoketRefusal> {
        let component =
            u32::try_from(body.payroll_component.key).map_err(|_| "payrollComponent.key must be positive")?;
        let value = Money::exact(body.value).ok_or(format!("value {} has more than two decimals", body.value))?;
        Ok(BenefitValue { component: ComponentKey(component), start: body.start_date, end: body.end_date, value })
    }

    fn post(after: BenefitValue) -> Action {
        Action::PostBenefit { after }
    }

    fn put(before: BenefitOrDeduction, after: BenefitValue) -> Action {
        Action::PutBenefit { id: before.id, before: before.value, after }
    }

    fn delete(before: BenefitOrDeduction) -> Action {
        Action::DeleteBenefit { id: before.id, before: before.value }
    }
}

/// The payroll period data of an employment: records without ids of their own, written by PATCH only.
pub(super) struct PeriodDataRecords;

impl ListedRecords for PeriodDataRecords {
    type View = wire::PayrollPeriodData;

    fn views(world: &World, employment: &Employment) -> Vec<wire::PayrollPeriodData> {
        views_in_order(&employment.period_data, |a, b| a.key.cmp(&b.key), |record| period_data_view(world, record))
    }
}
