//! The model of Loket refuses what Loket refuses, so that a plan it accepts is a plan Loket accepts.

use engine::plan::{Action, Write};
use engine::state::{BenefitValue, WageKind, WageValue};
use engine::{ComponentKey, Money, PeriodId, ValueChange};

use crate::support::*;

fn write(w: &World, action: Action) -> (engine::state::LoketState, Write) {
    let (_, loket) = w.states();
    let employment = &loket.employments[0];
    let write = Write {
        employment_id: employment.id,
        employee_number: employment.employee_number,
        rule: "test".into(),
        action,
    };
    (loket, write)
}

fn refused(w: &World, action: Action) -> String {
    let (mut loket, write) = write(w, action);
    engine::model::apply_write(&mut loket, &write).expect_err("the model accepted a write Loket refuses").0
}

fn money(text: &str) -> Money {
    Money::exact(dec(text)).unwrap()
}

#[test]
fn model_wage_chain_only_appends() {
    let mut w = world();
    w.wage("2026-03-01", "4100.00");
    let reason = refused(
        &w,
        Action::PostWage {
            after: WageValue { start: d("2026-02-01"), kind: WageKind::Periodic, amount: money("4200.00") },
        },
    );
    assert!(reason.contains("must start after the last wage"), "{reason}");
}

#[test]
fn model_wage_range_and_employment_dates() {
    let mut w = world();
    assert!(
        refused(
            &w,
            Action::PostWage {
                after: WageValue { start: d("2026-02-01"), kind: WageKind::Periodic, amount: money("0.00") }
            }
        )
        .contains("grossWage")
    );
    w.employment().end = Some(d("2026-06-30"));
    assert!(
        refused(
            &w,
            Action::PostWage {
                after: WageValue { start: d("2026-07-01"), kind: WageKind::Periodic, amount: money("10.00") }
            }
        )
        .contains("end of the employment")
    );
}

#[test]
fn model_benefits_of_one_component_never_overlap() {
    let mut w = world();
    w.benefit(7010, "2026-01-01", None, "200.00");
    let reason = refused(
        &w,
        Action::PostBenefit {
            after: BenefitValue {
                component: ComponentKey(7010),
                start: d("2026-05-01"),
                end: None,
                value: money("250.00"),
            },
        },
    );
    assert!(reason.contains("overlaps"), "{reason}");
}

#[test]
fn model_benefit_components_must_exist_and_suit() {
    let w = world();
    let unknown = refused(
        &w,
        Action::PostBenefit {
            after: BenefitValue {
                component: ComponentKey(9999),
                start: d("2026-05-01"),
                end: None,
                value: money("1.00"),
            },
        },
    );
    assert!(unknown.contains("does not exist"), "{unknown}");
    let unsuitable = refused(
        &w,
        Action::PostBenefit {
            after: BenefitValue {
                component: ComponentKey(5000),
                start: d("2026-05-01"),
                end: None,
                value: money("1.00"),
            },
        },
    );
    assert!(unsuitable.contains("may not be used"), "{unsuitable}");
    let too_much = refused(
        &w,
        Action::PostBenefit {
            after: BenefitValue {
                component: ComponentKey(7010),
                start: d("2026-05-01"),
                end: None,
                value: money("100000.00"),
            },
        },
    );
    assert!(too_much.contains("outside"), "{too_much}");
}

#[test]
fn model_closed_periods_refuse_period_data() {
    let w = world();
    let (loket, _) = write(&w, Action::DeleteWage { before: w.states().1.employments[0].wages[0].clone() });
    let key = loket.employments[0].owned_key(PeriodId::new(2025, 12).unwrap());
    let reason = refused(
        &w,
        Action::PatchPeriodData {
            key,
            changes: vec![ValueChange { component: ComponentKey(4001), before: None, after: Some(dec("10")) }],
        },
    );
    assert!(reason.contains("approved payroll run"), "{reason}");
}

#[test]
fn model_patch_is_an_upsert_that_leaves_other_components() {
    let mut w = world();
    w.period_data("2026-02", 4050, "40.00");
    let (mut loket, _) = write(
        &w,
        Action::PostWage {
            after: WageValue { start: d("2030-01-01"), kind: WageKind::Periodic, amount: money("1.00") },
        },
    );
    let key = loket.employments[0].owned_key(PeriodId::new(2026, 2).unwrap());
    let (_, mut patch) = write(
        &w,
        Action::PatchPeriodData {
            key: key.clone(),
            changes: vec![ValueChange { component: ComponentKey(4001), before: None, after: Some(dec("10")) }],
        },
    );
    engine::model::apply_write(&mut loket, &patch).unwrap();
    patch.action = Action::PatchPeriodData {
        key: key.clone(),
        changes: vec![ValueChange { component: ComponentKey(4001), before: Some(dec("10")), after: None }],
    };
    engine::model::apply_write(&mut loket, &patch).unwrap();
    let record = loket.employments[0].owned_record(key.period).unwrap();
    assert_eq!(record.values.keys().map(|key| key.0).collect::<Vec<_>>(), [4050]);
}
