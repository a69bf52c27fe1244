//! A model of Loket: applies a plan's writes to a `LoketState` and refuses every write Loket would refuse.
//! The engine's tests use it to prove that plans are accepted and converge; the local Loket enforces the
//! same rules over HTTP.

use rust_decimal::Decimal;

use crate::plan::{Action, Plan, Write};
use crate::planner::{MAX_BENEFIT_VALUE, MAX_WAGE, MIN_BENEFIT_VALUE, MIN_WAGE};
use crate::state::{
    BENEFIT_CATEGORIES, BenefitOrDeduction, BenefitValue, ComponentKind, Employment, LoketState, PeriodData, Wage,
};
use crate::types::{CivilDate, RecordId, format_date};

/// Why Loket would refuse a write, in the words of its answer (a `BrokenBusinessRule` message, or a 404).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl From<&str> for Refusal {
    fn from(text: &str) -> Refusal {
        Refusal(text.to_string())
    }
}

impl From<String> for Refusal {
    fn from(text: String) -> Refusal {
        Refusal(text)
    }
}

macro_rules! refuse {
    ($($message:tt)*) => {
        Refusal(format!($($message)*))
    };
}

/// A write Loket would refuse (a 400 `BrokenBusinessRule`, or a 404).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("write {index} ({description}) refused: {reason}")]
pub struct Rejection {
    pub index: usize,
    pub description: String,
    pub reason: Refusal,
}

/// The largest absolute payroll-period-data value Loket accepts.
const MAX_PERIOD_VALUE: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 0);

/// Applies every write of the plan in order.
pub fn apply(state: &LoketState, plan: &Plan) -> Result<LoketState, Rejection> {
    let mut state = state.clone();
    for (index, write) in plan.writes().enumerate() {
        apply_write(&mut state, write).map_err(|reason| Rejection { index, description: write.describe(), reason })?;
    }
    Ok(state)
}

/// Applies one write, or says why Loket would refuse it. New records get ids that are unique in the state.
pub fn apply_write(state: &mut LoketState, write: &Write) -> Result<(), Refusal> {
    let new_id = fresh_id(state);
    apply_write_with_id(state, write, new_id)
}

/// Applies one write; a record it creates gets `new_id`. The local Loket uses this with GUIDs, so that it
/// enforces exactly the rules the engine's tests prove plans against.
pub fn apply_write_with_id(state: &mut LoketState, write: &Write, new_id: RecordId) -> Result<(), Refusal> {
    let LoketState { calendar, components, employments, .. } = state;
    let employment = employments
        .iter_mut()
        .find(|employment| employment.id == write.employment_id)
        .ok_or_else(|| refuse!("employment {} does not exist", write.employment_id))?;
    match &write.action {
        Action::PostWage { after } => {
            check_within(employment, after.start, Some(after.start))?;
            check_wage(after.amount.value())?;
            if let Some(last) = employment.wages.iter().map(|wage| wage.value.start).max()
                && after.start <= last
            {
                return Err(refuse!(
                    "a new wage must start after the last wage ({}), not on {}",
                    format_date(last),
                    format_date(after.start)
                ));
            }
            employment.wages.push(Wage {
                id: new_id,
                value: after.clone(),
                pay_scale: None,
                pay_grade: None,
                full_time: true,
            });
        }
        Action::PutWage { id, after, .. } => {
            let wage = employment
                .wages
                .iter_mut()
                .find(|wage| wage.id == *id)
                .ok_or_else(|| refuse!("the wage does not exist (404)"))?;
            if wage.value.start != after.start {
                return Err(refuse!("a PUT may not move a wage's start date"));
            }
            check_wage(after.amount.value())?;
            wage.value = after.clone();
            wage.pay_scale = None;
            wage.pay_grade = None;
        }
        Action::DeleteWage { before } => {
            let count = employment.wages.len();
            employment.wages.retain(|wage| wage.id != before.id);
            if employment.wages.len() == count {
                return Err(refuse!("the wage does not exist (404)"));
            }
        }
        Action::PostBenefit { after } => {
            check_benefit(employment, components, after, None)?;
            employment.benefits_and_deductions.push(BenefitOrDeduction { id: new_id, value: after.clone() });
        }
        Action::PutBenefit { id, after, .. } => {
            let current = employment
                .benefits_and_deductions
                .iter()
                .find(|record| record.id == *id)
                .ok_or_else(|| refuse!("the benefit or deduction does not exist (404)"))?;
            if current.value.component != after.component {
                return Err(refuse!("a PUT may not change the payroll component"));
            }
            check_benefit(employment, components, after, Some(id))?;
            if let Some(record) = employment.benefits_and_deductions.iter_mut().find(|record| record.id == *id) {
                record.value = after.clone();
            }
        }
        Action::DeleteBenefit { id, .. } => {
            let count = employment.benefits_and_deductions.len();
            employment.benefits_and_deductions.retain(|record| record.id != *id);
            if employment.benefits_and_deductions.len() == count {
                return Err(refuse!("the benefit or deduction does not exist (404)"));
            }
        }
        Action::PatchPeriodData { key, changes } => {
            let period = calendar.get(key.period).ok_or_else(|| refuse!("period {} does not exist", key.period))?;
            if period.closed {
                return Err(refuse!("period {} has an approved payroll run", key.period));
            }
            if period.end < employment.start || employment.end.is_some_and(|end| period.start > end) {
                return Err(refuse!("period {} lies outside the employment", key.period));
            }
            for change in changes {
                if components.get(&key.period.year).and_then(|catalogue| catalogue.get(&change.component)).is_none() {
                    return Err(refuse!("component {} does not exist in {}", change.component, key.period.year));
                }
                if let Some(value) = change.after
                    && value.abs() > MAX_PERIOD_VALUE
                {
                    return Err(refuse!("value {value} is outside -100,000,000 to 100,000,000"));
                }
            }
            let index = match employment.period_data.iter().position(|record| record.key == *key) {
                Some(index) => index,
                None => {
                    employment.period_data.push(PeriodData {
                        id: Some(new_id),
                        key: key.clone(),
                        values: Default::default(),
                    });
                    employment.period_data.len() - 1
                }
            };
            let record = &mut employment.period_data[index];
            for change in changes {
                match change.after {
                    Some(value) => record.values.insert(change.component, value),
                    None => record.values.remove(&change.component),
                };
            }
        }
    }
    Ok(())
}

fn fresh_id(state: &LoketState) -> RecordId {
    let count: usize = state
        .employments
        .iter()
        .map(|employment| {
            employment.wages.len() + employment.benefits_and_deductions.len() + employment.period_data.len()
        })
        .sum();
    let mut n = count;
    loop {
        let id = RecordId(format!("model-{n}"));
        let taken = state.employments.iter().any(|employment| {
            employment.wages.iter().any(|wage| wage.id == id)
                || employment.benefits_and_deductions.iter().any(|record| record.id == id)
                || employment.period_data.iter().any(|record| record.id.as_ref() == Some(&id))
        });
        if !taken {
            return id;
        }
        n += 1;
    }
}

fn check_within(employment: &Employment, start: CivilDate, end: Option<CivilDate>) -> Result<(), Refusal> {
    if start < employment.start {
        return Err(refuse!(
            "dated {} before the employment starts ({})",
            format_date(start),
            format_date(employment.start)
        ));
    }
    if let Some(last) = employment.end {
        match end {
            Some(end) if end <= last && start <= last => {}
            _ => {
                return Err(refuse!("runs past the end of the employment ({})", format_date(last)));
            }
        }
    }
    Ok(())
}

fn check_wage(amount: Decimal) -> Result<(), Refusal> {
    if amount < MIN_WAGE || amount > MAX_WAGE {
        return Err(refuse!("grossWage {amount} is outside 0.01 to 999,999.99"));
    }
    Ok(())
}

fn check_benefit(
    employment: &Employment,
    components: &std::collections::BTreeMap<
        i16,
        std::collections::BTreeMap<crate::types::ComponentKey, crate::state::Component>,
    >,
    value: &BenefitValue,
    replacing: Option<&RecordId>,
) -> Result<(), Refusal> {
    check_within(employment, value.start, value.end.or(employment.end.map(|_| CivilDate::MAX)))?;
    if value.end.is_some_and(|end| end < value.start) {
        return Err(refuse!("the end date is before the start date"));
    }
    if value.value.value() < MIN_BENEFIT_VALUE || value.value.value() > MAX_BENEFIT_VALUE {
        return Err(refuse!("value {} is outside 0.01 to 99,999.99", value.value.value()));
    }
    // The catalogue is checked when a record is created; a PUT cannot change the component, and a record
    // that Loket accepted once (perhaps in a year whose catalogue is no longer served) stays valid.
    if replacing.is_none() {
        let year = value.start.year();
        let component = components
            .get(&year)
            .and_then(|catalogue| catalogue.get(&value.component))
            .ok_or_else(|| refuse!("payroll component {} does not exist in {year}", value.component))?;
        if component.kind == ComponentKind::None || !BENEFIT_CATEGORIES.contains(&component.category) {
            return Err(refuse!("payroll component {} may not be used for benefits and deductions", value.component));
        }
    }
    if let Some(other) = employment.benefits_and_deductions.iter().find(|record| {
        Some(&record.id) != replacing && record.value.component == value.component && record.value.overlaps(value)
    }) {
        return Err(refuse!(
            "overlaps the record of component {} from {}",
            value.component,
            format_date(other.value.start)
        ));
    }
    Ok(())
}
