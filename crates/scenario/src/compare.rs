//! The comparison of SCENARIOS.md: Loket states as sets, first-run issues as sets of (code, severity,
//! person) with optional message checks, and a second run that writes nothing.

use std::collections::{BTreeMap, BTreeSet};

use engine::Issue;
use rust_decimal::Decimal;

use crate::format::{ExpectedIssue, LoketEmploymentSection, Scenario};

/// What one scenario run produced, from wherever it ran (in-process or through the emulators).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Configuration errors as `(field, message)`; when not empty, no run happened.
    pub config_errors: Vec<(String, String)>,
    pub first_run_issues: Vec<Issue>,
    pub first_run_writes: usize,
    pub second_run_writes: usize,
    pub loket: Vec<LoketEmploymentSection>,
}

/// Every difference between the scenario's `expect` and the outcome, as sentences; empty when it passed.
pub fn check(scenario: &Scenario, outcome: &Outcome) -> Vec<String> {
    let mut failures = Vec::new();
    let expect = &scenario.expect;
    let got_config_error = !outcome.config_errors.is_empty();
    if expect.config_error != got_config_error {
        failures.push(if expect.config_error {
            "expected a configuration error, but the configuration was accepted".to_string()
        } else {
            format!(
                "expected no configuration error, got: {}",
                outcome
                    .config_errors
                    .iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        });
    }
    if let Some(expected) = &expect.loket {
        failures.extend(compare_loket(&expected.employments, &outcome.loket));
    }
    if !got_config_error {
        failures.extend(compare_issues(&expect.issues, &outcome.first_run_issues));
        if outcome.second_run_writes != 0 {
            failures.push(format!("the second run wrote {} times; it must write nothing", outcome.second_run_writes));
        }
    }
    failures
}

type EmploymentKey = (u64, Option<u64>);

/// Compares two `loket.employments` lists as sets, amounts as numbers.
pub fn compare_loket(expected: &[LoketEmploymentSection], actual: &[LoketEmploymentSection]) -> Vec<String> {
    let index = |list: &[LoketEmploymentSection]| -> BTreeMap<EmploymentKey, LoketEmploymentSection> {
        list.iter()
            .map(|employment| ((employment.employee_number, employment.income_relationship_number), employment.clone()))
            .collect()
    };
    let (expected, actual) = (index(expected), index(actual));
    let mut failures = Vec::new();
    for key in expected.keys().chain(actual.keys()).collect::<BTreeSet<_>>() {
        let label = format!("employment {}/{}", key.0, key.1.map(|n| n.to_string()).unwrap_or_else(|| "-".to_string()));
        let (Some(want), Some(got)) = (expected.get(key), actual.get(key)) else {
            failures.push(format!(
                "{label}: {}",
                if expected.contains_key(key) {
                    "expected, but Loket does not have it"
                } else {
                    "in Loket, but not expected"
                }
            ));
            continue;
        };
        let wages = |employment: &LoketEmploymentSection| -> BTreeMap<String, String> {
            employment
                .wages
                .iter()
                .map(|wage| {
                    (
                        wage.start.to_string(),
                        format!(
                            "{:?} {} pay scale {:?}{}",
                            wage.wage_type,
                            number(wage.amount),
                            wage.pay_scale,
                            if wage.full_time { "" } else { " (not full-time)" }
                        ),
                    )
                })
                .collect()
        };
        diff(&mut failures, &label, "wage", &wages(want), &wages(got));
        let benefits = |employment: &LoketEmploymentSection| -> BTreeMap<String, String> {
            employment
                .benefits_and_deductions
                .iter()
                .map(|record| {
                    (
                        format!("component {} from {}", record.component, record.start),
                        format!(
                            "{} to {}",
                            number(record.value),
                            record.end.map(|end| end.to_string()).unwrap_or_else(|| "open".to_string())
                        ),
                    )
                })
                .collect()
        };
        diff(&mut failures, &label, "benefit or deduction", &benefits(want), &benefits(got));
        let items = |employment: &LoketEmploymentSection| -> BTreeMap<String, String> {
            employment
                .payroll_period_data
                .iter()
                .map(|item| {
                    (
                        format!(
                            "period {} component {} shift {} payslip type {} cost centre {} cost unit {} distribution unit {}",
                            item.period,
                            item.component,
                            item.shift,
                            item.payslip_type,
                            item.cost_center.map(|key| key.to_string()).unwrap_or_else(|| "none".to_string()),
                            item.cost_unit.map(|key| key.to_string()).unwrap_or_else(|| "none".to_string()),
                            item.distribution_unit.as_deref().unwrap_or("default")
                        ),
                        number(item.value),
                    )
                })
                .collect()
        };
        diff(&mut failures, &label, "period data", &items(want), &items(got));
    }
    failures
}

fn number(value: Decimal) -> String {
    value.normalize().to_string()
}

fn diff(
    failures: &mut Vec<String>,
    label: &str,
    what: &str,
    want: &BTreeMap<String, String>,
    got: &BTreeMap<String, String>,
) {
    for key in want.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
        match (want.get(key), got.get(key)) {
            (Some(want), Some(got)) if want != got => {
                failures.push(format!("{label}: {what} {key}: expected {want}, got {got}"))
            }
            (Some(want), None) => failures.push(format!("{label}: {what} {key} ({want}) expected, but missing")),
            (None, Some(got)) => failures.push(format!("{label}: {what} {key} ({got}) not expected")),
            _ => {}
        }
    }
}

/// Issues with a person compare as sets of (code, severity, person); messages when the file gives them.
pub fn compare_issues(expected: &[ExpectedIssue], actual: &[Issue]) -> Vec<String> {
    let mut failures = Vec::new();
    let actual: Vec<&Issue> = actual.iter().filter(|issue| issue.person.is_some()).collect();
    let key = |code: &str, severity: &str, person: Option<u64>| (code.to_string(), severity.to_string(), person);
    let want: BTreeSet<_> = expected
        .iter()
        .filter(|issue| issue.person.is_some())
        .map(|issue| key(&issue.code, &issue.severity, issue.person))
        .collect();
    let got: BTreeSet<_> = actual
        .iter()
        .map(|issue| key(issue.code.as_str(), &issue.severity.to_string(), issue.person.map(|person| person.0)))
        .collect();
    for missing in want.difference(&got) {
        failures.push(format!(
            "expected issue {} ({}) for person {:?}, not reported",
            missing.0,
            missing.1,
            missing.2.unwrap_or(0)
        ));
    }
    for extra in got.difference(&want) {
        let messages: Vec<&str> = actual
            .iter()
            .filter(|issue| issue.code.as_str() == extra.0 && issue.person.map(|person| person.0) == extra.2)
            .map(|issue| issue.message.as_str())
            .collect();
        failures.push(format!(
            "unexpected issue {} ({}) for person {}: {}",
            extra.0,
            extra.1,
            extra.2.unwrap_or(0),
            messages.join(" / ")
        ));
    }
    for issue in expected {
        let candidates: Vec<&&Issue> = actual
            .iter()
            .filter(|candidate| {
                candidate.code.as_str() == issue.code && candidate.person.map(|person| person.0) == issue.person
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        if let Some(message) = &issue.message
            && !candidates.iter().any(|candidate| candidate.message == *message)
        {
            failures.push(format!(
                "issue {} for person {}: expected the message `{message}`, got `{}`",
                issue.code,
                issue.person.unwrap_or(0),
                candidates[0].message
            ));
        }
        if let Some(part) = &issue.message_contains
            && !candidates.iter().any(|candidate| candidate.message.contains(part.as_str()))
        {
            failures.push(format!(
                "issue {} for person {}: expected a message containing `{part}`, got `{}`",
                issue.code,
                issue.person.unwrap_or(0),
                candidates[0].message
            ));
        }
    }
    failures
}
