//! M rules: who is in scope, and which Loket employment each person is.

use std::collections::BTreeMap;

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

/// The value of a custom attribute as a whole number; anything else counts as missing (M2).
pub fn whole_number_attribute(person: &Person, label: &str) -> Option<u64> {
    let value = person.attributes.iter().find(|(candidate, _)| labels_match(candidate, label))?.1.trim();
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
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
                            "{} has {what} in Personio, but the Loket payroll administration has no such employment. Correct the number in Personio (attributes `{}` and `{}`) or create the employment in Loket, then sync again.",
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
