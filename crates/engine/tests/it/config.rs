//! K rules: the configuration and its validation.

use engine::{IssueCode, Severity};
use scenario::MappingSection;

use crate::support::*;

fn errors(w: &World) -> Vec<(String, String)> {
    w.plan().config_errors.into_iter().map(|error| (error.field, error.message)).collect()
}

fn mapping(personio_type: &str, benefit: Option<u32>, deduction: Option<u32>) -> MappingSection {
    MappingSection {
        personio_type: personio_type.to_string(),
        benefit_component: benefit,
        deduction_component: deduction,
    }
}

#[test]
fn k1_one_configuration_names_one_legal_entity() {
    let w = world();
    let (personio, loket) = w.states();
    let mut config = w.scenario.engine_config();
    config.legal_entity = " ".to_string();
    let plan = engine::plan(&personio, &loket, &config, w.scenario.today, false);
    assert_eq!(plan.config_errors[0].field, "legal_entity");
    config.legal_entity = "2".to_string();
    let plan = engine::plan(&personio, &loket, &config, w.scenario.today, false);
    assert!(plan.config_errors.is_empty() && plan.employments.is_empty(), "persons of entity 1 are out of scope");
}

#[test]
fn k2_start_date_not_a_period_start_names_the_period() {
    let mut w = world();
    w.config().compensation_start_date = d("2026-01-15");
    let found = errors(&w);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "compensation_start_date");
    assert!(found[0].1.contains("period 2026-01, which starts on 1 Jan 2026"), "{}", found[0].1);
}

#[test]
fn k2_start_date_on_a_four_weekly_period_start() {
    let mut w = world();
    w.scenario.loket.payroll_period_type = scenario::PeriodType::FourWeeks;
    w.config().compensation_start_date = d("2026-02-01");
    assert!(errors(&w)[0].1.contains("period 2026-02, which starts on 29 Jan 2026"), "{:?}", errors(&w));
    w.config().compensation_start_date = d("2026-01-29");
    assert!(errors(&w).is_empty());
}

#[test]
fn k2_start_date_in_a_year_without_periods() {
    let mut w = world();
    w.config().compensation_start_date = d("2024-01-01");
    assert!(errors(&w)[0].1.contains("no payroll periods in 2024"), "{:?}", errors(&w));
}

#[test]
fn k3_switches_are_off_by_default() {
    let config = engine::Config::new("1", d("2026-01-01"));
    assert!(!config.salary && !config.recurring && !config.one_time);
    let parsed: scenario::ConfigSection = serde_json::from_str(r#"{"compensation_start_date": "2026-01-01"}"#).unwrap();
    assert!(!parsed.salary && !parsed.recurring && !parsed.one_time);
    assert_eq!(parsed.horizon_months, 12);
}

#[test]
fn k4_unknown_type_and_unknown_component() {
    let mut w = world();
    w.config().mappings.push(mapping("Lunch", Some(7010), None));
    w.config().mappings.push(mapping("Gym", Some(9999), None));
    let found = errors(&w);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "mappings[6].personio_type");
    assert!(found[0].1.contains("no compensation type `Lunch`"));
    assert_eq!(found[1].0, "mappings[7].benefit_component");
    assert!(found[1].1.contains("no payroll component 9999"));
}

#[test]
fn k4_type_by_id_is_accepted() {
    let mut w = world();
    let gym_id = scenario::derived_id("personio-type", "Gym");
    w.config().mappings.push(mapping(&gym_id, Some(7099), None));
    w.recurring("Gym", "2026-02-01", "30.00");
    assert_eq!(descriptions(&w.plan()), ["R7 add component 7099 of €30.00 from 1 Feb 2026"]);
}

#[test]
fn k4_component_kinds_and_categories_are_checked() {
    let mut w = world();
    w.config().mappings.push(mapping("Gym", Some(8020), Some(7099)));
    w.config().mappings[0].benefit_component = Some(5000);
    let fields: Vec<String> = errors(&w).into_iter().map(|(field, _)| field).collect();
    assert!(fields.contains(&"mappings[6].benefit_component".to_string()), "{fields:?}");
    assert!(fields.contains(&"mappings[6].deduction_component".to_string()), "{fields:?}");
    assert!(fields.contains(&"mappings[0].benefit_component".to_string()), "{fields:?}");
}

#[test]
fn k4_recurring_component_category_must_suit_benefits() {
    let mut w = world();
    w.scenario.loket.components.push(
        serde_json::from_value(
            serde_json::json!({"key": 7500, "description": "Tabel", "category": 3, "kind": "payment"}),
        )
        .unwrap(),
    );
    w.config().mappings.push(mapping("Gym", Some(7500), None));
    assert!(errors(&w)[0].1.contains("category 3"), "{:?}", errors(&w));
    // A one-time mapping may use it.
    w.config().mappings.pop();
    w.config().mappings.push(mapping("Gift", Some(7500), None));
    assert!(errors(&w).is_empty());
}

#[test]
fn k4_mapping_without_component_twice_or_a_salary_type() {
    let mut w = world();
    w.config().mappings.push(mapping("Gym", None, None));
    w.config().mappings.push(mapping("Car allowance", Some(7099), None));
    w.config().mappings.push(mapping("Fixed salary", Some(7099), None));
    let found = errors(&w);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].1.contains("names no component"));
    assert!(found[1].1.contains("already mapped by mappings[0]"));
    assert!(found[2].1.contains("salary needs no mapping"));
}

#[test]
fn k4_a_type_of_a_category_the_sync_does_not_handle_is_named_not_called_unknown() {
    let mut w = world();
    w.scenario.personio.compensation_types.push(scenario::CompensationTypeSection {
        id: None,
        name: "Sales commission".to_string(),
        category: engine::state::TypeCategory::Unsupported,
        unit: None,
    });
    w.config().mappings.push(mapping("Sales commission", Some(7099), None));
    let found = errors(&w);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.ends_with("personio_type"), "{found:?}");
    assert!(
        found[0]
            .1
            .contains("`Sales commission` is a Personio compensation type of a category the sync does not handle"),
        "{found:?}"
    );
    assert!(!found[0].1.contains("has no compensation type"), "{found:?}");
}

#[test]
fn k4_component_missing_in_a_later_year() {
    let mut w = world();
    w.today("2026-11-15");
    let (personio, mut loket) = w.states();
    loket.components.get_mut(&2027).unwrap().remove(&engine::ComponentKey(7010));
    let plan = engine::plan(&personio, &loket, &w.scenario.engine_config(), w.scenario.today, false);
    assert_eq!(plan.config_errors.len(), 1);
    assert!(plan.config_errors[0].message.contains("7010 in 2027"));
}

#[test]
fn k5_component_may_not_serve_recurring_and_one_time() {
    let mut w = world();
    w.config().mappings.push(mapping("Gift", Some(7010), None));
    let found = errors(&w);
    assert_eq!(found.len(), 1);
    assert!(found[0].1.contains("recurring mapping (mappings[0])"), "{}", found[0].1);
}

#[test]
fn k6_every_error_at_once_and_nothing_planned() {
    let mut w = world();
    w.config().compensation_start_date = d("2026-01-15");
    w.config().mappings.push(mapping("Lunch", Some(7010), None));
    w.config().mappings.push(mapping("Gift", Some(7010), None));
    w.config().horizon_months = 600;
    w.salary("2026-04-01", "fixed", Some("MONTHLY"), "5000.00");
    let plan = w.plan();
    let fields: Vec<&str> = plan.config_errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(
        fields,
        ["horizon_months", "compensation_start_date", "mappings[6].personio_type", "mappings[7].benefit_component"]
    );
    assert!(plan.employments.is_empty() && plan.issues.is_empty());
}

#[test]
fn k7_non_monetary_mapping_is_accepted_with_a_warning_and_never_synced() {
    let mut w = world();
    w.config().mappings.push(mapping("Mileage", Some(7099), None));
    w.recurring("Mileage", "2026-01-01", "300");
    let plan = w.plan();
    assert!(plan.config_errors.is_empty());
    let run_level: Vec<_> =
        plan.issues.iter().filter(|issue| issue.person.is_none()).map(|issue| (issue.code, issue.severity)).collect();
    assert_eq!(run_level, [(IssueCode::NonMonetary, Severity::Warning)]);
    assert_eq!(plan.n_writes(), 0);
}
