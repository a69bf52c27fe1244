//! The serde types of the scenario file format (SCENARIOS.md). The `personio` and `loket` sections are
//! also the seed and dump format of the two emulators.

use std::collections::BTreeMap;

use engine::PeriodId;
use engine::state::{Interval, TypeCategory};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Amounts are strings with a decimal point (`"4833.33"`), parsed exactly, never through a float.
pub mod exact {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(|error| serde::de::Error::custom(engine::errors::chain(&error)))
    }

    /// A scenario amount that is not one.
    #[derive(Debug, thiserror::Error)]
    pub enum AmountError {
        #[error("`{0}` is not an amount: write it as a string such as \"4833.33\"")]
        Malformed(String),
        #[error("`{text}` is not an amount")]
        Inexact {
            text: String,
            #[source]
            source: rust_decimal::Error,
        },
    }

    pub fn parse(text: &str) -> Result<Decimal, AmountError> {
        let trimmed = text.trim();
        let well_formed = !trimmed.is_empty()
            && trimmed.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.')
            && trimmed.matches('.').count() <= 1;
        if !well_formed {
            return Err(AmountError::Malformed(text.to_string()));
        }
        Decimal::from_str_exact(trimmed).map_err(|source| AmountError::Inexact { text: text.to_string(), source })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<String>,
    pub today: Date,
    pub config: ConfigSection,
    pub personio: PersonioSection,
    pub loket: LoketSection,
    pub expect: Expect,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigSection {
    pub compensation_start_date: Date,
    #[serde(default)]
    pub salary: bool,
    #[serde(default)]
    pub recurring: bool,
    #[serde(default)]
    pub one_time: bool,
    #[serde(default = "default_horizon")]
    pub horizon_months: u32,
    #[serde(default)]
    pub mappings: Vec<MappingSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delete_fraction: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wage_decrease_fraction: Option<Decimal>,
    /// The id, global id or label of the Personio attribute that holds the Loket employee number (M2).
    /// When a file names neither attribute, the runner configures the attributes whose labels are M2's
    /// defaults, by their ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number_attribute: Option<String>,
    /// The id, global id or label of the Personio attribute that holds the income relationship number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub income_number_attribute: Option<String>,
}

fn default_horizon() -> u32 {
    engine::config::DEFAULT_HORIZON_MONTHS
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingSection {
    pub personio_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benefit_component: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deduction_component: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonioSection {
    pub legal_entity: LegalEntity,
    #[serde(default)]
    pub other_legal_entities: Vec<LegalEntity>,
    #[serde(default)]
    pub compensation_types: Vec<CompensationTypeSection>,
    #[serde(default)]
    pub persons: Vec<PersonSection>,
    /// The custom attributes' definitions; an attribute used by a person but not defined here gets a
    /// derived id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_attributes: Vec<CustomAttributeSection>,
    /// Serve attribute labels too (real Personio answers carry none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub labels_served: bool,
}

/// A custom attribute's definition: `{ "id": "dynamic_1001", "global_id": "…", "label": "…", "type": "INT" }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomAttributeSection {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub global_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(rename = "type", default = "string_type")]
    pub kind: String,
}

fn string_type() -> String {
    "string".to_string()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegalEntity {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub country: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompensationTypeSection {
    /// Optional: derived from the name when absent, the same on every start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub category: TypeCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonSection {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub employment: PersonioEmploymentSection,
    #[serde(default)]
    pub salaries: Vec<SalarySection>,
    #[serde(default)]
    pub recurring: Vec<RecurringSection>,
    #[serde(default)]
    pub one_time: Vec<OneTimeSection>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonioEmploymentSection {
    pub legal_entity: String,
    pub status: String,
    pub start: Option<Date>,
    pub end: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_hours: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_time_weekly_hours: Option<Decimal>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalaryKindSection {
    Fixed,
    Hourly,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SalarySection {
    pub effective_from: Date,
    pub kind: SalaryKindSection,
    #[serde(with = "exact")]
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecurringSection {
    #[serde(rename = "type")]
    pub type_name: String,
    pub effective_from: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    #[serde(with = "exact")]
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneTimeSection {
    #[serde(rename = "type")]
    pub type_name: String,
    pub date: Date,
    #[serde(with = "exact")]
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    Month,
    FourWeeks,
    Week,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoketSection {
    pub employer: Employer,
    pub payroll_period_type: PeriodType,
    pub period_years: Vec<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_through: Option<PeriodId>,
    #[serde(default)]
    pub components: Vec<ComponentSection>,
    #[serde(default)]
    pub employments: Vec<LoketEmploymentSection>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Employer {
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKindSection {
    Payment,
    Deduction,
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSection {
    pub key: u32,
    pub description: String,
    pub category: u16,
    pub kind: ComponentKindSection,
    /// The years whose catalogue holds the component (default: every year of `period_years`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<Vec<i16>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoketEmploymentSection {
    pub employee_number: u64,
    #[serde(default)]
    pub income_relationship_number: Option<u64>,
    #[serde(default)]
    pub name: String,
    pub start: Date,
    #[serde(default)]
    pub end: Option<Date>,
    #[serde(default)]
    pub wages: Vec<WageSection>,
    #[serde(default)]
    pub benefits_and_deductions: Vec<BenefitSection>,
    #[serde(default)]
    pub payroll_period_data: Vec<PeriodDataItem>,
    /// The defaults `…/payrollperioddata/defaults` serves (O5); absent: shift 1, the normal payslip, no
    /// cost centre, no cost unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_data_defaults: Option<PeriodDataDefaultsSection>,
}

/// `{ "shift": 1, "payslip_type": 1, "cost_center": null, "cost_unit": null }`: a field that is null (or
/// absent) has no default, and Loket serves it as null.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodDataDefaultsSection {
    #[serde(default)]
    pub shift: Option<u32>,
    #[serde(default)]
    pub payslip_type: Option<u32>,
    #[serde(default)]
    pub cost_center: Option<i64>,
    #[serde(default)]
    pub cost_unit: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WageTypeSection {
    Periodic,
    Hourly,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WageSection {
    pub start: Date,
    #[serde(rename = "type")]
    pub wage_type: WageTypeSection,
    #[serde(with = "exact")]
    pub amount: Decimal,
    #[serde(default)]
    pub pay_scale: Option<String>,
    /// Loket's `isGrossWageFullTime` (default true); `false`: the amount is the actual (part-time) wage.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub full_time: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(value: &bool) -> bool {
    *value
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenefitSection {
    pub component: u32,
    pub start: Date,
    #[serde(default)]
    pub end: Option<Date>,
    #[serde(with = "exact")]
    pub value: Decimal,
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodDataItem {
    pub period: PeriodId,
    pub component: u32,
    #[serde(with = "exact")]
    pub value: Decimal,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub shift: u32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub payslip_type: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_unit: Option<i64>,
    /// Absent: the employment's default distribution unit; `"other"`: a second, derived one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_unit: Option<String>,
}

/// The `distribution_unit` of a period-data item that names the employment's second, derived unit.
pub const OTHER_DISTRIBUTION_UNIT: &str = "other";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    #[serde(default)]
    pub config_error: bool,
    #[serde(default)]
    pub loket: Option<ExpectedLoket>,
    #[serde(default)]
    pub issues: Vec<ExpectedIssue>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectedLoket {
    pub employments: Vec<LoketEmploymentSection>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectedIssue {
    pub code: String,
    pub severity: String,
    #[serde(default)]
    pub person: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_contains: Option<String>,
}
