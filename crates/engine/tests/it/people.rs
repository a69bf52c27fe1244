//! M rules (matching people) and E rules (employment state).

use engine::{IssueCode, Severity};

use crate::support::*;

#[test]
fn m1_persons_of_another_legal_entity_are_ignored_silently() {
    let mut w = world();
    w.person().employment.legal_entity = "2".to_string();
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    let plan = w.plan();
    assert!(plan.issues.is_empty() && plan.employments.is_empty());
}

#[test]
fn m1_persons_who_left_before_the_start_date_are_ignored_silently() {
    let mut w = world();
    w.person().employment.end = Some(d("2025-12-31"));
    w.person().attributes.clear();
    let plan = w.plan();
    assert!(plan.issues.is_empty(), "{:#?}", plan.issues);
    w.person().employment.end = Some(d("2026-01-01"));
    // In scope now, and the only person: nobody has the attribute, so the run says so too (M2).
    assert_eq!(
        codes(&w.plan()),
        [(IssueCode::AttributeNotFound, Severity::Warning), (IssueCode::EmployeeNumberMissing, Severity::Warning)]
    );
}

#[test]
fn m2_labels_match_loosely_and_values_must_be_whole_numbers() {
    let mut w = world();
    w.person().attributes.clear();
    w.person().attributes.insert("  employee NUMBER — loket ".to_string(), " 1001 ".to_string());
    w.person().attributes.insert("INCOME NUMBER".to_string(), "1".to_string());
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    assert_eq!(w.plan().n_writes(), 1);
    w.person().attributes.insert("  employee NUMBER — loket ".to_string(), "1001.5".to_string());
    assert_eq!(codes(&w.plan()), [(IssueCode::EmployeeNumberMissing, Severity::Warning)]);
}

#[test]
fn m2_attribute_labels_are_configurable() {
    let mut w = world();
    w.person().attributes.insert("Payroll ID".to_string(), "1001".to_string());
    w.person().attributes.remove("Employee number - Loket");
    w.config().employee_number_attribute = Some("payroll id".to_string());
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    // A label matches only where Personio sends labels (M2).
    w.scenario.personio.labels_served = true;
    assert_eq!(w.plan().n_writes(), 1);
}

#[test]
fn m2_attributes_are_matched_by_id_and_by_global_id() {
    let mut w = world();
    w.person().attributes.clear();
    w.person().attributes.insert("dynamic_305".to_string(), "1001".to_string());
    w.scenario.personio.custom_attributes.push(
        serde_json::from_value(serde_json::json!({"id": "dynamic_305", "global_id": "loket_number", "type": "INT"}))
            .unwrap(),
    );
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    w.config().employee_number_attribute = Some("dynamic_305".to_string());
    w.config().income_number_attribute = Some("dynamic_306".to_string());
    assert_eq!(w.plan().n_writes(), 1);
    w.config().employee_number_attribute = Some("loket_number".to_string());
    assert_eq!(w.plan().n_writes(), 1);
    w.config().employee_number_attribute = Some("dynamic_30".to_string());
    assert_eq!(w.plan().n_writes(), 0, "an id matches exactly, never as a prefix");
}

#[test]
fn m2_a_label_matches_only_where_personio_sends_one_and_the_run_suggests_the_id() {
    let mut w = world();
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    w.config().employee_number_attribute = Some("Employee number - Loket".to_string());
    w.config().income_number_attribute = Some("Income number".to_string());
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 0);
    assert_eq!(only_issue(&plan, IssueCode::EmployeeNumberMissing).severity, Severity::Warning);
    let run_level = only_issue(&plan, IssueCode::AttributeNotFound);
    assert_eq!((run_level.severity, run_level.person), (Severity::Warning, None));
    let id = w.scenario.personio.attribute_definition("Employee number - Loket").id;
    assert!(
        run_level.message.contains(&format!("suggests `{id}`"))
            && run_level.message.contains("`Employee number - Loket`"),
        "{}",
        run_level.message
    );
    // Served with labels, the same configuration matches.
    w.scenario.personio.labels_served = true;
    assert_eq!(w.plan().n_writes(), 1);
}

#[test]
fn m2_the_survey_counts_values_equal_to_loket_employee_numbers() {
    let mut w = world();
    w.person().attributes.insert("Payroll ID".to_string(), "77".to_string());
    w.person().attributes.insert("Shoe size".to_string(), "44".to_string());
    let (personio, loket) = w.states();
    let survey = engine::survey_attributes(&personio, &loket, &w.scenario.engine_config());
    let seen = |label: &str| {
        let id = w.scenario.personio.attribute_definition(label).id;
        survey.attributes.iter().find(|seen| seen.id == id).cloned().expect("surveyed")
    };
    assert_eq!(seen("Employee number - Loket").equal_to_employee_numbers, 1);
    assert_eq!(seen("Payroll ID").equal_to_employee_numbers, 0);
    assert_eq!(seen("Shoe size").samples, ["44"]);
    assert_eq!(survey.suggested_employee_number, Some(seen("Employee number - Loket").id));
}

#[test]
fn m3_empty_income_number_matches_the_only_employment() {
    let mut w = world();
    w.person().attributes.remove("Income number");
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    assert_eq!(w.plan().n_writes(), 1);
}

#[test]
fn m3_income_number_picks_one_of_several_employments() {
    let mut w = world();
    let mut second = w.scenario.loket.employments[0].clone();
    second.income_relationship_number = Some(2);
    second.wages[0].amount = dec("1000.00");
    w.scenario.loket.employments.push(second);
    w.person().attributes.insert("Income number".to_string(), "2".to_string());
    let plan = w.plan();
    assert_eq!(descriptions(&plan), ["S9 add basic wage €4,000.00 per period from 1 Jan 2026"]);
    assert_eq!(plan.employments[0].employment_id.as_str(), w.scenario.loket.employment_id(1001, Some(2)));
}

#[test]
fn m4_missing_employee_number_is_a_warning() {
    let mut w = world();
    w.person().attributes.remove("Employee number - Loket");
    let plan = w.plan();
    assert_eq!(
        codes(&plan),
        [(IssueCode::AttributeNotFound, Severity::Warning), (IssueCode::EmployeeNumberMissing, Severity::Warning)]
    );
    assert_eq!(only_issue(&plan, IssueCode::EmployeeNumberMissing).person.map(|person| person.0), Some(1001));
}

#[test]
fn m4_no_matching_employment_is_an_error() {
    let mut w = world();
    w.person().attributes.insert("Employee number - Loket".to_string(), "2020".to_string());
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::EmploymentNotFound);
    assert_eq!((issue.severity, issue.employee_number.map(|n| n.0)), (Severity::Error, Some(2020)));
    assert!(issue.message.contains("filter settings of the Loket user"), "{}", issue.message);
}

#[test]
fn m4_several_candidates_is_ambiguous() {
    let mut w = world();
    let mut second = w.scenario.loket.employments[0].clone();
    second.income_relationship_number = Some(2);
    w.scenario.loket.employments.push(second);
    w.person().attributes.remove("Income number");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::EmploymentAmbiguous, Severity::Error)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn m4_two_persons_on_one_employment_are_both_ambiguous() {
    let mut w = world();
    let mut twin = w.scenario.personio.persons[0].clone();
    twin.id = 1002;
    w.scenario.personio.persons.push(twin);
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    let plan = w.plan();
    let ambiguous: Vec<u64> =
        issues_with(&plan, IssueCode::EmploymentAmbiguous).iter().map(|issue| issue.person.unwrap().0).collect();
    assert_eq!(ambiguous, [1001, 1002]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn m5_unmatched_loket_employments_are_never_touched() {
    let mut w = world();
    let mut stranger = w.scenario.loket.employments[0].clone();
    stranger.employee_number = 3000;
    stranger.benefits_and_deductions = vec![
        serde_json::from_value(
            serde_json::json!({"component": 7010, "start": "2026-02-01", "end": null, "value": "220.00"}),
        )
        .unwrap(),
    ];
    w.scenario.loket.employments.push(stranger);
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 0);
    assert!(plan.employments.iter().all(|employment| employment.employee_number.0 == 1001));
}

#[test]
fn e1_terminated_employment_gets_no_writes_and_a_warning_listing_them() {
    let mut w = world();
    w.employment().end = Some(d("2026-02-28"));
    w.person().employment.end = Some(d("2026-02-28"));
    w.salary("2026-02-01", "fixed", Some("MONTHLY"), "3600.00");
    w.one_time("Bonus", "2026-02-10", "100.00");
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::EmploymentTerminated);
    assert_eq!(issue.severity, Severity::Warning);
    assert!(issue.message.contains("add basic wage €3,600.00 per period from 1 Feb 2026"), "{}", issue.message);
    assert!(issue.message.contains("period 2026-02"), "{}", issue.message);
    assert_eq!(plan.n_writes(), 0);
    assert_eq!(withheld(&plan).len(), 2);
}

#[test]
fn e1_employment_ending_after_the_run_date_is_still_written() {
    let mut w = world();
    w.employment().end = Some(d("2026-06-30"));
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    assert_eq!(w.plan().n_writes(), 1);
}

#[test]
fn e2_nothing_is_written_outside_the_employment() {
    let mut w = world();
    w.employment().end = Some(d("2026-06-30"));
    w.salary("2026-08-01", "fixed", Some("MONTHLY"), "4500.00");
    w.recurring("Car allowance", "2025-06-01", "250.00");
    w.one_time("Bonus", "2026-07-10", "100.00").one_time("Bonus", "2026-06-10", "100.00");
    let (plan, loket) = w.sync();
    assert!(plan.issues.is_empty(), "{:#?}", plan.issues);
    assert_eq!(wages(&loket).len(), 1, "the August raise is after the employment");
    assert_eq!(
        benefits(&loket),
        [(7010, "2026-01-01".to_string(), Some("2026-06-30".to_string()), "250.00".to_string())]
    );
    assert_eq!(period_data(&loket), [("2026-06".to_string(), 4001, "100.00".to_string(), 1)]);
}
