//! Wire ↔ domain, pure: Loket's records into the engine's state (every conversion fails the record it cannot
//! read rather than dropping it, G5), and nothing else. Reading is `read.rs`, sending `send.rs`.

use std::collections::{BTreeMap, HashMap};

use engine::state::{
    BenefitOrDeduction, BenefitValue, Component, ComponentKind, Employment, PeriodData, PeriodDataDefaults,
    PeriodDataKey, Wage, WageKind, WageValue,
};
use engine::{Calendar, ComponentKey, EmployeeNumber, EmploymentId, Money, Period, PeriodId, RecordId, ShortId};
use rust_decimal::Decimal;

use crate::wire;

/// A record of Loket's that loket-sync cannot read. The read of what it belongs to fails with it (G5).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("payroll period {year}-{number} cannot be read: no such period")]
    Period { year: i64, number: i64 },
    #[error("the payroll calendar cannot be read")]
    Calendar(#[source] engine::calendar::CalendarError),
    #[error("{field} {value} has more than two decimals")]
    Money { field: &'static str, value: Decimal },
    #[error("a {0} without an id")]
    NoId(&'static str),
    #[error("a negative component key")]
    NegativeComponentKey,
    #[error("a wage cannot be read")]
    Wage(#[source] Box<RecordError>),
    #[error("a benefit or deduction cannot be read")]
    Benefit(#[source] Box<RecordError>),
    #[error("a payroll-period-data record of {year}-{period:02} cannot be read")]
    PeriodData { year: i64, period: i64 },
    #[error(
        "Loket has no default distribution unit for this employment, so no one-time value can be written; set one in Loket"
    )]
    NoDistributionUnit,
    #[error("the default {what} {value} is not a number loket-sync knows")]
    DefaultNumber { what: &'static str, value: i64 },
    #[error("the default distribution unit `{0}` is not a key loket-sync knows")]
    DefaultUnit(String),
    #[error("employment id `{0}` is longer than {max} bytes", max = ShortId::MAX_LEN)]
    EmploymentId(String),
}

pub fn period_to_domain(period: &wire::PayrollPeriod) -> Option<Period> {
    let id = PeriodId::new(i16::try_from(period.year).ok()?, u8::try_from(period.period_number).ok()?)?;
    let closed = period.payroll_runs.iter().any(|run| run.payroll_run_status.key == wire::RUN_APPROVED);
    Some(Period { id, start: period.start_date, end: period.end_date, closed })
}

/// The payroll calendar from Loket's periods. A period that cannot be read is an error, not a gap in the
/// calendar (a gap would turn its one-time payments into `no_payroll_period` warnings).
pub fn calendar_to_domain(periods: &[wire::PayrollPeriod]) -> Result<Calendar, RecordError> {
    let periods = periods
        .iter()
        .map(|period| {
            period_to_domain(period).ok_or(RecordError::Period { year: period.year, number: period.period_number })
        })
        .collect::<Result<Vec<Period>, RecordError>>()?;
    Calendar::new(periods).map_err(RecordError::Calendar)
}

/// The payroll components of one year, by key.
pub fn catalogue_to_domain(components: &[wire::PayrollComponent]) -> BTreeMap<ComponentKey, Component> {
    components.iter().filter_map(component_to_domain).map(|component| (component.key, component)).collect()
}

pub fn component_to_domain(component: &wire::PayrollComponent) -> Option<Component> {
    Some(Component {
        key: ComponentKey(u32::try_from(component.key).ok()?),
        description: component.description.clone(),
        category: u16::try_from(component.category.key).ok()?,
        kind: match component.deduction_or_payment.as_ref().map(|kind| kind.key) {
            Some(wire::PAYMENT) => ComponentKind::Payment,
            Some(wire::DEDUCTION) => ComponentKind::Deduction,
            _ => ComponentKind::None,
        },
    })
}

fn money(value: Decimal, field: &'static str) -> Result<Money, RecordError> {
    Money::exact(value).ok_or(RecordError::Money { field, value })
}

pub fn wage_to_domain(wage: &wire::Wage) -> Result<Wage, RecordError> {
    let id = wage.id.clone().ok_or(RecordError::NoId("wage"))?;
    let kind = match wage.gross_wage_type.as_ref().map(|kind| kind.key) {
        Some(wire::WAGE_HOURLY) => WageKind::Hourly,
        _ => WageKind::Periodic,
    };
    let amount = money(wage.gross_wage.unwrap_or(Decimal::ZERO), "grossWage")?;
    Ok(Wage {
        id: RecordId(id),
        value: WageValue { start: wage.start_date, kind, amount },
        pay_scale: wage.pay_scale.as_ref().map(|scale| scale.value.clone()),
        pay_grade: wage.pay_grade.as_ref().map(|grade| grade.value.clone()),
        // Loket's default is a full-time wage; only an explicit `false` says otherwise.
        full_time: wage.is_gross_wage_full_time.unwrap_or(true),
    })
}

pub fn benefit_to_domain(record: &wire::BenefitOrDeduction) -> Result<BenefitOrDeduction, RecordError> {
    let id = record.id.clone().ok_or(RecordError::NoId("benefit or deduction"))?;
    let component = u32::try_from(record.payroll_component.key).map_err(|_| RecordError::NegativeComponentKey)?;
    Ok(BenefitOrDeduction {
        id: RecordId(id),
        value: BenefitValue {
            component: ComponentKey(component),
            start: record.start_date,
            end: record.end_date,
            value: money(record.value, "value")?,
        },
    })
}

fn period_id(period: &wire::PeriodRef) -> Option<PeriodId> {
    PeriodId::new(i16::try_from(period.year).ok()?, u8::try_from(period.period_number).ok()?)
}

fn values(components: &[wire::ComponentValue]) -> engine::state::ComponentValues {
    components
        .iter()
        .filter_map(|item| Some((ComponentKey(u32::try_from(item.payroll_component.key).ok()?), item.value?)))
        .collect()
}

/// The key of a period-data record, from the parts both its read forms carry.
fn period_data_key(
    period: &wire::PeriodRef,
    shift: &wire::Shift,
    payslip_type: &wire::KeyValue,
    distribution_unit: &wire::CodedKey<String>,
    cost_center: &Option<wire::CodedKey<i64>>,
    cost_unit: &Option<wire::CodedKey<i64>>,
) -> Option<PeriodDataKey> {
    Some(PeriodDataKey {
        period: period_id(period)?,
        shift: u32::try_from(shift.shift_number).ok()?,
        payslip_type: u32::try_from(payslip_type.key).ok()?,
        distribution_unit: Some(ShortId::new(&distribution_unit.key)?),
        cost_center: cost_center.as_ref().map(|key| key.key.to_string()),
        cost_unit: cost_unit.as_ref().map(|key| key.key.to_string()),
    })
}

pub fn period_data_to_domain(record: &wire::PayrollPeriodData) -> Option<PeriodData> {
    Some(PeriodData {
        id: record.id.clone().map(RecordId),
        key: period_data_key(
            &record.payroll_period,
            &record.shift,
            &record.payslip_type,
            &record.distribution_unit,
            &record.cost_center,
            &record.cost_unit,
        )?,
        values: values(&record.payroll_components),
    })
}

/// One employment's wages in domain form; the wire records are kept in `keep` by id, for the writes that
/// replace them. One unreadable wage fails them all: never a partial history (G5).
pub fn wages_to_domain(
    wages: Vec<wire::Wage>,
    keep: &mut HashMap<String, wire::Wage>,
) -> Result<Vec<Wage>, RecordError> {
    let mut converted = Vec::with_capacity(wages.len());
    for wage in wages {
        let domain = wage_to_domain(&wage).map_err(|error| RecordError::Wage(Box::new(error)))?;
        keep.insert(domain.id.0.clone(), wage);
        converted.push(domain);
    }
    Ok(converted)
}

/// One employment's benefits and deductions in domain form, like [`wages_to_domain`].
pub fn benefits_to_domain(
    records: Vec<wire::BenefitOrDeduction>,
    keep: &mut HashMap<String, wire::BenefitOrDeduction>,
) -> Result<Vec<BenefitOrDeduction>, RecordError> {
    let mut converted = Vec::with_capacity(records.len());
    for record in records {
        let domain = benefit_to_domain(&record).map_err(|error| RecordError::Benefit(Box::new(error)))?;
        keep.insert(domain.id.0.clone(), record);
        converted.push(domain);
    }
    Ok(converted)
}

/// One employment's payroll period data in domain form, sorted by key. A record that cannot be read fails
/// the whole list rather than being left out (G5).
pub fn period_data_list_to_domain(records: &[wire::PayrollPeriodData]) -> Result<Vec<PeriodData>, RecordError> {
    let mut converted = Vec::with_capacity(records.len());
    for record in records {
        let domain = period_data_to_domain(record).ok_or(RecordError::PeriodData {
            year: record.payroll_period.year,
            period: record.payroll_period.period_number,
        })?;
        converted.push(domain);
    }
    converted.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(converted)
}

/// The key fields of an employment's PATCH defaults (O5): a null field is at its default (shift 1, the
/// normal payslip type, no cost centre, no cost unit). A null distribution unit is an error: Loket books
/// no variable input without one.
pub fn defaults_to_domain(defaults: &wire::PeriodDataDefaults) -> Result<PeriodDataDefaults, RecordError> {
    let number =
        |value: i64, what: &'static str| u32::try_from(value).map_err(|_| RecordError::DefaultNumber { what, value });
    let unit = defaults.distribution_unit.as_ref().ok_or(RecordError::NoDistributionUnit)?;
    Ok(PeriodDataDefaults {
        shift: defaults.shift.as_ref().map_or(Ok(1), |shift| number(shift.shift_number, "shift"))?,
        payslip_type: defaults.payslip_type.as_ref().map_or(Ok(1), |kind| number(kind.key, "payslip type"))?,
        distribution_unit: Some(ShortId::new(&unit.key).ok_or_else(|| RecordError::DefaultUnit(unit.key.clone()))?),
        cost_center: defaults.cost_center.as_ref().map(|key| key.key.to_string()),
        cost_unit: defaults.cost_unit.as_ref().map(|key| key.key.to_string()),
    })
}

/// Fails only for an id longer than any Loket GUID (`ShortId::MAX_LEN` bytes).
pub fn employment_to_domain(employment: &wire::Employment) -> Result<Employment, RecordError> {
    let employee = &employment.employee;
    let name = [employee.first_name.clone().unwrap_or_default(), employee.last_name.clone()]
        .iter()
        .filter(|part| !part.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let id = EmploymentId::new(&employment.id).ok_or_else(|| RecordError::EmploymentId(employment.id.clone()))?;
    Ok(Employment {
        id,
        employee_number: EmployeeNumber(u64::try_from(employee.employee_number).unwrap_or(0)),
        income_relationship_number: employment.income_relationship_number.and_then(|n| u64::try_from(n).ok()),
        name: if name.is_empty() { employee.formatted_name.clone() } else { name },
        start: employment.start_date,
        end: employment.end_date,
        period_data_defaults: PeriodDataDefaults::default(),
        wages: Vec::new(),
        benefits_and_deductions: Vec::new(),
        period_data: Vec::new(),
        read_failed: None,
    })
}
