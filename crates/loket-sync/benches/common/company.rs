#![allow(dead_code)] // each benchmark uses a part of it
//! The synthetic company of the benchmarks.

use scenario::Scenario;
use serde_json::{Value, json};

/// A synthetic company of `employees` (half with a raise, each with a car allowance and a bonus) in legal
/// entity 1.
pub fn company(employees: u64) -> Scenario {
    company_of(employees, "1", "Bench B.V.")
}

/// The synthetic company as legal entity `entity` named `name` (a bureau's employers are many of them).
pub fn company_of(employees: u64, entity: &str, name: &str) -> Scenario {
    let mut persons = Vec::new();
    let mut employments = Vec::new();
    for index in 0..employees {
        let number = 10_000 + index;
        let raise = index % 2 == 0;
        let mut salaries = vec![
            json!({"effective_from": "2024-01-01", "kind": "fixed", "interval": "MONTHLY", "value": "3600.00", "currency": "EUR"}),
        ];
        if raise {
            salaries.push(json!({"effective_from": "2026-04-01", "kind": "fixed", "interval": "MONTHLY", "value": "3780.00", "currency": "EUR"}));
        }
        persons.push(json!({
            "id": number, "first_name": "Employee", "last_name": number.to_string(),
            "attributes": {"Employee number – Loket": number.to_string(), "Income number": "1"},
            "employment": {"legal_entity": entity, "status": "ACTIVE", "start": "2019-04-01", "end": null, "weekly_hours": 40, "full_time_weekly_hours": 40},
            "salaries": salaries,
            "recurring": [{"type": "Car allowance", "effective_from": "2026-01-01", "interval": "MONTHLY", "value": "200.00", "currency": "EUR"}],
            "one_time": [{"type": "Bonus", "date": "2026-03-10", "value": "100.00", "currency": "EUR"}]
        }));
        employments.push(json!({
            "employee_number": number, "income_relationship_number": 1, "name": format!("Employee {number}"),
            "start": "2019-04-01", "end": null,
            "wages": [{"start": "2024-01-01", "type": "periodic", "amount": "3600.00", "pay_scale": null}],
            "benefits_and_deductions": [], "payroll_period_data": []
        }));
    }
    let value: Value = json!({
        "name": "benchmark company", "today": "2026-03-15",
        "config": {"compensation_start_date": "2026-01-01", "salary": true, "recurring": true, "one_time": true, "horizon_months": 12,
                   "mappings": [{"personio_type": "Car allowance", "benefit_component": 7010}, {"personio_type": "Bonus", "benefit_component": 4001}]},
        "personio": {"legal_entity": {"id": entity, "name": name, "country": "NL"},
                     "compensation_types": [{"name": "Car allowance", "category": "RECURRING"}, {"name": "Bonus", "category": "ONE_TIME"}],
                     "persons": persons},
        "loket": {"employer": {"name": name}, "payroll_period_type": "month", "period_years": [2025, 2026, 2027], "approved_through": "2026-02",
                  "components": [{"key": 7010, "description": "Autotoeslag", "category": 7, "kind": "payment"},
                                 {"key": 4001, "description": "Bonus", "category": 7, "kind": "payment"}],
                  "employments": employments},
        "expect": {"config_error": false, "issues": []}
    });
    serde_json::from_value(value).expect("a valid scenario")
}
