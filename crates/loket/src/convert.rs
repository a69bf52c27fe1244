//! Between the wire and the engine: reading Loket into a `LoketState`, and sending the engine's writes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use engine::plan::{Action, Write};
use engine::state::{
    BenefitOrDeduction, BenefitValue, Component, ComponentKind, Employment, LoketState, PeriodData, PeriodDataDefaults,
    PeriodDataKey, Wage, WageKind, WageValue,
};
use engine::{Calendar, ComponentKey, EmployeeNumber, EmploymentId, Money, Period, PeriodId, RecordId, ShortId};
use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::client::{LoketClient, LoketError};
use crate::wire;

/// What to read besides the company-wide data: only what the switched-on rules need.
#[derive(Clone, Debug)]
pub struct ReadScope {
    pub wages: bool,
    pub benefits_and_deductions: bool,
    /// Payroll period data of the periods from this date through `horizon` (the one-time rules).
    pub period_data_from: Option<Date>,
    pub horizon: Date,
}

/// Loket as read: the engine's state, plus the wire records by id, so that a PUT sends the whole record as
/// read with only the synced fields changed.
#[derive(Clone, Debug, Default)]
pub struct LoketSnapshot {
    pub state: LoketState,
    pub wages: HashMap<String, wire::Wage>,
    pub benefits: HashMap<String, wire::BenefitOrDeduction>,
    /// The number of requests the read took, by kind.
    pub requests: BTreeMap<String, usize>,
}

pub fn period_to_domain(period: &wire::PayrollPeriod) -> Option<Period> {
    let id = PeriodId::new(i16::try_from(period.year).ok()?, u8::try_from(period.period_number).ok()?)?;
    let closed = period.payroll_runs.iter().any(|run| run.payroll_run_status.key == wire::RUN_APPROVED);
    Some(Period { id, start: period.start_date, end: period.end_date, closed })
}

/// The payroll calendar from Loket's periods. A period that cannot be read is an error, not a gap in the
/// calendar (a gap would turn its one-time payments into `no_payroll_period` warnings).
pub fn calendar_to_domain(periods: &[wire::PayrollPeriod]) -> Result<Calendar, String> {
    let periods = periods
        .iter()
        .map(|period| {
            period_to_domain(period).ok_or_else(|| {
                format!("payroll period {}-{} cannot be read: no such period", period.year, period.period_number)
            })
        })
        .collect::<Result<Vec<Period>, String>>()?;
    Calendar::new(periods).map_err(|error| error.to_string())
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

fn money(value: Decimal, what: &str) -> Result<Money, String> {
    Money::exact(value).ok_or_else(|| format!("{what} {value} has more than two decimals"))
}

pub fn wage_to_domain(wage: &wire::Wage) -> Result<Wage, String> {
    let id = wage.id.clone().ok_or("a wage without an id")?;
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

pub fn benefit_to_domain(record: &wire::BenefitOrDeduction) -> Result<BenefitOrDeduction, String> {
    let id = record.id.clone().ok_or("a benefit or deduction without an id")?;
    let component = u32::try_from(record.payroll_component.key).map_err(|_| "a negative component key")?;
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
pub fn wages_to_domain(wages: Vec<wire::Wage>, keep: &mut HashMap<String, wire::Wage>) -> Result<Vec<Wage>, String> {
    let mut converted = Vec::with_capacity(wages.len());
    for wage in wages {
        let domain = wage_to_domain(&wage).map_err(|reason| format!("a wage cannot be read: {reason}"))?;
        keep.insert(domain.id.0.clone(), wage);
        converted.push(domain);
    }
    Ok(converted)
}

/// One employment's benefits and deductions in domain form, like [`wages_to_domain`].
pub fn benefits_to_domain(
    records: Vec<wire::BenefitOrDeduction>,
    keep: &mut HashMap<String, wire::BenefitOrDeduction>,
) -> Result<Vec<BenefitOrDeduction>, String> {
    let mut converted = Vec::with_capacity(records.len());
    for record in records {
        let domain =
            benefit_to_domain(&record).map_err(|reason| format!("a benefit or deduction cannot be read: {reason}"))?;
        keep.insert(domain.id.0.clone(), record);
        converted.push(domain);
    }
    Ok(converted)
}

/// One employment's payroll period data in domain form, sorted by key. A record that cannot be read fails
/// the whole list rather than being left out (G5).
pub fn period_data_list_to_domain(records: &[wire::PayrollPeriodData]) -> Result<Vec<PeriodData>, String> {
    let mut converted = Vec::with_capacity(records.len());
    for record in records {
        let domain = period_data_to_domain(record).ok_or_else(|| {
            format!(
                "a payroll-period-data record of {}-{:02} cannot be read",
                record.payroll_period.year, record.payroll_period.period_number
            )
        })?;
        converted.push(domain);
    }
    converted.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(converted)
}

/// The key fields of an employment's PATCH defaults (O5): a null field is at its default (shift 1, the
/// normal payslip type, no cost centre, no cost unit). A null distribution unit is an error: Loket books
/// no variable input without one.
pub fn defaults_to_domain(defaults: &wire::PeriodDataDefaults) -> Result<PeriodDataDefaults, String> {
    let number = |value: i64, what: &str| {
        u32::try_from(value).map_err(|_| format!("the default {what} {value} is not a number loket-sync knows"))
    };
    let unit = defaults.distribution_unit.as_ref().ok_or(
        "Loket has no default distribution unit for this employment, so no one-time value can be written; set one in Loket",
    )?;
    Ok(PeriodDataDefaults {
        shift: defaults.shift.as_ref().map_or(Ok(1), |shift| number(shift.shift_number, "shift"))?,
        payslip_type: defaults.payslip_type.as_ref().map_or(Ok(1), |kind| number(kind.key, "payslip type"))?,
        distribution_unit: Some(
            ShortId::new(&unit.key)
                .ok_or_else(|| format!("the default distribution unit `{}` is not a key loket-sync knows", unit.key))?,
        ),
        cost_center: defaults.cost_center.as_ref().map(|key| key.key.to_string()),
        cost_unit: defaults.cost_unit.as_ref().map(|key| key.key.to_string()),
    })
}

/// Fails only for an id longer than any Loket GUID (`ShortId::MAX_LEN` bytes).
pub fn employment_to_domain(employment: &wire::Employment) -> Result<Employment, String> {
    let employee = &employment.employee;
    let name = [employee.first_name.clone().unwrap_or_default(), employee.last_name.clone()]
        .iter()
        .filter(|part| !part.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let id = EmploymentId::new(&employment.id)
        .ok_or_else(|| format!("employment id `{}` is longer than {} bytes", employment.id, ShortId::MAX_LEN))?;
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

/// Reads everything the plan needs for one employer and payroll administration. Company-wide failures go
/// to `failed_reads` (the run then writes nothing); one employment's failure to its `read_failed` (nothing is
/// written for it). Never a partial history presented as complete (G5).
pub async fn read_state(
    client: &Arc<LoketClient>,
    employer_id: &str,
    administration_id: &str,
    scope: &ReadScope,
) -> LoketSnapshot {
    let mut snapshot = LoketSnapshot::default();
    let state = &mut snapshot.state;

    match client.payroll_periods(administration_id).await {
        Ok(periods) => match calendar_to_domain(&periods) {
            Ok(calendar) => state.calendar = calendar,
            Err(error) => state.failed_reads.push(format!("payroll periods: {error}")),
        },
        Err(error) => state.failed_reads.push(format!("payroll periods: {error}")),
    }
    for year in state.calendar.years() {
        match client.payroll_components(administration_id, year).await {
            Ok(components) => {
                state.components.insert(year, catalogue_to_domain(&components));
            }
            Err(error) => state.failed_reads.push(format!("payroll components of {year}: {error}")),
        }
    }
    let employments = match client.employments(employer_id).await {
        Ok(employments) => employments,
        Err(error) => {
            state.failed_reads.push(format!("employments: {error}"));
            Vec::new()
        }
    };
    let employments: Vec<wire::Employment> = employments
        .into_iter()
        .filter(|employment| {
            employment
                .payroll_administration
                .as_ref()
                .is_none_or(|administration| administration.id == administration_id)
        })
        .collect();

    // Per employment, concurrently (the client bounds the requests under way).
    let mut tasks = tokio::task::JoinSet::new();
    for (index, employment) in employments.iter().enumerate() {
        let client = Arc::clone(client);
        let id = employment.id.clone();
        let scope = scope.clone();
        tasks.spawn(async move { (index, read_employment(&client, &id, &scope).await) });
    }
    let mut per_employment: Vec<Option<Result<EmploymentRecords, String>>> = vec![None; employments.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            per_employment[index] = Some(result);
        }
    }
    for (employment, records) in employments.iter().zip(per_employment) {
        let mut domain = match employment_to_domain(employment) {
            Ok(domain) => domain,
            Err(reason) => {
                state.failed_reads.push(reason);
                continue;
            }
        };
        match records {
            Some(Ok(records)) => {
                let converted = wages_to_domain(records.wages, &mut snapshot.wages).and_then(|wages| {
                    let benefits = benefits_to_domain(records.benefits, &mut snapshot.benefits)?;
                    let period_data = period_data_list_to_domain(&records.period_data)?;
                    let defaults = records.defaults.as_ref().map(defaults_to_domain).transpose()?;
                    Ok((wages, benefits, period_data, defaults))
                });
                match converted {
                    Ok((wages, benefits, period_data, defaults)) => {
                        domain.wages = wages;
                        domain.benefits_and_deductions = benefits;
                        domain.period_data = period_data;
                        domain.period_data_defaults = defaults.unwrap_or_default();
                    }
                    Err(reason) => domain.read_failed = Some(reason),
                }
            }
            Some(Err(reason)) => domain.read_failed = Some(reason),
            None => domain.read_failed = Some("the read was interrupted".to_string()),
        }
        state.employments.push(domain);
    }
    snapshot.requests = client.request_counts();
    snapshot
}

#[derive(Clone, Debug, Default)]
struct EmploymentRecords {
    wages: Vec<wire::Wage>,
    benefits: Vec<wire::BenefitOrDeduction>,
    /// The employment's own list of period data: unlike the list of one payroll period, it needs no payslip
    /// type or component category and shows ended employments and those outside the user's filter.
    period_data: Vec<wire::PayrollPeriodData>,
    defaults: Option<wire::PeriodDataDefaults>,
}

async fn read_employment(client: &LoketClient, id: &str, scope: &ReadScope) -> Result<EmploymentRecords, String> {
    let mut records = EmploymentRecords::default();
    if scope.wages {
        records.wages = client.wages(id).await.map_err(|error| error.to_string())?;
    }
    if scope.benefits_and_deductions {
        records.benefits = client.benefits_and_deductions(id).await.map_err(|error| error.to_string())?;
    }
    if scope.period_data_from.is_some() {
        records.period_data = client.payroll_period_data(id).await.map_err(|error| error.to_string())?;
        records.defaults = Some(client.payroll_period_data_defaults(id).await.map_err(|error| error.to_string())?);
    }
    Ok(records)
}

/// What happened to a write that was sent.
#[derive(Debug)]
pub enum Sent {
    Done,
    /// A record was created; its id.
    Created(String),
}

fn wage_type(kind: WageKind) -> wire::KeyValue {
    match kind {
        WageKind::Periodic => wire::KeyValue::new(wire::WAGE_PERIODIC, "Periodeloon"),
        WageKind::Hourly => wire::KeyValue::new(wire::WAGE_HOURLY, "Uurloon"),
    }
}

/// The body of a new wage.
pub fn new_wage(value: &WageValue) -> wire::Wage {
    wire::Wage {
        id: None,
        start_date: value.start,
        end_date: None,
        gross_wage: Some(value.amount.value()),
        gross_wage_type: Some(wage_type(value.kind)),
        net_wage: None,
        net_wage_type: None,
        employer_costs: None,
        employer_costs_type: None,
        payroll_period_type: None,
        pay_scale: None,
        pay_grade: None,
        // No pay grade: Loket must keep the gross wage as sent.
        apply_pay_grade: Some(false),
        // Read-only in Loket; a new wage is a full-time wage by default (S4).
        is_gross_wage_full_time: None,
    }
}

fn benefit_body(value: &BenefitValue, id: Option<String>) -> wire::BenefitOrDeduction {
    wire::BenefitOrDeduction {
        id,
        start_date: value.start,
        end_date: value.end,
        value: value.value.value(),
        payroll_component: wire::ComponentRef::key(i64::from(value.component.0)),
    }
}

fn integer_key(key: &Option<String>) -> Option<wire::CodedKey<i64>> {
    key.as_ref().and_then(|key| key.parse::<i64>().ok()).map(|key| wire::CodedKey {
        key,
        code: None,
        description: None,
    })
}

/// The body of a PATCH of the owned record of one period: its key fields are the employment's defaults
/// (O5), as Loket asks.
pub fn period_data_patch(key: &PeriodDataKey, changes: &[engine::ValueChange]) -> wire::PayrollPeriodData {
    wire::PayrollPeriodData {
        id: None,
        employment_id: None,
        payroll_period: wire::PeriodRef {
            year: i64::from(key.period.year),
            period_number: i64::from(key.period.number),
            period_start_date: None,
            period_end_date: None,
        },
        shift: wire::Shift {
            shift_number: i64::from(key.shift),
            full_time_hours_per_week: None,
            bonus_percentage: None,
        },
        payslip_type: wire::KeyValue::new(i64::from(key.payslip_type), ""),
        payslip_text: None,
        distribution_unit: wire::CodedKey {
            key: key.distribution_unit.map(|unit| unit.as_str().to_string()).unwrap_or_default(),
            code: None,
            description: None,
        },
        cost_center: integer_key(&key.cost_center),
        cost_unit: integer_key(&key.cost_unit),
        payroll_components: changes
            .iter()
            .map(|change| wire::ComponentValue {
                payroll_component: wire::ComponentRef::key(i64::from(change.component.0)),
                value: change.after,
                is_supplement: false,
            })
            .collect(),
    }
}

/// Sends one write of a plan. A PUT sends the record as read (from the snapshot) with only the synced
/// fields changed and, for wages, no pay scale.
pub async fn send_write(client: &LoketClient, snapshot: &LoketSnapshot, write: &Write) -> Result<Sent, LoketError> {
    let employment_id = write.employment_id.as_str();
    match &write.action {
        Action::PostWage { after } => {
            let created = client.post_wage(employment_id, &new_wage(after)).await?;
            Ok(Sent::Created(created.id.unwrap_or_default()))
        }
        Action::PutWage { id, after, .. } => {
            let mut body = snapshot.wages.get(&id.0).cloned().unwrap_or_else(|| new_wage(after));
            body.id = Some(id.0.clone());
            body.gross_wage = Some(after.amount.value());
            body.gross_wage_type = Some(wage_type(after.kind));
            body.pay_scale = None;
            body.pay_grade = None;
            // Without this, Loket would replace `grossWage` by the (now absent) pay grade's amount.
            body.apply_pay_grade = Some(false);
            // Read-only: never sent back.
            body.is_gross_wage_full_time = None;
            client.put_wage(&id.0, &body).await.map(|_| Sent::Done)
        }
        Action::DeleteWage { before } => client.delete_wage(&before.id.0).await.map(|_| Sent::Done),
        Action::PostBenefit { after } => {
            let created = client.post_benefit_or_deduction(employment_id, &benefit_body(after, None)).await?;
            Ok(Sent::Created(created.id.unwrap_or_default()))
        }
        Action::PutBenefit { id, after, .. } => {
            let mut body =
                snapshot.benefits.get(&id.0).cloned().unwrap_or_else(|| benefit_body(after, Some(id.0.clone())));
            body.id = Some(id.0.clone());
            body.start_date = after.start;
            body.end_date = after.end;
            body.value = after.value.value();
            client.put_benefit_or_deduction(&id.0, &body).await.map(|_| Sent::Done)
        }
        Action::DeleteBenefit { id, .. } => client.delete_benefit_or_deduction(&id.0).await.map(|_| Sent::Done),
        Action::PatchPeriodData { key, changes } => {
            client.patch_payroll_period_data(employment_id, &period_data_patch(key, changes)).await.map(|_| Sent::Done)
        }
    }
}
