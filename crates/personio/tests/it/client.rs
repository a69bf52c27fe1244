//! The client against the local Personio and against hand-written fixtures; bad input gets the documented
//! 4xx.

use std::time::Duration;

use axum::routing::get;
use rust_decimal::Decimal;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_endpoint_with_paging() {
    let scenario = scenario_file("19-people-who-cannot-be-matched.json");
    let h = harness(scenario.personio.clone()).await;
    let persons: Vec<personio::wire::Person> =
        h.client.get_all("/v2/persons", &[("limit", "1".to_string())]).await.unwrap();
    assert_eq!(persons.len(), 2);
    assert_eq!(h.client.request_counts()["GET /v2/persons"], 2, "one page per person");
    assert_eq!(
        persons[1]
            .custom_attributes
            .iter()
            .find(|attribute| attribute.label == "Employee number - Loket")
            .unwrap()
            .value,
        json!("2020")
    );
    let employments = h.client.employments(&persons[0].id).await.unwrap();
    assert_eq!(employments[0].legal_entity.id, "1");
    let entities = h.client.legal_entities().await.unwrap();
    assert_eq!(entities.len(), 2);
    let types = h.client.compensation_types().await.unwrap();
    assert!(types.iter().any(|kind| kind.name == "Fixed salary" && kind.category == "FIXED_SALARY"));
    assert!(types.iter().any(|kind| kind.name == "Mileage" && kind.unit.as_deref() == Some("km")));
    let items =
        h.client.compensations("2026-03-01".parse().unwrap(), "2026-03-31".parse().unwrap(), "1").await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].amount.value, Decimal::new(330000, 2));
    assert_eq!(items[0].weekly_working_hours, Some(Decimal::from(40)));
    assert_eq!(h.client.request_counts()["POST /v2/auth/token"], 1, "the token is cached");
}

#[tokio::test]
async fn a_429_backs_off_from_one_second() {
    let scenario = scenario_file("01-monthly-salary-first-sync.json");
    let h = harness(scenario.personio.clone()).await;
    h.emulator.set_faults(emulator::Faults { error_status: 429, fail_first: 2, ..Default::default() }).unwrap();
    assert_eq!(h.client.legal_entities().await.unwrap().len(), 2);
    let waits = h.sleeper.waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 2);
    assert!(waits[0] >= Duration::from_secs(1) && waits[1] >= Duration::from_secs(2), "{waits:?}");
}

#[tokio::test]
async fn the_rate_limit_headers_pace_the_requests() {
    // The local Personio sends the headers under its rate limit: one request uses one token.
    let scenario = scenario_file("01-monthly-salary-first-sync.json");
    let h = harness(scenario.personio.clone()).await;
    h.emulator.set_faults(emulator::Faults { rate_limit_per_second: Some(1000), ..Default::default() }).unwrap();
    h.client.legal_entities().await.unwrap();
    assert!(h.client.pause().is_none(), "tokens left: no pause");
    let token: personio::wire::TokenResponse = reqwest::Client::new()
        .post(format!("{}/v2/auth/token", h.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "loket-sync-demo"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    h.emulator.set_faults(emulator::Faults { rate_limit_per_second: Some(1000), ..Default::default() }).unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/v2/legal-entities", h.url()))
        .bearer_auth(&token.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-ratelimit-remaining"], "999");
    assert_eq!(answer.headers()["x-ratelimit-replenish-rate"], "1000");

    // An empty bucket (a server that says so every time) pauses the next request one replenish interval.
    let router = axum::Router::new()
        .route(
            "/v2/auth/token",
            axum::routing::post(|| async {
                axum::Json(json!({"access_token": "papi-x", "token_type": "Bearer", "expires_in": 86400, "scope": ""}))
            }),
        )
        .route(
            "/v2/legal-entities",
            get(|| async {
                (
                    [("x-ratelimit-remaining", "0"), ("x-ratelimit-replenish-rate", "2")],
                    axum::Json(json!({"_data": [], "_meta": {"links": {}}})),
                )
            }),
        );
    let running = emulator::start(router).await.unwrap();
    let client = personio::PersonioClient::new(settings(&running.url())).unwrap();
    client.legal_entities().await.unwrap();
    let pause = client.pause().expect("an empty bucket pauses the next request");
    assert!(
        pause <= Duration::from_millis(500) && pause > Duration::from_millis(100),
        "one interval at 2 per second: {pause:?}"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let scenario = scenario_file("01-monthly-salary-first-sync.json");
    let h = harness(scenario.personio.clone()).await;
    h.client.legal_entities().await.unwrap();
    let http = reqwest::Client::new();
    let token: personio::wire::TokenResponse = http
        .post(format!("{}/v2/auth/token", h.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "loket-sync-demo"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(token.access_token.starts_with("papi-"));
    http.post(format!("{}/v2/auth/revoke", h.url()))
        .form(&[("token", token.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(h.client.legal_entities().await.unwrap().len(), 2);
    assert_eq!(h.client.request_counts()["POST /v2/auth/token"], 2);
}

#[tokio::test]
async fn bad_input_gets_the_documented_4xx() {
    let scenario = scenario_file("01-monthly-salary-first-sync.json");
    let h = harness(scenario.personio.clone()).await;
    let http = reqwest::Client::new();
    let token = |scope: Option<&str>| {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", "loket-sync-demo"),
            ("client_secret", "demo-secret"),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        http.post(format!("{}/v2/auth/token", h.url())).form(&form).send()
    };
    let full: personio::wire::TokenResponse = token(None).await.unwrap().json().await.unwrap();
    let narrow: personio::wire::TokenResponse =
        token(Some("personio:persons:read")).await.unwrap().json().await.unwrap();
    let get = |path: &str, bearer: &str| http.get(format!("{}/v2{path}", h.url())).bearer_auth(bearer).send();
    let cases = vec![
        ("a limit out of range", get("/persons?limit=51", &full.access_token).await.unwrap(), 400),
        (
            "a limit of zero",
            get("/compensations?start_date=2026-01-01&end_date=2026-01-31&limit=0", &full.access_token).await.unwrap(),
            400,
        ),
        (
            "a window over a month",
            get("/compensations?start_date=2026-01-01&end_date=2026-03-01", &full.access_token).await.unwrap(),
            400,
        ),
        (
            "a malformed date",
            get("/compensations?start_date=2026-13-01&end_date=2026-01-31", &full.access_token).await.unwrap(),
            400,
        ),
        (
            "an end before the start",
            get("/compensations?start_date=2026-02-01&end_date=2026-01-31", &full.access_token).await.unwrap(),
            400,
        ),
        ("a cursor not handed out", get("/persons?cursor=abc", &full.access_token).await.unwrap(), 400),
        ("an unknown person", get("/persons/999/employments", &full.access_token).await.unwrap(), 404),
        ("no token", http.get(format!("{}/v2/persons", h.url())).send().await.unwrap(), 401),
        (
            "a missing scope",
            get("/compensations?start_date=2026-01-01&end_date=2026-01-31", &narrow.access_token).await.unwrap(),
            403,
        ),
        ("an unknown scope", token(Some("personio:everything")).await.unwrap(), 400),
        (
            "a wrong secret",
            http.post(format!("{}/v2/auth/token", h.url()))
                .form(&[("grant_type", "client_credentials"), ("client_id", "loket-sync-demo"), ("client_secret", "x")])
                .send()
                .await
                .unwrap(),
            401,
        ),
        (
            "a JSON token request",
            http.post(format!("{}/v2/auth/token", h.url()))
                .json(&json!({"grant_type": "client_credentials"}))
                .send()
                .await
                .unwrap(),
            400,
        ),
    ];
    for (what, response, status) in cases {
        assert_eq!(response.status().as_u16(), status, "{what}");
        if status != 400 || !what.contains("token") {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(body.get("errors").is_some() || body.get("error").is_some(), "{what}: {body}");
        }
    }
    // The client says what to fix.
    let error =
        h.client.get_all::<serde_json::Value>("/v2/persons", &[("limit", "500".to_string())]).await.unwrap_err();
    assert!(error.to_string().contains("limit must be a whole number from 1 to 50"), "{error}");
}

#[tokio::test]
async fn hand_written_fixtures_parse_exactly() {
    let router = axum::Router::new()
        .route(
            "/v2/auth/token",
            axum::routing::post(|| async { axum::Json(json!({"access_token": "papi-fixture", "token_type": "Bearer", "expires_in": 86400, "scope": "personio:compensations:read"})) }),
        )
        .route(
            "/v2/compensations",
            get(|axum::extract::RawQuery(query): axum::extract::RawQuery| async move {
                let second = query.unwrap_or_default().contains("cursor=");
                let next = if second { json!({}) } else { json!({"next": {"href": "http://127.0.0.1:1/ignored"}}) };
                let _ = next;
                if second {
                    axum::Json(json!({"_data": [
                        {"id": "c2", "person": {"id": "7"}, "type": {"id": "t1", "name": "Bonus", "category": "ONE_TIME"},
                         "amount": {"value": 0.1, "currency": "EUR"}, "effective_from": "2026-01-20"}
                    ], "_meta": {"links": {"self": {"href": "/v2/compensations?cursor=cur_2"}}}}))
                } else {
                    axum::Json(json!({"_data": [
                        {"id": "c1", "person": {"id": "7"}, "legal_entity": {"id": "1"},
                         "type": {"id": "t0", "name": "Fixed salary", "category": "FIXED_SALARY"},
                         "amount": {"value": 1234.5, "currency": "EUR"}, "interval": "MONTHLY", "effective_from": "2025-06-01",
                         "weekly_working_hours": 32, "full_time_weekly_working_hours": 40}
                    ], "_meta": {"links": {"self": {"href": "/v2/compensations"}, "next": {"href": "/v2/compensations?cursor=cur_2&limit=100"}}}}))
                }
            }),
        );
    let running = emulator::start(router).await.unwrap();
    let client = personio::PersonioClient::new(settings(&running.url())).unwrap();
    let items = client.compensations("2026-01-01".parse().unwrap(), "2026-01-31".parse().unwrap(), "1").await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].amount.value.to_string(), "1234.5");
    assert_eq!(items[1].amount.value.to_string(), "0.1");
    assert_eq!(items[0].weekly_working_hours, Some(Decimal::from(32)));
}
