//! S rules: the Personio base-salary chain to Loket's basic wage (a linked chain that only appends).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Part, Subject};
use crate::calendar::CalendarKind;
use crate::issue::{Issue, IssueCode};
use crate::plan::Action;
use crate::state::{Interval, SalaryKind, SalaryRecord, Wage, WageKind, WageValue};
use crate::types::{CivilDate, Money, day_before, format_date};

/// The range Loket accepts for `grossWage`.
pub const MIN_WAGE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
pub const MAX_WAGE: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 2);

/// The desired wages of the window (S2–S7), or the errors that fail the employee.
fn desired_wages(subject: &Subject, kind: CalendarKind) -> Result<Vec<WageValue>, Vec<Issue>> {
    let (start, end) = (subject.window_start, subject.window_end);
    let mut records: Vec<&SalaryRecord> =
        subject.person.salaries.iter().filter(|record| record.effective_from <= end).collect();
    // Ordered by date; a tie is settled by the values so that input order never changes the plan (G4).
    records.sort_by(|a, b| {
        (a.effective_from, a.kind, a.interval, &a.amount).cmp(&(b.effective_from, b.kind, b.interval, &b.amount))
    });

    let mut errors = Vec::new();
    let mut segments: Vec<(CivilDate, &SalaryRecord)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let last_day = records.get(index + 1).map(|next| day_before(next.effective_from)).unwrap_or(end);
        let first_day = record.effective_from.max(start);
        if last_day < first_day || last_day < start {
            continue;
        }
        segments.push((first_day, record));
    }

    // S5: the chain has no gaps inside (each record lasts until the next), so the only gap is at the start.
    let first_covered = segments.first().map(|(first_day, _)| *first_day);
    if first_covered != Some(start) {
        let gap_end = first_covered.map(day_before).unwrap_or(end);
        errors.push(
            subject
                .error(
                    IssueCode::SalaryGap,
                    format!(
                        "Cannot sync base salary because no salary was found for {} to {}. Add a salary in Personio with a start date {} and sync again.",
                        format_date(start),
                        format_date(gap_end),
                        format_date(start)
                    ),
                )
                .range(start, gap_end),
        );
    }

    let mut wages = Vec::new();
    for (first_day, record) in &segments {
        if !record.amount.is_eur() {
            errors.push(subject.error(
                IssueCode::CurrencyNotEur,
                format!(
                    "Cannot sync base salary because the salary from {} is {}, not EUR; only EUR is synced. Enter the salary in EUR in Personio or maintain this employee's wage in Loket by hand.",
                    format_date(record.effective_from),
                    record.amount.describe()
                ),
            ));
            continue;
        }
        let value = record.amount.value;
        let (wage_kind, amount) = match (record.kind, record.interval) {
            (SalaryKind::Hourly, _) => (WageKind::Hourly, value),
            (SalaryKind::Fixed, Some(Interval::Monthly)) => (
                WageKind::Periodic,
                match kind {
                    CalendarKind::Month => value,
                    _ => value.saturating_mul(Decimal::from(12)) / Decimal::from(kind.periods_per_year()),
                },
            ),
            (SalaryKind::Fixed, Some(Interval::Yearly)) => {
                (WageKind::Periodic, value / Decimal::from(kind.periods_per_year()))
            }
            (SalaryKind::Fixed, other) => {
                errors.push(subject.error(
                    IssueCode::UnsupportedInterval,
                    format!(
                        "Cannot sync base salary because the salary from {} is paid {}; only monthly and yearly salaries are synced. Enter it as a monthly or yearly salary in Personio.",
                        format_date(record.effective_from),
                        other.map(Interval::describe).unwrap_or("without an interval")
                    ),
                ));
                continue;
            }
        };
        let amount = Money::round(amount);
        if amount.value() < MIN_WAGE || amount.value() > MAX_WAGE {
            errors.push(subject.error(
                IssueCode::ValueOutOfRange,
                format!(
                    "Cannot sync base salary because the salary from {} gives a wage of {}, outside what Loket accepts (€0.01 to €999,999.99). Correct the salary in Personio.",
                    format_date(record.effective_from),
                    amount
                ),
            ));
            continue;
        }
        let wage = WageValue { start: *first_day, kind: wage_kind, amount };
        // S7: consecutive equal wages merge.
        if wages.last().is_some_and(|last: &WageValue| last.same_wage(&wage)) {
            continue;
        }
        wages.push(wage);
    }
    if errors.is_empty() { Ok(wages) } else { Err(errors) }
}

/// S1–S12 for one employment.
pub(super) fn plan(subject: &Subject, kind: CalendarKind, horizon: CivilDate) -> Part {
    let mut part = Part::default();
    if subject.window_start > subject.window_end {
        return part;
    }
    let desired = match desired_wages(subject, kind) {
        Ok(desired) => desired,
        Err(errors) => {
            part.issues = errors;
            return part;
        }
    };
    let start = subject.window_start;
    let mut wages: Vec<&Wage> = subject.employment.wages.iter().collect();
    wages.sort_by_key(|wage| wage.value.start);
    let historical_in_effect = wages.iter().rev().find(|wage| wage.value.start < start).copied();
    let managed: BTreeMap<CivilDate, &Wage> = wages
        .iter()
        .filter(|wage| wage.value.start >= start && wage.value.start <= horizon)
        .map(|wage| (wage.value.start, *wage))
        .collect();
    let after_horizon: Vec<&Wage> = wages.iter().filter(|wage| wage.value.start > horizon).copied().collect();

    // S8: the historical wage continues into the window when it equals the first desired wage, unless a
    // managed wage at the window's start already does.
    // A wage that is not full-time (S4) never equals a desired one: its amount means the actual wage.
    let equal = |wage: &Wage, wanted: &WageValue| wage.full_time && wage.value.same_wage(wanted);
    let mut target: Vec<WageValue> = desired;
    let managed_first_is_equal =
        managed.get(&start).is_some_and(|wage| target.first().is_some_and(|first| equal(wage, first)));
    if !managed_first_is_equal
        && historical_in_effect.is_some_and(|wage| target.first().is_some_and(|first| equal(wage, first)))
    {
        target.remove(0);
    }

    // S9: the first date that needs a POST; every managed wage after it must go (Loket only appends). A
    // managed wage that is not full-time is replaced (DELETE and POST): Loket does not let a client change
    // `isGrossWageFullTime`, and a full-time amount in a part-time record would pay too much.
    let kept_at = |date: &CivilDate| managed.get(date).is_some_and(|wage| wage.full_time);
    let first_post = target.iter().map(|wage| wage.start).find(|date| !kept_at(date));
    if let (Some(first_post), Some(blocking)) = (first_post, after_horizon.first()) {
        part.issues.push(subject.warning(
            IssueCode::WageAfterHorizon,
            format!(
                "Base salary was not synced: a wage must be added from {}, but Loket already has a wage from {} ({}), after the horizon of {}, and Loket only adds wages after the last one. Raise `horizon_months` so that the horizon covers {}, or remove that wage in Loket, and sync again.",
                format_date(first_post),
                format_date(blocking.value.start),
                blocking.value.describe(),
                format_date(horizon),
                format_date(blocking.value.start)
            ),
        ));
        return part;
    }
    let target_at: BTreeMap<CivilDate, &WageValue> = target.iter().map(|wage| (wage.start, wage)).collect();
    let reposted = |date: CivilDate| first_post.is_some_and(|first| date > first);

    let mut deletes = Vec::new();
    let mut puts = Vec::new();
    for (date, wage) in &managed {
        match target_at.get(date) {
            _ if !wage.full_time => deletes.push(*wage),
            Some(_) if reposted(*date) => deletes.push(*wage),
            None => deletes.push(*wage),
            Some(wanted) if !wage.value.same_wage(wanted) => puts.push((*wage, (*wanted).clone())),
            Some(_) => {}
        }
    }
    deletes.sort_by_key(|wage| std::cmp::Reverse(wage.value.start));
    for wage in &deletes {
        part.push(subject, "S9", Action::DeleteWage { before: (*wage).clone() });
    }
    for (wage, after) in puts {
        part.push(subject, "S9", Action::PutWage { id: wage.id.clone(), before: wage.clone(), after });
    }
    let posts: Vec<&WageValue> = target.iter().filter(|wage| !kept_at(&wage.start) || reposted(wage.start)).collect();
    for wage in posts {
        part.push(subject, "S9", Action::PostWage { after: wage.clone() });
    }

    part.if_sent = scale_warnings(subject, &wages, &part);
    part.if_sent.extend(full_time_warnings(subject, &part));
    part
}

/// S4: a warning for each managed wage that Loket holds as the actual (part-time) wage
/// (`isGrossWageFullTime: false`) and that the plan replaces by a full-time one. Given only when the
/// writes are sent.
fn full_time_warnings(subject: &Subject, part: &Part) -> Vec<Issue> {
    part.writes
        .iter()
        .filter_map(|write| match &write.action {
            Action::DeleteWage { before } if !before.full_time => Some(subject.warning(
                IssueCode::WageNotFullTime,
                format!(
                    "The Loket wage from {} ({}) is entered as the actual wage, not the full-time wage (isGrossWageFullTime is off). loket-sync writes Personio's full-time salary, so it replaces that wage by a full-time one and Loket applies the employee's part-time factor itself. Check the part-time factor (deviating hours) of this employment in Loket.",
                    format_date(before.value.start),
                    before.value.describe()
                ),
            )),
            _ => None,
        })
        .collect()
}

/// S10: warnings for writes that change or delete a wage with a pay scale or grade, or add a wage right
/// after one. Given only when the writes are sent.
fn scale_warnings(subject: &Subject, wages: &[&Wage], part: &Part) -> Vec<Issue> {
    let has_scale = |wage: &Wage| wage.pay_scale.is_some() || wage.pay_grade.is_some();
    let describe_scale = |wage: &Wage| {
        [wage.pay_scale.as_deref(), wage.pay_grade.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" / ")
    };
    let mut chain: Vec<Wage> = wages.iter().map(|wage| (*wage).clone()).collect();
    let mut warnings = Vec::new();
    for write in &part.writes {
        match &write.action {
            Action::DeleteWage { before } | Action::PutWage { before, .. } => {
                if has_scale(before) {
                    warnings.push(subject.warning(
                        IssueCode::SalaryScaleOverwritten,
                        format!(
                            "The Loket wage from {} carries pay scale {}, which the salary sync overwrites with the Personio salary. If you use pay scales in Loket, turn the salary sync off or restore the scale by hand.",
                            format_date(before.value.start),
                            describe_scale(before)
                        ),
                    ));
                }
                chain.retain(|wage| wage.id != before.id);
            }
            Action::PostWage { after } => {
                if let Some(previous) =
                    chain.iter().filter(|wage| wage.value.start < after.start).max_by_key(|wage| wage.value.start)
                    && has_scale(previous)
                {
                    warnings.push(subject.warning(
                        IssueCode::SalaryScaleOverwritten,
                        format!(
                            "Adding the Personio salary from {} ends the Loket wage from {} with pay scale {}. If you use pay scales in Loket, turn the salary sync off or restore the scale by hand.",
                            format_date(after.start),
                            format_date(previous.value.start),
                            describe_scale(previous)
                        ),
                    ));
                }
                chain.push(Wage {
                    id: crate::types::RecordId(String::new()),
                    value: after.clone(),
                    pay_scale: None,
                    pay_grade: None,
                    full_time: true,
                });
            }
            _ => {}
        }
    }
    warnings
}

/// The wage in effect on `date` in a chain (each wage lasts until the next starts).
pub fn wage_on(chain: &[WageValue], date: CivilDate) -> Option<&WageValue> {
    chain.iter().filter(|wage| wage.start <= date).max_by_key(|wage| wage.start)
}

/// Whether the writes lower the wage in effect on some day of the window, same wage type (G8).
pub fn lowers_wage(before: &[WageValue], after: &[WageValue], window: (CivilDate, CivilDate)) -> bool {
    let mut days: Vec<CivilDate> = before
        .iter()
        .chain(after.iter())
        .map(|wage| wage.start)
        .filter(|date| *date >= window.0 && *date <= window.1)
        .collect();
    days.push(window.0);
    days.into_iter().any(|day| match (wage_on(before, day), wage_on(after, day)) {
        (Some(old), Some(new)) => old.kind == new.kind && new.amount < old.amount,
        _ => false,
    })
}
