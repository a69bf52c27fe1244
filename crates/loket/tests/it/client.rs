//! The client against the local Loket, over real sockets.

use std::sync::Arc;
use std::time::Duration;

use engine::{ComponentKey, Money};
use loket::read::{ReadScope, read_state};
use loket::wire;
use loket::{LoketError, TokenStore};
use rust_decimal::Decimal;

use crate::support::*;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn d(text: &str) -> jiff::civil::Date {
    text.parse().unwrap()
}

fn full_scope() -> ReadScope {
    ReadScope {
        wages: true,
        benefits_and_deductions: true,
        period_data_from: Some(d("2025-01-01")),
        horizon: d("2027-12-31"),
    }
}

#[tokio::test]
async fn reads_every_resource_into_the_same_state_as_the_file() {
    let h = harness().await;
    let employer_id = h.emulator.employer_id();
    let employers = h.client.employers().await.unwrap();
    assert_eq!(employers.len(), 1);
    assert_eq!(employers[0].id, employer_id);
    let administrations = h.client.payroll_administrations(&employer_id).await.unwrap();
    assert_eq!(administrations[0].payroll_period_type.key, 1);
    let snapshot = read_state(&h.client, &employer_id, &h.emulator.administration_id(), &full_scope()).await;
    assert!(snapshot.state.failed_reads.is_empty(), "{:?}", snapshot.state.failed_reads);
    let expected = section().to_state().unwrap();
    assert_eq!(snapshot.state.calendar, expected.calendar);
    assert_eq!(snapshot.state.components, expected.components);
    assert_eq!(scenario::employments_section(&snapshot.state), scenario::employments_section(&expected));
    for employment in &snapshot.state.employments {
        assert!(employment.period_data_defaults.distribution_unit.is_some());
        assert!(employment.read_failed.is_none());
    }
    // Four requests per employment (wages, benefits, period data, defaults): Loket's list of one payroll
    // period needs a payslip type and a component category and hides inactive and filtered employments.
    let counts = h.client.request_counts();
    let per_employment: usize =
        counts.iter().filter(|(key, _)| key.contains("/employments/{id}/")).map(|(_, n)| n).sum();
    assert_eq!(per_employment, 4 * snapshot.state.employments.len(), "{counts:#?}");
    assert!(!counts.keys().any(|key| key.contains("payrollPeriods")), "{counts:#?}");
}

#[tokio::test]
async fn lists_are_read_across_several_pages() {
    let h = harness_with(section(), |settings| settings.page_size = 2).await;
    let employments = h.client.employments(&h.emulator.employer_id()).await.unwrap();
    assert_eq!(employments.len(), 5);
    let pages = h.client.request_counts()["GET /providers/employers/{id}/employees/employments"];
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn wages_are_posted_put_and_deleted() {
    let h = harness().await;
    let employment = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    let mut wage = loket::send::new_wage(&engine::state::WageValue {
        start: d("2026-04-01"),
        kind: engine::state::WageKind::Periodic,
        amount: Money::exact(dec("3250.50")).unwrap(),
    });
    let created = h.client.post_wage(&employment, &wage).await.unwrap();
    assert_eq!(created.gross_wage, Some(dec("3250.50")));
    let id = created.id.clone().unwrap();
    wage = created.clone();
    wage.gross_wage = Some(dec("3300"));
    let changed = h.client.put_wage(&id, &wage).await.unwrap();
    assert_eq!(changed.gross_wage, Some(dec("3300")));
    // The chain links: the wage before it now ends the day before.
    let wages = h.client.wages(&employment).await.unwrap();
    let previous = wages.iter().find(|wage| wage.start_date == d("2020-01-01")).unwrap();
    assert_eq!(previous.end_date, Some(d("2026-03-31")));
    h.client.delete_wage(&id).await.unwrap();
    assert_eq!(h.client.wages(&employment).await.unwrap().len(), 1);
}

#[tokio::test]
async fn broken_business_rules_come_back_as_typed_errors() {
    let h = harness().await;
    let employment = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    let wage = loket::send::new_wage(&engine::state::WageValue {
        start: d("2019-06-01"),
        kind: engine::state::WageKind::Periodic,
        amount: Money::exact(dec("3000")).unwrap(),
    });
    let error = h.client.post_wage(&employment, &wage).await.unwrap_err();
    match error {
        LoketError::BrokenBusinessRule { messages, .. } => {
            assert_eq!(messages[0].kind, "BrokenBusinessRule");
            assert!(messages[0].description.contains("must start after the last wage"), "{}", messages[0].description);
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn benefits_and_deductions_are_written_and_overlaps_refused() {
    let h = harness().await;
    let employment = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    let record = wire::BenefitOrDeduction {
        id: None,
        start_date: d("2026-02-01"),
        end_date: None,
        value: dec("0.1"),
        payroll_component: wire::ComponentRef::key(7010),
    };
    let created = h.client.post_benefit_or_deduction(&employment, &record).await.unwrap();
    assert_eq!(created.value, dec("0.1"));
    assert_eq!(created.payroll_component.description.as_deref(), Some("Autotoeslag"));
    let overlap = h
        .client
        .post_benefit_or_deduction(
            &employment,
            &wire::BenefitOrDeduction { start_date: d("2026-05-01"), ..record.clone() },
        )
        .await;
    assert!(matches!(overlap, Err(LoketError::BrokenBusinessRule { .. })), "{overlap:?}");
    let id = created.id.clone().unwrap();
    let ended = wire::BenefitOrDeduction { end_date: Some(d("2026-04-30")), ..created };
    h.client.put_benefit_or_deduction(&id, &ended).await.unwrap();
    assert_eq!(h.client.benefit_or_deduction(&id).await.unwrap().end_date, Some(d("2026-04-30")));
    h.client.delete_benefit_or_deduction(&id).await.unwrap();
    assert!(matches!(h.client.benefit_or_deduction(&id).await, Err(LoketError::NotFound { .. })));
}

#[tokio::test]
async fn patch_upserts_leaves_omitted_components_and_null_deletes() {
    let h = harness().await;
    let snapshot =
        read_state(&h.client, &h.emulator.employer_id(), &h.emulator.administration_id(), &full_scope()).await;
    let employment = &snapshot.state.employments[0];
    let key = employment.owned_key(engine::PeriodId::new(2026, 1).unwrap());
    let change = |component: u32, after: Option<&str>| engine::ValueChange {
        component: ComponentKey(component),
        before: None,
        after: after.map(dec),
    };
    let body = loket::send::period_data_patch(&key, &[change(4001, None), change(4002, Some("12.5"))]);
    h.client.patch_payroll_period_data(employment.id.as_str(), &body).await.unwrap();
    let records = h.client.payroll_period_data(employment.id.as_str()).await.unwrap();
    let january = records
        .iter()
        .find(|record| {
            record.payroll_period.period_number == 1
                && record.payroll_period.year == 2026
                && record.shift.shift_number == 1
        })
        .unwrap();
    let values: Vec<(i64, Option<Decimal>)> =
        january.payroll_components.iter().map(|item| (item.payroll_component.key, item.value)).collect();
    assert_eq!(values, [(4002, Some(dec("12.5"))), (4050, Some(dec("40.00")))]);
    // A closed period refuses.
    let closed = employment.owned_key(engine::PeriodId::new(2025, 12).unwrap());
    let refused = h
        .client
        .patch_payroll_period_data(
            employment.id.as_str(),
            &loket::send::period_data_patch(&closed, &[change(4001, Some("1"))]),
        )
        .await;
    assert!(matches!(refused, Err(LoketError::BrokenBusinessRule { .. })), "{refused:?}");
}

#[tokio::test]
async fn collective_patch_reports_the_items_that_failed() {
    let h = harness().await;
    let snapshot =
        read_state(&h.client, &h.emulator.employer_id(), &h.emulator.administration_id(), &full_scope()).await;
    let change = engine::ValueChange { component: ComponentKey(4001), before: None, after: Some(dec("5")) };
    let mut good = loket::send::period_data_patch(
        &snapshot.state.employments[1].owned_key(engine::PeriodId::new(2026, 3).unwrap()),
        std::slice::from_ref(&change),
    );
    good.employment_id = Some(snapshot.state.employments[1].id.to_string());
    let mut bad = loket::send::period_data_patch(
        &snapshot.state.employments[2].owned_key(engine::PeriodId::new(2025, 12).unwrap()),
        &[change],
    );
    bad.employment_id = Some(snapshot.state.employments[2].id.to_string());
    let failures =
        h.client.patch_payroll_period_data_collective(&h.emulator.employer_id(), &[good, bad]).await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].id.as_deref(), Some(snapshot.state.employments[2].id.as_str()));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_old_one_is_refused() {
    let h = harness().await;
    let old = h.store.load().unwrap().unwrap();
    h.client.refresh_now().await.unwrap();
    let new = h.store.load().unwrap().unwrap();
    use secrecy::ExposeSecret;
    assert_ne!(old.refresh_token.expose_secret(), new.refresh_token.expose_secret());
    let answer = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", old.refresh_token.expose_secret()),
            ("client_id", emulator::loket::DEMO_CLIENT_ID),
            ("client_secret", emulator::loket::DEMO_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("invalid_grant"));
    assert_eq!(h.client.employers().await.unwrap().len(), 1, "the client goes on with the new tokens");
}

#[tokio::test]
async fn an_unknown_access_token_triggers_one_refresh_and_one_retry() {
    let h = harness().await;
    let tokens = h.store.load().unwrap().unwrap();
    let store = Arc::new(loket::MemoryTokenStore::new(Some(loket::Tokens {
        access_token: "stale-token".to_string().into(),
        refresh_token: tokens.refresh_token.clone(),
        expires_at: loket::auth::now_seconds() + 3000,
    })));
    let client = loket::LoketClient::new(h.settings(), Arc::clone(&store) as Arc<dyn loket::TokenStore>).unwrap();
    assert_eq!(client.employers().await.unwrap().len(), 1);
    use secrecy::ExposeSecret;
    assert_ne!(store.load().unwrap().unwrap().access_token.expose_secret(), "stale-token");
    assert_eq!(client.request_counts()["GET /providers/employers"], 2);
}

#[tokio::test]
async fn the_token_file_is_private_and_survives_a_reload() {
    let directory = std::env::temp_dir().join(format!("loket-sync-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let store = loket::FileTokenStore::new(directory.join("loket-tokens.json"));
    use loket::TokenStore as _;
    store
        .save(&loket::Tokens {
            access_token: "a".to_string().into(),
            refresh_token: "r".to_string().into(),
            expires_at: 5,
        })
        .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(store.load().unwrap().unwrap().expires_at, 5);
    std::fs::write(store.path(), "not json").unwrap();
    assert!(store.load().unwrap_err().to_string().contains("connect loket"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after() {
    let h = harness().await;
    h.emulator.set_faults(emulator::Faults { error_status: 429, fail_first: 1, ..Default::default() }).unwrap();
    assert_eq!(h.client.employers().await.unwrap().len(), 1);
    assert_eq!(*h.sleeper.waits.lock().unwrap(), [Duration::from_secs(1)]);
}

#[tokio::test]
async fn a_503_is_retried_for_a_get() {
    let h = harness().await;
    h.emulator.set_faults(emulator::Faults { error_status: 503, fail_first: 2, ..Default::default() }).unwrap();
    assert_eq!(h.client.employers().await.unwrap().len(), 1);
    assert_eq!(h.client.request_counts()["GET /providers/employers"], 3);
}

#[tokio::test]
async fn a_post_whose_answer_is_lost_is_not_retried() {
    let h = harness().await;
    let employment = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    h.emulator.set_faults(emulator::Faults { error_status: 503, fail_first: 1, ..Default::default() }).unwrap();
    let wage = loket::send::new_wage(&engine::state::WageValue {
        start: d("2026-04-01"),
        kind: engine::state::WageKind::Periodic,
        amount: Money::exact(dec("3000")).unwrap(),
    });
    let error = h.client.post_wage(&employment, &wage).await.unwrap_err();
    assert!(error.is_unknown_outcome(), "{error}");
    assert_eq!(h.client.request_counts()["POST /providers/employers/employees/employments/{id}/wages"], 1);
    // A 429 means "not processed": a POST is sent again after it.
    h.emulator.set_faults(emulator::Faults { error_status: 429, fail_first: 1, ..Default::default() }).unwrap();
    h.client.post_wage(&employment, &wage).await.unwrap();
}

#[tokio::test]
async fn a_write_that_happened_but_lost_its_answer_is_an_unknown_outcome() {
    let h = harness().await;
    let employment = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    h.emulator.set_faults(emulator::Faults { fail_after_commit_rate: 1.0, ..Default::default() }).unwrap();
    let wage = loket::send::new_wage(&engine::state::WageValue {
        start: d("2026-04-01"),
        kind: engine::state::WageKind::Periodic,
        amount: Money::exact(dec("3000")).unwrap(),
    });
    let error = h.client.post_wage(&employment, &wage).await.unwrap_err();
    assert!(error.is_unknown_outcome());
    h.emulator.set_faults(emulator::Faults::default()).unwrap();
    assert_eq!(h.client.wages(&employment).await.unwrap().len(), 2, "the write happened");
}

#[tokio::test]
async fn the_request_rate_is_limited() {
    // Five requests at 2 per second must be spread over 2 s: the recorded waits say so (the sleeper
    // records instead of waiting, so the limiter's schedule runs ahead of the clock).
    let h = harness_with(section(), |settings| settings.requests_per_second = Some(2)).await;
    for _ in 0..5 {
        h.client.employers().await.unwrap();
    }
    let waits = h.sleeper.waits.lock().unwrap().clone();
    let total: Duration = waits.iter().sum();
    assert!(total >= Duration::from_millis(1000), "{waits:?}");
}

#[tokio::test]
async fn collective_benefits_are_created_and_ended_with_partial_success() {
    let h = harness().await;
    let employer = h.emulator.employer_id();
    let employments = h.client.employments(&employer).await.unwrap();
    let item = |index: usize, component: i64, value: &str| wire::CollectiveBenefit {
        employment_id: employments[index].id.clone(),
        payroll_component: wire::ComponentRef::key(component),
        start_date: d("2026-02-01"),
        value: Some(dec(value)),
    };
    let items = [item(1, 7010, "100.00"), item(2, 7010, "110.00"), item(3, 9999, "5.00")];
    let (result, failures) = h.client.post_benefits_collective(&employer, &items).await.unwrap();
    assert_eq!(
        (result.item_count.processed, result.item_count.processed_with_error, result.item_count.total),
        (2, 1, 3)
    );
    assert_eq!(failures[0].id.as_deref(), Some(employments[3].id.as_str()));
    let created = h.client.benefits_and_deductions(&employments[1].id).await.unwrap();
    assert_eq!(created.len(), 1);
    let end = wire::CollectiveEnd {
        benefit_and_deduction_id: created[0].id.clone().unwrap(),
        employment_id: employments[1].id.clone(),
        end_date: d("2026-06-30"),
    };
    let (result, failures) = h.client.put_benefits_collective(&employer, &[end]).await.unwrap();
    assert_eq!((result.item_count.processed, failures.len()), (1, 0));
    assert_eq!(h.client.benefits_and_deductions(&employments[1].id).await.unwrap()[0].end_date, Some(d("2026-06-30")));
}

#[tokio::test]
async fn an_employment_is_terminated_and_then_refuses_later_writes() {
    let h = harness().await;
    let employment = h.client.employments(&h.emulator.employer_id()).await.unwrap()[0].id.clone();
    let body = wire::Terminate {
        end_date: d("2026-05-31"),
        end_of_employment_reason: wire::KeyValue::new(8, "Overig"),
        end_of_employment_reason_tax_authorities: wire::KeyValue::new(1, "Overig"),
        end_of_employment_due_to_illness: false,
        create_mdv_entry: false,
    };
    h.client.terminate(&employment, &body).await.unwrap();
    assert_eq!(h.client.employment(&employment).await.unwrap().end_date, Some(d("2026-05-31")));
    let wage = loket::send::new_wage(&engine::state::WageValue {
        start: d("2026-07-01"),
        kind: engine::state::WageKind::Periodic,
        amount: Money::exact(dec("3000")).unwrap(),
    });
    let refused = h.client.post_wage(&employment, &wage).await;
    assert!(matches!(refused, Err(LoketError::BrokenBusinessRule { .. })), "{refused:?}");
}
