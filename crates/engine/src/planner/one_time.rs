//! O and C rules: one-time compensations to the owned payroll-period-data record of each period.

use rust_decimal::Decimal;

use super::recurring::history;
use super::{Part, Subject};
use crate::config::{MappingKind, ResolvedMapping, ValidConfig};
use crate::issue::IssueCode;
use crate::plan::{Action, ValueChange};
use crate::state::{LoketState, PeriodData, PeriodDataKey};
use crate::types::{ComponentKey, Money, PeriodId, format_date};

/// The range Loket accepts for a payroll-period-data value.
/// (10,000,000,000 cents: the scale of amounts, so that comparing with it is cheap.)
pub const MAX_PERIOD_VALUE: Decimal = Decimal::from_parts(0x540B_E400, 2, 0, false, 2);

/// Numeric equality, cheap when both have the same scale (amounts in cents nearly always do).
fn same_amount(a: Decimal, b: Decimal) -> bool {
    if a.scale() == b.scale() { a.mantissa() == b.mantissa() } else { a == b }
}

/// O3: periods that start on/after the start date, end on/before the horizon and overlap the employment.
/// The calendar is sorted and its periods do not overlap, so these are one contiguous run of it.
/// As a range of indexes into the calendar's periods.
pub fn in_scope_periods(subject: &Subject, loket: &LoketState, config: &ValidConfig) -> std::ops::Range<usize> {
    let employment = subject.employment;
    let periods = loket.calendar.periods();
    let first = periods.partition_point(|period| {
        period.start < config.config.compensation_start_date || period.end < employment.start
    });
    let last = periods
        .partition_point(|period| period.end <= config.horizon && employment.end.is_none_or(|end| period.start <= end));
    first..last.max(first)
}

/// What is known about one in-scope period.
#[derive(Default)]
struct PeriodFacts {
    /// A non-EUR or non-monetary compensation of a mapped type: one-time values stay as they are (C3, C4).
    frozen: bool,
    /// A non-EUR compensation (currency, not unit) of a mapped type, for the mixed-period warning.
    foreign_currency: bool,
    /// An EUR compensation of a mapped type is there too.
    has_eur: bool,
    /// A one-time payment of a mapped type, in any currency or unit.
    has_one_time: bool,
}

/// O1–O7 and C1–C4 for one employment.
pub(super) fn plan(subject: &Subject, loket: &LoketState, config: &ValidConfig, recurring_on: bool) -> Part {
    let mut part = Part::default();
    let owned = config.components(MappingKind::OneTime);
    let all = loket.calendar.periods();
    let range = in_scope_periods(subject, loket, config);
    let periods = &all[range.clone()];
    // Facts and owned records by position in `periods`.
    let position = |id: PeriodId| periods.binary_search_by_key(&id, |period| period.id).ok();
    let mut facts: Vec<PeriodFacts> = periods.iter().map(|_| PeriodFacts::default()).collect();
    // Per period (by position) and type: the summed EUR values (O4). One flat list for the employee, in
    // period order since the payments are in date order, so a period's sums are adjacent.
    let mut sums: Vec<(usize, &ResolvedMapping, Decimal)> = Vec::with_capacity(subject.person.one_time.len());
    let mut owned_records: Vec<Option<&PeriodData>> = vec![None; periods.len()];
    // O5: another record of the period, with the owned record's shift and payslip type, that holds a value
    // of a one-time-mapped component (the first one, in key order).
    let mut elsewhere: Vec<Option<&PeriodData>> = vec![None; periods.len()];
    let employment = subject.employment;
    for record in &employment.period_data {
        let Some(index) = position(record.key.period) else { continue };
        if employment.is_owned(record) {
            owned_records[index] = Some(record);
        } else if elsewhere[index].is_none()
            && employment.is_beside_owned(record)
            && record.values.keys().any(|component| owned.contains(component))
        {
            elsewhere[index] = Some(record);
        }
    }
    let (window_start, window_end) = (subject.window_start, subject.window_end);

    let mut payments: Vec<_> = subject.person.one_time.iter().collect();
    // Usually already in date order with distinct dates; then there is nothing to sort.
    if !payments.windows(2).all(|pair| pair[0].date < pair[1].date) {
        payments.sort_by(|a, b| (a.date, &a.type_id, &a.amount).cmp(&(b.date, &b.type_id, &b.amount)));
    }
    // The payments are in date order, so their periods are found by walking the calendar once.
    let mut cursor = 0;
    for payment in payments {
        let Some(mapping) = config.mapping_for(&payment.type_id, MappingKind::OneTime) else { continue };
        // E2: dates outside the employment are ignored silently.
        if !subject.employment.covers(payment.date) {
            continue;
        }
        while cursor < all.len() && all[cursor].end < payment.date {
            cursor += 1;
        }
        let Some(period) = all.get(cursor).filter(|period| period.contains(payment.date)) else {
            if window_start <= payment.date && payment.date <= window_end {
                part.issues.push(subject.warning(
                    IssueCode::NoPayrollPeriod,
                    format!(
                        "One-time compensation `{}` of {} on {} is not synced: Loket has no payroll period that contains that date. Ask the payroll administrator to open the periods of that year in Loket, then sync again.",
                        mapping.type_name,
                        payment.amount.describe(),
                        format_date(payment.date)
                    ),
                ));
            }
            continue;
        };
        // O3: payments in other periods are ignored silently, whatever their currency or unit.
        if !range.contains(&cursor) {
            continue;
        }
        let index = cursor - range.start;
        let entry = &mut facts[index];
        entry.has_one_time = true;
        if mapping.non_monetary || !payment.amount.is_money() {
            entry.frozen = true;
            part.issues.push(
                subject
                    .warning(
                        IssueCode::NonMonetary,
                        format!(
                            "One-time compensation `{}` of {} on {} is not counted in money and is not synced; the one-time values of period {} are left as they are in Loket. Enter them there by hand if needed.",
                            mapping.type_name,
                            payment.amount.describe(),
                            format_date(payment.date),
                            period.id
                        ),
                    )
                    .period(period.id),
            );
        } else if !payment.amount.is_eur() {
            entry.frozen = true;
            entry.foreign_currency = true;
            part.issues.push(
                subject
                    .warning(
                        IssueCode::CurrencyNotEur,
                        format!(
                            "One-time compensation `{}` of {} on {} is not in EUR and is not synced; the one-time values of period {} are left as they are in Loket. Enter them there by hand if needed.",
                            mapping.type_name,
                            payment.amount.describe(),
                            format_date(payment.date),
                            period.id
                        ),
                    )
                    .period(period.id),
            );
        } else {
            entry.has_eur = true;
            let same_period = sums.iter_mut().rev().take_while(|(position, _, _)| *position == index);
            match same_period.into_iter().find(|(_, candidate, _)| std::ptr::eq(*candidate, mapping)) {
                Some((_, _, sum)) => *sum = sum.saturating_add(payment.amount.value),
                None => sums.push((index, mapping, payment.amount.value)),
            }
        }
    }

    // C3: recurring compensations of mapped types in effect during a period count too (R4 warns about them):
    // a foreign-currency one freezes the period, and an EUR one beside a foreign-currency one-time payment
    // makes it mixed. Only a person with something in a foreign currency needs this (most have none).
    let has_foreign_one_time = facts.iter().any(|entry| entry.foreign_currency);
    let has_foreign_recurring = subject.person.recurring.iter().any(|record| {
        record.amount.is_money()
            && !record.amount.is_eur()
            && config.mapping_for(&record.type_id, MappingKind::Recurring).is_some_and(|mapping| !mapping.non_monetary)
    });
    if recurring_on && (has_foreign_recurring || has_foreign_one_time) {
        for mapping in
            config.mappings.iter().filter(|mapping| mapping.kind == MappingKind::Recurring && !mapping.non_monetary)
        {
            for segment in history(subject.person, &mapping.type_id, config.horizon) {
                let amount = &segment.record.amount;
                for (index, _) in
                    periods.iter().enumerate().filter(|(_, period)| segment.overlaps(period.start, period.end))
                {
                    let entry = &mut facts[index];
                    if amount.is_eur() {
                        entry.has_eur = true;
                    } else if amount.is_money() {
                        entry.frozen = true;
                        entry.foreign_currency = true;
                    }
                }
            }
        }
    }

    let mut totals: Vec<(ComponentKey, Decimal)> = Vec::new();
    let mut next_sum = 0;
    for (index, (((period, facts), current), elsewhere)) in
        periods.iter().zip(facts).zip(owned_records).zip(elsewhere).enumerate()
    {
        let start = next_sum;
        while next_sum < sums.len() && sums[next_sum].0 == index {
            next_sum += 1;
        }
        let period_sums = &sums[start..next_sum];
        // Nothing in Personio, nothing in Loket, nothing frozen: nothing to do.
        if period_sums.is_empty() && current.is_none() && !facts.frozen && elsewhere.is_none() {
            continue;
        }
        if let Some(record) = elsewhere
            && !facts.frozen
        {
            // O5: writing the owned record could pay the same compensation twice.
            let components: Vec<String> = record
                .values
                .iter()
                .filter(|(component, _)| owned.contains(component))
                .map(|(component, value)| format!("{component} ({})", Money::round(*value)))
                .collect();
            part.issues.push(
                subject
                    .warning(
                        IssueCode::PeriodDataElsewhere,
                        format!(
                            "The one-time values of period {} are left as they are: Loket holds {} in another payroll-period-data record of that period ({}), not in the one the employment's defaults name ({}), so writing would pay them twice. Move or remove that record's values in Loket, then sync again.",
                            period.id,
                            components.join(", "),
                            describe_key(&record.key),
                            describe_key(&employment.owned_key(period.id))
                        ),
                    )
                    .period(period.id),
            );
            continue;
        }
        if facts.frozen {
            // The warning is given where it hides something: a one-time payment in Personio or a one-time
            // value in Loket in that period.
            let has_one_time = facts.has_one_time
                || current.is_some_and(|record| record.values.keys().any(|component| owned.contains(component)));
            if facts.foreign_currency && facts.has_eur && has_one_time {
                part.issues.push(
                    subject
                        .warning(
                            IssueCode::CurrencyMixedPeriod,
                            format!(
                                "In period {} ({} to {}) this employee has compensations in EUR and in other currencies, so none of their one-time values for that period are synced; Loket keeps what it has. Enter the period's one-time values in Loket by hand.",
                                period.id,
                                format_date(period.start),
                                format_date(period.end)
                            ),
                        )
                        .period(period.id),
                );
            }
            continue;
        }
        // O4: per type the sum; its sign picks the component; sums on one component add up.
        totals.clear();
        for (_, mapping, sum) in period_sums {
            let sum = Money::round(*sum);
            if sum.is_zero() {
                continue;
            }
            match mapping.component_for(sum.is_negative()) {
                Some(component) => {
                    match totals.iter_mut().find(|(candidate, _)| *candidate == component) {
                        Some((_, total)) => *total = total.saturating_add(sum.abs().value()),
                        None => totals.push((component, sum.abs().value())),
                    }
                }
                None => part.issues.push(
                    subject
                        .warning(
                            IssueCode::NoComponentForSign,
                            format!(
                                "One-time compensations `{}` add up to {} in period {}, but the mapping has no {} component, so they are not synced. Add a {} to the mapping or correct the sign in Personio.",
                                mapping.type_name,
                                sum,
                                period.id,
                                if sum.is_negative() { "deduction" } else { "benefit" },
                                if sum.is_negative() { "deduction_component" } else { "benefit_component" }
                            ),
                        )
                        .period(period.id),
                ),
            }
        }
        let mut changes = Vec::new();
        for component in owned {
            let before = current.and_then(|record| record.values.get(component)).copied();
            let after = totals
                .iter()
                .find(|(candidate, _)| candidate == component)
                .map(|(_, total)| *total)
                .filter(|total| !total.is_zero());
            if after.is_some_and(|total| total > MAX_PERIOD_VALUE) {
                part.issues.push(
                    subject
                        .warning(
                            IssueCode::ValueOutOfRange,
                            format!(
                                "One-time compensations add up to {} for Loket component {component} in period {}, more than Loket accepts (€100,000,000.00); the value is left as it is. Correct the compensations in Personio.",
                                Money::round(after.unwrap_or_default()),
                                period.id
                            ),
                        )
                        .period(period.id)
                        .component(*component),
                );
                continue;
            }
            let same = match (before, after) {
                (Some(before), Some(after)) => same_amount(before, after),
                (None, None) => true,
                _ => false,
            };
            if !same {
                changes.push(ValueChange { component: *component, before, after });
            }
        }
        if changes.is_empty() {
            continue;
        }
        if period.closed {
            // O7: never written; the administrator corrects it by hand.
            for change in &changes {
                part.issues.push(
                    subject
                        .warning(
                            IssueCode::PeriodClosed,
                            format!(
                                "Period {} is closed in Loket, so component {} was not changed there: Loket has {}, Personio has {}. Correct it by hand in a later period if needed.",
                                period.id,
                                change.component,
                                describe(change.before),
                                describe(change.after)
                            ),
                        )
                        .period(period.id)
                        .component(change.component),
                );
            }
            continue;
        }
        part.push(subject, "O6", Action::PatchPeriodData { key: subject.employment.owned_key(period.id), changes });
    }
    part
}

/// `shift 1, payslip type 1, distribution unit …, cost centre 3, no cost unit`.
fn describe_key(key: &PeriodDataKey) -> String {
    format!(
        "shift {}, payslip type {}, distribution unit {}, {}, {}",
        key.shift,
        key.payslip_type,
        key.distribution_unit.map(|unit| unit.as_str().to_string()).unwrap_or_else(|| "none".to_string()),
        key.cost_center
            .as_ref()
            .map(|key| format!("cost centre {key}"))
            .unwrap_or_else(|| "no cost centre".to_string()),
        key.cost_unit.as_ref().map(|key| format!("cost unit {key}")).unwrap_or_else(|| "no cost unit".to_string())
    )
}

fn describe(value: Option<Decimal>) -> String {
    value.map(|value| Money::round(value).to_string()).unwrap_or_else(|| "no value".to_string())
}
