//! M rules: who is in scope, and which Loket employment each person is.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::issue::{Issue, IssueCode};
use crate::state::{Employment, LoketState, Person};
use crate::types::{CivilDate, EmployeeNumber};

/// A person matched to one Loket employment.
pub struct Match<'a> {
    pub person: &'a Person,
    pub employee_number: EmployeeNumber,
    pub employment: &'a Employment,
}

/// Labels match after trimming and ignoring case, with `-`, `–` and `—` alike (M2). The normalised form,
/// for display and keys; `labels_match` compares without allocating.
pub fn label_key(label: &str) -> String {
    label_chars(label).collect()
}

/// The characters of a label as `label_key` normalises them, without allocating: runs of white space
/// become one space, dashes one `-`, letters lower case.
fn label_chars(label: &str) -> impl Iterator<Item = char> + '_ {
    let mut words = label.split_whitespace().peekable();
    std::iter::from_fn(move || {
        let word = words.next()?;
        let separator = words.peek().is_some().then_some(' ');
        Some(word.chars().chain(separator))
    })
    .flatten()
    .map(|character| if matches!(character, '–' | '—' | '‐' | '‑') { '-' } else { character })
    .flat_map(char::to_lowercase)
}

/// Whether two labels are the same after M2's normalisation.
pub fn labels_match(a: &str, b: &str) -> bool {
    // Most labels are typed exactly as configured: settle those without normalising.
    a.eq_ignore_ascii_case(b) || label_chars(a).eq(label_chars(b))
}

/// A value as a whole number; anything else counts as missing (M2).
fn whole_number(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// The value of the configured custom attribute (by id, global id or label) as a whole number; anything
/// else counts as missing (M2).
pub fn whole_number_attribute(person: &Person, configured: &str) -> Option<u64> {
    whole_number(person.attribute(configured)?)
}

/// One custom attribute as seen on the in-scope persons, for `check` and `attribute_not_found` (M2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttributeSeen {
    pub id: String,
    pub global_id: String,
    /// Personio's `type` as sent.
    pub kind: String,
    /// Only where Personio sends one.
    pub label: Option<String>,
    /// In-scope persons with a value that is not empty.
    pub persons_with_value: usize,
    /// Up to three distinct values, in order of first appearance.
    pub samples: Vec<String>,
    /// Values that are whole numbers equal to an employee number of a Loket employment.
    pub equal_to_employee_numbers: usize,
}

impl AttributeSeen {
    /// `dynamic_305 (global id employee_number, label "…")`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.global_id.is_empty() {
            parts.push(format!("global id `{}`", self.global_id));
        }
        if let Some(label) = &self.label {
            parts.push(format!("label `{label}`"));
        }
        parts.push(format!("{} with a value", self.persons_with_value));
        parts.push(format!("{} equal to a Loket employee number", self.equal_to_employee_numbers));
        format!("`{}` ({})", self.id, parts.join(", "))
    }
}

/// The custom attributes of the in-scope persons, by id, and the one to suggest for
/// `employee_number_attribute`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AttributeSurvey {
    pub attributes: Vec<AttributeSeen>,
    /// The id of the attribute whose values most often equal a Loket employee number (at least one).
    pub suggested_employee_number: Option<String>,
}

/// Surveys the custom attributes of the in-scope persons against the Loket employments (M2).
pub fn survey_attributes(persons: &[&Person], loket: &LoketState) -> AttributeSurvey {
    let numbers: BTreeSet<u64> = loket.employments.iter().map(|employment| employment.employee_number.0).collect();
    let mut by_id: BTreeMap<&str, AttributeSeen> = BTreeMap::new();
    for person in persons {
        for attribute in &person.attributes {
            let seen = by_id.entry(attribute.id.as_str()).or_insert_with(|| AttributeSeen {
                id: attribute.id.clone(),
                global_id: attribute.global_id.clone(),
                kind: attribute.kind.clone(),
                label: attribute.label.clone(),
                persons_with_value: 0,
                samples: Vec::new(),
                equal_to_employee_numbers: 0,
            });
            if seen.label.is_none() {
                seen.label = attribute.label.clone();
            }
            let value = attribute.value.trim();
            if value.is_empty() {
                continue;
            }
            seen.persons_with_value += 1;
            if seen.samples.len() < 3 && !seen.samples.iter().any(|sample| sample == value) {
                seen.samples.push(value.to_string());
            }
            if whole_number(value).is_some_and(|number| numbers.contains(&number)) {
                seen.equal_to_employee_numbers += 1;
            }
        }
    }
    let attributes: Vec<AttributeSeen> = by_id.into_values().collect();
    let suggested_employee_number = attributes
        .iter()
        .filter(|seen| seen.equal_to_employee_numbers > 0)
        // Most matches first; then most values; then the first id (the list is sorted by id).
        .min_by_key(|seen| {
            (std::cmp::Reverse(seen.equal_to_employee_numbers), std::cmp::Reverse(seen.persons_with_value))
        })
        .map(|seen| seen.id.clone());
    AttributeSurvey { attributes, suggested_employee_number }
}

/// M2: the run-level warning when not one in-scope person has a value for the configured employee-number
/// attribute (besides each person's `employee_number_missing`).
pub fn attribute_not_found(persons: &[&Person], loket: &LoketState, configured: &str) -> Option<Issue> {
    if persons.is_empty()
        || persons.iter().any(|person| person.attribute(configured).is_some_and(|value| !value.trim().is_empty()))
    {
        return None;
    }
    let survey = survey_attributes(persons, loket);
    let seen = if survey.attributes.is_empty() {
        "none (the API credential may not be allowed to read any custom attribute)".to_string()
    } else {
        survey.attributes.iter().map(AttributeSeen::describe).collect::<Vec<_>>().join("; ")
    };
    let suggestion = match &survey.suggested_employee_number {
        Some(id) => format!(" `loket-sync check` suggests `{id}`: set `employee_number_attribute = \"{id}\"`."),
        None => " None of their values equals a Loket employee number.".to_string(),
    };
    Some(Issue::warning(
        IssueCode::AttributeNotFound,
        format!(
            "Not one person in scope has a value for the employee-number attribute `{configured}`, so nobody can be matched to Loket. Personio's API sends custom attributes by id, usually without a label: configure the attribute by its id (`dynamic_…`) or global id, and give the API credential read access to it. Attributes seen: {seen}.{suggestion}"
        ),
    ))
}

/// M1: a person is in scope with an employment in the legal entity that has not ended before the start
/// date.
pub fn in_scope(person: &Person, legal_entity: &str, start_date: CivilDate) -> bool {
    person
        .employments
        .iter()
        .any(|employment| employment.legal_entity == legal_entity && employment.end.is_none_or(|end| end >= start_date))
}

/// M2–M5: matches the in-scope persons (in the order given) to Loket employments. Returns the matches and
/// the issues of those who could not be matched.
pub fn match_persons<'a>(
    persons: &[&'a Person],
    loket: &'a LoketState,
    employee_number_attribute: &str,
    income_number_attribute: &str,
) -> (Vec<Match<'a>>, Vec<Issue>) {
    let mut issues = Vec::new();
    let mut by_number: BTreeMap<EmployeeNumber, Vec<&'a Employment>> = BTreeMap::new();
    for employment in &loket.employments {
        by_number.entry(employment.employee_number).or_default().push(employment);
    }
    let mut candidates: Vec<(&'a Person, EmployeeNumber, Option<&'a Employment>)> = Vec::new();
    for person in persons {
        let Some(number) = whole_number_attribute(person, employee_number_attribute) else {
            issues.push(
                Issue::warning(
                    IssueCode::EmployeeNumberMissing,
                    format!(
                        "{} has no Loket employee number in Personio (attribute `{}`), so nothing is synced for them. Fill in the attribute with their Loket employee number and sync again.",
                        person.name(),
                        employee_number_attribute
                    ),
                )
                .person(person.id, None),
            );
            continue;
        };
        let number = EmployeeNumber(number);
        let income = whole_number_attribute(person, income_number_attribute);
        let with_number: Vec<&Employment> = by_number.get(&number).cloned().unwrap_or_default();
        let chosen: Vec<&Employment> = match income {
            Some(income) => with_number
                .iter()
                .copied()
                .filter(|employment| employment.income_relationship_number == Some(income))
                .collect(),
            None => with_number.clone(),
        };
        match chosen.as_slice() {
            [employment] => candidates.push((person, number, Some(employment))),
            [] => {
                let what = match income {
                    Some(income) => format!("employee number {number} and income relationship number {income}"),
                    None => format!("employee number {number}"),
                };
                issues.push(
                    Issue::error(
                        IssueCode::EmploymentNotFound,
                        format!(
                            "{} has {what} in Personio, but the Loket payroll administration shows no such employment. Correct the number in Personio (attributes `{}` and `{}`) or create the employment in Loket, then sync again. If the employment exists in Loket, it may be hidden by the filter settings of the Loket user loket-sync logs in as: widen them for this employer.",
                            person.name(),
                            employee_number_attribute,
                            income_number_attribute
                        ),
                    )
                    .person(person.id, Some(number)),
                );
            }
            several => {
                issues.push(
                    Issue::error(
                        IssueCode::EmploymentAmbiguous,
                        format!(
                            "{} has employee number {number} in Personio, which matches {} Loket employments. Fill in the attribute `{}` in Personio so that it names one income relationship, then sync again.",
                            person.name(),
                            several.len(),
                            income_number_attribute
                        ),
                    )
                    .person(person.id, Some(number)),
                );
            }
        }
    }

    // Two persons on one employment: neither may write to it.
    let mut per_employment: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, employment) in &candidates {
        if let Some(employment) = employment {
            *per_employment.entry(employment.id.as_str()).or_default() += 1;
        }
    }
    let mut matches = Vec::new();
    for (person, number, employment) in candidates {
        let Some(employment) = employment else { continue };
        if per_employment[employment.id.as_str()] > 1 {
            issues.push(
                Issue::error(
                    IssueCode::EmploymentAmbiguous,
                    format!(
                        "{} and at least one other person in Personio both point to Loket employee number {number} (income relationship {}). Give each person their own employee number in Personio, then sync again.",
                        person.name(),
                        employment.income_relationship_number.map(|n| n.to_string()).unwrap_or_else(|| "none".to_string())
                    ),
                )
                .person(person.id, Some(number)),
            );
            continue;
        }
        matches.push(Match { person, employee_number: number, employment });
    }
    (matches, issues)
}
