//! Personio's wire views of the section: persons with their attributes, employments, legal entities,
//! compensation types, and the compensations of one window as SCENARIOS.md says they show.

use std::collections::BTreeMap;

use jiff::civil::Date;
use personio::wire;
use rust_decimal::Decimal;
use scenario::{PersonSection, PersonioSection, SalaryKindSection, derived_id};
use serde_json::json;

/// The name a value serializes to (a category or an interval as Personio spells it), if it is a string.
fn serialized_name(value: impl serde::Serialize) -> Option<String> {
    serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_string))
}

fn employment_id(person: &PersonSection) -> String {
    derived_id("personio-employment", &person.id.to_string())
}

/// A person's attributes as Personio's v2 API serves them: `{id, global_id, type, value}`, a label only
/// when the section says `labels_served`; an `INT` attribute whose value is a whole number as a JSON number.
fn attribute_views(section: &PersonioSection, index: usize) -> Vec<wire::CustomAttribute> {
    section
        .person_attributes(index)
        .unwrap_or_default()
        .into_iter()
        .map(|attribute| {
            let number = attribute
                .kind
                .eq_ignore_ascii_case("int")
                .then(|| attribute.value.parse::<u64>().ok().filter(|number| number.to_string() == attribute.value))
                .flatten();
            wire::CustomAttribute {
                id: attribute.id,
                global_id: attribute.global_id,
                label: attribute.label,
                kind: attribute.kind,
                value: match number {
                    Some(number) => json!(number),
                    None => json!(attribute.value),
                },
            }
        })
        .collect()
}

pub(super) fn person_view(section: &PersonioSection, index: usize) -> wire::Person {
    let person = &section.persons[index];
    wire::Person {
        id: person.id.to_string(),
        first_name: person.first_name.clone(),
        last_name: person.last_name.clone(),
        preferred_name: None,
        email: Some(format!("{}.{}@example.com", person.first_name.to_lowercase(), person.id)),
        status: if person.employment.status == "INACTIVE" { "INACTIVE" } else { "ACTIVE" }.to_string(),
        custom_attributes: attribute_views(section, index),
        employments: vec![wire::IdRef { id: employment_id(person) }],
        created_at: Some("2019-01-01T00:00:00Z".to_string()),
        updated_at: Some("2026-01-01T00:00:00Z".to_string()),
    }
}

pub(super) fn employment_view(person: &PersonSection) -> wire::Employment {
    let employment = &person.employment;
    wire::Employment {
        id: employment_id(person),
        status: employment.status.clone(),
        legal_entity: Some(wire::IdRef { id: employment.legal_entity.clone() }),
        employment_start_date: employment.start,
        employment_end_date: employment.end,
        termination: employment.end.map(|end| wire::Termination {
            termination_date: Some(end),
            last_working_day: Some(end),
            kind: None,
            reason: None,
        }),
        weekly_working_hours: employment.weekly_hours,
        full_time_weekly_working_hours: employment.full_time_weekly_hours,
        position: Some(wire::Position { title: None }),
    }
}

/// Records in effect from their date until the next one starts (a 0 record ends the previous one).
fn in_effect<T>(records: &[T], date_of: impl Fn(&T) -> Date) -> Vec<(&T, Date, Option<Date>)> {
    let mut sorted: Vec<&T> = records.iter().collect();
    sorted.sort_by_key(|record| date_of(record));
    sorted
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let end = sorted.get(index + 1).and_then(|next| date_of(next).yesterday().ok());
            (*record, date_of(record), end)
        })
        .collect()
}

pub(super) fn window_items(
    types: &[engine::state::CompensationType],
    person: &PersonSection,
    start: Date,
    end: Date,
) -> Vec<wire::Compensation> {
    let employment_end = person.employment.end;
    let visible = |from: Date, to: Option<Date>| {
        let to = match (to, employment_end) {
            (Some(to), Some(last)) => Some(to.min(last)),
            (None, last) => last,
            (to, None) => to,
        };
        from <= end && to.is_none_or(|to| to >= start) && employment_end.is_none_or(|last| from <= last)
    };
    let type_ref = |name: &str| {
        let found = types.iter().find(|kind| kind.name == name);
        (
            wire::TypeRef {
                id: found.map(|kind| kind.id.clone()).unwrap_or_default(),
                name: name.to_string(),
                category: found.and_then(|kind| serialized_name(kind.category)).unwrap_or_default(),
            },
            found.and_then(|kind| kind.unit.clone()),
        )
    };
    let amount = |value: Decimal, currency: &Option<String>, unit: Option<String>| match unit {
        Some(unit) => wire::Amount { value, currency: None, unit: Some(unit) },
        None => {
            wire::Amount { value, currency: Some(currency.clone().unwrap_or_else(|| "EUR".to_string())), unit: None }
        }
    };
    let interval_text = |interval: Option<engine::state::Interval>| interval.and_then(serialized_name);
    let hours = (person.employment.weekly_hours, person.employment.full_time_weekly_hours);
    let item =
        |id: String, kind: wire::TypeRef, amount: wire::Amount, interval: Option<String>, effective_from: Date| {
            wire::Compensation {
                id,
                person: wire::IdRef { id: person.id.to_string() },
                legal_entity: Some(wire::IdRef { id: person.employment.legal_entity.clone() }),
                kind,
                amount,
                interval,
                effective_from,
                weekly_working_hours: hours.0,
                full_time_weekly_working_hours: hours.1,
            }
        };
    let mut items = Vec::new();
    for (record, from, to) in in_effect(&person.salaries, |record| record.effective_from) {
        if record.value.is_zero() || !visible(from, to) {
            continue;
        }
        let (name, interval) = match record.kind {
            SalaryKindSection::Fixed => (scenario::domain::FIXED_SALARY_TYPE, interval_text(record.interval)),
            SalaryKindSection::Hourly => (scenario::domain::HOURLY_SALARY_TYPE, None),
        };
        let (kind, _) = type_ref(name);
        let id = derived_id("personio-compensation", &format!("{}/salary/{from}", person.id));
        items.push(item(id, kind, amount(record.value, &record.currency, None), interval, from));
    }
    let mut by_type: BTreeMap<&str, Vec<&scenario::RecurringSection>> = BTreeMap::new();
    for record in &person.recurring {
        by_type.entry(record.type_name.as_str()).or_default().push(record);
    }
    for (type_name, records) in by_type {
        let owned: Vec<scenario::RecurringSection> = records.into_iter().cloned().collect();
        for (record, from, to) in in_effect(&owned, |record| record.effective_from) {
            if record.value.is_zero() || !visible(from, to) {
                continue;
            }
            let (kind, unit) = type_ref(type_name);
            let id = derived_id("personio-compensation", &format!("{}/{type_name}/{from}", person.id));
            items.push(item(
                id,
                kind,
                amount(record.value, &record.currency, unit),
                interval_text(record.interval),
                from,
            ));
        }
    }
    for (index, record) in person.one_time.iter().enumerate() {
        let visible_payment =
            start <= record.date && record.date <= end && employment_end.is_none_or(|last| record.date <= last);
        if record.value.is_zero() || !visible_payment {
            continue;
        }
        let (kind, unit) = type_ref(&record.type_name);
        let id = derived_id("personio-compensation", &format!("{}/one-time/{index}", person.id));
        items.push(item(id, kind, amount(record.value, &record.currency, unit), None, record.date));
    }
    items
}

pub(super) fn legal_entity_views(section: &PersonioSection) -> Vec<wire::LegalEntity> {
    std::iter::once(&section.legal_entity)
        .chain(section.other_legal_entities.iter())
        .map(|entity| wire::LegalEntity {
            id: entity.id.clone(),
            name: entity.name.clone(),
            country: entity.country.clone(),
        })
        .collect()
}

pub(super) fn compensation_type_views(section: &PersonioSection) -> Vec<wire::CompensationType> {
    section
        .compensation_types()
        .into_iter()
        .map(|kind| wire::CompensationType {
            id: kind.id,
            name: kind.name,
            category: serialized_name(kind.category).unwrap_or_default(),
            unit: kind.unit,
        })
        .collect()
}
