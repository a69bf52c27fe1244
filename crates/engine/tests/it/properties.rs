//! Property tests of the guarantees (SYNC-RULES.md §8) on generated states that nobody wrote by hand.
//!
//! A world is generated from a seed by a small deterministic generator (so a failing case is reproduced
//! by its seed alone): month, four-week and week calendars; closed periods; persons with salary chains
//! (monthly, yearly, hourly, changes mid-month, gaps, USD, quarterly); recurring histories on mapped and
//! unmapped types (zeros, negatives, kilometres, quarterly, USD); one-time payments (several per period,
//! negative, USD); Loket states that are empty, in sync or drifted, with historical records, pay scales,
//! ended employments, unmapped components, other period-data records and an unmatched employment.
//!
//! G6 is checked against `Expected`, a day-by-day model of the desired state written here from the rules'
//! text, independent of the planner's code.

use std::collections::{BTreeMap, BTreeSet};

use engine::{IssueCode, Period, PeriodId};
use jiff::civil::{Date, date};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use scenario::*;

use crate::support::world;

const CASES: u32 = 256;

/// xorshift64*: small, deterministic, good enough to spread test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn date(&mut self, from: Date, to: Date) -> Date {
        if to <= from {
            return from;
        }
        let days = (to - from).get_days() as u64;
        from.checked_add(jiff::Span::new().days(self.below(days + 1) as i64)).unwrap()
    }

    /// A whole-cent amount in `[low, high)`.
    fn cents(&mut self, low: i64, high: i64) -> Decimal {
        Decimal::new(low * 100 + self.below(((high - low) * 100) as u64) as i64, 2)
    }
}

fn min_date(a: Date, b: Option<Date>) -> Date {
    b.map_or(a, |b| a.min(b))
}

const RECURRING_TYPES: [&str; 6] =
    ["Car allowance", "Phone allowance", "Pension contribution", "Travel", "Gym", "Mileage"];
const LOKET_BENEFIT_COMPONENTS: [u32; 7] = [7010, 7020, 8020, 7030, 8030, 7040, 7099];

/// Generates a valid world: a Loket state Loket accepts, and any Personio state.
fn generate(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut scenario = world().scenario;
    scenario.name = format!("generated world {seed}");
    scenario.personio.persons.clear();
    scenario.loket.employments.clear();
    scenario.loket.components.push(
        serde_json::from_value(
            serde_json::json!({"key": 7040, "description": "Km vergoeding", "category": 9, "kind": "payment"}),
        )
        .unwrap(),
    );
    scenario.config.mappings.push(MappingSection {
        personio_type: "Mileage".to_string(),
        benefit_component: Some(7040),
        deduction_component: None,
    });

    // R10: Loket often has not opened next year yet, while the horizon reaches into it; and catalogues differ
    // by year (a mapped component new since 2026, unmapped ones that come and go).
    if rng.chance(35) {
        scenario.loket.period_years = vec![2025, 2026];
    }
    let years = scenario.loket.period_years.clone();
    for component in &mut scenario.loket.components {
        let mapped = [7010, 7020, 8020, 7030, 8030, 7040, 4001, 4002].contains(&component.key);
        component.years = match rng.below(10) {
            0 | 1 if mapped => Some(years.iter().copied().filter(|year| *year >= 2026).collect()),
            0 | 1 => Some(years.iter().copied().filter(|year| *year != 2026).collect()),
            2 if !mapped => Some(vec![2025]),
            _ => None,
        };
    }
    let open_until = date(*years.iter().max().unwrap(), 12, 31);

    scenario.loket.payroll_period_type = match rng.below(10) {
        0..=5 => PeriodType::Month,
        6 | 7 => PeriodType::FourWeeks,
        _ => PeriodType::Week,
    };
    scenario.loket.approved_through = match rng.below(10) {
        0..=2 => None,
        3..=5 => Some(PeriodId::new(2025, 12).unwrap()),
        n => Some(PeriodId::new(2026, (n - 5) as u8).unwrap()),
    };
    // "All of 2025 closed" is the last period of 2025, whatever the calendar.
    let last_of_year = match scenario.loket.payroll_period_type {
        PeriodType::Month => 12,
        PeriodType::FourWeeks => 13,
        PeriodType::Week => 52,
    };
    if scenario.loket.approved_through.is_some_and(|p| p.year == 2025) {
        scenario.loket.approved_through = Some(PeriodId::new(2025, last_of_year).unwrap());
    }
    scenario.today = rng.date(date(2026, 2, 1), date(2026, 6, 30));
    let periods = scenario.loket.periods();
    let starts: Vec<&Period> = periods.iter().filter(|p| p.id.year == 2026 && p.id.number <= 3).collect();
    scenario.config.compensation_start_date = rng.pick(&starts).start;
    scenario.config.horizon_months = 2 + rng.below(11) as u32;
    let horizon = engine::types::end_of_month_after(scenario.today, scenario.config.horizon_months);

    let employees = 1 + rng.below(4);
    for index in 0..employees {
        let number = 1001 + index;
        let start = if rng.chance(70) { date(2019, 4, 1) } else { rng.date(date(2025, 6, 1), date(2026, 8, 31)) };
        let end = if rng.chance(70) { None } else { Some(rng.date(start.max(date(2025, 12, 1)), date(2027, 8, 31))) };
        let person = generate_person(&mut rng, number, start, end);
        scenario.personio.persons.push(person);
        let employment = generate_employment(&mut rng, number, start, end, horizon.min(open_until), &periods);
        scenario.loket.employments.push(employment);
    }
    if rng.chance(30) {
        let employment = generate_employment(&mut rng, 9000, date(2019, 4, 1), None, horizon.min(open_until), &periods);
        scenario.loket.employments.push(employment);
    }
    if rng.chance(20) {
        let mut person = generate_person(&mut rng, 5000, date(2019, 4, 1), None);
        person.attributes.clear();
        scenario.personio.persons.push(person);
    }
    scenario
}

fn generate_person(rng: &mut Rng, number: u64, start: Date, end: Option<Date>) -> PersonSection {
    let mut salaries: BTreeMap<Date, SalarySection> = BTreeMap::new();
    let count = if rng.chance(92) { 1 + rng.below(4) } else { 0 };
    for position in 0..count {
        let effective_from = if position == 0 && rng.chance(75) {
            rng.date(date(2018, 1, 1), start)
        } else {
            rng.date(date(2025, 6, 1), date(2027, 6, 30))
        };
        let (kind, interval, value) = match rng.below(100) {
            0..=14 => (SalaryKindSection::Hourly, None, rng.cents(12, 80)),
            15..=54 => (SalaryKindSection::Fixed, Some(engine::state::Interval::Monthly), rng.cents(1500, 9000)),
            55..=94 => (SalaryKindSection::Fixed, Some(engine::state::Interval::Yearly), rng.cents(20000, 110000)),
            _ => (SalaryKindSection::Fixed, Some(engine::state::Interval::Quarterly), rng.cents(5000, 20000)),
        };
        let currency = Some(if rng.chance(4) { "USD" } else { "EUR" }.to_string());
        salaries.insert(effective_from, SalarySection { effective_from, kind, value, currency, interval });
    }
    let mut recurring = Vec::new();
    for type_name in RECURRING_TYPES {
        if !rng.chance(40) {
            continue;
        }
        let mut dates = BTreeSet::new();
        for _ in 0..1 + rng.below(4) {
            dates.insert(rng.date(date(2024, 6, 1), date(2027, 6, 30)));
        }
        for effective_from in dates {
            let magnitude = if type_name == "Mileage" { rng.cents(50, 500) } else { rng.cents(1, 400) };
            let value = if rng.chance(20) {
                Decimal::ZERO
            } else {
                match type_name {
                    "Pension contribution" => -magnitude,
                    "Travel" | "Gym" if rng.chance(50) => -magnitude,
                    "Car allowance" if rng.chance(10) => -magnitude,
                    _ => magnitude,
                }
            };
            let interval = Some(if rng.chance(90) {
                engine::state::Interval::Monthly
            } else {
                engine::state::Interval::Quarterly
            });
            let currency = Some(if rng.chance(5) { "USD" } else { "EUR" }.to_string());
            recurring.push(RecurringSection {
                type_name: type_name.to_string(),
                effective_from,
                interval,
                value,
                currency,
            });
        }
    }
    let mut one_time = Vec::new();
    for _ in 0..rng.below(7) {
        let type_name = match rng.below(4) {
            0 | 1 => "Bonus",
            2 => "Referral bonus",
            _ => "Gift",
        };
        let magnitude = rng.cents(1, 600);
        let value = if rng.chance(25) { -magnitude } else { magnitude };
        let currency = Some(if rng.chance(5) { "USD" } else { "EUR" }.to_string());
        let date = rng.date(date(2025, 10, 1), date(2027, 6, 30));
        one_time.push(OneTimeSection { type_name: type_name.to_string(), date, value, currency });
    }
    let mut attributes = BTreeMap::new();
    attributes.insert("Employee number - Loket".to_string(), number.to_string());
    attributes.insert("Income number".to_string(), "1".to_string());
    PersonSection {
        id: number,
        first_name: "Person".to_string(),
        last_name: number.to_string(),
        attributes,
        employment: PersonioEmploymentSection {
            legal_entity: "1".to_string(),
            status: "ACTIVE".to_string(),
            start: Some(start),
            end,
            weekly_hours: None,
            full_time_weekly_hours: None,
        },
        salaries: salaries.into_values().collect(),
        recurring,
        one_time,
    }
}

fn generate_employment(
    rng: &mut Rng,
    number: u64,
    start: Date,
    end: Option<Date>,
    horizon: Date,
    periods: &[Period],
) -> LoketEmploymentSection {
    let last = min_date(horizon, end);
    let mut wages: BTreeMap<Date, WageSection> = BTreeMap::new();
    let count = rng.below(4);
    for position in 0..count {
        let wage_start = if position == 0 && rng.chance(70) { start } else { rng.date(start, last) };
        let (wage_type, amount) = if rng.chance(15) {
            (WageTypeSection::Hourly, rng.cents(12, 80))
        } else {
            (WageTypeSection::Periodic, rng.cents(1500, 9000))
        };
        let pay_scale = rng.chance(15).then(|| "CAO 4".to_string());
        wages.insert(wage_start, WageSection { start: wage_start, wage_type, amount, pay_scale, full_time: true });
    }
    let mut benefits = Vec::new();
    for component in LOKET_BENEFIT_COMPONENTS {
        if !rng.chance(30) {
            continue;
        }
        let mut cursor = rng.date(start, date(2026, 6, 30).max(start));
        for record in 0..1 + rng.below(3) {
            let record_start = cursor;
            if record_start > last {
                break;
            }
            let open = record == 2 || rng.chance(30);
            let record_end = if open && end.is_none() {
                None
            } else {
                let length = 20 + rng.below(400) as i64;
                let candidate = record_start.checked_add(jiff::Span::new().days(length)).unwrap();
                Some(min_date(candidate, end))
            };
            benefits.push(BenefitSection { component, start: record_start, end: record_end, value: rng.cents(1, 500) });
            let Some(record_end) = record_end else { break };
            cursor = record_end.checked_add(jiff::Span::new().days(1 + rng.below(90) as i64)).unwrap();
        }
    }
    let mut items: BTreeMap<(PeriodId, u32, u32), PeriodDataItem> = BTreeMap::new();
    let candidates: Vec<&Period> = periods
        .iter()
        .filter(|period| {
            period.end >= start && end.is_none_or(|end| period.start <= end) && period.start <= date(2027, 6, 30)
        })
        .collect();
    for _ in 0..rng.below(5) {
        if candidates.is_empty() {
            break;
        }
        let period = rng.pick(&candidates).id;
        let component = *rng.pick(&[4001, 4002, 4050]);
        let shift = if rng.chance(80) { 1 } else { 2 };
        let value = rng.cents(1, 500);
        items.insert(
            (period, component, shift),
            PeriodDataItem {
                period,
                component,
                value,
                shift,
                payslip_type: 1,
                cost_center: None,
                cost_unit: None,
                distribution_unit: None,
            },
        );
    }
    LoketEmploymentSection {
        employee_number: number,
        income_relationship_number: Some(1),
        name: format!("Employee {number}"),
        start,
        end,
        wages: wages.into_values().collect(),
        benefits_and_deductions: benefits,
        payroll_period_data: items.into_values().collect(),
        period_data_defaults: None,
    }
}

// -------------------------------------------------------------------------------------------------------
// The day-by-day model of the desired state.

fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    let mut next = Some(from);
    std::iter::from_fn(move || {
        let day = next.filter(|day| *day <= to)?;
        next = day.tomorrow().ok();
        Some(day)
    })
}

fn round(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn is_eur(currency: &Option<String>) -> bool {
    currency.as_deref().is_none_or(|code| code == "EUR")
}

/// The recurring mappings of the generated worlds: type → (benefit, deduction).
fn recurring_targets(type_name: &str) -> Option<(Option<u32>, Option<u32>)> {
    match type_name {
        "Car allowance" => Some((Some(7010), None)),
        "Phone allowance" => Some((Some(7020), None)),
        "Pension contribution" => Some((None, Some(8020))),
        "Travel" => Some((Some(7030), Some(8030))),
        "Mileage" => Some((Some(7040), None)),
        _ => None,
    }
}

const OWNED_RECURRING: [u32; 6] = [7010, 7020, 8020, 7030, 8030, 7040];
const OWNED_ONE_TIME: [u32; 2] = [4001, 4002];

fn one_time_targets(type_name: &str) -> Option<(Option<u32>, Option<u32>)> {
    match type_name {
        "Bonus" => Some((Some(4001), Some(4002))),
        "Referral bonus" => Some((Some(4001), None)),
        _ => None,
    }
}

/// R2 read day by day: the latest non-zero record is in effect, unless a record after it has started; a 0
/// that is not on the 1st still lets it run to the end of that 0's month (Personio shows it there).
fn recurring_on<'a>(records: &[&'a RecurringSection], day: Date) -> Option<&'a RecurringSection> {
    let latest = records.iter().rposition(|record| record.effective_from <= day && !record.value.is_zero())?;
    match records.get(latest + 1) {
        Some(next) if next.effective_from <= day => {
            let same_month = next.effective_from.year() == day.year() && next.effective_from.month() == day.month();
            (next.effective_from.day() != 1 && same_month).then_some(records[latest])
        }
        _ => Some(records[latest]),
    }
}

struct Context {
    csd: Date,
    horizon: Date,
    /// The years Loket has opened (R10).
    open_years: BTreeSet<i16>,
    today: Date,
    per_year: Decimal,
    is_month: bool,
    periods: Vec<Period>,
}

/// Checks one matched employee's Loket records after a sync against the model. Returns what differs.
fn check_employee(
    context: &Context,
    person: &PersonSection,
    before: &LoketEmploymentSection,
    after: &LoketEmploymentSection,
) -> Vec<String> {
    let mut problems = Vec::new();
    let window_start = context.csd.max(before.start);
    let window_end = min_date(context.horizon, before.end);
    let unchanged = || compare_loket(std::slice::from_ref(before), std::slice::from_ref(after));
    if window_start > window_end {
        return unchanged();
    }

    // Salary: a wage for every day of the window, or the employee fails.
    let salary_on = |day: Date| {
        person.salaries.iter().filter(|salary| salary.effective_from <= day).max_by_key(|salary| salary.effective_from)
    };
    let wage_for = |day: Date| -> Option<(WageTypeSection, Decimal)> {
        let salary = salary_on(day)?;
        if !is_eur(&salary.currency) {
            return None;
        }
        let (kind, amount) = match (salary.kind, salary.interval) {
            (SalaryKindSection::Hourly, _) => (WageTypeSection::Hourly, salary.value),
            (SalaryKindSection::Fixed, Some(engine::state::Interval::Monthly)) if context.is_month => {
                (WageTypeSection::Periodic, salary.value)
            }
            (SalaryKindSection::Fixed, Some(engine::state::Interval::Monthly)) => {
                (WageTypeSection::Periodic, salary.value * Decimal::from(12) / context.per_year)
            }
            (SalaryKindSection::Fixed, Some(engine::state::Interval::Yearly)) => {
                (WageTypeSection::Periodic, salary.value / context.per_year)
            }
            _ => return None,
        };
        let amount = round(amount);
        (amount >= Decimal::new(1, 2) && amount <= Decimal::new(99_999_999, 2)).then_some((kind, amount))
    };
    let desired_wages: Vec<(Date, Option<(WageTypeSection, Decimal)>)> =
        days(window_start, window_end).map(|day| (day, wage_for(day))).collect();
    let fails = desired_wages.iter().any(|(_, wage)| wage.is_none());
    let terminated = before.end.is_some_and(|end| end < context.today);
    if fails || terminated {
        return unchanged();
    }
    for (day, wanted) in &desired_wages {
        let got = after.wages.iter().filter(|wage| wage.start <= *day).max_by_key(|wage| wage.start);
        let got = got.map(|wage| (wage.wage_type, wage.amount));
        if got.as_ref() != wanted.as_ref() {
            problems.push(format!("wage on {day}: want {wanted:?}, got {got:?}"));
            break;
        }
    }

    // Recurring: per component, the sum of the mapped types in effect that day.
    let mut by_type: BTreeMap<&str, Vec<&RecurringSection>> = BTreeMap::new();
    for record in person.recurring.iter().filter(|record| record.effective_from <= context.horizon) {
        by_type.entry(record.type_name.as_str()).or_default().push(record);
    }
    for records in by_type.values_mut() {
        records.sort_by_key(|record| record.effective_from);
    }
    let target = |type_name: &str, value: Decimal| {
        recurring_targets(type_name)
            .and_then(|(benefit, deduction)| if value < Decimal::ZERO { deduction } else { benefit })
    };
    let syncable = |type_name: &str, record: &RecurringSection| {
        type_name != "Mileage" && record.interval == Some(engine::state::Interval::Monthly) && is_eur(&record.currency)
    };
    let mut withheld = BTreeSet::new();
    let mut desired: BTreeMap<u32, Vec<Decimal>> = BTreeMap::new();
    let window: Vec<Date> = days(window_start, window_end).collect();
    for component in OWNED_RECURRING {
        desired.insert(component, vec![Decimal::ZERO; window.len()]);
    }
    for (type_name, records) in &by_type {
        for (index, day) in window.iter().enumerate() {
            let Some(record) = recurring_on(records, *day) else { continue };
            let Some(component) = target(type_name, record.value) else { continue };
            if syncable(type_name, record) {
                desired.get_mut(&component).unwrap()[index] += record.value.abs();
            } else {
                withheld.insert(component);
            }
        }
    }
    // R10: a run of equal days (one record) that starts in a year Loket has not opened is not written; one
    // that starts in an open year keeps its days in the next year too.
    for values in desired.values_mut() {
        let mut written = true;
        for index in 0..values.len() {
            if index == 0 || values[index] != values[index - 1] {
                written = context.open_years.contains(&window[index].year());
            }
            if !written {
                values[index] = Decimal::ZERO;
            }
        }
    }
    for component in OWNED_RECURRING {
        let of = |list: &LoketEmploymentSection| -> Vec<String> {
            let mut out: Vec<String> = list
                .benefits_and_deductions
                .iter()
                .filter(|record| record.component == component)
                .map(|record| format!("{} {:?} {}", record.start, record.end, record.value.normalize()))
                .collect();
            out.sort();
            out
        };
        if withheld.contains(&component) {
            if of(before) != of(after) {
                problems.push(format!("withheld component {component} changed: {:?} → {:?}", of(before), of(after)));
            }
            continue;
        }
        let records: Vec<&BenefitSection> =
            after.benefits_and_deductions.iter().filter(|record| record.component == component).collect();
        for (index, day) in window.iter().enumerate() {
            let got: Decimal = records
                .iter()
                .filter(|record| record.start <= *day && record.end.is_none_or(|end| *day <= end))
                .map(|record| record.value)
                .sum();
            if got != desired[&component][index] {
                problems
                    .push(format!("component {component} on {day}: want {}, got {got}", desired[&component][index]));
                break;
            }
        }
        if !desired[&component][window.len() - 1].is_zero() {
            let last = records
                .iter()
                .find(|record| record.start <= window_end && record.end.is_none_or(|end| end >= window_end));
            if last.map(|record| record.end) != Some(before.end) {
                problems.push(format!(
                    "component {component}: the record on {window_end} must end with the employment ({:?})",
                    before.end
                ));
            }
        }
        // R6: historical records end the day before the start date when they were open on it.
        for record in before
            .benefits_and_deductions
            .iter()
            .filter(|record| record.component == component && record.start < window_start)
        {
            let open = record.end.is_none_or(|end| end >= context.csd);
            let want_end = if open { Some(context.csd.yesterday().unwrap()) } else { record.end };
            let found = after.benefits_and_deductions.iter().any(|candidate| {
                candidate.component == component
                    && candidate.start == record.start
                    && candidate.end == want_end
                    && candidate.value == record.value
            });
            if !found {
                problems.push(format!("historical record {record:?} should end on {want_end:?}"));
            }
        }
    }

    // One-time: per in-scope period, the owned record holds the totals, unless closed or frozen.
    let owned_value = |list: &LoketEmploymentSection, period: PeriodId, component: u32| {
        list.payroll_period_data
            .iter()
            .find(|item| {
                item.period == period && item.component == component && item.shift == 1 && item.payslip_type == 1
            })
            .map(|item| item.value.normalize())
    };
    let covers = |day: Date| before.start <= day && before.end.is_none_or(|end| day <= end);
    for period in context.periods.iter().filter(|period| {
        period.start >= context.csd
            && period.end <= context.horizon
            && period.end >= before.start
            && before.end.is_none_or(|end| period.start <= end)
    }) {
        let payments: Vec<&OneTimeSection> = person
            .one_time
            .iter()
            .filter(|payment| {
                one_time_targets(&payment.type_name).is_some() && covers(payment.date) && period.contains(payment.date)
            })
            .collect();
        let foreign_recurring = by_type.iter().any(|(type_name, records)| {
            recurring_targets(type_name).is_some()
                && *type_name != "Mileage"
                && days(period.start, period.end)
                    .any(|day| recurring_on(records, day).is_some_and(|record| !is_eur(&record.currency)))
        });
        let frozen = foreign_recurring || payments.iter().any(|payment| !is_eur(&payment.currency));
        let mut sums: BTreeMap<&str, Decimal> = BTreeMap::new();
        for payment in &payments {
            *sums.entry(payment.type_name.as_str()).or_default() += payment.value;
        }
        let mut totals: BTreeMap<u32, Decimal> = BTreeMap::new();
        for (type_name, sum) in sums {
            let (benefit, deduction) = one_time_targets(type_name).unwrap();
            let sum = round(sum);
            if let Some(component) = if sum < Decimal::ZERO { deduction } else { benefit }
                && !sum.is_zero()
            {
                *totals.entry(component).or_default() += sum.abs();
            }
        }
        for component in OWNED_ONE_TIME {
            let got = owned_value(after, period.id, component);
            let want = if period.closed || frozen {
                owned_value(before, period.id, component)
            } else {
                totals.get(&component).map(|total| total.normalize())
            };
            if got != want {
                problems.push(format!("period {} component {component}: want {want:?}, got {got:?}", period.id));
            }
        }
    }
    problems
}

struct Synced {
    scenario: Scenario,
    first: engine::Plan,
    before: Vec<LoketEmploymentSection>,
    after: Vec<LoketEmploymentSection>,
    after_state: engine::state::LoketState,
}

/// Plans and applies a generated world; the model of Loket must accept every write (G6).
fn sync(seed: u64) -> Result<Synced, TestCaseError> {
    let scenario = generate(seed);
    let personio = scenario.personio.to_state().map_err(|error| TestCaseError::fail(error.to_string()))?;
    let loket = scenario.loket.to_state().map_err(|error| TestCaseError::fail(error.to_string()))?;
    let first = engine::plan(&personio, &loket, &scenario.engine_config(), scenario.today, false);
    prop_assert!(first.config_errors.is_empty(), "seed {seed}: {:?}", first.config_errors);
    let after_state = engine::apply(&loket, &first)
        .map_err(|rejection| TestCaseError::fail(format!("seed {seed}: Loket refused {rejection}")))?;
    Ok(Synced {
        before: employments_section(&loket),
        after: employments_section(&after_state),
        after_state,
        first,
        scenario,
    })
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn g6_plan_applies_and_matches_the_day_by_day_model(seed in any::<u64>()) {
        let synced = sync(seed)?;
        let scenario = &synced.scenario;
        let kind = scenario.loket.payroll_period_type;
        let context = Context {
            csd: scenario.config.compensation_start_date,
            horizon: engine::types::end_of_month_after(scenario.today, scenario.config.horizon_months),
            open_years: scenario.loket.period_years.iter().copied().collect(),
            today: scenario.today,
            per_year: Decimal::from(match kind { PeriodType::Month => 12, PeriodType::FourWeeks => 13, PeriodType::Week => 52 }),
            is_month: kind == PeriodType::Month,
            periods: scenario.loket.periods(),
        };
        for person in scenario.personio.persons.iter().filter(|person| person.id < 5000) {
            let before = synced.before.iter().find(|employment| employment.employee_number == person.id).unwrap();
            let after = synced.after.iter().find(|employment| employment.employee_number == person.id).unwrap();
            let problems = check_employee(&context, person, before, after);
            prop_assert!(problems.is_empty(), "seed {seed}, employee {}: {problems:#?}\nplan: {:#?}", person.id, crate::support::descriptions(&synced.first));
        }
    }

    #[test]
    fn g3_a_second_plan_writes_nothing_and_reports_the_same_issues(seed in any::<u64>()) {
        let synced = sync(seed)?;
        let scenario = &synced.scenario;
        let personio = scenario.personio.to_state().unwrap();
        let second = engine::plan(&personio, &synced.after_state, &scenario.engine_config(), scenario.today, false);
        prop_assert_eq!(second.n_writes(), 0, "seed {}: {:?}", seed, crate::support::descriptions(&second));
        // S10's warning needs a write to be sent, so only the first run can have it.
        let comparable = |plan: &engine::Plan| -> Vec<engine::Issue> {
            plan.issues.iter().filter(|issue| issue.code != IssueCode::SalaryScaleOverwritten).cloned().collect()
        };
        prop_assert_eq!(comparable(&synced.first), comparable(&second), "seed {}", seed);
    }

    #[test]
    fn g1_nothing_dated_before_the_start_date_changes_except_r6_end_dates(seed in any::<u64>()) {
        let synced = sync(seed)?;
        let csd = synced.scenario.config.compensation_start_date;
        let day_before = csd.yesterday().unwrap();
        for (before, after) in synced.before.iter().zip(&synced.after) {
            for wage in before.wages.iter().filter(|wage| wage.start < csd) {
                prop_assert!(after.wages.contains(wage), "seed {seed}: historical wage {wage:?} changed");
            }
            prop_assert!(after.wages.iter().filter(|wage| wage.start < csd).count() == before.wages.iter().filter(|wage| wage.start < csd).count());
            for record in before.benefits_and_deductions.iter().filter(|record| record.start < csd) {
                let kept = after.benefits_and_deductions.iter().any(|candidate| {
                    candidate.component == record.component && candidate.start == record.start && candidate.value == record.value
                        && (candidate.end == record.end || (candidate.end == Some(day_before) && OWNED_RECURRING.contains(&record.component)))
                });
                prop_assert!(kept, "seed {seed}: historical record {record:?} changed");
            }
            let early = |list: &LoketEmploymentSection| list.payroll_period_data.iter().filter(|item| {
                synced.scenario.loket.periods().iter().any(|period| period.id == item.period && period.start < csd)
            }).map(|item| format!("{item:?}")).collect::<Vec<_>>();
            prop_assert_eq!(early(before), early(after), "seed {}", seed);
        }
    }

    #[test]
    fn g2_unmapped_components_other_records_and_unmatched_employments_are_unchanged(seed in any::<u64>()) {
        let synced = sync(seed)?;
        let unowned = |list: &LoketEmploymentSection| -> Vec<String> {
            let mut out: Vec<String> = list.benefits_and_deductions.iter().filter(|record| record.component == 7099)
                .map(|record| format!("{record:?}"))
                .chain(list.payroll_period_data.iter().filter(|item| item.component == 4050 || item.shift != 1)
                    .map(|item| format!("{} {} {} {}", item.period, item.component, item.shift, item.value.normalize())))
                .collect();
            out.sort();
            out
        };
        for (before, after) in synced.before.iter().zip(&synced.after) {
            prop_assert_eq!(unowned(before), unowned(after), "seed {}", seed);
            if before.employee_number >= 5000 {
                prop_assert!(compare_loket(std::slice::from_ref(before), std::slice::from_ref(after)).is_empty(), "seed {seed}: unmatched employment changed");
            }
        }
    }

    #[test]
    fn g4_the_same_inputs_give_the_same_plan_in_any_order(seed in any::<u64>(), rotate in 0usize..7) {
        let scenario = generate(seed);
        let (personio, loket) = (scenario.personio.to_state().unwrap(), scenario.loket.to_state().unwrap());
        let config = scenario.engine_config();
        let plan = engine::plan(&personio, &loket, &config, scenario.today, false);
        let (mut personio, mut loket) = (personio, loket);
        let turn = |length: usize| if length == 0 { 0 } else { rotate % length };
        personio.persons.reverse();
        for person in &mut personio.persons {
            let n = turn(person.salaries.len());
            person.salaries.rotate_left(n);
            let n = turn(person.recurring.len());
            person.recurring.rotate_left(n);
            person.one_time.reverse();
        }
        loket.employments.reverse();
        for employment in &mut loket.employments {
            let n = turn(employment.wages.len());
            employment.wages.rotate_left(n);
            employment.benefits_and_deductions.reverse();
            employment.period_data.reverse();
        }
        prop_assert_eq!(plan, engine::plan(&personio, &loket, &config, scenario.today, false), "seed {}", seed);
    }

    #[test]
    fn g6_interrupted_runs_converge_without_duplicates(seed in any::<u64>()) {
        let synced = sync(seed)?;
        let scenario = &synced.scenario;
        let personio = scenario.personio.to_state().unwrap();
        let loket = scenario.loket.to_state().unwrap();
        let config = scenario.engine_config();
        let writes: Vec<&engine::Write> = synced.first.writes().collect();
        for k in 0..writes.len() {
            let mut state = loket.clone();
            for write in &writes[..k] {
                engine::model::apply_write(&mut state, write).map_err(|refusal| TestCaseError::fail(refusal.0))?;
            }
            let resumed = engine::plan(&personio, &state, &config, scenario.today, false);
            let state = engine::apply(&state, &resumed).map_err(|rejection| TestCaseError::fail(format!("seed {seed}, after {k} writes: {rejection}")))?;
            let result = employments_section(&state);
            prop_assert!(compare_loket(&synced.after, &result).is_empty(), "seed {seed}, after {k} writes: {:?}", compare_loket(&synced.after, &result));
            let count = |list: &[LoketEmploymentSection]| list.iter().map(|e| e.wages.len() + e.benefits_and_deductions.len() + e.payroll_period_data.len()).sum::<usize>();
            prop_assert_eq!(count(&synced.after), count(&result), "seed {}: duplicate records after {} writes", seed, k);
        }
    }
}

/// Any input at all: dates anywhere (the extremes included), amounts of any size and sign, empty and
/// duplicate records, invalid Loket states. `plan` must answer, never panic.
fn wild_states(seed: u64) -> (engine::state::PersonioState, engine::state::LoketState, engine::Config, Date) {
    use engine::state::*;
    use engine::*;
    let mut rng = Rng::new(seed);
    let dates = |rng: &mut Rng| match rng.below(12) {
        0 => Date::MIN,
        1 => Date::MAX,
        2 => date(1900, 1, 1),
        3 => date(2099, 12, 31),
        _ => rng.date(date(2024, 1, 1), date(2028, 12, 31)),
    };
    let amounts = |rng: &mut Rng| match rng.below(8) {
        0 => Decimal::ZERO,
        1 => Decimal::MAX,
        2 => Decimal::MIN,
        3 => Decimal::new(1, 28),
        4 => -rng.cents(0, 100_000_000),
        _ => rng.cents(0, 100_000_000),
    };
    let mut scenario = world().scenario;
    scenario.loket.payroll_period_type = *rng.pick(&[PeriodType::Month, PeriodType::FourWeeks, PeriodType::Week]);
    if rng.chance(10) {
        scenario.loket.period_years.clear();
    }
    let (mut personio, mut loket) = (scenario.personio.to_state().unwrap(), scenario.loket.to_state().unwrap());
    let type_ids: Vec<String> =
        personio.compensation_types.iter().map(|t| t.id.clone()).chain(["unknown".to_string()]).collect();
    let currencies = ["EUR", "USD", "eur", ""];
    let intervals =
        [None, Some(Interval::Monthly), Some(Interval::Quarterly), Some(Interval::HalfYearly), Some(Interval::Yearly)];
    let amount = |rng: &mut Rng| Amount {
        value: amounts(rng),
        unit: if rng.chance(10) {
            Unit::Other("km".into())
        } else {
            Unit::Currency(Currency::new(rng.pick::<&str>(&currencies)))
        },
    };
    let template = personio.persons[0].clone();
    personio.persons.clear();
    for index in 0..rng.below(4) {
        let mut person = template.clone();
        person.id = PersonId(1001 + rng.below(3));
        if rng.chance(30) {
            // The first attribute is the employee number (`attributes` are in key order).
            if let Some(attribute) = person.attributes.first_mut() {
                attribute.value = rng.pick(&["1001", "x", "", "99999999999999999999"]).to_string();
            }
        }
        person.employments[0].start = Some(dates(&mut rng));
        person.employments[0].end = rng.chance(50).then(|| dates(&mut rng));
        person.salaries = (0..rng.below(5))
            .map(|_| SalaryRecord {
                effective_from: dates(&mut rng),
                kind: *rng.pick(&[SalaryKind::Fixed, SalaryKind::Hourly]),
                interval: *rng.pick(&intervals),
                amount: amount(&mut rng),
            })
            .collect();
        person.recurring = (0..rng.below(6))
            .map(|_| RecurringRecord {
                type_id: rng.pick(&type_ids).clone(),
                effective_from: dates(&mut rng),
                interval: *rng.pick(&intervals),
                amount: amount(&mut rng),
            })
            .collect();
        person.one_time = (0..rng.below(6))
            .map(|_| OneTimePayment {
                type_id: rng.pick(&type_ids).clone(),
                date: dates(&mut rng),
                amount: amount(&mut rng),
            })
            .collect();
        if index == 1 && rng.chance(50) {
            person.salaries.extend(person.salaries.clone());
            person.recurring.extend(person.recurring.clone());
        }
        personio.persons.push(person);
    }
    let template = loket.employments[0].clone();
    loket.employments.clear();
    for _ in 0..rng.below(3) {
        let mut employment = template.clone();
        employment.start = dates(&mut rng);
        employment.end = rng.chance(40).then(|| dates(&mut rng));
        employment.wages = (0..rng.below(4))
            .map(|n| Wage {
                id: RecordId(format!("w{n}")),
                value: WageValue {
                    start: dates(&mut rng),
                    kind: WageKind::Periodic,
                    amount: Money::round(amounts(&mut rng)),
                },
                pay_scale: None,
                pay_grade: None,
                full_time: rng.chance(80),
            })
            .collect();
        employment.benefits_and_deductions = (0..rng.below(4))
            .map(|n| BenefitOrDeduction {
                id: RecordId(format!("b{n}")),
                value: BenefitValue {
                    component: ComponentKey(*rng.pick(&[7010, 8020, 4001, 1])),
                    start: dates(&mut rng),
                    end: rng.chance(50).then(|| dates(&mut rng)),
                    value: Money::round(Decimal::new(rng.below(1_000_000) as i64, 2)),
                },
            })
            .collect();
        loket.employments.push(employment);
    }
    let mut config = scenario.engine_config();
    config.compensation_start_date = dates(&mut rng);
    config.horizon_months = rng.below(80) as u32;
    (personio, loket, config, dates(&mut rng))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_input_makes_plan_panic(seed in any::<u64>()) {
        let (personio, loket, config, run_date) = wild_states(seed);
        let plan = engine::plan(&personio, &loket, &config, run_date, seed % 2 == 0);
        for write in plan.writes() {
            let _ = write.describe();
        }
        let _ = engine::apply(&loket, &plan);
    }
}

#[test]
fn no_panic_regression_amounts_that_overflow_when_added() {
    let mut w = world();
    w.one_time("Bonus", "2026-02-03", "79228162514264337593543950335").one_time(
        "Bonus",
        "2026-02-04",
        "79228162514264337593543950335",
    );
    w.recurring("Car allowance", "2026-02-01", "79228162514264337593543950335");
    w.config().mappings.push(MappingSection {
        personio_type: "Gym".into(),
        benefit_component: Some(7010),
        deduction_component: None,
    });
    w.recurring("Gym", "2026-02-01", "79228162514264337593543950335");
    w.salary("2026-03-01", "fixed", Some("MONTHLY"), "79228162514264337593543950335");
    w.scenario.loket.payroll_period_type = PeriodType::FourWeeks;
    w.scenario.loket.approved_through = None;
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 0, "{:?}", crate::support::descriptions(&plan));
    let codes: BTreeSet<IssueCode> = plan.issues.iter().map(|issue| issue.code).collect();
    assert!(codes.contains(&IssueCode::ValueOutOfRange), "{:#?}", plan.issues);
}
