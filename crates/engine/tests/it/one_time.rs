//! O rules: one-time compensations to the payroll period data, and C rules: currency and units.

use engine::{Action, IssueCode, Severity};

use crate::support::*;

fn p(period: &str, component: u32, value: &str) -> (String, u32, String, u32) {
    (period.to_string(), component, value.to_string(), 1)
}

#[test]
fn o1_unmapped_types_and_switch_off_write_nothing() {
    let mut w = world();
    w.one_time("Gift", "2026-02-10", "50.00");
    assert_eq!(w.plan().n_writes(), 0);
    w.one_time("Bonus", "2026-02-10", "50.00");
    w.config().one_time = false;
    assert_eq!(w.plan().n_writes(), 0);
}

#[test]
fn o2_payment_belongs_to_the_period_that_contains_its_date() {
    let mut w = world();
    w.one_time("Bonus", "2026-02-28", "100.00").one_time("Bonus", "2026-03-01", "40.00");
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2026-02", 4001, "100.00"), p("2026-03", 4001, "40.00")]);
}

#[test]
fn o2_date_without_a_loket_period_warns() {
    let mut w = world();
    w.scenario.loket.period_years = vec![2025, 2026];
    w.one_time("Bonus", "2027-02-10", "100.00");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::NoPayrollPeriod, Severity::Warning)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn o3_payments_outside_in_scope_periods_are_ignored_silently() {
    let mut w = world();
    // Before the start date, and after the horizon (31 Mar 2027), whatever the currency.
    w.one_time("Bonus", "2025-11-10", "100.00").one_time_in("Bonus", "2027-05-10", "100.00", "USD");
    let plan = w.plan();
    assert!(plan.issues.is_empty(), "{:#?}", plan.issues);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn o4_payments_of_one_type_in_one_period_are_summed() {
    let mut w = world();
    w.one_time("Bonus", "2026-02-03", "10.00").one_time("Bonus", "2026-02-14", "10.00").one_time(
        "Bonus",
        "2026-02-27",
        "10.00",
    );
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2026-02", 4001, "30.00")]);
}

#[test]
fn o4_the_sign_of_the_sum_picks_the_component_and_sums_on_one_component_add_up() {
    let mut w = world();
    w.one_time("Bonus", "2026-02-03", "100.00").one_time("Bonus", "2026-02-14", "-150.00");
    w.one_time("Referral bonus", "2026-03-03", "25.00").one_time("Bonus", "2026-03-04", "75.00");
    w.one_time("Bonus", "2026-04-01", "50.00").one_time("Bonus", "2026-04-02", "-50.00");
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2026-02", 4002, "50.00"), p("2026-03", 4001, "100.00")]);
}

#[test]
fn o4_negative_sum_without_a_deduction_component_warns() {
    let mut w = world();
    w.one_time("Referral bonus", "2026-02-03", "-25.00");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::NoComponentForSign, Severity::Warning)]);
}

#[test]
fn o5_only_the_owned_record_and_mapped_components_are_touched() {
    let mut w = world();
    w.period_data("2026-01", 4001, "500.00")
        .period_data("2026-01", 4050, "40.00")
        .period_data_in("2026-02", 4001, "75.00", 2);
    w.one_time("Bonus", "2026-02-10", "20.00");
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 2);
    for write in plan.writes() {
        let Action::PatchPeriodData { key, changes } = &write.action else { panic!("{write:?}") };
        assert_eq!((key.shift, key.payslip_type, key.cost_center.as_deref()), (1, 1, None));
        assert!(key.distribution_unit.is_some());
        assert!(changes.iter().all(|change| [4001, 4002].contains(&change.component.0)));
    }
    let (_, loket) = w.sync();
    assert_eq!(
        period_data(&loket),
        [
            p("2026-01", 4050, "40.00"),
            p("2026-02", 4001, "20.00"),
            ("2026-02".to_string(), 4001, "75.00".to_string(), 2)
        ]
    );
}

#[test]
fn o6_absent_one_time_value_is_deleted_in_one_patch_per_period() {
    let mut w = world();
    w.period_data("2025-12", 4001, "300.00")
        .period_data("2026-01", 4001, "500.00")
        .period_data("2026-01", 4002, "20.00");
    let plan = w.plan();
    assert_eq!(
        descriptions(&plan),
        [
            "O6 set variable input of period 2026-01: component 4001 from €500.00 to nothing, component 4002 from €20.00 to nothing"
        ]
    );
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2025-12", 4001, "300.00")]);
}

#[test]
fn o6_unchanged_value_is_not_written() {
    let mut w = world();
    w.period_data("2026-02", 4001, "30");
    w.one_time("Bonus", "2026-02-10", "30.00");
    assert_eq!(w.plan().n_writes(), 0);
}

#[test]
fn o7_closed_period_is_never_written_and_reported() {
    let mut w = world();
    w.scenario.loket.approved_through = Some("2026-02".parse().unwrap());
    w.one_time("Bonus", "2026-01-20", "100.00").one_time("Bonus", "2026-03-05", "250.00");
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::PeriodClosed);
    assert_eq!(issue.period.map(|period| period.to_string()), Some("2026-01".to_string()));
    assert!(issue.message.contains("Loket has no value, Personio has €100.00"), "{}", issue.message);
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2026-03", 4001, "250.00")]);
}

#[test]
fn c1_only_eur_amounts_are_written() {
    let mut w = world();
    w.one_time_in("Bonus", "2026-03-05", "80.00", "EUR");
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 1);
    let Action::PatchPeriodData { changes, .. } = &plan.writes().next().unwrap().action else { panic!() };
    assert_eq!(changes[0].after, Some(dec("80.00")));
}

#[test]
fn c2_non_eur_one_time_is_never_synced() {
    let mut w = world();
    w.one_time_in("Bonus", "2026-03-05", "80.00", "USD");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::CurrencyNotEur, Severity::Warning)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn c3_mixed_currency_period_is_left_alone() {
    let mut w = world();
    w.period_data("2026-02", 4001, "20.00");
    w.one_time("Bonus", "2026-02-05", "100.00").one_time_in("Bonus", "2026-02-06", "50.00", "USD");
    w.one_time("Bonus", "2026-03-10", "80.00");
    let plan = w.plan();
    let mut found = codes(&plan);
    found.sort();
    assert_eq!(
        found,
        [(IssueCode::CurrencyNotEur, Severity::Warning), (IssueCode::CurrencyMixedPeriod, Severity::Warning)]
    );
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2026-02", 4001, "20.00"), p("2026-03", 4001, "80.00")]);
}

#[test]
fn c3_recurring_in_another_currency_leaves_the_periods_one_time_values() {
    let mut w = world();
    w.period_data("2026-04", 4001, "20.00");
    w.recurring_with("Phone allowance", "2026-04-01", "30.00", "MONTHLY", "USD").recurring(
        "Phone allowance",
        "2026-05-01",
        "0",
    );
    w.one_time("Bonus", "2026-04-05", "100.00");
    let plan = w.plan();
    assert_eq!(issues_with(&plan, IssueCode::CurrencyMixedPeriod).len(), 1);
    assert!(
        issues_with(&plan, IssueCode::CurrencyMixedPeriod)[0]
            .period
            .is_some_and(|period| period.to_string() == "2026-04")
    );
    assert_eq!(plan.n_writes(), 0, "{:?}", descriptions(&plan));
}

#[test]
fn c3_frozen_closed_period_gets_no_period_closed_warning() {
    let mut w = world();
    w.scenario.loket.approved_through = Some("2026-02".parse().unwrap());
    w.one_time("Bonus", "2026-02-05", "100.00").one_time_in("Bonus", "2026-02-06", "50.00", "USD");
    let plan = w.plan();
    assert!(issues_with(&plan, IssueCode::PeriodClosed).is_empty(), "{:#?}", plan.issues);
}

#[test]
fn c4_one_time_in_kilometres_leaves_its_period_alone() {
    let mut w = world();
    w.config().mappings.push(scenario::MappingSection {
        personio_type: "Mileage".to_string(),
        benefit_component: Some(4050),
        deduction_component: None,
    });
    w.scenario.personio.compensation_types.iter_mut().find(|t| t.name == "Mileage").unwrap().category =
        engine::state::TypeCategory::OneTime;
    w.period_data("2026-02", 4001, "20.00");
    w.one_time("Mileage", "2026-02-05", "120").one_time("Bonus", "2026-02-06", "50.00");
    let plan = w.plan();
    let person_codes: Vec<_> =
        plan.issues.iter().filter(|issue| issue.person.is_some()).map(|issue| issue.code).collect();
    assert_eq!(person_codes, [IssueCode::NonMonetary]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn o5_the_owned_record_is_the_one_the_employment_defaults_name() {
    let mut w = world();
    w.employment().period_data_defaults = Some(scenario::PeriodDataDefaultsSection {
        shift: None,
        payslip_type: Some(2),
        cost_center: Some(3),
        cost_unit: None,
    });
    w.one_time("Bonus", "2026-02-10", "20.00");
    let plan = w.plan();
    let [write] = plan.writes().collect::<Vec<_>>()[..] else { panic!("{:?}", descriptions(&plan)) };
    let Action::PatchPeriodData { key, .. } = &write.action else { panic!("{write:?}") };
    // A field without a default (null) is at its default: shift 1.
    assert_eq!(
        (key.shift, key.payslip_type, key.cost_center.as_deref(), key.cost_unit.as_deref()),
        (1, 2, Some("3"), None)
    );
    let (_, loket) = w.sync();
    let item = &loket[0].payroll_period_data[0];
    assert_eq!((item.payslip_type, item.cost_center, item.value), (2, Some(3), dec("20.00")));
}

#[test]
fn o5_a_value_in_another_record_of_the_period_leaves_the_period_alone() {
    let mut w = world();
    w.employment().period_data_defaults = Some(scenario::PeriodDataDefaultsSection {
        shift: Some(1),
        payslip_type: Some(1),
        cost_center: Some(3),
        cost_unit: None,
    });
    // 2026-02: written before the defaults named cost centre 3; 2026-03: another payslip type (not beside).
    w.period_data("2026-02", 4001, "60.00").period_data("2026-03", 4001, "10.00");
    w.employment().payroll_period_data[1].payslip_type = 2;
    w.one_time("Bonus", "2026-02-10", "100.00").one_time("Bonus", "2026-03-10", "80.00");
    let (plan, loket) = w.sync();
    let issue = only_issue(&plan, IssueCode::PeriodDataElsewhere);
    assert_eq!(issue.period.map(|period| period.to_string()), Some("2026-02".to_string()));
    assert!(issue.message.contains("no cost centre") && issue.message.contains("cost centre 3"), "{}", issue.message);
    let items: Vec<(String, u32, Option<i64>, String)> = loket[0]
        .payroll_period_data
        .iter()
        .map(|item| (item.period.to_string(), item.payslip_type, item.cost_center, item.value.to_string()))
        .collect();
    assert_eq!(
        items,
        [
            ("2026-02".to_string(), 1, None, "60.00".to_string()),
            ("2026-03".to_string(), 1, Some(3), "80.00".to_string()),
            ("2026-03".to_string(), 2, None, "10.00".to_string()),
        ]
    );
}

#[test]
fn c3_a_foreign_one_time_payment_beside_an_eur_recurring_compensation_is_a_mixed_period() {
    let mut w = world();
    w.period_data("2026-02", 4001, "20.00");
    w.recurring("Car allowance", "2026-01-01", "200.00");
    w.one_time_in("Bonus", "2026-02-06", "50.00", "USD");
    let plan = w.plan();
    let mut found = codes(&plan);
    found.sort();
    assert_eq!(
        found,
        [(IssueCode::CurrencyNotEur, Severity::Warning), (IssueCode::CurrencyMixedPeriod, Severity::Warning)]
    );
    let (_, loket) = w.sync();
    assert_eq!(period_data(&loket), [p("2026-02", 4001, "20.00")]);
}
