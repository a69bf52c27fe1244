//! The demo company: about forty employees of "Zuid Koffie B.V." that between them touch every rule —
//! raises, yearly salaries, hourly staff, a salary gap, a USD bonus, a quarterly and a kilometre
//! compensation, leavers, closed periods, part-timers — as `personio` and `loket` sections of the scenario
//! format, so `loket-sync emulate` can serve it too.

use scenario::{LoketSection, PersonioSection, Scenario};
use serde_json::{Value, json};

/// The demo runs as if today were this day, so that its output is the same on every machine.
pub const DEMO_TODAY: &str = "2026-03-15";

fn salary(from: &str, interval: &str, value: &str) -> Value {
    json!({"effective_from": from, "kind": "fixed", "interval": interval, "value": value, "currency": "EUR"})
}

fn hourly(from: &str, value: &str) -> Value {
    json!({"effective_from": from, "kind": "hourly", "value": value, "currency": "EUR"})
}

fn recurring(kind: &str, from: &str, value: &str, interval: &str) -> Value {
    json!({"type": kind, "effective_from": from, "interval": interval, "value": value, "currency": "EUR"})
}

fn one_time(kind: &str, date: &str, value: &str, currency: &str) -> Value {
    json!({"type": kind, "date": date, "value": value, "currency": currency})
}

fn wage(start: &str, kind: &str, amount: &str) -> Value {
    json!({"start": start, "type": kind, "amount": amount, "pay_scale": null})
}

const FIRST_NAMES: [&str; 20] = [
    "Sanne", "Daan", "Fleur", "Lars", "Noor", "Thijs", "Eva", "Ruben", "Lotte", "Bram", "Julia", "Sem", "Mila", "Finn",
    "Tess", "Jesse", "Anna", "Luuk", "Sophie", "Milan",
];
const LAST_NAMES: [&str; 10] =
    ["de Vries", "Bakker", "Jansen", "Visser", "Smit", "Mulder", "de Boer", "Dekker", "Vos", "Peters"];

struct Employee {
    person: Value,
    employment: Value,
}

fn employee(number: u64) -> Employee {
    let index = (number - 1001) as usize;
    let (first, last) = (FIRST_NAMES[index % FIRST_NAMES.len()], LAST_NAMES[index % LAST_NAMES.len()]);
    Employee {
        person: json!({
            "id": number, "first_name": first, "last_name": last,
            "attributes": {"Employee number – Loket": number.to_string(), "Income number": "1"},
            "employment": {"legal_entity": "1", "status": "ACTIVE", "start": "2019-04-01", "end": null,
                           "weekly_hours": 40, "full_time_weekly_hours": 40},
            "salaries": [salary("2024-01-01", "MONTHLY", "3600.00")], "recurring": [], "one_time": []
        }),
        employment: json!({
            "employee_number": number, "income_relationship_number": 1, "name": format!("{first} {last}"),
            "start": "2019-04-01", "end": null,
            "wages": [wage("2024-01-01", "periodic", "3600.00")], "benefits_and_deductions": [], "payroll_period_data": []
        }),
    }
}

/// The lists of the demo's records: Personio's (in the person) and Loket's (in the employment).
#[derive(Clone, Copy)]
enum List {
    Salaries,
    Recurring,
    OneTime,
    Wages,
    Benefits,
    PeriodData,
}

impl Employee {
    /// Sets one of the employee's lists.
    fn with(mut self, list: List, records: Vec<Value>) -> Self {
        let (side, key) = match list {
            List::Salaries => (&mut self.person, "salaries"),
            List::Recurring => (&mut self.person, "recurring"),
            List::OneTime => (&mut self.person, "one_time"),
            List::Wages => (&mut self.employment, "wages"),
            List::Benefits => (&mut self.employment, "benefits_and_deductions"),
            List::PeriodData => (&mut self.employment, "payroll_period_data"),
        };
        side[key] = Value::Array(records);
        self
    }
    fn ended(mut self, end: &str) -> Self {
        self.person["employment"]["end"] = json!(end);
        self.person["employment"]["status"] = json!("INACTIVE");
        self.employment["end"] = json!(end);
        self
    }
    fn hours(mut self, hours: u32) -> Self {
        self.person["employment"]["weekly_hours"] = json!(hours);
        self
    }
    fn without_number(mut self) -> Self {
        self.person["attributes"] = json!({"Income number": "1"});
        self
    }
}

fn employees() -> Vec<Employee> {
    let mut list = Vec::new();
    // Raises from April (ten of them), Loket still on the old wage.
    for number in 1001..=1010 {
        list.push(employee(number).with(
            List::Salaries,
            vec![salary("2024-01-01", "MONTHLY", "3600.00"), salary("2026-04-01", "MONTHLY", "3780.00")],
        ));
    }
    // Yearly salaries, divided by 12.
    for number in 1011..=1014 {
        list.push(
            employee(number)
                .with(List::Salaries, vec![salary("2025-01-01", "YEARLY", "49999.98")])
                .with(List::Wages, vec![wage("2024-01-01", "periodic", "4000.00")]),
        );
    }
    // Hourly staff.
    for number in 1015..=1017 {
        list.push(
            employee(number)
                .with(List::Salaries, vec![hourly("2025-09-01", "18.75")])
                .with(List::Wages, vec![wage("2024-01-01", "hourly", "17.50")]),
        );
    }
    // A salary gap: the first salary starts on 15 Jan.
    list.push(
        employee(1018)
            .with(List::Salaries, vec![salary("2026-01-15", "MONTHLY", "3900.00")])
            .with(List::Recurring, vec![recurring("Car allowance", "2026-01-01", "150.00", "MONTHLY")]),
    );
    // A USD bonus beside an EUR one in March: that period is left alone.
    list.push(employee(1019).with(
        List::OneTime,
        vec![one_time("Bonus", "2026-03-05", "100.00", "EUR"), one_time("Bonus", "2026-03-06", "50.00", "USD")],
    ));
    // A quarterly allowance withholds its component.
    list.push(
        employee(1020)
            .with(List::Recurring, vec![recurring("Car allowance", "2025-10-01", "600.00", "QUARTERLY")])
            .with(
                List::Benefits,
                vec![json!({"component": 7010, "start": "2024-01-01", "end": null, "value": "200.00"})],
            ),
    );
    // Kilometres: mapped, never synced.
    list.push(employee(1021).with(List::Recurring, vec![recurring("Mileage", "2026-01-01", "420", "MONTHLY")]));
    // Leavers: their changes are listed, not made.
    list.push(employee(1022).ended("2026-02-28").with(
        List::Salaries,
        vec![salary("2024-01-01", "MONTHLY", "3600.00"), salary("2026-02-01", "MONTHLY", "3700.00")],
    ));
    list.push(employee(1023).ended("2026-01-31"));
    // A bonus in a closed period.
    list.push(employee(1024).with(
        List::OneTime,
        vec![one_time("Bonus", "2026-01-20", "250.00", "EUR"), one_time("Bonus", "2026-03-02", "75.00", "EUR")],
    ));
    // Part-timers: the full-time salary is synced; their hours stay in Loket.
    for number in 1025..=1027 {
        list.push(employee(number).hours(24).with(
            List::Salaries,
            vec![salary("2024-01-01", "MONTHLY", "3600.00"), salary("2026-03-01", "MONTHLY", "3650.00")],
        ));
    }
    // A pension contribution entered as a negative: a deduction.
    list.push(
        employee(1028)
            .with(List::Recurring, vec![recurring("Pension contribution", "2026-02-01", "-75.00", "MONTHLY")]),
    );
    // An open car allowance in Loket from before the start date: ended the day before it.
    list.push(
        employee(1029).with(List::Recurring, vec![recurring("Car allowance", "2025-01-01", "250.00", "MONTHLY")]).with(
            List::Benefits,
            vec![json!({"component": 7010, "start": "2024-01-01", "end": null, "value": "200.00"})],
        ),
    );
    // No Loket employee number in Personio.
    list.push(employee(1030).without_number());
    // In sync, with allowances and bonuses already in Loket.
    for number in 1031..=1040 {
        list.push(
            employee(number)
                .with(List::Recurring, vec![recurring("Car allowance", "2026-01-01", "200.00", "MONTHLY")])
                .with(
                    List::Benefits,
                    vec![json!({"component": 7010, "start": "2026-01-01", "end": null, "value": "200.00"})],
                )
                .with(List::OneTime, vec![one_time("Referral bonus", "2026-03-10", "500.00", "EUR")])
                .with(List::PeriodData, vec![json!({"period": "2026-03", "component": 4001, "value": "500.00"})]),
        );
    }
    list
}

/// The demo company as a scenario (its `expect` is not used).
pub fn scenario() -> Scenario {
    let employees = employees();
    let value = json!({
        "name": "demo company",
        "today": DEMO_TODAY,
        "config": {
            "compensation_start_date": "2026-01-01", "salary": true, "recurring": true, "one_time": true, "horizon_months": 12,
            "mappings": [
                {"personio_type": "Car allowance", "benefit_component": 7010},
                {"personio_type": "Pension contribution", "deduction_component": 8020},
                {"personio_type": "Mileage", "benefit_component": 7040},
                {"personio_type": "Bonus", "benefit_component": 4001, "deduction_component": 4002},
                {"personio_type": "Referral bonus", "benefit_component": 4001}
            ]
        },
        "personio": {
            "legal_entity": {"id": "1", "name": "Zuid Koffie B.V.", "country": "NL"},
            "other_legal_entities": [{"id": "2", "name": "Zuid Koffie GmbH", "country": "DE"}],
            "compensation_types": [
                {"name": "Car allowance", "category": "RECURRING"},
                {"name": "Pension contribution", "category": "RECURRING"},
                {"name": "Mileage", "category": "RECURRING", "unit": "km"},
                {"name": "Holiday allowance", "category": "RECURRING"},
                {"name": "Bonus", "category": "ONE_TIME"},
                {"name": "Referral bonus", "category": "ONE_TIME"}
            ],
            "persons": employees.iter().map(|employee| employee.person.clone()).collect::<Vec<_>>(),
            // Served as Personio's API does: by id and global id, without the labels.
            "custom_attributes": [
                {"id": "dynamic_1001", "global_id": "employee_number_loket", "label": "Employee number – Loket", "type": "INT"},
                {"id": "dynamic_1002", "global_id": "income_number", "label": "Income number", "type": "INT"}
            ]
        },
        "loket": {
            "employer": {"name": "Zuid Koffie B.V."},
            "payroll_period_type": "month",
            "period_years": [2025, 2026, 2027],
            "approved_through": "2026-02",
            "components": [
                {"key": 7010, "description": "Autotoeslag", "category": 7, "kind": "payment"},
                {"key": 7040, "description": "Km vergoeding", "category": 9, "kind": "payment"},
                {"key": 7099, "description": "Overige toesl", "category": 7, "kind": "payment"},
                {"key": 8020, "description": "Pensioen WN", "category": 12, "kind": "deduction"},
                {"key": 4001, "description": "Bonus", "category": 7, "kind": "payment"},
                {"key": 4002, "description": "Bonus inh", "category": 12, "kind": "deduction"}
            ],
            "employments": employees.iter().map(|employee| employee.employment.clone()).collect::<Vec<_>>()
        },
        "expect": {"config_error": false, "issues": []}
    });
    serde_json::from_value(value).expect("the demo company is a valid scenario")
}

/// The mistake the guard exists for: a dozen wages lowered by an import gone wrong.
pub fn mass_decrease(personio: &PersonioSection) -> PersonioSection {
    let mut changed = personio.clone();
    for person in changed.persons.iter_mut().filter(|person| (1031..=1040).contains(&person.id) || person.id <= 1002) {
        person.salaries.push(serde_json::from_value(salary("2026-04-01", "MONTHLY", "2400.00")).expect("a salary"));
    }
    changed
}

pub fn employee_count(loket: &LoketSection) -> usize {
    loket.employments.len()
}
