//! A small builder of scenarios for the rule tests: one company, one person matched to one Loket
//! employment, in sync on the salary, with the mappings of the shared scenario files. Each test changes what
//! its rule is about and asserts the plan, the issues, or the Loket state after a sync.

#![allow(dead_code)]

use engine::{Issue, IssueCode, Plan, Severity};
use jiff::civil::Date;
use rust_decimal::Decimal;
use scenario::*;

pub fn d(text: &str) -> Date {
    text.parse().unwrap_or_else(|error| panic!("{text}: {error}"))
}

pub fn dec(text: &str) -> Decimal {
    scenario::format::exact::parse(text).unwrap()
}

const BASE: &str = r#"{
  "name": "rule test", "today": "2026-03-15",
  "config": {
    "compensation_start_date": "2026-01-01", "salary": true, "recurring": true, "one_time": true,
    "horizon_months": 12,
    "mappings": [
      { "personio_type": "Car allowance", "benefit_component": 7010 },
      { "personio_type": "Phone allowance", "benefit_component": 7020 },
      { "personio_type": "Pension contribution", "deduction_component": 8020 },
      { "personio_type": "Travel", "benefit_component": 7030, "deduction_component": 8030 },
      { "personio_type": "Bonus", "benefit_component": 4001, "deduction_component": 4002 },
      { "personio_type": "Referral bonus", "benefit_component": 4001 }
    ]
  },
  "personio": {
    "legal_entity": { "id": "1", "name": "Zuid Koffie B.V.", "country": "NL" },
    "other_legal_entities": [ { "id": "2", "name": "Zuid Koffie GmbH", "country": "DE" } ],
    "compensation_types": [
      { "name": "Car allowance", "category": "RECURRING" },
      { "name": "Phone allowance", "category": "RECURRING" },
      { "name": "Pension contribution", "category": "RECURRING" },
      { "name": "Travel", "category": "RECURRING" },
      { "name": "Gym", "category": "RECURRING" },
      { "name": "Mileage", "category": "RECURRING", "unit": "km" },
      { "name": "Bonus", "category": "ONE_TIME" },
      { "name": "Referral bonus", "category": "ONE_TIME" },
      { "name": "Gift", "category": "ONE_TIME" }
    ],
    "persons": [
      { "id": 1001, "first_name": "Sanne", "last_name": "de Vries",
        "attributes": { "Employee number - Loket": "1001", "Income number": "1" },
        "employment": { "legal_entity": "1", "status": "ACTIVE", "start": "2019-04-01", "end": null },
        "salaries": [ { "effective_from": "2020-01-01", "kind": "fixed", "interval": "MONTHLY",
                        "value": "4000.00", "currency": "EUR" } ],
        "recurring": [], "one_time": [] }
    ]
  },
  "loket": {
    "employer": { "name": "Zuid Koffie B.V." },
    "payroll_period_type": "month",
    "period_years": [2025, 2026, 2027],
    "approved_through": "2025-12",
    "components": [
      { "key": 7010, "description": "Autotoeslag", "category": 7, "kind": "payment" },
      { "key": 7020, "description": "Telefoonverg", "category": 9, "kind": "payment" },
      { "key": 7030, "description": "Reiskosten", "category": 9, "kind": "payment" },
      { "key": 7099, "description": "Overige toesl", "category": 7, "kind": "payment" },
      { "key": 8020, "description": "Pensioen WN", "category": 12, "kind": "deduction" },
      { "key": 8030, "description": "Reiskosten inh", "category": 13, "kind": "deduction" },
      { "key": 4001, "description": "Bonus", "category": 7, "kind": "payment" },
      { "key": 4002, "description": "Bonus inh", "category": 12, "kind": "deduction" },
      { "key": 4050, "description": "Overwerk", "category": 7, "kind": "payment" },
      { "key": 5000, "description": "Uren", "category": 1, "kind": "none" }
    ],
    "employments": [
      { "employee_number": 1001, "income_relationship_number": 1, "name": "Sanne de Vries",
        "start": "2019-04-01", "end": null,
        "wages": [ { "start": "2020-01-01", "type": "periodic", "amount": "4000.00", "pay_scale": null } ],
        "benefits_and_deductions": [], "payroll_period_data": [] }
    ]
  },
  "expect": { "config_error": false, "issues": [] }
}"#;

pub struct World {
    pub scenario: Scenario,
}

/// The base world: person 1001 ↔ employment 1001/1, salary €4,000 monthly since 2020 on both sides.
pub fn world() -> World {
    World { scenario: Scenario::from_json(BASE).expect("the base scenario parses") }
}

impl World {
    pub fn person(&mut self) -> &mut PersonSection {
        &mut self.scenario.personio.persons[0]
    }

    pub fn employment(&mut self) -> &mut LoketEmploymentSection {
        &mut self.scenario.loket.employments[0]
    }

    pub fn config(&mut self) -> &mut ConfigSection {
        &mut self.scenario.config
    }

    pub fn today(&mut self, date: &str) -> &mut Self {
        self.scenario.today = d(date);
        self
    }

    /// Replaces the Personio salaries with one record.
    pub fn only_salary(&mut self, from: &str, kind: &str, interval: Option<&str>, value: &str) -> &mut Self {
        self.person().salaries.clear();
        self.salary(from, kind, interval, value)
    }

    pub fn salary(&mut self, from: &str, kind: &str, interval: Option<&str>, value: &str) -> &mut Self {
        self.salary_in(from, kind, interval, value, "EUR")
    }

    pub fn salary_in(
        &mut self,
        from: &str,
        kind: &str,
        interval: Option<&str>,
        value: &str,
        currency: &str,
    ) -> &mut Self {
        let record = serde_json::json!({ "effective_from": from, "kind": kind, "interval": interval,
                                         "value": value, "currency": currency });
        self.person().salaries.push(serde_json::from_value(record).unwrap());
        self
    }

    pub fn recurring(&mut self, type_name: &str, from: &str, value: &str) -> &mut Self {
        self.recurring_with(type_name, from, value, "MONTHLY", "EUR")
    }

    pub fn recurring_with(
        &mut self,
        type_name: &str,
        from: &str,
        value: &str,
        interval: &str,
        currency: &str,
    ) -> &mut Self {
        let record = serde_json::json!({ "type": type_name, "effective_from": from, "interval": interval,
                                         "value": value, "currency": currency });
        self.person().recurring.push(serde_json::from_value(record).unwrap());
        self
    }

    pub fn one_time(&mut self, type_name: &str, date: &str, value: &str) -> &mut Self {
        self.one_time_in(type_name, date, value, "EUR")
    }

    pub fn one_time_in(&mut self, type_name: &str, date: &str, value: &str, currency: &str) -> &mut Self {
        let record = serde_json::json!({ "type": type_name, "date": date, "value": value, "currency": currency });
        self.person().one_time.push(serde_json::from_value(record).unwrap());
        self
    }

    pub fn wage(&mut self, start: &str, amount: &str) -> &mut Self {
        self.wage_with(start, "periodic", amount, None)
    }

    pub fn wage_with(&mut self, start: &str, wage_type: &str, amount: &str, pay_scale: Option<&str>) -> &mut Self {
        let record = serde_json::json!({ "start": start, "type": wage_type, "amount": amount, "pay_scale": pay_scale });
        self.employment().wages.push(serde_json::from_value(record).unwrap());
        self
    }

    pub fn benefit(&mut self, component: u32, start: &str, end: Option<&str>, value: &str) -> &mut Self {
        let record = serde_json::json!({ "component": component, "start": start, "end": end, "value": value });
        self.employment().benefits_and_deductions.push(serde_json::from_value(record).unwrap());
        self
    }

    pub fn period_data(&mut self, period: &str, component: u32, value: &str) -> &mut Self {
        self.period_data_in(period, component, value, 1)
    }

    pub fn period_data_in(&mut self, period: &str, component: u32, value: &str, shift: u32) -> &mut Self {
        let record = serde_json::json!({ "period": period, "component": component, "value": value, "shift": shift });
        self.employment().payroll_period_data.push(serde_json::from_value(record).unwrap());
        self
    }

    /// Adds a person and a matching employment, copies of the first with another number.
    pub fn add_employee(&mut self, number: u64) -> &mut Self {
        let mut person = self.scenario.personio.persons[0].clone();
        person.id = number;
        person.first_name = format!("Employee {number}");
        person.attributes.insert("Employee number - Loket".to_string(), number.to_string());
        self.scenario.personio.persons.push(person);
        let mut employment = self.scenario.loket.employments[0].clone();
        employment.employee_number = number;
        employment.name = format!("Employee {number}");
        self.scenario.loket.employments.push(employment);
        self
    }

    pub fn states(&self) -> (engine::state::PersonioState, engine::state::LoketState) {
        (self.scenario.personio.to_state().unwrap(), self.scenario.loket.to_state().unwrap())
    }

    pub fn plan(&self) -> Plan {
        self.plan_allowing(false)
    }

    pub fn plan_allowing(&self, allow_mass_changes: bool) -> Plan {
        let (personio, loket) = self.states();
        engine::plan(&personio, &loket, &self.scenario.engine_config(), self.scenario.today, allow_mass_changes)
    }

    /// Plans, applies to the Loket model (which must accept every write), checks that a second plan writes
    /// nothing and reports the same issues (G3), and returns the first plan and the Loket state after.
    pub fn sync(&self) -> (Plan, Vec<LoketEmploymentSection>) {
        let (personio, loket) = self.states();
        let config = self.scenario.engine_config();
        let first = engine::plan(&personio, &loket, &config, self.scenario.today, false);
        let after = engine::apply(&loket, &first).unwrap_or_else(|rejection| panic!("Loket refused: {rejection}"));
        let second = engine::plan(&personio, &after, &config, self.scenario.today, false);
        assert_eq!(second.n_writes(), 0, "the second run writes: {:?}", descriptions(&second));
        (first, employments_section(&after))
    }
}

/// Every write of a plan as `RULE description`.
pub fn descriptions(plan: &Plan) -> Vec<String> {
    plan.writes().map(|write| format!("{} {}", write.rule, write.describe())).collect()
}

/// Every withheld write of a plan as `REASON: RULE description`.
pub fn withheld(plan: &Plan) -> Vec<String> {
    plan.employments
        .iter()
        .flat_map(|employment| employment.withheld.iter())
        .flat_map(|withheld| {
            withheld.writes.iter().map(move |write| format!("{}: {} {}", withheld.reason, write.rule, write.describe()))
        })
        .collect()
}

pub fn codes(plan: &Plan) -> Vec<(IssueCode, Severity)> {
    plan.issues.iter().map(|issue| (issue.code, issue.severity)).collect()
}

pub fn issues_with(plan: &Plan, code: IssueCode) -> Vec<&Issue> {
    plan.issues.iter().filter(|issue| issue.code == code).collect()
}

pub fn only_issue(plan: &Plan, code: IssueCode) -> &Issue {
    let found = issues_with(plan, code);
    assert_eq!(found.len(), 1, "expected one {code} issue, got {:#?}", plan.issues);
    found[0]
}

/// The wages of the first employment as `(start, type, amount)`.
pub fn wages(loket: &[LoketEmploymentSection]) -> Vec<(String, String, String)> {
    loket[0]
        .wages
        .iter()
        .map(|wage| (wage.start.to_string(), format!("{:?}", wage.wage_type).to_lowercase(), wage.amount.to_string()))
        .collect()
}

/// The benefits and deductions of the first employment as `(component, start, end, value)`.
pub fn benefits(loket: &[LoketEmploymentSection]) -> Vec<(u32, String, Option<String>, String)> {
    loket[0]
        .benefits_and_deductions
        .iter()
        .map(|record| {
            (
                record.component,
                record.start.to_string(),
                record.end.map(|end| end.to_string()),
                record.value.to_string(),
            )
        })
        .collect()
}

/// The payroll period data of the first employment as `(period, component, value, shift)`.
pub fn period_data(loket: &[LoketEmploymentSection]) -> Vec<(String, u32, String, u32)> {
    loket[0]
        .payroll_period_data
        .iter()
        .map(|item| (item.period.to_string(), item.component, item.value.to_string(), item.shift))
        .collect()
}
