//! Benchmark of `plan()` on a synthetic company: every employee with three years of history (salary
//! changes, three recurring types, a dozen one-time payments a year) and a Loket that has drifted from
//! Personio. Run with:
//!
//!     cargo bench -p engine --bench plan -- 10000
//!
//! It reports employees planned per second (best of five runs, one core: `plan` is single-threaded) and
//! the process's peak memory (VmHWM from /proc/self/status) after the input was built and after planning.

// A benchmark reports its numbers on stdout: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::time::Instant;

use engine::state::*;
use engine::*;
use jiff::civil::{Date, date};
use rust_decimal::Decimal;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn day_in(&mut self, year: i16, month: i8) -> Date {
        date(year, month, 1 + self.below(28) as i8)
    }

    fn any_day(&mut self, year: i16) -> Date {
        let month = 1 + self.below(12) as i8;
        self.day_in(year, month)
    }

    fn cents(&mut self, low: i64, high: i64) -> Decimal {
        Decimal::new(low * 100 + self.below(((high - low) * 100) as u64) as i64, 2)
    }
}

fn money(value: Decimal) -> Money {
    Money::round(value)
}

fn company(employees: u64) -> (PersonioState, LoketState, Config, Date) {
    let mut rng = Rng(0x5EED_CAFE_F00D_u64);
    let type_names = [
        ("car", "Car allowance", TypeCategory::Recurring),
        ("pension", "Pension contribution", TypeCategory::Recurring),
        ("travel", "Travel", TypeCategory::Recurring),
        ("bonus", "Bonus", TypeCategory::OneTime),
        ("referral", "Referral bonus", TypeCategory::OneTime),
    ];
    let compensation_types = type_names
        .iter()
        .map(|(id, name, category)| CompensationType {
            id: id.to_string(),
            name: name.to_string(),
            category: *category,
            unit: None,
        })
        .collect();
    let mut periods = Vec::new();
    for year in 2023..=2027i16 {
        for month in 1..=12i8 {
            let start = date(year, month, 1);
            let closed = (year, month) < (2026, 10);
            periods.push(Period {
                id: PeriodId::new(year, month as u8).unwrap(),
                start,
                end: start.last_of_month(),
                closed,
            });
        }
    }
    let mut catalogue = BTreeMap::new();
    for (key, category, kind) in [
        (7010, 7, ComponentKind::Payment),
        (8020, 12, ComponentKind::Deduction),
        (7030, 9, ComponentKind::Payment),
        (8030, 13, ComponentKind::Deduction),
        (4001, 7, ComponentKind::Payment),
        (4002, 12, ComponentKind::Deduction),
    ] {
        catalogue.insert(
            ComponentKey(key),
            Component { key: ComponentKey(key), description: key.to_string(), category, kind },
        );
    }
    let mut persons = Vec::new();
    let mut employments = Vec::new();
    for index in 0..employees {
        let number = 10_000 + index;
        let base = rng.cents(2500, 6000);
        let salaries: Vec<SalaryRecord> = (0..4)
            .map(|step| SalaryRecord {
                effective_from: if step == 0 { date(2021, 1, 1) } else { rng.any_day(2023 + step as i16) },
                kind: SalaryKind::Fixed,
                interval: Some(Interval::Monthly),
                amount: Amount::eur(base + Decimal::from(100 * step)),
            })
            .collect();
        let mut recurring = Vec::new();
        for (type_id, sign) in [("car", 1), ("pension", -1), ("travel", 1)] {
            for (year, value) in [(2023, rng.cents(50, 300)), (2025, rng.cents(50, 300))] {
                recurring.push(RecurringRecord {
                    type_id: type_id.to_string(),
                    effective_from: rng.any_day(year),
                    interval: Some(Interval::Monthly),
                    amount: Amount::eur(value * Decimal::from(sign)),
                });
            }
        }
        let mut one_time = Vec::new();
        for year in 2024..=2026 {
            for month in 1..=12 {
                one_time.push(OneTimePayment {
                    type_id: if rng.below(4) == 0 { "referral" } else { "bonus" }.to_string(),
                    date: rng.day_in(year, month),
                    amount: Amount::eur(rng.cents(10, 500)),
                });
            }
        }
        // As Personio's v2 API sends them: by id, without a label (M2).
        let attributes = vec![PersonAttribute {
            id: "dynamic_2001".to_string(),
            global_id: "employee_number_loket".to_string(),
            label: None,
            kind: "int".to_string(),
            value: number.to_string(),
        }];
        persons.push(Person {
            id: PersonId(number),
            first_name: "Employee".to_string(),
            last_name: number.to_string(),
            attributes,
            employments: vec![PersonioEmployment {
                legal_entity: "1".to_string(),
                start: Some(date(2020, 1, 1)),
                end: None,
                status: "ACTIVE".to_string(),
            }],
            salaries: salaries.clone(),
            recurring,
            one_time: one_time.clone(),
            read_failed: None,
        });

        // Loket has drifted: the 2021 wage and a 2024 wage that is off by a little; an allowance with the
        // wrong value; last year's bonuses partly entered by hand.
        let id = format!("employment-{number}");
        let wages = vec![
            Wage {
                id: RecordId(format!("{id}-w1")),
                value: WageValue { start: date(2021, 1, 1), kind: WageKind::Periodic, amount: money(base) },
                pay_scale: None,
                pay_grade: None,
                full_time: true,
            },
            Wage {
                id: RecordId(format!("{id}-w2")),
                value: WageValue {
                    start: salaries[1].effective_from,
                    kind: WageKind::Periodic,
                    amount: money(base + Decimal::from(90)),
                },
                pay_scale: None,
                pay_grade: None,
                full_time: true,
            },
        ];
        let benefits = vec![
            BenefitOrDeduction {
                id: RecordId(format!("{id}-b1")),
                value: BenefitValue {
                    component: ComponentKey(7010),
                    start: date(2022, 1, 1),
                    end: None,
                    value: money(Decimal::from(150)),
                },
            },
            BenefitOrDeduction {
                id: RecordId(format!("{id}-b2")),
                value: BenefitValue {
                    component: ComponentKey(8020),
                    start: date(2024, 1, 1),
                    end: None,
                    value: money(Decimal::from(80)),
                },
            },
        ];
        // Loket holds what payroll processed: the monthly bonus totals; one employee in twenty has a bonus
        // entered wrongly by hand in a closed period.
        let mut totals: BTreeMap<PeriodId, Decimal> = BTreeMap::new();
        for payment in one_time.iter().filter(|payment| payment.date < date(2026, 10, 1)) {
            let period = PeriodId::new(payment.date.year(), payment.date.month() as u8).unwrap();
            *totals.entry(period).or_default() += payment.amount.value;
        }
        let period_data = totals
            .into_iter()
            .map(|(period, total)| PeriodData {
                id: Some(RecordId(format!("{id}-p{period}"))),
                key: PeriodDataKey {
                    period,
                    shift: 1,
                    payslip_type: 1,
                    distribution_unit: ShortId::new("unit"),
                    cost_center: None,
                    cost_unit: None,
                },
                values: [(
                    ComponentKey(4001),
                    if index % 20 == 0 && period == PeriodId::new(2025, 6).unwrap() {
                        total + Decimal::TEN
                    } else {
                        total
                    },
                )]
                .into_iter()
                .collect(),
            })
            .collect();
        employments.push(Employment {
            id: EmploymentId::new(&id).expect("a short id"),
            employee_number: EmployeeNumber(number),
            income_relationship_number: Some(1),
            name: format!("Employee {number}"),
            start: date(2020, 1, 1),
            end: None,
            period_data_defaults: PeriodDataDefaults::with_distribution_unit(ShortId::new("unit")),
            wages,
            benefits_and_deductions: benefits,
            period_data,
            read_failed: None,
        });
    }
    let personio = PersonioState { compensation_types, persons, failed_reads: Vec::new() };
    let loket = LoketState {
        calendar: Calendar::new(periods).unwrap(),
        components: (2023..=2027).map(|year| (year, catalogue.clone())).collect(),
        employments,
        failed_reads: Vec::new(),
    };
    let mut config = Config::new("1", date(2024, 1, 1));
    config.employee_number_attribute = "dynamic_2001".to_string();
    config.salary = true;
    config.recurring = true;
    config.one_time = true;
    config.mappings = vec![
        Mapping {
            personio_type: "Car allowance".into(),
            benefit_component: Some(ComponentKey(7010)),
            deduction_component: None,
        },
        Mapping {
            personio_type: "Pension contribution".into(),
            benefit_component: None,
            deduction_component: Some(ComponentKey(8020)),
        },
        Mapping {
            personio_type: "Travel".into(),
            benefit_component: Some(ComponentKey(7030)),
            deduction_component: Some(ComponentKey(8030)),
        },
        Mapping {
            personio_type: "Bonus".into(),
            benefit_component: Some(ComponentKey(4001)),
            deduction_component: Some(ComponentKey(4002)),
        },
        Mapping {
            personio_type: "Referral bonus".into(),
            benefit_component: Some(ComponentKey(4001)),
            deduction_component: None,
        },
    ];
    (personio, loket, config, date(2026, 11, 15))
}

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes / 1024.0)
}

fn main() {
    let employees: u64 = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(10_000);
    let (personio, loket, config, run_date) = company(employees);
    let input_peak = peak_memory_mb();
    // For profilers: `PLAN_PROFILE=one_time` (or salary, recurring) plans with that switch alone, 20 times.
    if let Ok(only) = std::env::var("PLAN_PROFILE") {
        let config =
            Config { salary: only == "salary", recurring: only == "recurring", one_time: only == "one_time", ..config };
        for _ in 0..20 {
            std::hint::black_box(engine::plan(&personio, &loket, &config, run_date, true));
        }
        return;
    }
    let mut best = f64::MAX;
    let mut writes = 0;
    let mut issues = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let plan = engine::plan(&personio, &loket, &config, run_date, true);
        best = best.min(started.elapsed().as_secs_f64());
        writes = plan.n_writes();
        issues = plan.issues.len();
        assert!(plan.config_errors.is_empty(), "{:?}", plan.config_errors);
    }
    let plan_peak = peak_memory_mb();
    // Where the time goes: each switch on its own.
    let mut parts = Vec::new();
    for (name, salary, recurring, one_time) in [
        ("salary", true, false, false),
        ("recurring", false, true, false),
        ("one-time", false, false, true),
        ("none", false, false, false),
    ] {
        let config = Config { salary, recurring, one_time, ..config.clone() };
        let mut part_best = f64::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let plan = engine::plan(&personio, &loket, &config, run_date, true);
            part_best = part_best.min(started.elapsed().as_secs_f64());
            drop(plan);
        }
        parts.push(format!("{name} {:.3} s", part_best));
    }
    println!(
        "plan: {employees} employees, 3 years of history: best of 5 {:.3} s = {:.0} employees/s; {writes} writes, {issues} issues",
        best,
        employees as f64 / best
    );
    println!("by switch (each alone): {}", parts.join(", "));
    if let (Some(input), Some(plan)) = (input_peak, plan_peak) {
        println!("peak memory (VmHWM): {input:.0} MB after building the input, {plan:.0} MB after planning");
    }
}
