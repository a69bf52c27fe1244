//! R rules: recurring compensations to Loket benefits and deductions.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::{Part, Subject};
use crate::config::{MappingKind, ResolvedMapping, ValidConfig};
use crate::issue::IssueCode;
use crate::plan::{Action, ends_earlier};
use crate::state::{BenefitOrDeduction, BenefitValue, Interval, Person, RecurringRecord};
use crate::types::{Amount, CivilDate, ComponentKey, Money, day_after, day_before, format_date};

/// The range Loket accepts for a benefit or deduction `value`.
pub const MIN_VALUE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
pub const MAX_VALUE: Decimal = Decimal::from_parts(9_999_999, 0, 0, false, 2);

/// A stretch of one recurring history in which one record is in effect.
#[derive(Clone, Debug)]
pub struct Segment<'a> {
    pub record: &'a RecurringRecord,
    pub start: CivilDate,
    /// `None`: in effect until the end of what was read.
    pub end: Option<CivilDate>,
}

impl Segment<'_> {
    pub fn overlaps(&self, start: CivilDate, end: CivilDate) -> bool {
        self.start <= end && self.end.is_none_or(|last| last >= start)
    }
}

/// R2: the history of one type for one person, as segments in which a non-zero record is in effect.
/// Records after the horizon are not read, so they are not used either.
pub fn history<'a>(person: &'a Person, type_id: &str, horizon: CivilDate) -> Vec<Segment<'a>> {
    let mut records: Vec<&RecurringRecord> = person
        .recurring
        .iter()
        .filter(|record| record.type_id == type_id && record.effective_from <= horizon)
        .collect();
    // Ordered by date; a tie is settled by the values, never by input order (G4).
    records.sort_by(|a, b| (a.effective_from, &a.amount, a.interval).cmp(&(b.effective_from, &b.amount, b.interval)));
    let mut segments = Vec::new();
    for (index, record) in records.iter().enumerate() {
        if record.amount.value.is_zero() {
            continue;
        }
        let end = match records.get(index + 1) {
            None => None,
            Some(next) if !next.amount.value.is_zero() => Some(day_before(next.effective_from)),
            Some(zero) => {
                // Personio shows compensations per month and never a 0: the end is known to the month. A 0
                // on the 1st ends the record the day before; a later 0 at the end of its month, unless a
                // record of the same type starts earlier.
                let date = zero.effective_from;
                let mut end = if date.day() == 1 { day_before(date) } else { date.last_of_month() };
                if let Some(restart) = records[index + 1..].iter().find(|later| !later.amount.value.is_zero()) {
                    end = end.min(day_before(restart.effective_from));
                }
                Some(end)
            }
        };
        if end.is_some_and(|end| end < record.effective_from) {
            continue;
        }
        segments.push(Segment { record, start: record.effective_from, end });
    }
    segments
}

/// Why a recurring record cannot be synced (R4): interval, currency, unit.
pub fn unsyncable_reasons(amount: &Amount, interval: Option<Interval>, mapping: &ResolvedMapping) -> Vec<IssueCode> {
    let mut reasons = Vec::new();
    if interval != Some(Interval::Monthly) {
        reasons.push(IssueCode::UnsupportedInterval);
    }
    if mapping.non_monetary || !amount.is_money() {
        reasons.push(IssueCode::NonMonetary);
    } else if !amount.is_eur() {
        reasons.push(IssueCode::CurrencyNotEur);
    }
    reasons
}

/// R1–R9 for one employment.
pub(super) fn plan(subject: &Subject, config: &ValidConfig) -> Part {
    let mut part = Part::default();
    let csd = config.config.compensation_start_date;
    let horizon = config.horizon;
    let (start, end) = (subject.window_start, subject.window_end);
    let owned = config.components(MappingKind::Recurring);

    let mut withheld: BTreeSet<ComponentKey> = BTreeSet::new();
    let mut contributions: BTreeMap<ComponentKey, Vec<(CivilDate, CivilDate, Decimal)>> = BTreeMap::new();
    let mut warned: BTreeSet<(String, IssueCode)> = BTreeSet::new();
    if start <= end {
        for mapping in config.mappings.iter().filter(|mapping| mapping.kind == MappingKind::Recurring) {
            for segment in history(subject.person, &mapping.type_id, horizon) {
                if !segment.overlaps(start, end) {
                    continue;
                }
                let record = segment.record;
                let negative = record.amount.value.is_sign_negative();
                let target = mapping.component_for(negative);
                let reasons = unsyncable_reasons(&record.amount, record.interval, mapping);
                for reason in &reasons {
                    if warned.insert((mapping.type_id.clone(), *reason)) {
                        let why = match reason {
                            IssueCode::UnsupportedInterval => format!(
                                "is paid {}, and only monthly compensations are synced",
                                record.interval.map(Interval::describe).unwrap_or("without an interval")
                            ),
                            IssueCode::NonMonetary => "is not counted in money".to_string(),
                            _ => "is not in EUR, and only EUR is synced".to_string(),
                        };
                        let consequence = match target {
                            Some(component) => format!(
                                "Loket component {component} is left as it is for this employee; maintain it in Loket by hand or change the compensation in Personio."
                            ),
                            None => "It is not synced.".to_string(),
                        };
                        let mut issue = subject.warning(
                            *reason,
                            format!(
                                "Recurring compensation `{}` of {} from {} {why}. {consequence}",
                                mapping.type_name,
                                record.amount.describe(),
                                format_date(record.effective_from)
                            ),
                        );
                        if let Some(component) = target {
                            issue = issue.component(component);
                        }
                        part.issues.push(issue);
                    }
                }
                let Some(component) = target else {
                    if warned.insert((mapping.type_id.clone(), IssueCode::NoComponentForSign)) {
                        part.issues.push(subject.warning(
                            IssueCode::NoComponentForSign,
                            format!(
                                "Recurring compensation `{}` of {} from {} is {}, but its mapping has no {} component, so it is not synced. Add a {} to the mapping or correct the sign in Personio.",
                                mapping.type_name,
                                record.amount.describe(),
                                format_date(record.effective_from),
                                if negative { "negative" } else { "positive" },
                                if negative { "deduction" } else { "benefit" },
                                if negative { "deduction_component" } else { "benefit_component" }
                            ),
                        ));
                    }
                    continue;
                };
                if !reasons.is_empty() {
                    // Withheld; the syncable records of the component are still summed below, for R5's
                    // range check.
                    withheld.insert(component);
                    continue;
                }
                let first = segment.start.max(start);
                let last = segment.end.map_or(end, |last| last.min(end));
                contributions.entry(component).or_default().push((first, last, record.amount.value.abs()));
            }
        }
    }

    // R5: the piecewise sum per component, merged, zero segments dropped. A component withheld by R4 is
    // summed too, so that an out-of-range sum is reported beside R4's reasons (the user fixes all at once).
    let mut desired: BTreeMap<ComponentKey, Vec<BenefitValue>> = BTreeMap::new();
    for (component, pieces) in &contributions {
        let mut cuts: BTreeSet<CivilDate> = BTreeSet::new();
        for (first, last, _) in pieces {
            cuts.insert(*first);
            cuts.insert(day_after(*last));
        }
        let cuts: Vec<CivilDate> = cuts.into_iter().collect();
        let mut records: Vec<BenefitValue> = Vec::new();
        let mut out_of_range = None;
        for pair in cuts.windows(2) {
            let (first, last) = (pair[0], day_before(pair[1]));
            let sum: Decimal = pieces
                .iter()
                .filter(|(from, to, _)| *from <= first && last <= *to)
                .fold(Decimal::ZERO, |sum, (_, _, value)| sum.saturating_add(*value));
            let value = Money::round(sum);
            if value.is_zero() {
                continue;
            }
            if value.value() < MIN_VALUE || value.value() > MAX_VALUE {
                out_of_range.get_or_insert((first, value));
                continue;
            }
            match records.last_mut() {
                Some(previous) if previous.value == value && previous.end.map(day_after) == Some(first) => {
                    previous.end = Some(last);
                }
                _ => records.push(BenefitValue { component: *component, start: first, end: Some(last), value }),
            }
        }
        if let Some((first, value)) = out_of_range {
            withheld.insert(*component);
            part.issues.push(
                subject
                    .warning(
                        IssueCode::ValueOutOfRange,
                        format!(
                            "Recurring compensations add up to {value} for Loket component {component} from {}, outside what Loket accepts (€0.01 to €99,999.99); the component is left as it is for this employee. Correct the compensations in Personio.",
                            format_date(first)
                        ),
                    )
                    .component(*component),
            );
            continue;
        }
        if withheld.contains(component) {
            continue;
        }
        // A record that runs to the end of the window ends with the employment, or stays open.
        for record in &mut records {
            if record.end == Some(end) {
                record.end = subject.employment.end;
            }
        }
        desired.insert(*component, records);
    }

    let mut existing: Vec<&BenefitOrDeduction> = subject
        .employment
        .benefits_and_deductions
        .iter()
        .filter(|record| owned.contains(&record.value.component) && !withheld.contains(&record.value.component))
        .collect();
    existing.sort_by(|a, b| a.value.cmp(&b.value));

    // R9: records after the horizon stay; a desired record that would overlap one ends the day before. So do
    // records in a year Loket has not opened (R10), which the sync leaves alone.
    for record in existing.iter().filter(|record| {
        record.value.start > horizon || (record.value.start >= start && !config.year_open(record.value.start))
    }) {
        if let Some(records) = desired.get_mut(&record.value.component) {
            for wanted in records.iter_mut() {
                if wanted.start < record.value.start && wanted.end.is_none_or(|last| last >= record.value.start) {
                    wanted.end = Some(day_before(record.value.start));
                }
            }
        }
    }

    // R10: a desired record that starts in a year Loket has not opened is not written in this run; the
    // record before it keeps its computed end. Loket's records that start in such a year are left alone.
    for records in desired.values_mut() {
        records.retain(|wanted| {
            if config.year_open(wanted.start) {
                return true;
            }
            part.issues.push(
                subject
                    .warning(
                        IssueCode::YearNotOpen,
                        format!(
                            "The record of {} per period for Loket component {} from {} is not written yet: Loket has no payroll periods for {} yet. The first sync after the payroll administrator opens {} in Loket writes it.",
                            wanted.value,
                            wanted.component,
                            format_date(wanted.start),
                            wanted.start.year(),
                            wanted.start.year()
                        ),
                    )
                    .component(wanted.component),
            );
            false
        });
    }

    let mut deletes = Vec::new();
    let mut shortened = Vec::new();
    let mut other_puts = Vec::new();

    // R6: a historical record still open on the start date ends the day before it.
    for record in existing.iter().filter(|record| record.value.start < start) {
        let open_on_start = record.value.end.is_none_or(|last| last >= csd);
        let new_end = day_before(csd);
        let within_employment = subject.employment.end.is_none_or(|last| new_end <= last);
        if open_on_start && record.value.start <= new_end && within_employment {
            let after = BenefitValue { end: Some(new_end), ..record.value.clone() };
            shortened.push(("R6", Action::PutBenefit { id: record.id.clone(), before: record.value.clone(), after }));
        }
    }

    // R7: managed records end up equal to the desired ones, matched on (component, start).
    let managed: Vec<&BenefitOrDeduction> = existing
        .iter()
        .filter(|record| {
            record.value.start >= start && record.value.start <= horizon && config.year_open(record.value.start)
        })
        .copied()
        .collect();
    let mut matched: BTreeSet<(ComponentKey, CivilDate)> = BTreeSet::new();
    for record in &managed {
        let wanted = desired
            .get(&record.value.component)
            .and_then(|records| records.iter().find(|wanted| wanted.start == record.value.start));
        match wanted {
            None => deletes.push(Action::DeleteBenefit { id: record.id.clone(), before: record.value.clone() }),
            Some(wanted) => {
                matched.insert((wanted.component, wanted.start));
                if wanted.end == record.value.end && wanted.value == record.value.value {
                    continue;
                }
                let action =
                    Action::PutBenefit { id: record.id.clone(), before: record.value.clone(), after: wanted.clone() };
                if ends_earlier(record.value.end, wanted.end) {
                    shortened.push(("R7", action));
                } else {
                    other_puts.push(action);
                }
            }
        }
    }
    // Writes ordered so that no two records of one component ever overlap, not even between two writes.
    for action in deletes {
        part.push(subject, "R7", action);
    }
    for (rule, action) in shortened {
        part.push(subject, rule, action);
    }
    for action in other_puts {
        part.push(subject, "R7", action);
    }
    for records in desired.values() {
        for wanted in records {
            if !matched.contains(&(wanted.component, wanted.start)) {
                part.push(subject, "R7", Action::PostBenefit { after: wanted.clone() });
            }
        }
    }
    part
}
