//! The emulators' admin endpoints: state seeded and dumped in the scenario format, request counts by route
//! template, fault settings, and clear refusals of bad admin input.

use emulator::{LoketEmulator, PersonioEmulator};
use scenario::Scenario;
use serde_json::{Value, json};

/// A plain HTTP client (reqwest is built without a TLS provider; install the one the project uses).
fn http() -> reqwest::Client {
    loket::client::install_crypto_provider();
    reqwest::Client::new()
}

fn scenario() -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/12-absent-one-time-is-deleted.json");
    Scenario::load(std::path::Path::new(path)).unwrap()
}

#[tokio::test]
async fn loket_state_round_trips_and_requests_are_counted_by_route() {
    let scenario = scenario();
    let emulator = LoketEmulator::new(scenario.loket.clone()).unwrap();
    let running = emulator::start(emulator.router()).await.unwrap();
    let http = http();
    let dumped: scenario::LoketSection =
        http.get(format!("{}/_emulator/state", running.url())).send().await.unwrap().json().await.unwrap();
    assert!(scenario::compare_loket(&scenario.loket.employments, &dumped.employments).is_empty());
    assert_eq!(dumped.components, scenario.loket.components);

    let token = emulator.issue_tokens().access_token;
    let employments =
        format!("{}/v2/providers/employers/{}/employees/employments", running.url(), emulator.employer_id());
    http.get(&employments).bearer_auth(&token).send().await.unwrap();
    let wage = format!("{}/v2/providers/employers/employees/employments/wages/unknown", running.url());
    http.delete(&wage).bearer_auth(&token).send().await.unwrap();
    let counts: Value =
        http.get(format!("{}/_emulator/requests", running.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(counts["requests"]["GET /v2/providers/employers/{employer_id}/employees/employments"], 1, "{counts}");
    assert_eq!(
        counts["requests"]["DELETE /v2/providers/employers/employees/employments/wages/{wage_id}"], 1,
        "{counts}"
    );
    assert_eq!(counts["writes"], 1, "a refused write counts too");

    // Loading a changed state replaces it and resets the counts; the token stays valid.
    let mut changed = scenario.loket.clone();
    changed.employments[0].payroll_period_data.clear();
    let answer = http.put(format!("{}/_emulator/state", running.url())).json(&changed).send().await.unwrap();
    assert_eq!(answer.status(), 204);
    assert_eq!(emulator.writes(), 0);
    assert!(emulator.dump().employments[0].payroll_period_data.is_empty());
    assert_eq!(http.get(&employments).bearer_auth(&token).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn bad_admin_input_is_refused_with_a_reason() {
    let scenario = scenario();
    let loket = LoketEmulator::new(scenario.loket.clone()).unwrap();
    let personio = PersonioEmulator::new(scenario.personio.clone()).unwrap();
    let loket_running = emulator::start(loket.router()).await.unwrap();
    let personio_running = emulator::start(personio.router()).await.unwrap();
    let http = http();
    for url in [loket_running.url(), personio_running.url()] {
        let faults =
            http.put(format!("{url}/_emulator/faults")).json(&json!({"error_rate": 2.0})).send().await.unwrap();
        assert_eq!(faults.status(), 400);
        assert!(faults.text().await.unwrap().contains("error_rate must be between 0 and 1"));
        let state = http.put(format!("{url}/_emulator/state")).body("{\"nope\": 1}").send().await.unwrap();
        assert_eq!(state.status(), 400);
        let good = http
            .put(format!("{url}/_emulator/faults"))
            .json(&json!({"latency_ms": 1, "seed": 7}))
            .send()
            .await
            .unwrap();
        assert_eq!(good.status(), 204);
    }
    // A Personio section whose record names an unknown type is refused, and the old state stays.
    let mut broken = scenario.personio.clone();
    broken.persons[0]
        .one_time
        .push(serde_json::from_value(json!({"type": "Nope", "date": "2026-01-01", "value": "1.00"})).unwrap());
    let answer = http.put(format!("{}/_emulator/state", personio_running.url())).json(&broken).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("Nope"));
    assert_eq!(personio.dump(), scenario.personio);
}

#[tokio::test]
async fn a_seed_with_an_impossible_year_is_refused_not_a_panic() {
    let mut section = scenario().loket;
    section.period_years = vec![2026, 12000];
    let error = LoketEmulator::new(section.clone()).err().expect("refused");
    assert!(error.to_string().contains("12000 is not a payroll year"), "{error}");
    let emulator = LoketEmulator::new(scenario().loket).unwrap();
    let running = emulator::start(emulator.router()).await.unwrap();
    let answer = http().put(format!("{}/_emulator/state", running.url())).json(&section).send().await.unwrap();
    assert_eq!(answer.status(), 400);
}
