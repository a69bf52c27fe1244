//! Histories from windows. `/v2/compensations` is a view of one month at most, not a history: the client
//! reads every calendar month from the start date's month through the horizon's month and rebuilds, per
//! person, the salary chain, the recurring histories per type and the one-time payments.
//!
//! A recurring record that stops appearing ended on the last day of the last month it appeared in: the
//! client hands the engine a 0 record dated the first day of the next month (R2), unless a later record of
//! the same type had already started by then.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use engine::state::{
    CompensationType, Interval, OneTimePayment, Person, PersonAttribute, PersonioEmployment, PersonioState,
    RecurringRecord, SalaryKind, SalaryRecord, TypeCategory,
};
use engine::{Amount, Currency, PersonId, Unit};
use jiff::civil::Date;
use rust_decimal::Decimal;

use engine::errors::chain;

use crate::client::{PersonioClient, PersonioError};
use crate::wire;

/// Personio's category text; any category other than the four the sync knows is `Unsupported` (kept, so
/// that mapping such a type is a clear configuration error rather than "no such type").
pub fn category(text: &str) -> TypeCategory {
    match text {
        wire::FIXED_SALARY => TypeCategory::FixedSalary,
        wire::HOURLY_SALARY => TypeCategory::HourlySalary,
        wire::RECURRING => TypeCategory::Recurring,
        wire::ONE_TIME => TypeCategory::OneTime,
        _ => TypeCategory::Unsupported,
    }
}

pub fn interval(text: Option<&str>) -> Option<Interval> {
    match text? {
        "MONTHLY" => Some(Interval::Monthly),
        "QUARTERLY" => Some(Interval::Quarterly),
        "HALF-YEARLY" | "HALF_YEARLY" => Some(Interval::HalfYearly),
        "YEARLY" => Some(Interval::Yearly),
        _ => None,
    }
}

fn amount(amount: &wire::Amount, type_unit: Option<&String>) -> Amount {
    let unit = match (&amount.unit, type_unit, &amount.currency) {
        (Some(unit), _, _) => Unit::Other(unit.clone()),
        (None, Some(unit), _) => Unit::Other(unit.clone()),
        (None, None, Some(currency)) => Unit::Currency(Currency::new(currency)),
        (None, None, None) => Unit::Currency(Currency::EUR),
    };
    Amount { value: amount.value, unit }
}

/// The months from `from`'s month through `to`'s month, as (first day, last day).
pub fn months(from: Date, to: Date) -> Vec<(Date, Date)> {
    let mut windows = Vec::new();
    let mut first = from.first_of_month();
    while first <= to {
        windows.push((first, first.last_of_month()));
        match first.last_of_month().tomorrow() {
            Ok(next) => first = next,
            Err(_) => break,
        }
    }
    windows
}

pub fn types_to_domain(types: &[wire::CompensationType]) -> Vec<CompensationType> {
    types
        .iter()
        .map(|kind| CompensationType {
            id: kind.id.clone(),
            name: kind.name.clone(),
            category: category(&kind.category),
            unit: kind.unit.clone(),
        })
        .collect()
}

/// One person's compensations, rebuilt: salaries, recurring records, one-time payments.
pub type Rebuilt = (Vec<SalaryRecord>, Vec<RecurringRecord>, Vec<OneTimePayment>);

/// One record as seen across the windows: the item and the months it appeared in.
struct Seen {
    item: wire::Compensation,
    last_month: Date,
}

/// Rebuilds every person's compensations from the items of all windows. `windows` are the months read, in
/// order; the last one is the horizon's month.
pub fn rebuild(items: &[(Date, Vec<wire::Compensation>)], types: &[CompensationType]) -> HashMap<String, Rebuilt> {
    let unit_of: HashMap<&str, &String> =
        types.iter().filter_map(|kind| kind.unit.as_ref().map(|unit| (kind.id.as_str(), unit))).collect();
    let last_read = items.iter().map(|(month, _)| *month).max();
    let mut seen: BTreeMap<(String, String), Seen> = BTreeMap::new();
    for (month, window) in items {
        for item in window {
            let key = (item.person.id.clone(), item.id.clone());
            match seen.get_mut(&key) {
                Some(existing) => existing.last_month = existing.last_month.max(*month),
                None => {
                    seen.insert(key, Seen { item: item.clone(), last_month: *month });
                }
            }
        }
    }
    let mut people: HashMap<String, Rebuilt> = HashMap::new();
    let mut recurring_seen: BTreeMap<(String, String), Vec<&Seen>> = BTreeMap::new();
    for ((person, _), record) in &seen {
        let item = &record.item;
        let entry = people.entry(person.clone()).or_default();
        let type_unit = unit_of.get(item.kind.id.as_str()).copied();
        match item.kind.category.as_str() {
            wire::FIXED_SALARY | wire::HOURLY_SALARY => entry.0.push(SalaryRecord {
                effective_from: item.effective_from,
                kind: if item.kind.category == wire::HOURLY_SALARY { SalaryKind::Hourly } else { SalaryKind::Fixed },
                interval: if item.kind.category == wire::HOURLY_SALARY {
                    None
                } else {
                    interval(item.interval.as_deref())
                },
                amount: amount(&item.amount, type_unit),
            }),
            wire::RECURRING => recurring_seen.entry((person.clone(), item.kind.id.clone())).or_default().push(record),
            wire::ONE_TIME => entry.2.push(OneTimePayment {
                type_id: item.kind.id.clone(),
                date: item.effective_from,
                amount: amount(&item.amount, type_unit),
            }),
            _ => {}
        }
    }
    for ((person, type_id), mut records) in recurring_seen {
        records.sort_by_key(|record| (record.item.effective_from, record.item.id.clone()));
        let entry = people.entry(person).or_default();
        for (index, record) in records.iter().enumerate() {
            let item = &record.item;
            let type_unit = unit_of.get(item.kind.id.as_str()).copied();
            entry.1.push(RecurringRecord {
                type_id: type_id.clone(),
                effective_from: item.effective_from,
                interval: interval(item.interval.as_deref()),
                amount: amount(&item.amount, type_unit),
            });
            // It stopped appearing before the end of what was read: it ended with its last month.
            if Some(record.last_month) >= last_read {
                continue;
            }
            let Ok(end) = record.last_month.last_of_month().tomorrow() else { continue };
            let next_start = records.get(index + 1).map(|next| next.item.effective_from);
            if next_start.is_none_or(|start| end < start) {
                entry.1.push(RecurringRecord {
                    type_id: type_id.clone(),
                    effective_from: end,
                    interval: interval(item.interval.as_deref()),
                    amount: Amount { value: Decimal::ZERO, unit: amount(&item.amount, type_unit).unit },
                });
            }
        }
    }
    people
}

/// What a read took.
#[derive(Clone, Debug, Default)]
pub struct ReadReport {
    pub requests: BTreeMap<String, usize>,
    pub windows: usize,
}

impl ReadReport {
    pub fn total_requests(&self) -> usize {
        self.requests.values().sum()
    }
}

/// A person's custom attributes in domain form (M2): by id and global id, a label only where one is sent.
pub fn attributes_to_domain(attributes: &[wire::CustomAttribute]) -> Vec<PersonAttribute> {
    attributes
        .iter()
        .map(|attribute| PersonAttribute {
            id: attribute.id.clone(),
            global_id: attribute.global_id.clone(),
            label: attribute.label.clone().filter(|label| !label.trim().is_empty()),
            kind: attribute.kind.clone(),
            value: attribute.value_text(),
        })
        .collect()
}

/// Persons with their attributes and employments, without compensations.
pub struct People {
    pub persons: Vec<Person>,
    pub failed_reads: Vec<String>,
}

/// Every person's employments (one call per person: Personio has no company-wide list), in domain form
/// with the persons' attributes and no compensations. A person whose id is not a number is a failed
/// company-wide read; one whose employments cannot be read gets `read_failed`.
pub async fn read_people(client: &Arc<PersonioClient>, persons: &[wire::Person]) -> People {
    let mut people = People { persons: Vec::with_capacity(persons.len()), failed_reads: Vec::new() };
    let mut tasks = tokio::task::JoinSet::new();
    for (index, person) in persons.iter().enumerate() {
        let client = Arc::clone(client);
        let id = person.id.clone();
        tasks.spawn(async move { (index, client.employments(&id).await) });
    }
    let mut employments: Vec<Option<Result<Vec<wire::Employment>, PersonioError>>> =
        persons.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            employments[index] = Some(result);
        }
    }
    for (person, employments) in persons.iter().zip(employments) {
        let Ok(id) = person.id.parse::<u64>() else {
            people.failed_reads.push(format!("person `{}` has an id that is not a number", person.id));
            continue;
        };
        let mut domain = Person {
            id: PersonId(id),
            first_name: person.first_name.clone(),
            last_name: person.last_name.clone(),
            attributes: attributes_to_domain(&person.custom_attributes),
            employments: Vec::new(),
            salaries: Vec::new(),
            recurring: Vec::new(),
            one_time: Vec::new(),
            read_failed: None,
        };
        match employments {
            Some(Ok(list)) => {
                domain.employments = list
                    .iter()
                    // Without a legal entity an employment is in none: out of scope, not a failed read.
                    .filter_map(|employment| Some((employment.legal_entity.as_ref()?, employment)))
                    .map(|(legal_entity, employment)| PersonioEmployment {
                        legal_entity: legal_entity.id.clone(),
                        start: employment.employment_start_date,
                        end: employment.employment_end_date,
                        status: employment.status.clone(),
                    })
                    .collect();
            }
            Some(Err(error)) => domain.read_failed = Some(format!("employments: {}", chain(&error))),
            None => domain.read_failed = Some("employments: the read was interrupted".to_string()),
        }
        people.persons.push(domain);
    }
    people
}

/// Reads Personio for one legal entity: types, persons and their employments, and every month window
/// from `from`'s month through `horizon`'s month. Company-wide failures (a window included: a partial
/// history is never returned as complete, G5) go to `failed_reads`; one person's failed employment read to
/// their `read_failed`.
pub async fn read_state(
    client: &Arc<PersonioClient>,
    legal_entity: &str,
    from: Date,
    horizon: Date,
) -> (PersonioState, ReadReport) {
    read_persons(client, read_types(client).await, legal_entity, from, horizon).await
}

/// The company-wide data: the compensation types. A failed read goes to `failed_reads`, naming it (G5).
pub async fn read_types(client: &PersonioClient) -> PersonioState {
    let mut state = PersonioState::default();
    match client.compensation_types().await {
        Ok(types) => state.compensation_types = types_to_domain(&types),
        Err(error) => state.failed_reads.push(format!("Personio compensation types: {}", chain(&error))),
    }
    state
}

/// Reads persons, their employments and every month window on top of the company-wide data already read
/// (`company`: the types, and any failed read).
pub async fn read_persons(
    client: &Arc<PersonioClient>,
    company: PersonioState,
    legal_entity: &str,
    from: Date,
    horizon: Date,
) -> (PersonioState, ReadReport) {
    let mut state = company;
    let persons = match client.persons().await {
        Ok(persons) => persons,
        Err(error) => {
            state.failed_reads.push(format!("Personio persons: {}", chain(&error)));
            Vec::new()
        }
    };

    // Every month window, concurrently (the client bounds the requests under way).
    let windows = months(from, horizon);
    let mut tasks = tokio::task::JoinSet::new();
    for (first, last) in windows.iter().copied() {
        let client = Arc::clone(client);
        let legal_entity = legal_entity.to_string();
        tasks.spawn(async move { (first, client.compensations(first, last, &legal_entity).await) });
    }
    let mut items = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((month, Ok(window))) => items.push((month, window)),
            Ok((month, Err(error))) => {
                state.failed_reads.push(format!("Personio compensations of {month}: {}", chain(&error)))
            }
            Err(error) => state.failed_reads.push(format!("Personio compensations: {}", chain(&error))),
        }
    }
    items.sort_by_key(|(month, _)| *month);
    let mut rebuilt =
        if state.failed_reads.is_empty() { rebuild(&items, &state.compensation_types) } else { HashMap::new() };

    let people = read_people(client, &persons).await;
    state.failed_reads.extend(people.failed_reads);
    for mut person in people.persons {
        let (salaries, recurring, one_time) = rebuilt.remove(&person.id.0.to_string()).unwrap_or_default();
        person.salaries = salaries;
        person.recurring = recurring;
        person.one_time = one_time;
        state.persons.push(person);
    }
    let report = ReadReport { requests: client.request_counts(), windows: windows.len() };
    (state, report)
}
