//! Histories rebuilt from month windows: the engine plans the same from the API as from the file.

use engine::state::{PersonioState, RecurringRecord};
use jiff::civil::Date;
use personio::read_state;
use rust_decimal::Decimal;
use scenario::Scenario;

use crate::support::*;

fn d(text: &str) -> Date {
    text.parse().unwrap()
}

async fn read(scenario: &Scenario) -> PersonioState {
    let h = harness(scenario.personio.clone()).await;
    let config = scenario.engine_config();
    let horizon = config.horizon(scenario.today);
    let (state, report) =
        read_state(&h.client, &scenario.personio.legal_entity.id, config.compensation_start_date, horizon).await;
    assert!(state.failed_reads.is_empty(), "{:?}", state.failed_reads);
    assert!(report.total_requests() > report.windows);
    state
}

fn plan_lines(scenario: &Scenario, personio: &PersonioState) -> Vec<String> {
    let loket = scenario.loket.to_state().unwrap();
    let plan = engine::plan(personio, &loket, &scenario.engine_config(), scenario.today, false);
    plan.writes()
        .map(|write| format!("{} {}", write.rule, write.describe()))
        .chain(plan.issues.iter().map(|issue| format!("{} {:?} {}", issue.code, issue.person, issue.message)))
        .chain(plan.config_errors.iter().map(|error| error.to_string()))
        .collect()
}

#[tokio::test]
async fn every_scenario_plans_the_same_from_the_api_as_from_the_file() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    for path in files.iter().filter(|path| path.extension().is_some_and(|extension| extension == "json")) {
        let scenario = Scenario::load(path).unwrap();
        let from_api = read(&scenario).await;
        let from_file = scenario.personio.to_state().unwrap();
        assert_eq!(plan_lines(&scenario, &from_api), plan_lines(&scenario, &from_file), "{}", path.display());
    }
}

fn recurring(state: &PersonioState, person: u64) -> Vec<(Date, Decimal)> {
    let person = state.persons.iter().find(|candidate| candidate.id.0 == person).unwrap();
    let mut records: Vec<&RecurringRecord> = person.recurring.iter().collect();
    records.sort_by_key(|record| record.effective_from);
    records.iter().map(|record| (record.effective_from, record.amount.value)).collect()
}

#[tokio::test]
async fn a_recurring_compensation_ended_mid_month_ends_with_that_month() {
    let mut scenario = scenario_file("07-recurring-ends-open-historical-record.json");
    let person = &mut scenario.personio.persons[0];
    person.recurring.push(serde_json::from_value(serde_json::json!({"type": "Car allowance", "effective_from": "2026-05-15", "interval": "MONTHLY", "value": "0.00", "currency": "EUR"})).unwrap());
    person.recurring.push(serde_json::from_value(serde_json::json!({"type": "Car allowance", "effective_from": "2026-08-01", "interval": "MONTHLY", "value": "300.00", "currency": "EUR"})).unwrap());
    let state = read(&scenario).await;
    assert_eq!(
        recurring(&state, 1007),
        [
            (d("2025-01-01"), Decimal::new(25000, 2)),
            (d("2026-06-01"), Decimal::ZERO),
            (d("2026-08-01"), Decimal::new(30000, 2))
        ]
    );
    assert_eq!(plan_lines(&scenario, &state), plan_lines(&scenario, &scenario.personio.to_state().unwrap()));
    let loket = scenario.loket.to_state().unwrap();
    let plan = engine::plan(&state, &loket, &scenario.engine_config(), scenario.today, false);
    assert!(
        plan.writes().any(|write| write.describe() == "add component 7010 of €250.00 from 1 Jan 2026 to 31 May 2026"),
        "{:?}",
        plan.writes().map(|write| write.describe()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_salary_change_mid_month_and_one_time_payments_across_months() {
    let mut scenario = scenario_file("11-one-time-accumulation.json");
    let person = &mut scenario.personio.persons[0];
    person.salaries.push(serde_json::from_value(serde_json::json!({"effective_from": "2026-03-10", "kind": "fixed", "interval": "MONTHLY", "value": "3300.00", "currency": "EUR"})).unwrap());
    person.one_time.push(
        serde_json::from_value(
            serde_json::json!({"type": "Bonus", "date": "2026-04-02", "value": "15.00", "currency": "EUR"}),
        )
        .unwrap(),
    );
    let state = read(&scenario).await;
    let person = &state.persons[0];
    let salaries: Vec<(Date, Decimal)> =
        person.salaries.iter().map(|salary| (salary.effective_from, salary.amount.value)).collect();
    assert_eq!(salaries.len(), 2, "{salaries:?}");
    assert!(salaries.contains(&(d("2026-03-10"), Decimal::new(330000, 2))));
    let mut payments: Vec<(Date, Decimal)> =
        person.one_time.iter().map(|payment| (payment.date, payment.amount.value)).collect();
    payments.sort();
    assert_eq!(payments.len(), 4);
    assert_eq!(payments[3], (d("2026-04-02"), Decimal::new(1500, 2)));
    assert_eq!(plan_lines(&scenario, &state), plan_lines(&scenario, &scenario.personio.to_state().unwrap()));
}

#[tokio::test]
async fn a_month_with_more_than_100_items_is_read_across_pages() {
    let mut scenario = scenario_file("11-one-time-accumulation.json");
    let template = scenario.personio.persons[0].clone();
    for index in 0..110u64 {
        let mut person = template.clone();
        person.id = 5000 + index;
        scenario.personio.persons.push(person);
    }
    let h = harness(scenario.personio.clone()).await;
    let items = h.client.compensations(d("2026-02-01"), d("2026-02-28"), "1").await.unwrap();
    // Per person a salary and three bonuses in February.
    assert_eq!(items.len(), 111 * 4);
    assert!(h.client.request_counts()["GET /v2/compensations"] >= 5);
    let persons = h.client.persons().await.unwrap();
    assert_eq!(persons.len(), 111);
}

#[tokio::test]
async fn a_failed_window_fails_the_whole_read() {
    let scenario = scenario_file("11-one-time-accumulation.json");
    let h = harness_with(scenario.personio.clone(), |settings| settings.max_retries = 0).await;
    // One window read fails (after its retries); everything else passes.
    let config = scenario.engine_config();
    let faults = emulator::Faults {
        error_status: 503,
        fail_first: 1,
        fail_route: Some("GET /v2/compensations".to_string()),
        ..Default::default()
    };
    h.emulator.set_faults(faults).unwrap();
    let (state, _) = read_state(&h.client, "1", config.compensation_start_date, config.horizon(scenario.today)).await;
    assert_eq!(state.failed_reads.len(), 1, "{:?}", state.failed_reads);
    assert!(
        state.persons.iter().all(|person| person.salaries.is_empty() && person.one_time.is_empty()),
        "no partial history"
    );
    let plan = engine::plan(&state, &scenario.loket.to_state().unwrap(), &config, scenario.today, false);
    assert_eq!(plan.n_writes(), 0);
    assert!(plan.issues.iter().any(|issue| issue.code == engine::IssueCode::ReadFailed && issue.person.is_none()));
}

#[test]
fn a_type_of_an_unknown_category_is_kept_as_unsupported_not_dropped() {
    use engine::state::TypeCategory;
    use personio::wire::CompensationType;
    let kind = |id: &str, category: &str| CompensationType {
        id: id.to_string(),
        name: format!("type {id}"),
        category: category.to_string(),
        unit: None,
    };
    let types =
        personio::history::types_to_domain(&[kind("a", "ONE_TIME"), kind("b", "BONUS"), kind("c", "RECURRING")]);
    let categories: Vec<(&str, TypeCategory)> = types.iter().map(|kind| (kind.id.as_str(), kind.category)).collect();
    assert_eq!(
        categories,
        vec![("a", TypeCategory::OneTime), ("b", TypeCategory::Unsupported), ("c", TypeCategory::Recurring)]
    );
}
