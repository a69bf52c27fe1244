//! Every body the local Loket sends, and every body the client sends, validates against the OpenAPI subset;
//! bad input gets the right 4xx, never a 500; the client parses hand-written bodies shaped like the real API's.

use axum::routing::get;
use loket::wire;
use rust_decimal::Decimal;
use serde_json::json;

use crate::openapi::Spec;
use crate::support::*;

fn d(text: &str) -> jiff::civil::Date {
    text.parse().unwrap()
}

#[tokio::test]
async fn every_body_matches_the_openapi_subset() {
    let h = harness().await;
    let client = &h.client;
    let employer_id = h.emulator.employer_id();
    let administration_id = h.emulator.administration_id();
    client.employers().await.unwrap();
    client.payroll_administrations(&employer_id).await.unwrap();
    let employments = client.employments(&employer_id).await.unwrap();
    let employment_id = employments[0].id.clone();
    client.employment(&employment_id).await.unwrap();
    client.payroll_periods(&administration_id).await.unwrap();
    client.payroll_components(&administration_id, 2026).await.unwrap();
    client
        .payroll_period_data_of_period(&administration_id, 202601, 1, &wire::ComponentSelection::Category(7))
        .await
        .unwrap();
    client.employer(&employer_id).await.unwrap();
    client.payroll_period_data(&employment_id).await.unwrap();
    // Writes, and the records they create read back.
    let wage = loket::send::new_wage(&engine::state::WageValue {
        start: d("2026-04-01"),
        kind: engine::state::WageKind::Hourly,
        amount: engine::Money::exact(Decimal::new(2550, 2)).unwrap(),
    });
    let created = client.post_wage(&employment_id, &wage).await.unwrap();
    let wage_id = created.id.clone().unwrap();
    client.wage(&wage_id).await.unwrap();
    client.put_wage(&wage_id, &created).await.unwrap();
    client.wages(&employment_id).await.unwrap();
    client.delete_wage(&wage_id).await.unwrap();
    let record = wire::BenefitOrDeduction {
        id: None,
        start_date: d("2026-02-01"),
        end_date: Some(d("2026-06-30")),
        value: Decimal::new(1234, 1),
        payroll_component: wire::ComponentRef::key(8020),
    };
    let created = client.post_benefit_or_deduction(&employment_id, &record).await.unwrap();
    let id = created.id.clone().unwrap();
    client.benefit_or_deduction(&id).await.unwrap();
    client.put_benefit_or_deduction(&id, &created).await.unwrap();
    client.benefits_and_deductions(&employment_id).await.unwrap();
    client.delete_benefit_or_deduction(&id).await.unwrap();
    let key = engine::state::PeriodDataKey {
        period: engine::PeriodId::new(2026, 3).unwrap(),
        shift: 1,
        payslip_type: 1,
        distribution_unit: engine::ShortId::new(
            &client.payroll_period_data_defaults(&employment_id).await.unwrap().distribution_unit.unwrap().key,
        ),
        cost_center: None,
        cost_unit: None,
    };
    let change =
        engine::ValueChange { component: engine::ComponentKey(4001), before: None, after: Some(Decimal::new(5, 1)) };
    client.patch_payroll_period_data(&employment_id, &loket::send::period_data_patch(&key, &[change])).await.unwrap();
    // Collective actions and a termination.
    let collective = [wire::CollectiveBenefit {
        employment_id: employments[1].id.clone(),
        payroll_component: wire::ComponentRef::key(7010),
        start_date: d("2026-03-01"),
        value: Some(Decimal::new(4250, 2)),
    }];
    client.post_benefits_collective(&employer_id, &collective).await.unwrap();
    let created = client.benefits_and_deductions(&employments[1].id).await.unwrap();
    let end = wire::CollectiveEnd {
        benefit_and_deduction_id: created[0].id.clone().unwrap(),
        employment_id: employments[1].id.clone(),
        end_date: d("2026-09-30"),
    };
    client.put_benefits_collective(&employer_id, &[end]).await.unwrap();
    let terminate = wire::Terminate {
        end_date: d("2026-12-31"),
        end_of_employment_reason: wire::KeyValue::new(8, "Overig"),
        end_of_employment_reason_tax_authorities: wire::KeyValue::new(1, "Overig"),
        end_of_employment_due_to_illness: false,
        create_mdv_entry: false,
    };
    client.terminate(&employments[2].id, &terminate).await.unwrap();
    // Refusals.
    let _ = client
        .post_wage(
            &employment_id,
            &loket::send::new_wage(&engine::state::WageValue {
                start: d("2019-01-01"),
                kind: engine::state::WageKind::Periodic,
                amount: engine::Money::exact(Decimal::ONE).unwrap(),
            }),
        )
        .await
        .unwrap_err();
    let _ = client
        .post_benefit_or_deduction(
            &employment_id,
            &wire::BenefitOrDeduction {
                value: Decimal::new(1, 0),
                payroll_component: wire::ComponentRef::key(9999),
                ..record
            },
        )
        .await
        .unwrap_err();
    let _ = client.delete_wage("00000000-0000-8000-0000-000000000000").await.unwrap_err();
    let unauthorized = reqwest::get(format!("{}/v2/providers/employers", h.url())).await.unwrap();
    assert_eq!(unauthorized.status(), 401);

    let spec = Spec::load();
    let exchanges = h.exchanges.lock().unwrap().clone();
    let mut checked = 0;
    let mut problems = Vec::new();
    for exchange in &exchanges {
        if let Some(body) = &exchange.request
            && let Some(errors) = spec.check_request(&exchange.method, &exchange.path, body)
        {
            checked += 1;
            problems.extend(
                errors.into_iter().map(|error| format!("request {} {}: {error}", exchange.method, exchange.path)),
            );
        }
        if let Some(body) = &exchange.response
            && let Some(errors) =
                spec.check_response(&exchange.method, &exchange.path, exchange.status, &exchange.content_type, body)
        {
            checked += 1;
            problems.extend(
                errors.into_iter().map(|error| {
                    format!("response {} {} {}: {error}", exchange.method, exchange.path, exchange.status)
                }),
            );
        }
    }
    assert!(checked >= 25, "only {checked} bodies were checked");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[tokio::test]
async fn bad_input_gets_the_right_4xx_and_never_a_500() {
    let h = harness().await;
    let tokens = h.emulator.issue_tokens();
    let http = reqwest::Client::new();
    let base = format!("{}/v2/providers/employers", h.url());
    let employment_id = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    let wages = format!("{base}/employees/employments/{employment_id}/wages");
    let send = |method: reqwest::Method, url: String, body: Option<&str>| {
        let mut request = http
            .request(method, url)
            .bearer_auth(&tokens.access_token)
            .header("Accept", "application/json;version=2018-01-01");
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        request.send()
    };
    let cases: Vec<(&str, reqwest::Response, u16)> = vec![
        ("malformed JSON", send(reqwest::Method::POST, wages.clone(), Some("{not json")).await.unwrap(), 400),
        ("a wrong type", send(reqwest::Method::POST, wages.clone(), Some(r#"{"startDate": 5}"#)).await.unwrap(), 400),
        (
            "a value out of range",
            send(
                reqwest::Method::POST,
                wages.clone(),
                Some(r#"{"startDate": "2026-05-01", "grossWage": 1000000, "grossWageType": {"key": 1}}"#),
            )
            .await
            .unwrap(),
            400,
        ),
        (
            "an unknown employment",
            send(
                reqwest::Method::GET,
                format!("{base}/employees/employments/00000000-0000-8000-0000-000000000000/wages"),
                None,
            )
            .await
            .unwrap(),
            404,
        ),
        (
            "an unknown wage",
            send(reqwest::Method::PUT, format!("{base}/employees/employments/wages/nope"), Some("{}")).await.unwrap(),
            404,
        ),
        (
            "a page size out of range",
            send(reqwest::Method::GET, format!("{wages}?pageSize=0"), None).await.unwrap(),
            400,
        ),
        (
            "a year that is not one",
            send(
                reqwest::Method::GET,
                format!("{base}/payrolladministrations/{}/payrollcomponents/year/abc", h.emulator.administration_id()),
                None,
            )
            .await
            .unwrap(),
            400,
        ),
        ("an unknown path", send(reqwest::Method::GET, format!("{base}/nothing/here"), None).await.unwrap(), 404),
        ("no token", http.get(&wages).send().await.unwrap(), 401),
        ("an unknown token", http.get(&wages).bearer_auth("expired").send().await.unwrap(), 401),
        (
            "an old version",
            http.get(&wages)
                .bearer_auth(&tokens.access_token)
                .header("Accept", "application/json;version=2010-01-01")
                .send()
                .await
                .unwrap(),
            400,
        ),
        (
            "a wrong client secret",
            http.post(format!("{}/oauth/token", h.url()))
                .form(&[("grant_type", "refresh_token"), ("client_id", "loket-sync-demo"), ("client_secret", "x")])
                .send()
                .await
                .unwrap(),
            401,
        ),
        (
            "an unknown refresh token",
            http.post(format!("{}/oauth/token", h.url()))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "nope"),
                    ("client_id", "loket-sync-demo"),
                    ("client_secret", "demo-secret"),
                ])
                .send()
                .await
                .unwrap(),
            400,
        ),
        (
            "an unknown client",
            http.get(format!("{}/oauth/authorize?client_id=other&redirect_uri=http://x/&response_type=code", h.url()))
                .send()
                .await
                .unwrap(),
            400,
        ),
    ];
    for (what, response, status) in cases {
        assert_eq!(response.status().as_u16(), status, "{what}");
    }
    // A missing version is served with the newest.
    let newest = http.get(&wages).bearer_auth(&tokens.access_token).send().await.unwrap();
    assert_eq!(newest.status(), 200);
    assert!(newest.headers()["content-type"].to_str().unwrap().contains("version=2018-01-01"));
}

#[tokio::test]
async fn hand_written_fixtures_parse_exactly() {
    let list = json!({
        "totalSize": 2, "pageSize": 250, "totalPages": 1, "currentPage": 1,
        "version": {"resourceVersion": "2018-01-01", "obsoleteDate": null}, "messages": [],
        "_embedded": [
            {"id": "B14ACD0D-75D7-4819-8D5D-B9F7B6F5B0A1", "startDate": "2026-01-01", "endDate": null, "value": 1234.5,
             "payrollComponent": {"key": 7010, "description": "Autotoeslag", "category": {"key": 7, "value": "Bruto toeslag"},
                                  "deductionOrPayment": {"key": 2, "value": "Betaling"}}},
            {"id": "b14acd0d-75d7-4819-8d5d-b9f7b6f5b0a2", "startDate": "2026-02-01", "endDate": "2026-03-31", "value": 0.1,
             "payrollComponent": {"key": 8020, "description": "Pensioen", "category": {"key": 12, "value": "Bruto inhouding"},
                                  "deductionOrPayment": null}}
        ]
    });
    let refusal = json!({
        "version": {"resourceVersion": "2018-01-01", "obsoleteDate": null},
        "messages": [{"code": 1234, "id": null, "type": "BrokenBusinessRule", "description": "De startdatum ligt voor de laatste looncomponent.", "properties": ["startDate"]}],
        "content": {}
    });
    let router = axum::Router::new()
        .route(
            "/v2/providers/employers/employees/employments/{id}/benefitsanddeductions",
            get(move || async move { axum::Json(list.clone()) }),
        )
        .route(
            "/v2/providers/employers/employees/employments/{id}/wages",
            axum::routing::post(
                move || async move { (axum::http::StatusCode::BAD_REQUEST, axum::Json(refusal.clone())) },
            ),
        );
    let running = emulator::start(router).await.unwrap();
    let store = std::sync::Arc::new(loket::MemoryTokenStore::new(Some(loket::Tokens {
        access_token: "fixture".to_string().into(),
        refresh_token: "fixture".to_string().into(),
        expires_at: loket::auth::now_seconds() + 3000,
    })));
    let client = loket::LoketClient::new(settings(&running.url()), store).unwrap();
    let records = client.benefits_and_deductions("x").await.unwrap();
    assert_eq!(records[0].value, "1234.5".parse::<Decimal>().unwrap());
    assert_eq!(records[1].value, "0.1".parse::<Decimal>().unwrap());
    let domain = loket::convert::benefit_to_domain(&records[1]).unwrap();
    assert_eq!(domain.value.value.value().to_string(), "0.10");
    let error = client
        .post_wage(
            "x",
            &loket::send::new_wage(&engine::state::WageValue {
                start: d("2026-01-01"),
                kind: engine::state::WageKind::Periodic,
                amount: engine::Money::exact(Decimal::ONE).unwrap(),
            }),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("De startdatum ligt voor de laatste looncomponent."), "{error}");
}

#[test]
fn money_never_goes_through_a_float() {
    for text in ["0.1", "1234.5", "999999.99", "0.30000000000000004", "1e2"] {
        let parsed = loket::exact::parse_number(text).unwrap();
        let expected: Decimal = if text == "1e2" { Decimal::from(100) } else { text.parse().unwrap() };
        assert_eq!(parsed, expected, "{text}");
    }
    let wage: wire::Wage = serde_json::from_str(r#"{"startDate": "2026-01-01", "grossWage": 0.1}"#).unwrap();
    assert_eq!(serde_json::to_value(&wage).unwrap()["grossWage"].to_string(), "0.1");
    assert!(loket::exact::parse_number("\"12\"").is_err());
}

#[test]
fn an_employment_id_longer_than_any_guid_is_a_clear_conversion_error() {
    let employment = |id: &str| -> wire::Employment {
        serde_json::from_value(json!({
            "id": id,
            "startDate": "2024-01-01",
            "endDate": null,
            "incomeRelationshipNumber": 1,
            "employee": { "id": "e", "employeeNumber": 7, "lastName": "Jansen" }
        }))
        .unwrap()
    };
    let guid = "0b1e7a52-3f0c-4d6e-9a51-2c7d8e9f0a1b";
    let converted = loket::convert::employment_to_domain(&employment(guid)).unwrap();
    assert_eq!(converted.id.as_str(), guid);
    assert_eq!(converted.name, "Jansen");

    let long = "x".repeat(64);
    let error = loket::convert::employment_to_domain(&employment(&long)).unwrap_err().to_string();
    assert!(error.contains(&long) && error.contains("longer than 63 bytes"), "{error}");
}

#[test]
fn period_data_that_cannot_be_read_fails_the_list_instead_of_dropping_out() {
    let record = |year: i64, period: i64| -> wire::PayrollPeriodData {
        serde_json::from_value(json!({
            "id": format!("pd-{year}-{period}"),
            "payrollPeriod": { "year": year, "periodNumber": period },
            "shift": { "shiftNumber": 1 },
            "payslipType": { "key": 1 },
            "distributionUnit": { "key": "unit" },
            "payrollComponents": [ { "payrollComponent": { "key": 8000 }, "value": 250.5 } ]
        }))
        .unwrap()
    };
    let readable = loket::convert::period_data_list_to_domain(&[record(2026, 3), record(2026, 1)]).unwrap();
    assert_eq!(readable.len(), 2);
    assert!(readable[0].key < readable[1].key, "sorted by key");
    assert_eq!(readable[0].values.get(&engine::ComponentKey(8000)), Some(&Decimal::new(2505, 1)));

    let error =
        loket::convert::period_data_list_to_domain(&[record(2026, 1), record(2026, 99)]).unwrap_err().to_string();
    assert!(error.contains("2026-99") && error.contains("cannot be read"), "{error}");
}

#[test]
fn a_payroll_period_that_cannot_be_read_fails_the_calendar_instead_of_leaving_a_gap() {
    let period = |number: i64, start: &str, end: &str| -> wire::PayrollPeriod {
        serde_json::from_value(json!({
            "id": 202600 + number,
            "year": 2026,
            "periodNumber": number,
            "startDate": start,
            "endDate": end,
            "payrollPeriodType": { "key": 1, "value": "Maand" }
        }))
        .unwrap()
    };
    let january = period(1, "2026-01-01", "2026-01-31");
    let february = period(2, "2026-02-01", "2026-02-28");
    let calendar = loket::convert::calendar_to_domain(&[february.clone(), january.clone()]).unwrap();
    assert_eq!(calendar.periods().len(), 2);

    let broken = period(0, "2026-03-01", "2026-03-31");
    let error = loket::convert::calendar_to_domain(&[january, february, broken]).unwrap_err().to_string();
    assert!(error.contains("payroll period 2026-0 cannot be read"), "{error}");
}

fn fixture_client(url: &str, expires_in: i64) -> (loket::LoketClient, std::sync::Arc<loket::MemoryTokenStore>) {
    let store = std::sync::Arc::new(loket::MemoryTokenStore::new(Some(loket::Tokens {
        access_token: "fixture".to_string().into(),
        refresh_token: "refresh-1".to_string().into(),
        expires_at: loket::auth::now_seconds() + expires_in,
    })));
    let client = loket::LoketClient::new(settings(url), std::sync::Arc::clone(&store) as _).unwrap();
    (client, store)
}

/// The defaults example of Loket's guide: `payrollPeriod` null, payslip type 2, cost centre and cost unit 2,
/// and nulls where no default exists; bare and in a `content` envelope.
#[tokio::test]
async fn the_defaults_example_with_nulls_decodes_bare_and_enveloped() {
    let example = json!({
        "id": null, "payrollPeriod": null, "shift": {"shiftNumber": 1, "fullTimeHoursPerWeek": null, "bonusPercentage": null},
        "payslipType": {"key": 2, "value": null}, "payslipText": null,
        "distributionUnit": {"key": "b14acd0d-75d7-4819-8d5d-b9f7b6f5b0a1", "code": null, "description": null},
        "costCenter": {"key": 2}, "costUnit": {"key": 2}, "payrollComponents": []
    });
    let enveloped = json!({"version": {"resourceVersion": "2018-01-01", "obsoleteDate": null}, "messages": [],
        "content": {"payrollPeriod": null, "shift": null, "payslipType": null, "payslipText": null,
                    "distributionUnit": {"key": "b14acd0d-75d7-4819-8d5d-b9f7b6f5b0a2"}, "costCenter": null,
                    "costUnit": null, "payrollComponents": null}});
    let router = axum::Router::new()
        .route(
            "/v2/providers/employers/employees/employments/bare/payrollperioddata/defaults",
            get(move || async move { axum::Json(example.clone()) }),
        )
        .route(
            "/v2/providers/employers/employees/employments/enveloped/payrollperioddata/defaults",
            get(move || async move { axum::Json(enveloped.clone()) }),
        );
    let running = emulator::start(router).await.unwrap();
    let (client, _) = fixture_client(&running.url(), 3000);
    let bare = loket::convert::defaults_to_domain(&client.payroll_period_data_defaults("bare").await.unwrap()).unwrap();
    assert_eq!(
        (bare.shift, bare.payslip_type, bare.cost_center.as_deref(), bare.cost_unit.as_deref()),
        (1, 2, Some("2"), Some("2"))
    );
    assert_eq!(bare.distribution_unit.unwrap().as_str(), "b14acd0d-75d7-4819-8d5d-b9f7b6f5b0a1");
    let enveloped =
        loket::convert::defaults_to_domain(&client.payroll_period_data_defaults("enveloped").await.unwrap()).unwrap();
    // Null fields are at their defaults: shift 1, the normal payslip, no cost centre, no cost unit.
    assert_eq!(
        (enveloped.shift, enveloped.payslip_type, enveloped.cost_center, enveloped.cost_unit),
        (1, 1, None, None)
    );
}

#[tokio::test]
async fn a_refresh_answer_without_a_refresh_token_keeps_the_current_one() {
    let router = axum::Router::new().route(
        "/oauth/token",
        axum::routing::post(|| async {
            axum::Json(json!({"access_token": "access-2", "token_type": "bearer", "expires_in": 3599}))
        }),
    );
    let running = emulator::start(router).await.unwrap();
    let (client, store) = fixture_client(&running.url(), 0);
    client.refresh_now().await.unwrap();
    let stored = loket::TokenStore::load(store.as_ref()).unwrap().unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(stored.access_token.expose_secret(), "access-2");
    assert_eq!(stored.refresh_token.expose_secret(), "refresh-1");
}

#[tokio::test]
async fn the_local_loket_refuses_a_period_read_without_payslip_type_or_component_selection() {
    let h = harness().await;
    let tokens = h.emulator.issue_tokens();
    let url = format!(
        "{}/v2/providers/employers/payrolladministrations/{}/payrollPeriods/202601/payrollperioddata",
        h.url(),
        h.emulator.administration_id()
    );
    let http = reqwest::Client::new();
    for (query, status) in [
        ("", 400),
        ("?payslipType=1", 400),
        ("?payrollComponentCategory=7", 400),
        ("?payslipType=1&payrollComponentCategory=7&payrollComponentSet=b14acd0d-75d7-4819-8d5d-b9f7b6f5b0a1", 400),
        ("?payslipType=1&payrollComponentCategory=7", 200),
    ] {
        let response = http
            .get(format!("{url}{query}"))
            .bearer_auth(&tokens.access_token)
            .header("Accept", "application/json;version=2018-01-01")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        if status == 400 {
            assert_eq!(body["messages"][0]["type"], "BrokenBusinessRule", "{query}: {body}");
            assert!(body["_embedded"].is_array(), "Loket's list envelope: {body}");
        }
    }
    // One payslip type and one category per call.
    let records = h
        .client
        .payroll_period_data_of_period(
            &h.emulator.administration_id(),
            202602,
            1,
            &wire::ComponentSelection::Category(7),
        )
        .await
        .unwrap();
    assert!(records.iter().all(|record| record.payslip_type.key == 1));
    assert!(
        records.iter().flat_map(|record| &record.payroll_components).all(|value| value
            .payroll_component
            .category
            .as_ref()
            .map(|c| c.key)
            == Some(7))
    );
}

#[tokio::test]
async fn a_put_that_clears_a_pay_scale_sends_apply_pay_grade_false() {
    let mut section = section();
    section.employments[0].wages[0].pay_scale = Some("Horeca 3".to_string());
    section.employments[0].wages[0].full_time = false;
    let h = harness_with(section, |_| {}).await;
    let employment_id = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    let wages = h.client.wages(&employment_id).await.unwrap();
    assert_eq!((wages[0].apply_pay_grade, wages[0].is_gross_wage_full_time), (Some(false), Some(false)));
    let domain = loket::convert::wage_to_domain(&wages[0]).unwrap();
    assert!(!domain.full_time);
    // A PUT without the pay scale that does not turn applyPayGrade off is refused, as the guide warns.
    let mut careless = wages[0].clone();
    careless.pay_scale = None;
    careless.pay_grade = None;
    careless.apply_pay_grade = None;
    let error = h.client.put_wage(wages[0].id.as_deref().unwrap(), &careless).await.unwrap_err();
    assert!(error.to_string().contains("applyPayGrade"), "{error}");
    // The client's PUT sends `applyPayGrade: false` and leaves the read-only `isGrossWageFullTime` out.
    let snapshot = loket::read::read_state(
        &h.client,
        &h.emulator.employer_id(),
        &h.emulator.administration_id(),
        &loket::read::ReadScope {
            wages: true,
            benefits_and_deductions: false,
            period_data_from: None,
            horizon: d("2026-12-31"),
        },
    )
    .await;
    let wage = snapshot.state.employments[0].wages[0].clone();
    let mut after = wage.value.clone();
    after.amount = engine::Money::exact(Decimal::new(350000, 2)).unwrap();
    let write = engine::Write {
        employment_id: snapshot.state.employments[0].id,
        employee_number: snapshot.state.employments[0].employee_number,
        rule: "S9".into(),
        action: engine::Action::PutWage { id: wage.id.clone(), before: wage, after },
    };
    loket::send::send_write(&h.client, &snapshot, &write).await.unwrap();
    let sent = h.exchanges.lock().unwrap().iter().rev().find(|exchange| exchange.method == "PUT").cloned().unwrap();
    let body = sent.request.unwrap();
    assert_eq!(body["applyPayGrade"], json!(false));
    assert!(body.get("isGrossWageFullTime").is_none(), "{body}");
    assert_eq!(body["payScale"], json!(null));
}
