//! G rules: the guarantees of the sync as a whole.

use engine::{IssueCode, Severity};

use crate::support::*;

/// A world with something of everything: history before the start date, drift in the window, unmapped
/// components, other period-data records and an employment nobody matches.
fn busy_world() -> World {
    let mut w = world();
    w.wage("2025-06-01", "4100.00").wage("2026-02-01", "4300.00").wage("2026-05-01", "4000.00");
    w.salary("2026-03-01", "fixed", Some("MONTHLY"), "4500.00");
    w.benefit(7010, "2024-01-01", None, "200.00").benefit(7099, "2024-01-01", None, "50.00");
    w.benefit(8020, "2026-02-01", Some("2026-08-31"), "60.00").benefit(7099, "2026-03-01", None, "15.00");
    w.recurring("Car allowance", "2025-01-01", "250.00").recurring("Pension contribution", "2026-04-01", "-70.00");
    w.period_data("2025-12", 4001, "300.00")
        .period_data("2026-01", 4001, "500.00")
        .period_data("2026-01", 4050, "40.00");
    w.period_data_in("2026-02", 4001, "75.00", 2);
    w.one_time("Bonus", "2026-02-10", "120.00").one_time("Bonus", "2026-02-20", "30.00");
    let mut stranger = w.scenario.loket.employments[0].clone();
    stranger.employee_number = 3000;
    w.scenario.loket.employments.push(stranger);
    w
}

#[test]
fn g1_nothing_before_the_start_date_changes_except_r6_end_dates() {
    let w = busy_world();
    let before = w.scenario.loket.employments[0].clone();
    let (_, loket) = w.sync();
    let csd = d("2026-01-01");
    let after = &loket[0];
    for wage in before.wages.iter().filter(|wage| wage.start < csd) {
        assert!(after.wages.contains(wage), "historical wage {wage:?} changed");
    }
    for record in before.benefits_and_deductions.iter().filter(|record| record.start < csd) {
        let now = after
            .benefits_and_deductions
            .iter()
            .find(|candidate| candidate.component == record.component && candidate.start == record.start);
        let now = now.unwrap_or_else(|| panic!("historical record {record:?} deleted"));
        assert_eq!(now.value, record.value);
        if now.end != record.end {
            assert_eq!(now.end, Some(d("2025-12-31")), "only R6 may change an end date");
            assert_eq!(record.component, 7010, "and only of a recurring-mapped component");
        }
    }
    for item in before.payroll_period_data.iter().filter(|item| item.period.year < 2026) {
        assert!(after.payroll_period_data.contains(item));
    }
}

#[test]
fn g2_unmapped_components_other_records_and_unmatched_employments_are_never_written() {
    let w = busy_world();
    let before = w.scenario.loket.employments.clone();
    let plan = w.plan();
    for write in plan.writes() {
        assert_ne!(write.employee_number.0, 3000, "unmatched employment written: {}", write.describe());
    }
    let (_, loket) = w.sync();
    assert_eq!(loket[1].employee_number, 3000);
    assert_eq!(scenario::compare_loket(&before[1..], &loket[1..]), Vec::<String>::new());
    let unmapped = |list: &scenario::LoketEmploymentSection| -> Vec<String> {
        let mut out: Vec<String> = list
            .benefits_and_deductions
            .iter()
            .filter(|record| record.component == 7099)
            .map(|record| format!("{record:?}"))
            .chain(
                list.payroll_period_data
                    .iter()
                    .filter(|item| item.component == 4050 || item.shift != 1)
                    .map(|item| format!("{:?}", (item.period, item.component, item.value.normalize(), item.shift))),
            )
            .collect();
        out.sort();
        out
    };
    assert_eq!(unmapped(&before[0]), unmapped(&loket[0]));
}

#[test]
fn g3_second_run_writes_nothing_and_reports_the_same_issues() {
    let mut w = busy_world();
    w.recurring_with("Phone allowance", "2026-01-01", "10.00", "QUARTERLY", "EUR");
    w.one_time_in("Bonus", "2026-03-03", "10.00", "USD");
    let (personio, loket) = w.states();
    let config = w.scenario.engine_config();
    let first = engine::plan(&personio, &loket, &config, w.scenario.today, false);
    assert!(first.n_writes() > 5);
    let after = engine::apply(&loket, &first).unwrap();
    let second = engine::plan(&personio, &after, &config, w.scenario.today, false);
    assert_eq!(second.n_writes(), 0, "{:?}", descriptions(&second));
    assert_eq!(codes(&first), codes(&second));
}

#[test]
fn g4_the_same_inputs_give_the_same_plan_whatever_their_order() {
    let mut w = busy_world();
    w.add_employee(1002).add_employee(1003);
    let plan = w.plan();
    let (mut personio, mut loket) = w.states();
    personio.persons.reverse();
    for person in &mut personio.persons {
        person.salaries.reverse();
        person.recurring.reverse();
        person.one_time.reverse();
    }
    personio.compensation_types.reverse();
    loket.employments.reverse();
    for employment in &mut loket.employments {
        employment.wages.reverse();
        employment.benefits_and_deductions.reverse();
        employment.period_data.reverse();
    }
    let shuffled = engine::plan(&personio, &loket, &w.scenario.engine_config(), w.scenario.today, false);
    assert_eq!(plan, shuffled);
}

#[test]
fn g5_a_failed_read_for_an_employee_writes_nothing_for_them() {
    let mut w = busy_world();
    w.add_employee(1002);
    w.scenario.personio.persons[1].salaries[0].value = dec("4100.00");
    let (mut personio, loket) = w.states();
    personio.persons[0].read_failed = Some("GET /v2/compensations for March 2026 answered 503 three times".to_string());
    let plan = engine::plan(&personio, &loket, &w.scenario.engine_config(), w.scenario.today, false);
    let issue = only_issue(&plan, IssueCode::ReadFailed);
    assert_eq!((issue.severity, issue.person.map(|person| person.0)), (Severity::Error, Some(1001)));
    assert!(plan.writes().all(|write| write.employee_number.0 == 1002));
    assert!(plan.n_writes() > 0, "the other employee still syncs");
}

#[test]
fn g5_a_failed_company_wide_read_writes_nothing() {
    let w = busy_world();
    let (personio, mut loket) = w.states();
    loket.failed_reads.push("payroll periods: connection reset".to_string());
    let plan = engine::plan(&personio, &loket, &w.scenario.engine_config(), w.scenario.today, false);
    assert_eq!(codes(&plan), [(IssueCode::ReadFailed, Severity::Error)]);
    assert!(plan.issues[0].person.is_none());
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn g6_interrupted_runs_converge_to_the_same_state_without_duplicates() {
    let w = busy_world();
    let (personio, loket) = w.states();
    let config = w.scenario.engine_config();
    let today = w.scenario.today;
    let full = engine::plan(&personio, &loket, &config, today, false);
    let clean = scenario::employments_section(&engine::apply(&loket, &full).unwrap());
    for k in 0..=full.n_writes() {
        let mut state = loket.clone();
        for write in full.writes().take(k) {
            engine::model::apply_write(&mut state, write).unwrap();
        }
        let resumed = engine::plan(&personio, &state, &config, today, false);
        let state = engine::apply(&state, &resumed).unwrap_or_else(|rejection| panic!("after {k} writes: {rejection}"));
        let result = scenario::employments_section(&state);
        assert_eq!(scenario::compare_loket(&clean, &result), Vec::<String>::new(), "after {k} writes");
    }
}

#[test]
fn g7_the_plan_needs_only_the_current_state_of_both_systems() {
    // A Loket state written out and read back (as a new process would see it) gives the same plan.
    let w = busy_world();
    let (personio, loket) = w.states();
    let config = w.scenario.engine_config();
    let first = engine::plan(&personio, &loket, &config, w.scenario.today, false);
    let mut reread = w.scenario.loket.clone();
    reread.employments = scenario::employments_section(&loket);
    let again = engine::plan(&personio, &reread.to_state().unwrap(), &config, w.scenario.today, false);
    assert_eq!(descriptions(&first), descriptions(&again));
}

/// Twelve employees with a managed car allowance each, that Personio no longer has.
fn mass_delete_world(employees: u64) -> World {
    let mut w = world();
    w.benefit(7010, "2026-02-01", None, "220.00");
    w.recurring("Car allowance", "2026-02-01", "220.00");
    for number in 1..employees {
        w.add_employee(1001 + number);
    }
    for person in &mut w.scenario.personio.persons {
        person.recurring.clear();
    }
    w
}

#[test]
fn g8_mass_deletion_is_refused_unless_allowed() {
    let w = mass_delete_world(12);
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::BlastRadiusExceeded);
    assert!(issue.person.is_none() && issue.severity == Severity::Error);
    assert!(issue.message.contains("12 of 12 managed records"), "{}", issue.message);
    assert_eq!(plan.n_writes(), 0);
    assert_eq!(withheld(&plan).len(), 12);
    assert!(plan.guard.exceeded && !plan.guard.overridden);

    let allowed = w.plan_allowing(true);
    assert_eq!(allowed.n_writes(), 12);
    assert!(allowed.guard.overridden);
    assert!(issues_with(&allowed, IssueCode::BlastRadiusExceeded).is_empty());
}

#[test]
fn g8_fewer_than_ten_affected_employees_are_never_refused() {
    let w = mass_delete_world(9);
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 9);
    assert!(!plan.guard.exceeded);
}

#[test]
fn g8_lowering_many_wages_is_refused() {
    let mut w = world();
    for number in 1..12 {
        w.add_employee(1001 + number);
    }
    for person in &mut w.scenario.personio.persons {
        person.salaries.push(serde_json::from_value(serde_json::json!({"effective_from": "2026-04-01", "kind": "fixed", "interval": "MONTHLY", "value": "3000.00", "currency": "EUR"})).unwrap());
    }
    let plan = w.plan();
    assert_eq!(plan.guard.employees_with_lower_wage, 12);
    assert_eq!(only_issue(&plan, IssueCode::BlastRadiusExceeded).severity, Severity::Error);
}

#[test]
fn g8_a_yearly_raise_for_everyone_is_normal() {
    let mut w = world();
    for number in 1..20 {
        w.add_employee(1001 + number);
    }
    for person in &mut w.scenario.personio.persons {
        person.salaries.push(serde_json::from_value(serde_json::json!({"effective_from": "2026-04-01", "kind": "fixed", "interval": "MONTHLY", "value": "4200.00", "currency": "EUR"})).unwrap());
    }
    let plan = w.plan();
    assert_eq!(plan.n_writes(), 20);
    assert!(!plan.guard.exceeded);
}

#[test]
fn g8_r6_end_dates_and_reposted_wages_do_not_count() {
    let mut w = world();
    w.benefit(7010, "2024-01-01", None, "200.00");
    w.wage("2026-06-01", "4600.00");
    w.salary("2026-03-01", "fixed", Some("MONTHLY"), "4300.00").salary(
        "2026-06-01",
        "fixed",
        Some("MONTHLY"),
        "4600.00",
    );
    for number in 1..12 {
        w.add_employee(1001 + number);
    }
    let plan = w.plan();
    assert!(plan.n_writes() >= 12 * 4, "{:?}", descriptions(&plan));
    assert_eq!(plan.guard.destructive_writes, 0);
    assert!(!plan.guard.exceeded);
}

#[test]
fn g5_a_failed_company_wide_read_is_never_called_a_configuration_error() {
    let w = busy_world();
    let (mut personio, mut loket) = w.states();
    // The types could not be read, nor one year's catalogue: the mappings name types and components that
    // look missing, but only because the read is incomplete.
    personio.compensation_types.clear();
    personio.failed_reads.push("Personio compensation types: the answer cannot be read".to_string());
    loket.components.clear();
    loket.failed_reads.push("Loket payroll components of 2026: Loket answered 500".to_string());
    let plan = engine::plan(&personio, &loket, &w.scenario.engine_config(), w.scenario.today, false);
    assert!(plan.config_errors.is_empty(), "{:?}", plan.config_errors);
    let issue = only_issue(&plan, IssueCode::ReadFailed);
    assert!(
        issue.message.contains("Personio compensation types") && issue.message.contains("payroll components of 2026")
    );
    assert_eq!(plan.n_writes(), 0);
}
