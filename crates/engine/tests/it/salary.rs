//! S rules: salary to the Loket basic wage.

use engine::{IssueCode, Severity};

use crate::support::*;

fn s(start: &str, kind: &str, amount: &str) -> (String, String, String) {
    (start.to_string(), kind.to_string(), amount.to_string())
}

#[test]
fn s1_salary_switch_off_writes_no_wage() {
    let mut w = world();
    w.only_salary("2020-01-01", "fixed", Some("MONTHLY"), "4800.00");
    w.config().salary = false;
    assert!(w.plan().n_writes() == 0);
    w.config().salary = true;
    assert_eq!(descriptions(&w.plan()), ["S9 add basic wage €4,800.00 per period from 1 Jan 2026"]);
}

#[test]
fn s2_salary_lasts_until_the_next_one_starts() {
    let mut w = world();
    w.salary("2026-02-15", "fixed", Some("MONTHLY"), "4200.00").salary(
        "2026-05-01",
        "fixed",
        Some("MONTHLY"),
        "4400.00",
    );
    let (_, loket) = w.sync();
    assert_eq!(
        wages(&loket),
        [
            s("2020-01-01", "periodic", "4000.00"),
            s("2026-02-15", "periodic", "4200.00"),
            s("2026-05-01", "periodic", "4400.00")
        ]
    );
}

#[test]
fn s2_input_order_of_salaries_does_not_matter() {
    let mut w = world();
    w.salary("2026-05-01", "fixed", Some("MONTHLY"), "4400.00").salary(
        "2026-02-15",
        "fixed",
        Some("MONTHLY"),
        "4200.00",
    );
    w.person().salaries.reverse();
    let first = w.plan();
    w.person().salaries.reverse();
    assert_eq!(first, w.plan());
}

#[test]
fn s3_yearly_salary_is_divided_by_12_half_away_from_zero() {
    let mut w = world();
    w.only_salary("2025-01-01", "fixed", Some("YEARLY"), "49999.98");
    let (_, loket) = w.sync();
    assert_eq!(wages(&loket)[1], s("2026-01-01", "periodic", "4166.67"));
}

#[test]
fn s3_hourly_salary_goes_to_the_hourly_wage() {
    let mut w = world();
    w.only_salary("2024-09-01", "hourly", None, "25.50");
    let (_, loket) = w.sync();
    assert_eq!(wages(&loket)[1], s("2026-01-01", "hourly", "25.50"));
}

#[test]
fn s3_four_weekly_administration_divides_the_yearly_amount_by_13() {
    let mut w = world();
    w.scenario.loket.payroll_period_type = scenario::PeriodType::FourWeeks;
    w.scenario.loket.approved_through = None;
    w.only_salary("2020-01-01", "fixed", Some("MONTHLY"), "4333.33");
    // 4333.33 × 12 / 13 = 3999.996… → 4000.00
    assert!(w.plan().n_writes() == 0, "{:?}", descriptions(&w.plan()));
    w.only_salary("2020-01-01", "fixed", Some("YEARLY"), "52000.00");
    assert!(w.plan().n_writes() == 0, "52000 / 13 = 4000");
}

#[test]
fn s3_weekly_administration_divides_the_yearly_amount_by_52() {
    let mut w = world();
    w.scenario.loket.payroll_period_type = scenario::PeriodType::Week;
    w.scenario.loket.approved_through = None;
    w.only_salary("2020-01-01", "fixed", Some("YEARLY"), "52000.00");
    assert_eq!(descriptions(&w.plan()), ["S9 add basic wage €1,000.00 per period from 1 Jan 2026"]);
}

#[test]
fn s3_quarterly_salary_fails_the_employee() {
    let mut w = world();
    w.salary("2026-04-01", "fixed", Some("QUARTERLY"), "13000.00").recurring("Car allowance", "2026-01-01", "100.00");
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::UnsupportedInterval);
    assert_eq!(issue.severity, Severity::Error);
    assert!(issue.message.contains("quarterly"), "{}", issue.message);
    assert_eq!(plan.n_writes(), 0);
    assert!(plan.employments[0].failed);
}

#[test]
fn s3_wage_out_of_range_fails_the_employee() {
    let mut w = world();
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "1000000.00");
    let plan = w.plan();
    assert_eq!(only_issue(&plan, IssueCode::ValueOutOfRange).severity, Severity::Error);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn s4_full_time_amount_is_synced_whatever_the_hours() {
    let mut w = world();
    w.person().employment.weekly_hours = Some(dec("20"));
    w.person().employment.full_time_weekly_hours = Some(dec("40"));
    w.salary("2026-03-01", "fixed", Some("MONTHLY"), "5000.00");
    assert_eq!(descriptions(&w.plan()), ["S9 add basic wage €5,000.00 per period from 1 Mar 2026"]);
}

#[test]
fn s5_salary_gap_message() {
    let mut w = world();
    w.only_salary("2026-01-15", "fixed", Some("MONTHLY"), "3900.00").recurring("Car allowance", "2026-01-01", "150.00");
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::SalaryGap);
    assert_eq!(issue.severity, Severity::Error);
    assert_eq!(
        issue.message,
        "Cannot sync base salary because no salary was found for 1 Jan 2026 to 14 Jan 2026. Add a salary in Personio with a start date 1 Jan 2026 and sync again."
    );
    assert_eq!(plan.n_writes(), 0, "nothing at all is written, not the car allowance either");
    assert_eq!(withheld(&plan), ["salary_gap: R7 add component 7010 of €150.00 from 1 Jan 2026"]);
}

#[test]
fn s5_no_salary_at_all_names_the_whole_window() {
    let mut w = world();
    w.person().salaries.clear();
    let plan = w.plan();
    assert_eq!(
        only_issue(&plan, IssueCode::SalaryGap).message,
        "Cannot sync base salary because no salary was found for 1 Jan 2026 to 31 Mar 2027. Add a salary in Personio with a start date 1 Jan 2026 and sync again."
    );
}

#[test]
fn s5_new_hire_chain_starts_on_the_first_day_of_employment() {
    let mut w = world();
    w.person().employment.start = Some(d("2026-03-01"));
    w.employment().start = d("2026-03-01");
    w.employment().wages.clear();
    w.only_salary("2026-03-10", "fixed", Some("MONTHLY"), "3200.00");
    let issue = only_issue(&w.plan(), IssueCode::SalaryGap).clone();
    assert!(issue.message.contains("1 Mar 2026 to 9 Mar 2026"), "{}", issue.message);
}

#[test]
fn s6_salary_in_usd_fails_the_employee_without_a_gap() {
    let mut w = world();
    w.only_salary("2026-01-01", "fixed", Some("MONTHLY"), "5000.00");
    w.person().salaries[0].currency = Some("USD".to_string());
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::CurrencyNotEur, Severity::Error)]);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn s7_consecutive_equal_wages_merge() {
    let mut w = world();
    w.salary("2026-02-01", "fixed", Some("YEARLY"), "48000.00").salary(
        "2026-03-01",
        "fixed",
        Some("MONTHLY"),
        "4500.00",
    );
    // 48000 / 12 = 4000: the same wage as before, so only the March change is written.
    assert_eq!(descriptions(&w.plan()), ["S9 add basic wage €4,500.00 per period from 1 Mar 2026"]);
}

#[test]
fn s8_historical_wages_are_never_changed() {
    let mut w = world();
    w.wage("2025-06-01", "4100.00");
    w.only_salary("2019-04-01", "fixed", Some("MONTHLY"), "4200.00");
    let (_, loket) = w.sync();
    assert_eq!(
        wages(&loket),
        [
            s("2020-01-01", "periodic", "4000.00"),
            s("2025-06-01", "periodic", "4100.00"),
            s("2026-01-01", "periodic", "4200.00")
        ]
    );
}

#[test]
fn s8_equal_historical_wage_simply_continues() {
    let w = world();
    assert_eq!(w.plan().n_writes(), 0);
}

#[test]
fn s8_equal_managed_wage_at_the_start_is_left_alone() {
    let mut w = world();
    w.wage("2026-01-01", "4000.00");
    assert_eq!(w.plan().n_writes(), 0, "{:?}", descriptions(&w.plan()));
}

#[test]
fn s8_needless_managed_wage_at_the_start_is_deleted() {
    let mut w = world();
    w.wage("2026-01-01", "3000.00");
    assert_eq!(descriptions(&w.plan()), ["S9 delete basic wage €3,000.00 per period from 1 Jan 2026"]);
}

#[test]
fn s9_same_start_not_equal_is_a_put() {
    let mut w = world();
    w.wage("2026-04-01", "5000.00").salary("2026-04-01", "fixed", Some("MONTHLY"), "5100.00");
    assert_eq!(
        descriptions(&w.plan()),
        ["S9 change basic wage from €5,000.00 per period to €5,100.00 per period from 1 Apr 2026"]
    );
}

#[test]
fn s9_post_before_a_managed_wage_deletes_it_and_posts_in_date_order() {
    let mut w = world();
    w.wage("2026-06-01", "4600.00");
    w.salary("2026-03-01", "fixed", Some("MONTHLY"), "4300.00").salary(
        "2026-06-01",
        "fixed",
        Some("MONTHLY"),
        "4600.00",
    );
    let plan = w.plan();
    assert_eq!(
        descriptions(&plan),
        [
            "S9 delete basic wage €4,600.00 per period from 1 Jun 2026",
            "S9 add basic wage €4,300.00 per period from 1 Mar 2026",
            "S9 add basic wage €4,600.00 per period from 1 Jun 2026",
        ]
    );
    let (_, loket) = w.sync();
    assert_eq!(wages(&loket).len(), 3);
}

#[test]
fn s9_periodic_to_hourly_is_a_change() {
    let mut w = world();
    w.only_salary("2020-01-01", "hourly", None, "4000.00");
    assert_eq!(descriptions(&w.plan()), ["S9 add basic wage €4,000.00 per hour from 1 Jan 2026"]);
}

#[test]
fn s10_overwriting_a_pay_scale_warns_when_sent() {
    let mut w = world();
    w.employment().wages[0].pay_scale = Some("CAO Horeca 4".to_string());
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    let plan = w.plan();
    assert_eq!(codes(&plan), [(IssueCode::SalaryScaleOverwritten, Severity::Warning)]);
    assert!(plan.issues[0].message.contains("CAO Horeca 4"));
}

#[test]
fn s10_no_scale_warning_when_nothing_is_sent() {
    let mut w = world();
    w.employment().wages[0].pay_scale = Some("CAO Horeca 4".to_string());
    w.salary("2026-02-01", "fixed", Some("MONTHLY"), "4200.00");
    w.employment().end = Some(d("2026-02-28"));
    w.person().employment.end = Some(d("2026-02-28"));
    let plan = w.plan();
    assert!(issues_with(&plan, IssueCode::SalaryScaleOverwritten).is_empty(), "{:#?}", plan.issues);
    assert_eq!(issues_with(&plan, IssueCode::EmploymentTerminated).len(), 1);
}

#[test]
fn s11_holiday_allowance_is_never_computed() {
    // The synced wage is the Personio salary as it is: no 8% is added or removed.
    let mut w = world();
    w.salary("2026-04-01", "fixed", Some("YEARLY"), "60000.00");
    assert_eq!(descriptions(&w.plan()), ["S9 add basic wage €5,000.00 per period from 1 Apr 2026"]);
}

#[test]
fn s12_wage_after_horizon_blocks_a_post_before_it() {
    let mut w = world();
    w.wage("2027-06-01", "4700.00");
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    let plan = w.plan();
    let issue = only_issue(&plan, IssueCode::WageAfterHorizon);
    assert_eq!(issue.severity, Severity::Warning);
    assert!(issue.message.contains("1 Jun 2027"), "{}", issue.message);
    assert_eq!(plan.n_writes(), 0);
}

#[test]
fn s12_wage_after_horizon_is_never_touched() {
    let mut w = world();
    w.wage("2027-06-01", "4700.00");
    w.employment().wages.push(
        serde_json::from_value(
            serde_json::json!({"start": "2026-04-01", "type": "periodic", "amount": "4100.00", "pay_scale": null}),
        )
        .unwrap(),
    );
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "4200.00");
    let (_, loket) = w.sync();
    let all = wages(&loket);
    assert!(all.contains(&s("2027-06-01", "periodic", "4700.00")));
    assert!(all.contains(&s("2026-04-01", "periodic", "4200.00")), "a PUT needs no append: {all:?}");
}

#[test]
fn s4_a_managed_wage_that_is_not_full_time_is_replaced_by_a_full_time_one() {
    let mut w = world();
    w.salary("2026-02-01", "fixed", Some("MONTHLY"), "4200.00");
    w.wage("2026-02-01", "4200.00");
    w.employment().wages[1].full_time = false;
    let (plan, loket) = w.sync();
    assert_eq!(
        descriptions(&plan),
        [
            "S9 delete basic wage €4,200.00 per period from 1 Feb 2026",
            "S9 add basic wage €4,200.00 per period from 1 Feb 2026"
        ]
    );
    let issue = only_issue(&plan, IssueCode::WageNotFullTime);
    assert!(issue.message.contains("1 Feb 2026"), "{}", issue.message);
    assert!(loket[0].wages.iter().all(|wage| wage.full_time));
}

#[test]
fn s4_a_historical_wage_that_is_not_full_time_does_not_continue_into_the_window() {
    let mut w = world();
    w.employment().wages[0].full_time = false;
    let (plan, loket) = w.sync();
    assert_eq!(descriptions(&plan), ["S9 add basic wage €4,000.00 per period from 1 Jan 2026"]);
    assert!(issues_with(&plan, IssueCode::WageNotFullTime).is_empty(), "the historical wage is not touched");
    assert!(!loket[0].wages[0].full_time && loket[0].wages[1].full_time);
}
