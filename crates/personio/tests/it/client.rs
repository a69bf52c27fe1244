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
    // Served as Personio's v2 API does: by id, without a label.
    let id = scenario.personio.attribute_definition("Employee number - Loket").id;
    let attribute = persons[1].custom_attributes.iter().find(|attribute| attribute.id == id).unwrap();
    assert_eq!((attribute.value.clone(), attribute.label.clone()), (json!("2020"), None));
    assert!(id.starts_with("dynamic_"), "{id}");
    let employments = h.client.employments(&persons[0].id).await.unwrap();
    assert_eq!(employments[0].legal_entity.as_ref().unwrap().id, "1");
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
    let token = demo_token(&reqwest::Client::new(), &h.url()).await;
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
    let token: personio::wire::TokenResponse = demo_token(&http, &h.url()).await;
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
            400,
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
        if what == "a wrong secret" {
            // Personio's credentials document: 400 problem+json, `unauthorized_client`.
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let body: personio::wire::OAuthError = response.json().await.unwrap();
            assert_eq!(body.error, "unauthorized_client");
            assert!(body.trace_id.is_some() && body.timestamp.is_some() && body.error_uri.is_some());
            continue;
        }
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

/// The persons example of Personio's own persons document (`dynamic_305`), on two pages joined by an
/// absolute next link that carries only the cursor, as Personio's examples give it.
#[tokio::test]
async fn personios_own_persons_example_and_a_cursor_only_next_link() {
    let queries = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&queries);
    let router = axum::Router::new()
        .route("/v2/auth/token", fixture_token())
        .route(
            "/v2/persons",
            get(move |axum::extract::RawQuery(query): axum::extract::RawQuery, headers: axum::http::HeaderMap| {
                let seen = std::sync::Arc::clone(&seen);
                async move {
                    let query = query.unwrap_or_default();
                    seen.lock().unwrap().push(query.clone());
                    let host = headers["host"].to_str().unwrap().to_string();
                    if query.contains("cursor=") {
                        axum::Json(json!({"_data": [
                            {"id": "3004", "first_name": "Sam", "last_name": "Doe", "status": "ACTIVE",
                             "custom_attributes": [
                                {"id": "dynamic_2001", "type": "INT", "value": 1042, "global_id": "loket_number"},
                                {"id": "dynamic_2003", "type": "STRING_LIST", "value": ["a", "b"], "global_id": "tags"}
                             ],
                             "employments": []}
                        ], "_meta": {"links": {"self": {"href": format!("http://{host}/v2/persons?cursor=cur_82sQwR2eZvKilo2")}}}}))
                    } else {
                        axum::Json(json!({"_data": [
                            {"id": "3003", "first_name": "Jane", "last_name": "Doe", "email": "jane@example.com",
                             "status": "ACTIVE",
                             "custom_attributes": [
                                {"id": "dynamic_305", "type": "string", "value": "Red", "global_id": "color"},
                                {"id": "dynamic_306", "type": "string", "value": "DExx-xxff-ss-os02", "global_id": "IBAN"}
                             ],
                             "employments": [{"id": "c85d978e-1104-4762-be94-c868525eef45"}],
                             "_meta": {"links": {"employments": {"href": format!("http://{host}/v2/persons/3003/employments")}}}}
                        ], "_meta": {"links": {
                            "self": {"href": format!("http://{host}/v2/persons")},
                            "next": {"href": format!("http://{host}/v2/persons?cursor=cur_82sQwR2eZvKilo2")}
                        }}}))
                    }
                }
            }),
        );
    let running = emulator::start(router).await.unwrap();
    let client = personio::PersonioClient::new(settings(&running.url())).unwrap();
    let persons = client.persons().await.unwrap();
    assert_eq!(persons.len(), 2);
    // The next link is followed exactly as given: the second request carries the cursor and nothing else.
    assert_eq!(*queries.lock().unwrap(), ["limit=50", "cursor=cur_82sQwR2eZvKilo2"]);
    let first = personio::history::attributes_to_domain(&persons[0].custom_attributes);
    assert_eq!(
        (first[0].id.as_str(), first[0].global_id.as_str(), first[0].label.clone(), first[0].value.as_str()),
        ("dynamic_305", "color", None, "Red")
    );
    let second = personio::history::attributes_to_domain(&persons[1].custom_attributes);
    assert_eq!(second[0].value, "1042", "an INT attribute sent as a JSON number");
    assert_eq!(second[1].value, r#"["a","b"]"#, "a list is kept as its JSON text, never a number");
}

#[tokio::test]
async fn the_local_personio_gives_absolute_cursor_only_next_links() {
    let scenario = scenario_file("19-people-who-cannot-be-matched.json");
    let h = harness(scenario.personio.clone()).await;
    let http = reqwest::Client::new();
    let token: personio::wire::TokenResponse = demo_token(&http, &h.url()).await;
    let page: serde_json::Value = http
        .get(format!("{}/v2/persons?limit=1&status=ACTIVE", h.url()))
        .bearer_auth(&token.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next: url::Url = page["_meta"]["links"]["next"]["href"].as_str().unwrap().parse().unwrap();
    assert_eq!(next.origin().ascii_serialization(), h.url());
    let names: Vec<String> = next.query_pairs().map(|(name, _)| name.into_owned()).collect();
    assert_eq!(names, ["cursor"], "{next}");
    // The cursor carries the filters: the second page keeps `limit=1`.
    let second: serde_json::Value =
        http.get(next.clone()).bearer_auth(&token.access_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(second["_data"].as_array().unwrap().len(), 1);
    // A filter beside a cursor is refused: a client must follow the link, not rebuild it.
    let rebuilt = http.get(format!("{next}&status=ACTIVE")).bearer_auth(&token.access_token).send().await.unwrap();
    assert_eq!(rebuilt.status(), 400);
}

#[tokio::test]
async fn a_401_with_a_fresh_token_names_a_missing_scope_or_right() {
    let router = axum::Router::new().route("/v2/auth/token", fixture_token()).route(
        "/v2/persons",
        get(|| async {
            (
                axum::http::StatusCode::UNAUTHORIZED,
                axum::Json(json!({"personio_trace_id": "t", "timestamp": "2026-01-01T00:00:00Z",
                        "errors": [{"title": "Unauthorized Request", "detail": "Unauthorized Request"}]})),
            )
        }),
    );
    let running = emulator::start(router).await.unwrap();
    let client = personio::PersonioClient::new(settings(&running.url())).unwrap();
    let error = client.persons().await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, personio::PersonioError::Unauthorized { .. }), "{message}");
    assert!(
        message.contains("lacks a scope or the right to read") && message.contains("personio:persons:read"),
        "{message}"
    );
    assert_eq!(client.request_counts()["POST /v2/auth/token"], 2, "one fresh token was tried");
}

#[tokio::test]
async fn a_wrong_secret_is_a_credentials_error_that_says_what_to_check() {
    let scenario = scenario_file("01-monthly-salary-first-sync.json");
    let h =
        harness_with(scenario.personio.clone(), |settings| settings.client_secret = "wrong".to_string().into()).await;
    let error = h.client.legal_entities().await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, personio::PersonioError::Credentials(_)), "{message}");
    assert!(message.contains("unauthorized_client") && message.contains("PERSONIO_CLIENT_SECRET"), "{message}");
}

/// Personio's employments document requires no field: an employment without a legal entity is in none
/// (out of scope, not a failed read), and dates may come as timestamps.
#[tokio::test]
async fn an_employment_without_a_legal_entity_is_out_of_scope_not_a_failed_read() {
    let router = axum::Router::new()
        .route("/v2/auth/token", fixture_token())
        .route("/v2/compensations/types", get(|| async { axum::Json(json!({"_data": [], "_meta": {"links": {}}})) }))
        .route("/v2/compensations", get(|| async { axum::Json(json!({"_data": [], "_meta": {"links": {}}})) }))
        .route(
            "/v2/persons",
            get(|| async {
                axum::Json(json!({"_data": [
                    {"id": "5005", "first_name": "Kim", "last_name": "Bos", "status": "ACTIVE", "custom_attributes": []}
                ], "_meta": {"links": {}}}))
            }),
        )
        .route(
            "/v2/persons/5005/employments",
            get(|| async {
                axum::Json(json!({"_data": [
                    {"id": "2306b77a-35fb-4b1d-8044-3b14f7f2ca65", "status": "ACTIVE",
                     "employment_start_date": "2023-01-01", "employment_end_date": null},
                    {"id": "3306b77a-35fb-4b1d-8044-3b14f7f2ca65", "status": "ACTIVE", "legal_entity": {"id": "170"},
                     "employment_start_date": "2023-01-01T00:00:00Z", "employment_end_date": ""}
                ], "_meta": {"links": {}}}))
            }),
        );
    let running = emulator::start(router).await.unwrap();
    let client = std::sync::Arc::new(personio::PersonioClient::new(settings(&running.url())).unwrap());
    let (state, _) =
        personio::read_state(&client, "170", "2026-01-01".parse().unwrap(), "2026-01-31".parse().unwrap()).await;
    assert!(state.failed_reads.is_empty(), "{:?}", state.failed_reads);
    let person = &state.persons[0];
    assert_eq!(person.read_failed, None);
    assert_eq!(person.employments.len(), 1, "{:?}", person.employments);
    assert_eq!(
        (person.employments[0].legal_entity.as_str(), person.employments[0].start),
        ("170", Some("2023-01-01".parse().unwrap()))
    );
}
