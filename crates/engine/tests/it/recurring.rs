//! R rules: recurring compensations to Loket benefits and deductions.

use engine::{IssueCode, Severity};

use crate::support::*;

fn b(component: u32, start: &str, end: Option<&str>, value: &str) -> (u32, String, Option<String>, String) {
    (component, start.to_string(), end.map(str::to_string), value.to_string())
}

#[test]
fn r1_unmapped_types_and_switch_off_write_nothing() {
    let mut w = world();
    w.recurring("Gym", "2026-01-01", "30.00");
    assert_eq!(w.plan().n_writes(), 0);
    w.recurring("Car allowance", "2026-01-01", "250.00");
    w.config().recurring = false;
    assert_eq!(w.plan().n_writes(), 0);
}

#[test]
fn r2_zero_on_the_first_ends_the_record_the_day_before() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "250.00").recurring("Car allowance", "2026-05-01", "0.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(7010, "2026-01-01", Some("2026-04-30"), "250.00")]);
}

#[test]
fn r2_zero_later_in_a_month_ends_the_record_at_the_end_of_that_month() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "250.00").recurring("Car allowance", "2026-04-15", "0.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(7010, "2026-01-01", Some("2026-04-30"), "250.00")]);
}

#[test]
fn r2_zero_mid_month_then_a_new_record_that_month_ends_the_day_before_it() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "250.00").recurring("Car allowance", "2026-04-10", "0.00").recurring(
        "Car allowance",
        "2026-04-20",
        "300.00",
    );
    let (_, loket) = w.sync();
    assert_eq!(
        benefits(&loket),
        [b(7010, "2026-01-01", Some("2026-04-19"), "250.00"), b(7010, "2026-04-20", None, "300.00")]
    );
}

#[test]
fn r2_the_client_form_and_the_file_form_give_the_same_plan() {
    // The client hands the engine a 0 on the first of the month after the last month a record appeared.
    let mut from_file = world();
    from_file.recurring("Car allowance", "2026-01-01", "250.00").recurring("Car allowance", "2026-04-15", "0.00");
    let mut from_api = world();
    from_api.recurring("Car allowance", "2026-01-01", "250.00").recurring("Car allowance", "2026-05-01", "0.00");
    assert_eq!(descriptions(&from_file.plan()), descriptions(&from_api.plan()));
}

#[test]
fn r3_negative_value_is_a_deduction_of_the_absolute_amount() {
    let mut w = world();
    w.recurring("Pension contribution", "2026-02-01", "-75.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(8020, "2026-02-01", None, "75.00")]);
}

#[test]
fn r3_sign_without_a_component_warns_and_contributes_nothing() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "-40.00");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::NoComponentForSign, Severity::Warning)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn r3_sign_without_component_still_ends_the_record_before_it() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "250.00").recurring("Car allowance", "2026-03-01", "-40.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(7010, "2026-01-01", Some("2026-02-28"), "250.00")]);
}

#[test]
fn r4_quarterly_withholds_the_component_not_even_r6() {
    let mut w = world();
    w.benefit(7010, "2024-01-01", None, "200.00");
    w.recurring_with("Car allowance", "2025-10-01", "600.00", "QUARTERLY", "EUR");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::UnsupportedInterval, Severity::Warning)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn r4_withholding_covers_every_type_that_targets_the_component() {
    let mut w = world();
    w.config().mappings.push(scenario::MappingSection {
        personio_type: "Gym".to_string(),
        benefit_component: Some(7010),
        deduction_component: None,
    });
    w.recurring("Gym", "2026-01-01", "30.00");
    w.recurring_with("Car allowance", "2026-01-01", "100.00", "MONTHLY", "USD");
    w.recurring("Phone allowance", "2026-01-01", "20.00");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::CurrencyNotEur, Severity::Warning)]);
    assert_eq!(descriptions(&plan), ["R7 add component 7020 of €20.00 from 1 Jan 2026"]);
}

#[test]
fn r4_non_monetary_recurring_withholds_with_its_own_warning() {
    let mut w = world();
    w.config().mappings.push(scenario::MappingSection {
        personio_type: "Mileage".to_string(),
        benefit_component: Some(7030),
        deduction_component: None,
    });
    w.recurring("Mileage", "2026-01-01", "120");
    w.benefit(7030, "2026-01-01", None, "50.00");
    let plan = w.plan();
    let person_codes: Vec<_> =
        plan.issues.iter().filter(|issue| issue.person.is_some()).map(|issue| issue.code).collect();
    assert_eq!(person_codes, [IssueCode::NonMonetary]);
    assert_eq!(plan.n_writes(), 0, "7030 is withheld, so its managed record stays");
}

#[test]
fn r4_record_outside_the_window_withholds_nothing() {
    let mut w = world();
    w.recurring_with("Car allowance", "2025-01-01", "600.00", "QUARTERLY", "EUR").recurring(
        "Car allowance",
        "2026-01-01",
        "200.00",
    );
    let plan = w.plan();
    assert!(plan.issues.is_empty(), "{:#?}", plan.issues);
    assert_eq!(descriptions(&plan), ["R7 add component 7010 of €200.00 from 1 Jan 2026"]);
}

#[test]
fn r5_several_types_on_one_component_add_up_piecewise() {
    let mut w = world();
    w.config().mappings.push(scenario::MappingSection {
        personio_type: "Gym".to_string(),
        benefit_component: Some(7010),
        deduction_component: None,
    });
    w.recurring("Car allowance", "2026-01-01", "200.00").recurring("Gym", "2026-03-01", "30.00");
    w.recurring("Gym", "2026-06-01", "0.00");
    let (_, loket) = w.sync();
    assert_eq!(
        benefits(&loket),
        [
            b(7010, "2026-01-01", Some("2026-02-28"), "200.00"),
            b(7010, "2026-03-01", Some("2026-05-31"), "230.00"),
            b(7010, "2026-06-01", None, "200.00"),
        ]
    );
}

#[test]
fn r5_record_to_the_end_of_the_window_ends_with_the_employment() {
    let mut w = world();
    w.employment().end = Some(d("2027-12-31"));
    w.recurring("Car allowance", "2026-01-01", "200.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(7010, "2026-01-01", Some("2027-12-31"), "200.00")]);
}

#[test]
fn r5_equal_consecutive_records_merge() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "200.00").recurring("Car allowance", "2026-04-01", "200.00");
    assert_eq!(descriptions(&w.plan()), ["R7 add component 7010 of €200.00 from 1 Jan 2026"]);
}

#[test]
fn r5_value_out_of_range_withholds_the_component() {
    let mut w = world();
    w.recurring("Car allowance", "2026-01-01", "100000.00");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::ValueOutOfRange, Severity::Warning)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn r6_open_historical_record_ends_the_day_before_the_start_date() {
    let mut w = world();
    w.benefit(7010, "2024-01-01", None, "200.00").benefit(7099, "2024-01-01", None, "50.00");
    w.recurring("Car allowance", "2025-01-01", "250.00");
    let plan = w.plan();
    assert_eq!(
        descriptions(&plan),
        [
            "R6 set the end of component 7010 (€200.00 from 1 Jan 2024) to 31 Dec 2025",
            "R7 add component 7010 of €250.00 from 1 Jan 2026",
        ]
    );
    let (_, loket) = w.sync();
    assert_eq!(
        benefits(&loket),
        [
            b(7010, "2024-01-01", Some("2025-12-31"), "200.00"),
            b(7010, "2026-01-01", None, "250.00"),
            b(7099, "2024-01-01", None, "50.00"),
        ]
    );
}

#[test]
fn r6_historical_record_ending_after_the_start_date_is_shortened_too() {
    let mut w = world();
    w.benefit(8020, "2025-01-01", Some("2026-06-30"), "60.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(8020, "2025-01-01", Some("2025-12-31"), "60.00")]);
}

#[test]
fn r7_managed_records_end_up_equal_with_puts_deletes_and_posts() {
    let mut w = world();
    w.benefit(7010, "2026-01-01", None, "200.00").benefit(7010, "2026-09-01", None, "260.00");
    w.benefit(7020, "2026-02-01", Some("2026-03-31"), "15.00");
    w.recurring("Car allowance", "2026-01-01", "200.00").recurring("Car allowance", "2026-06-01", "240.00");
    w.recurring("Phone allowance", "2026-02-01", "20.00");
    let plan = w.plan();
    assert_eq!(
        descriptions(&plan),
        [
            "R7 delete component 7010 of €260.00 from 1 Sep 2026",
            "R7 set the end of component 7010 (€200.00 from 1 Jan 2026) to 31 May 2026",
            "R7 change component 7020 from €15.00 to 31 Mar 2026 to €20.00 (from 1 Feb 2026)",
            "R7 add component 7010 of €240.00 from 1 Jun 2026",
        ]
    );
    let (_, loket) = w.sync();
    assert_eq!(
        benefits(&loket),
        [
            b(7010, "2026-01-01", Some("2026-05-31"), "200.00"),
            b(7010, "2026-06-01", None, "240.00"),
            b(7020, "2026-02-01", None, "20.00"),
        ]
    );
}

#[test]
fn r7_missing_in_personio_deletes_the_managed_record_and_keeps_closed_history() {
    let mut w = world();
    w.benefit(7010, "2023-01-01", Some("2025-06-30"), "180.00").benefit(7010, "2026-02-01", None, "220.00");
    let (_, loket) = w.sync();
    assert_eq!(benefits(&loket), [b(7010, "2023-01-01", Some("2025-06-30"), "180.00")]);
}

#[test]
fn r8_gaps_between_records_are_allowed_and_not_reported() {
    let mut w = world();
    w.benefit(7010, "2024-01-01", Some("2025-03-31"), "200.00");
    w.recurring("Car allowance", "2026-03-01", "250.00");
    let (plan, loket) = w.sync();
    assert!(plan.issues.is_empty());
    assert_eq!(benefits(&loket).len(), 2);
}

#[test]
fn r9_records_after_the_horizon_stay_and_bound_an_open_record() {
    let mut w = world();
    w.benefit(7010, "2027-06-01", None, "300.00");
    w.recurring("Car allowance", "2026-01-01", "250.00");
    let (_, loket) = w.sync();
    assert_eq!(
        benefits(&loket),
        [b(7010, "2026-01-01", Some("2027-05-31"), "250.00"), b(7010, "2027-06-01", None, "300.00")]
    );
}

#[test]
fn r4_a_withheld_component_still_reports_an_out_of_range_sum() {
    let mut w = world();
    w.config().mappings.push(scenario::MappingSection {
        personio_type: "Gym".to_string(),
        benefit_component: Some(7010),
        deduction_component: None,
    });
    // One reason withholds 7010 (USD); another record on it is out of range (R5): both are reported.
    w.recurring_with("Car allowance", "2026-01-01", "100.00", "MONTHLY", "USD");
    w.recurring("Gym", "2026-02-01", "150000.00");
    let plan = w.plan();
    let mut found = codes(&plan);
    found.sort();
    assert_eq!(
        found,
        [(IssueCode::CurrencyNotEur, Severity::Warning), (IssueCode::ValueOutOfRange, Severity::Warning)]
    );
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn r10_a_record_in_a_year_loket_has_not_opened_waits_and_the_one_before_keeps_its_end() {
    let mut w = world();
    w.scenario.loket.period_years = vec![2025, 2026];
    w.recurring("Pension contribution", "2026-02-01", "-30.00").recurring(
        "Pension contribution",
        "2027-02-01",
        "-35.00",
    );
    let (plan, loket) = w.sync();
    let issue = only_issue(&plan, IssueCode::YearNotOpen);
    assert_eq!(issue.severity, Severity::Warning);
    assert!(issue.message.contains("2027") && issue.message.contains("8020"), "{}", issue.message);
    assert_eq!(benefits(&loket), [b(8020, "2026-02-01", Some("2027-01-31"), "30.00")]);
    // Once Loket opens 2027, the next sync writes the record.
    let mut opened = world();
    opened.scenario = w.scenario.clone();
    opened.scenario.loket.period_years = vec![2025, 2026, 2027];
    opened.employment().benefits_and_deductions = serde_json::from_value(serde_json::json!([
        { "component": 8020, "start": "2026-02-01", "end": "2027-01-31", "value": "30.00" }
    ]))
    .unwrap();
    let (plan, loket) = opened.sync();
    assert!(issues_with(&plan, IssueCode::YearNotOpen).is_empty());
    assert_eq!(
        benefits(&loket),
        [b(8020, "2026-02-01", Some("2027-01-31"), "30.00"), b(8020, "2027-02-01", None, "35.00")]
    );
}

#[test]
fn r10_loket_records_in_a_year_not_open_are_left_alone() {
    let mut w = world();
    w.scenario.loket.period_years = vec![2025, 2026];
    w.benefit(8020, "2027-02-01", None, "35.00");
    w.recurring("Pension contribution", "2026-02-01", "-30.00");
    let (plan, loket) = w.sync();
    assert_eq!(descriptions(&plan), ["R7 add component 8020 of €30.00 from 1 Feb 2026 to 31 Jan 2027"]);
    assert_eq!(
        benefits(&loket),
        [b(8020, "2026-02-01", Some("2027-01-31"), "30.00"), b(8020, "2027-02-01", None, "35.00")]
    );
}
