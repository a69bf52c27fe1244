//! Conversion between the scenario format and the engine's domain states, both ways for Loket (seed and
//! dump), so that a file gives the same states in-process as through the emulators and clients.

use std::collections::BTreeMap;

use engine::state::{
    BenefitOrDeduction, BenefitValue, CompensationType, Component, ComponentKind, Employment, LoketState,
    OneTimePayment, PeriodData, PeriodDataDefaults, PeriodDataKey, Person, PersonAttribute, PersonioEmployment,
    PersonioState, RecurringRecord, SalaryKind, SalaryRecord, TypeCategory, Wage, WageKind, WageValue,
};
use engine::{
    Amount, Calendar, ComponentKey, Config, Currency, EmployeeNumber, EmploymentId, Money, Period, PeriodId, PersonId,
    RecordId, Unit,
};
use jiff::civil::date;

use crate::format::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("the scenario file {0}")]
    Read(String),
    #[error("this is not a valid scenario file: {0}")]
    Parse(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid { field: field.into(), message: message.into() }
}

/// A stable id shaped like a UUID, derived from text: the same on every start, so that a configuration
/// or a test that names an id keeps working. (FNV-1a, twice with different seeds; not cryptographic and
/// need not be.)
pub fn derived_id(namespace: &str, text: &str) -> String {
    let hash = |seed: u64| {
        let mut value = seed;
        for byte in namespace.bytes().chain([0]).chain(text.bytes()) {
            value ^= u64::from(byte);
            value = value.wrapping_mul(0x0000_0100_0000_01b3);
        }
        value
    };
    let (high, low) = (hash(0xcbf2_9ce4_8422_2325), hash(0x84222325_cbf29ce4));
    let bytes: Vec<u8> = high.to_be_bytes().into_iter().chain(low.to_be_bytes()).collect();
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-8{}-{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[16..20], &hex[20..32])
}

/// A stable number derived from text (FNV-1a), for ids that Personio writes as digits.
pub fn derived_number(namespace: &str, text: &str) -> u64 {
    let mut value: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in namespace.bytes().chain([0]).chain(text.bytes()) {
        value ^= u64::from(byte);
        value = value.wrapping_mul(0x0000_0100_0000_01b3);
    }
    value
}

/// Whether a key of `attributes` is written as an attribute id (`dynamic_` and digits).
fn is_attribute_id(key: &str) -> bool {
    key.strip_prefix("dynamic_").is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// The global id Personio would give a label: lower case, words joined by `_`.
fn global_id_of(label: &str) -> String {
    label
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// An employment's second distribution unit (`"other"` in a period-data item).
pub fn other_distribution_unit(employment_id: &str) -> String {
    derived_id("loket-distribution-unit-other", employment_id)
}

/// The built-in salary types the local Personio adds to those of a file.
pub const FIXED_SALARY_TYPE: &str = "Fixed salary";
pub const HOURLY_SALARY_TYPE: &str = "Hourly salary";

impl PersonioSection {
    /// Every compensation type: the file's, with derived ids where none is given, and the two built-in
    /// salary types.
    pub fn compensation_types(&self) -> Vec<CompensationType> {
        let mut types: Vec<CompensationType> = self
            .compensation_types
            .iter()
            .map(|section| CompensationType {
                id: section.id.clone().unwrap_or_else(|| derived_id("personio-type", &section.name)),
                name: section.name.clone(),
                category: section.category,
                unit: section.unit.clone(),
            })
            .collect();
        for (name, category) in
            [(FIXED_SALARY_TYPE, TypeCategory::FixedSalary), (HOURLY_SALARY_TYPE, TypeCategory::HourlySalary)]
        {
            if !types.iter().any(|existing| existing.name == name) {
                types.push(CompensationType {
                    id: derived_id("personio-type", name),
                    name: name.to_string(),
                    category,
                    unit: None,
                });
            }
        }
        types
    }

    /// The definition of the attribute a person's `attributes` key names: a defined attribute by id,
    /// global id or label; otherwise an undefined one with a derived id (and, for a key that is not an id,
    /// that key as its label).
    pub fn attribute_definition(&self, key: &str) -> CustomAttributeSection {
        let defined = self.custom_attributes.iter().find(|definition| definition.id == key).or_else(|| {
            self.custom_attributes.iter().find(|definition| {
                (!definition.global_id.is_empty() && definition.global_id == key)
                    || definition.label.as_deref().is_some_and(|label| engine::labels_match(label, key))
            })
        });
        if let Some(definition) = defined {
            return definition.clone();
        }
        if is_attribute_id(key) {
            return CustomAttributeSection {
                id: key.to_string(),
                global_id: String::new(),
                label: None,
                kind: "string".to_string(),
            };
        }
        CustomAttributeSection {
            id: format!("dynamic_{}", derived_number("personio-attribute", &engine::label_key(key)) % 1_000_000),
            global_id: global_id_of(key),
            label: Some(key.to_string()),
            kind: "string".to_string(),
        }
    }

    /// Every attribute a person of the file has, by id: the definitions, plus the undefined ones used.
    pub fn attribute_definitions(&self) -> Vec<CustomAttributeSection> {
        let mut all: BTreeMap<String, CustomAttributeSection> =
            self.custom_attributes.iter().map(|definition| (definition.id.clone(), definition.clone())).collect();
        for person in &self.persons {
            for key in person.attributes.keys() {
                let definition = self.attribute_definition(key);
                all.entry(definition.id.clone()).or_insert(definition);
            }
        }
        all.into_values().collect()
    }

    /// A person's attributes as Personio's v2 API serves them: by id and global id, with a label only when
    /// the section says `labels_served`. Two keys that name one attribute are an error.
    pub fn person_attributes(&self, index: usize) -> Result<Vec<PersonAttribute>, ScenarioError> {
        let person = &self.persons[index];
        let mut attributes: Vec<PersonAttribute> = Vec::with_capacity(person.attributes.len());
        for (key, value) in &person.attributes {
            let definition = self.attribute_definition(key);
            if attributes.iter().any(|attribute| attribute.id == definition.id) {
                return Err(invalid(
                    format!("personio.persons[{index}].attributes"),
                    format!("`{key}` names attribute {}, which another key of this person names too", definition.id),
                ));
            }
            attributes.push(PersonAttribute {
                id: definition.id,
                global_id: definition.global_id,
                label: if self.labels_served { definition.label } else { None },
                kind: definition.kind,
                value: value.clone(),
            });
        }
        Ok(attributes)
    }

    /// The Personio state the engine sees, exactly as the client rebuilds it from the API.
    pub fn to_state(&self) -> Result<PersonioState, ScenarioError> {
        let types = self.compensation_types();
        let find_type = |field: String, name: &str| {
            types
                .iter()
                .find(|candidate| candidate.name == name || candidate.id == name)
                .ok_or_else(|| invalid(field, format!("`{name}` is not one of `personio.compensation_types`")))
        };
        let amount = |value, currency: &Option<String>, unit: &Option<String>| Amount {
            value,
            unit: match unit {
                Some(unit) => Unit::Other(unit.clone()),
                None => Unit::Currency(currency.as_deref().map_or(Currency::EUR, Currency::new)),
            },
        };
        let mut persons = Vec::new();
        for (index, section) in self.persons.iter().enumerate() {
            let mut recurring = Vec::new();
            for (record_index, record) in section.recurring.iter().enumerate() {
                let field = format!("personio.persons[{index}].recurring[{record_index}].type");
                let found = find_type(field, &record.type_name)?;
                recurring.push(RecurringRecord {
                    type_id: found.id.clone(),
                    effective_from: record.effective_from,
                    interval: record.interval,
                    amount: amount(record.value, &record.currency, &found.unit),
                });
            }
            let mut one_time = Vec::new();
            for (record_index, record) in section.one_time.iter().enumerate() {
                let field = format!("personio.persons[{index}].one_time[{record_index}].type");
                let found = find_type(field, &record.type_name)?;
                one_time.push(OneTimePayment {
                    type_id: found.id.clone(),
                    date: record.date,
                    amount: amount(record.value, &record.currency, &found.unit),
                });
            }
            let salaries = section
                .salaries
                .iter()
                .map(|record| SalaryRecord {
                    effective_from: record.effective_from,
                    kind: match record.kind {
                        SalaryKindSection::Fixed => SalaryKind::Fixed,
                        SalaryKindSection::Hourly => SalaryKind::Hourly,
                    },
                    interval: match record.kind {
                        SalaryKindSection::Fixed => record.interval,
                        SalaryKindSection::Hourly => None,
                    },
                    amount: amount(record.value, &record.currency, &None),
                })
                .collect();
            persons.push(Person {
                id: PersonId(section.id),
                first_name: section.first_name.clone(),
                last_name: section.last_name.clone(),
                attributes: self.person_attributes(index)?,
                employments: vec![PersonioEmployment {
                    legal_entity: section.employment.legal_entity.clone(),
                    start: section.employment.start,
                    end: section.employment.end,
                    status: section.employment.status.clone(),
                }],
                salaries,
                recurring,
                one_time,
                read_failed: None,
            });
        }
        Ok(PersonioState { compensation_types: types, persons, failed_reads: Vec::new() })
    }
}

impl ConfigSection {
    /// The engine configuration for the file's Personio section. When the file names neither M2 attribute,
    /// the attributes whose labels are M2's defaults are configured by their ids (real Personio sends no
    /// labels).
    pub fn to_config(&self, personio: &PersonioSection) -> Config {
        let mut config = Config::new(&personio.legal_entity.id, self.compensation_start_date);
        if self.employee_number_attribute.is_none() && self.income_number_attribute.is_none() {
            let definitions = personio.attribute_definitions();
            let id_of = |label: &str| {
                definitions
                    .iter()
                    .find(|definition| {
                        definition.label.as_deref().is_some_and(|seen| engine::labels_match(seen, label))
                    })
                    .map(|definition| definition.id.clone())
            };
            if let Some(id) = id_of(engine::config::DEFAULT_EMPLOYEE_NUMBER_ATTRIBUTE) {
                config.employee_number_attribute = id;
            }
            if let Some(id) = id_of(engine::config::DEFAULT_INCOME_NUMBER_ATTRIBUTE) {
                config.income_number_attribute = id;
            }
        }
        config.salary = self.salary;
        config.recurring = self.recurring;
        config.one_time = self.one_time;
        config.horizon_months = self.horizon_months;
        config.mappings = self
            .mappings
            .iter()
            .map(|mapping| engine::Mapping {
                personio_type: mapping.personio_type.clone(),
                benefit_component: mapping.benefit_component.map(ComponentKey),
                deduction_component: mapping.deduction_component.map(ComponentKey),
            })
            .collect();
        if let Some(value) = self.max_delete_fraction {
            config.max_delete_fraction = value;
        }
        if let Some(value) = self.max_wage_decrease_fraction {
            config.max_wage_decrease_fraction = value;
        }
        if let Some(label) = &self.employee_number_attribute {
            config.employee_number_attribute = label.clone();
        }
        if let Some(label) = &self.income_number_attribute {
            config.income_number_attribute = label.clone();
        }
        config
    }
}

impl LoketSection {
    /// The years a calendar can hold (jiff's dates run from -9999 to 9999; payroll from 1900 on).
    pub const YEARS: std::ops::RangeInclusive<i16> = 1900..=9998;

    /// The periods of every year in `period_years`, as SCENARIOS.md defines them (years outside `YEARS`
    /// are left out; `to_state` refuses them).
    pub fn periods(&self) -> Vec<Period> {
        let mut periods = Vec::new();
        for year in self.period_years.iter().copied().filter(|year| LoketSection::YEARS.contains(year)) {
            let (count, length) = match self.payroll_period_type {
                PeriodType::Month => (12, 0),
                PeriodType::FourWeeks => (13, 28),
                PeriodType::Week => (52, 7),
            };
            for number in 1..=count {
                let (start, end) = match self.payroll_period_type {
                    PeriodType::Month => {
                        let start = date(year, number as i8, 1);
                        (start, start.last_of_month())
                    }
                    _ => {
                        let first = date(year, 1, 1);
                        let start = first
                            .checked_add(jiff::Span::new().days(length * (i64::from(number) - 1)))
                            .unwrap_or(first);
                        let end = if number == count {
                            date(year, 12, 31)
                        } else {
                            start.checked_add(jiff::Span::new().days(length - 1)).unwrap_or(start)
                        };
                        (start, end)
                    }
                };
                let id = PeriodId { year, number: number as u8 };
                let closed = self.approved_through.is_some_and(|through| id <= through);
                periods.push(Period { id, start, end, closed });
            }
        }
        periods
    }

    pub fn employer_id(&self) -> String {
        derived_id("loket-employer", &self.employer.name)
    }

    pub fn administration_id(&self) -> String {
        derived_id("loket-administration", &self.employer.name)
    }

    pub fn employment_id(&self, employee_number: u64, income_relationship_number: Option<u64>) -> String {
        derived_id(
            "loket-employment",
            &format!("{}/{employee_number}/{}", self.employer.name, income_relationship_number.unwrap_or(0)),
        )
    }

    pub fn distribution_unit(&self, employment_id: &str) -> String {
        derived_id("loket-distribution-unit", employment_id)
    }

    /// The Loket state the engine sees, exactly as the client rebuilds it from the API.
    pub fn to_state(&self) -> Result<LoketState, ScenarioError> {
        if let Some(year) = self.period_years.iter().find(|year| !LoketSection::YEARS.contains(year)) {
            return Err(invalid("loket.period_years", format!("{year} is not a payroll year (1900 to 9998)")));
        }
        let calendar =
            Calendar::new(self.periods()).map_err(|error| invalid("loket.period_years", error.to_string()))?;
        let catalogue_of = |year: i16| -> BTreeMap<ComponentKey, Component> {
            self.components
                .iter()
                .filter(|component| component.years.as_ref().is_none_or(|years| years.contains(&year)))
                .map(|component| {
                    (
                        ComponentKey(component.key),
                        Component {
                            key: ComponentKey(component.key),
                            description: component.description.clone(),
                            category: component.category,
                            kind: match component.kind {
                                ComponentKindSection::Payment => ComponentKind::Payment,
                                ComponentKindSection::Deduction => ComponentKind::Deduction,
                                ComponentKindSection::None => ComponentKind::None,
                            },
                        },
                    )
                })
                .collect()
        };
        let components = self.period_years.iter().map(|year| (*year, catalogue_of(*year))).collect();
        let mut employments = Vec::new();
        for (index, section) in self.employments.iter().enumerate() {
            let id = self.employment_id(section.employee_number, section.income_relationship_number);
            let distribution_unit = engine::ShortId::new(&self.distribution_unit(&id))
                .ok_or_else(|| invalid("loket.employments", "a derived distribution unit is too long"))?;
            let mut wages = Vec::new();
            for (wage_index, wage) in section.wages.iter().enumerate() {
                let amount = Money::exact(wage.amount).ok_or_else(|| {
                    invalid(
                        format!("loket.employments[{index}].wages[{wage_index}].amount"),
                        "has more than two decimals",
                    )
                })?;
                wages.push(Wage {
                    id: RecordId(derived_id("loket-wage", &format!("{id}/{}", wage.start))),
                    value: WageValue {
                        start: wage.start,
                        kind: match wage.wage_type {
                            WageTypeSection::Periodic => WageKind::Periodic,
                            WageTypeSection::Hourly => WageKind::Hourly,
                        },
                        amount,
                    },
                    pay_scale: wage.pay_scale.clone(),
                    pay_grade: None,
                    full_time: wage.full_time,
                });
            }
            let mut benefits = Vec::new();
            for (record_index, record) in section.benefits_and_deductions.iter().enumerate() {
                let value = Money::exact(record.value).ok_or_else(|| {
                    invalid(
                        format!("loket.employments[{index}].benefits_and_deductions[{record_index}].value"),
                        "has more than two decimals",
                    )
                })?;
                benefits.push(BenefitOrDeduction {
                    id: RecordId(derived_id("loket-benefit", &format!("{id}/{}/{}", record.component, record.start))),
                    value: BenefitValue {
                        component: ComponentKey(record.component),
                        start: record.start,
                        end: record.end,
                        value,
                    },
                });
            }
            let other_unit = engine::ShortId::new(&other_distribution_unit(&id))
                .ok_or_else(|| invalid("loket.employments", "a derived distribution unit is too long"))?;
            let mut records: BTreeMap<PeriodDataKey, BTreeMap<ComponentKey, rust_decimal::Decimal>> = BTreeMap::new();
            for (item_index, item) in section.payroll_period_data.iter().enumerate() {
                let unit = match item.distribution_unit.as_deref() {
                    None => distribution_unit,
                    Some(OTHER_DISTRIBUTION_UNIT) => other_unit,
                    Some(key) => engine::ShortId::new(key).filter(|_| !key.trim().is_empty()).ok_or_else(|| {
                        invalid(
                            format!("loket.employments[{index}].payroll_period_data[{item_index}].distribution_unit"),
                            format!("`{key}` is not a distribution unit key: leave it out for the default one, or write \"other\""),
                        )
                    })?,
                };
                let key = PeriodDataKey {
                    period: item.period,
                    shift: item.shift,
                    payslip_type: item.payslip_type,
                    distribution_unit: Some(unit),
                    cost_center: item.cost_center.map(|key| key.to_string()),
                    cost_unit: item.cost_unit.map(|key| key.to_string()),
                };
                records.entry(key).or_default().insert(ComponentKey(item.component), item.value);
            }
            let period_data = records
                .into_iter()
                .map(|(key, values)| PeriodData {
                    id: Some(RecordId(derived_id("loket-period-data", &format!("{id}/{key:?}")))),
                    key,
                    values: values.into_iter().collect(),
                })
                .collect();
            let defaults = section.period_data_defaults.clone().unwrap_or(PeriodDataDefaultsSection {
                shift: Some(1),
                payslip_type: Some(1),
                cost_center: None,
                cost_unit: None,
            });
            employments.push(Employment {
                id: EmploymentId::new(&id).expect("a derived id is UUID-shaped, 36 bytes"),
                employee_number: EmployeeNumber(section.employee_number),
                income_relationship_number: section.income_relationship_number,
                name: section.name.clone(),
                start: section.start,
                end: section.end,
                period_data_defaults: PeriodDataDefaults {
                    shift: defaults.shift.unwrap_or(1),
                    payslip_type: defaults.payslip_type.unwrap_or(1),
                    distribution_unit: Some(distribution_unit),
                    cost_center: defaults.cost_center.map(|key| key.to_string()),
                    cost_unit: defaults.cost_unit.map(|key| key.to_string()),
                },
                wages,
                benefits_and_deductions: benefits,
                period_data,
                read_failed: None,
            });
        }
        Ok(LoketState { calendar, components, employments, failed_reads: Vec::new() })
    }
}

/// The `loket.employments` section of a state: what the emulator dumps and what `expect` compares.
pub fn employments_section(state: &LoketState) -> Vec<LoketEmploymentSection> {
    let mut employments: Vec<LoketEmploymentSection> = state
        .employments
        .iter()
        .map(|employment| {
            let mut wages: Vec<WageSection> = employment
                .wages
                .iter()
                .map(|wage| WageSection {
                    start: wage.value.start,
                    wage_type: match wage.value.kind {
                        WageKind::Periodic => WageTypeSection::Periodic,
                        WageKind::Hourly => WageTypeSection::Hourly,
                    },
                    amount: wage.value.amount.value(),
                    pay_scale: wage.pay_scale.clone(),
                    full_time: wage.full_time,
                })
                .collect();
            wages.sort_by_key(|wage| wage.start);
            let mut benefits: Vec<BenefitSection> = employment
                .benefits_and_deductions
                .iter()
                .map(|record| BenefitSection {
                    component: record.value.component.0,
                    start: record.value.start,
                    end: record.value.end,
                    value: record.value.value.value(),
                })
                .collect();
            benefits.sort_by_key(|record| (record.component, record.start));
            let mut items = Vec::new();
            let defaults = &employment.period_data_defaults;
            let integer = |key: &Option<String>| key.as_ref().and_then(|key| key.parse::<i64>().ok());
            for record in &employment.period_data {
                let other = other_distribution_unit(employment.id.as_str());
                let distribution_unit = (record.key.distribution_unit != defaults.distribution_unit).then(|| {
                    match record.key.distribution_unit {
                        Some(unit) if unit.as_str() == other => OTHER_DISTRIBUTION_UNIT.to_string(),
                        Some(unit) => unit.as_str().to_string(),
                        None => String::new(),
                    }
                });
                for (component, value) in record.values.iter() {
                    items.push(PeriodDataItem {
                        period: record.key.period,
                        component: component.0,
                        value: *value,
                        shift: record.key.shift,
                        payslip_type: record.key.payslip_type,
                        cost_center: integer(&record.key.cost_center),
                        cost_unit: integer(&record.key.cost_unit),
                        distribution_unit: distribution_unit.clone(),
                    });
                }
            }
            items.sort_by(|a, b| {
                (a.period, a.shift, a.payslip_type, a.cost_center, a.cost_unit, &a.distribution_unit, a.component).cmp(
                    &(b.period, b.shift, b.payslip_type, b.cost_center, b.cost_unit, &b.distribution_unit, b.component),
                )
            });
            let period_data_defaults = (*defaults
                != PeriodDataDefaults::with_distribution_unit(defaults.distribution_unit))
            .then(|| PeriodDataDefaultsSection {
                shift: Some(defaults.shift),
                payslip_type: Some(defaults.payslip_type),
                cost_center: integer(&defaults.cost_center),
                cost_unit: integer(&defaults.cost_unit),
            });
            LoketEmploymentSection {
                employee_number: employment.employee_number.0,
                income_relationship_number: employment.income_relationship_number,
                name: employment.name.clone(),
                start: employment.start,
                end: employment.end,
                wages,
                benefits_and_deductions: benefits,
                payroll_period_data: items,
                period_data_defaults,
            }
        })
        .collect();
    employments.sort_by_key(|employment| (employment.employee_number, employment.income_relationship_number));
    employments
}
