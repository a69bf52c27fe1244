//! Loket REST API v2 wire types: one contract for the client (which reads and writes them) and the local
//! Loket (which serves them). Field names and shapes follow Loket's OpenAPI document; the conformance tests
//! check every body against the vendored subset of it. Money fields go through `crate::exact`.
//!
//! Fields the sync does not use are kept in `other` maps where the schema has many of them (employment,
//! employer, payroll administration), so that a record read and written back (a PUT replaces the record)
//! keeps them as Loket sent them.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::exact;

/// The resource versions the client asks for (`Accept: application/json;version=…`).
pub const VERSION_2018: &str = "2018-01-01";
pub const VERSION_EMPLOYMENTS: &str = "2019-12-16";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub resource_version: String,
    pub obsolete_date: Option<String>,
}

impl Version {
    pub fn of(resource_version: &str) -> Version {
        Version { resource_version: resource_version.to_string(), obsolete_date: None }
    }
}

/// A message in an envelope: a broken business rule, a warning, an exception or a not-found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub code: i32,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub properties: Vec<String>,
}

impl Message {
    pub fn broken_rule(description: impl Into<String>) -> Message {
        Message {
            code: 400,
            id: None,
            kind: "BrokenBusinessRule".to_string(),
            description: description.into(),
            properties: Vec::new(),
        }
    }
}

/// A list response: one page of `_embedded` with the paging counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEnvelope<T> {
    #[serde(default)]
    pub total_size: i64,
    #[serde(default)]
    pub page_size: i64,
    #[serde(default)]
    pub total_pages: i64,
    #[serde(default)]
    pub current_page: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(rename = "_embedded")]
    pub embedded: Vec<T>,
}

/// A single-entity response (GET by id, POST 201, PUT 200; DELETE and errors with an empty `content`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    #[serde(default)]
    pub messages: Vec<Message>,
    pub content: T,
}

/// The body of a 401 or 403.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub message: String,
}

/// `{ key, value }` metadata. On write only `key` counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
}

/// A field Loket may send as null where the sync wants its empty value.
fn null_as_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl KeyValue {
    pub fn new(key: i64, value: &str) -> KeyValue {
        KeyValue { key, value: value.to_string() }
    }
}

// ---------------------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employer {
    pub id: String,
    pub company_name: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayrollAdministration {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub client_number: i64,
    pub payroll_period_type: KeyValue,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeRef {
    pub id: String,
    pub employee_number: i64,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub formatted_name: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdministrationRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub client_number: i64,
}

/// An employment (resource version 2019-12-16).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employment {
    pub id: String,
    pub start_date: Date,
    pub end_date: Option<Date>,
    pub income_relationship_number: Option<i64>,
    pub employee: EmployeeRef,
    #[serde(default)]
    pub payroll_administration: Option<AdministrationRef>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A wage: a link of the linked chain. `endDate` is derived by Loket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub start_date: Date,
    #[serde(default)]
    pub end_date: Option<Date>,
    #[serde(default, with = "exact::option")]
    pub gross_wage: Option<Decimal>,
    #[serde(default)]
    pub gross_wage_type: Option<KeyValue>,
    #[serde(default, with = "exact::option")]
    pub net_wage: Option<Decimal>,
    #[serde(default)]
    pub net_wage_type: Option<KeyValue>,
    #[serde(default, with = "exact::option")]
    pub employer_costs: Option<Decimal>,
    #[serde(default)]
    pub employer_costs_type: Option<KeyValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payroll_period_type: Option<KeyValue>,
    #[serde(default)]
    pub pay_scale: Option<KeyValue>,
    #[serde(default)]
    pub pay_grade: Option<KeyValue>,
    #[serde(default)]
    pub apply_pay_grade: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_gross_wage_full_time: Option<bool>,
}

/// `grossWageType` keys.
pub const WAGE_PERIODIC: i64 = 1;
pub const WAGE_HOURLY: i64 = 2;

/// A payroll component as benefits, deductions and period data show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRef {
    pub key: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<KeyValue>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub deduction_or_payment: Option<Option<KeyValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_be_supplemented: Option<bool>,
}

impl ComponentRef {
    /// A reference for writing: only the key counts.
    pub fn key(key: i64) -> ComponentRef {
        ComponentRef { key, description: None, category: None, deduction_or_payment: None, can_be_supplemented: None }
    }
}

/// `Option<Option<T>>` that tells "absent" (outer `None`) from `null` (inner `None`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(value: &Option<Option<T>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// `deductionOrPayment` keys (payment confirmed; deduction unconfirmed, as the local Loket serves it).
pub const PAYMENT: i64 = 2;
pub const DEDUCTION: i64 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BenefitOrDeduction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub start_date: Date,
    #[serde(default)]
    pub end_date: Option<Date>,
    #[serde(with = "exact")]
    pub value: Decimal,
    pub payroll_component: ComponentRef,
}

/// A payroll component of the catalogue of one year.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayrollComponent {
    pub key: i64,
    #[serde(default)]
    pub description: String,
    pub category: KeyValue,
    #[serde(default)]
    pub deduction_or_payment: Option<KeyValue>,
    #[serde(default)]
    pub can_be_supplemented: bool,
    #[serde(default)]
    pub is_collective_mutation_possible: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalRun {
    pub journal_run_status: KeyValue,
    pub sequence_number: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayrollRun {
    #[serde(default)]
    pub id: String,
    pub payroll_run_status: KeyValue,
    #[serde(default)]
    pub sequence_number: Option<i64>,
    #[serde(default)]
    pub sequence_number_approved: Option<i64>,
    #[serde(default)]
    pub journal_runs: Vec<JournalRun>,
}

/// `payrollRunStatus` key of an approved run: the period is closed.
pub const RUN_APPROVED: i64 = 9;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomaticProcessing {
    pub approve_payroll_run_on: Option<Date>,
    pub create_payroll_run_on: Option<Date>,
    pub has_automatic_payroll_run_approval_been_executed: bool,
    pub has_automatic_payroll_run_creation_been_executed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayrollPeriod {
    pub id: i64,
    pub year: i64,
    pub period_number: i64,
    pub start_date: Date,
    pub end_date: Date,
    pub payroll_period_type: KeyValue,
    #[serde(default)]
    pub test_year: bool,
    #[serde(default)]
    pub payroll_runs: Vec<PayrollRun>,
    #[serde(default)]
    pub automatic_processing: Option<AutomaticProcessing>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodRef {
    pub year: i64,
    pub period_number: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end_date: Option<Date>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    pub shift_number: i64,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "exact::option")]
    pub full_time_hours_per_week: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "exact::option")]
    pub bonus_percentage: Option<Decimal>,
}

/// One component value in a payroll-period-data record. On a PATCH, `value: null` deletes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentValue {
    pub payroll_component: ComponentRef,
    #[serde(with = "exact::option")]
    pub value: Option<Decimal>,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_supplement: bool,
}

/// The per-period list may send `isSupplement: null`; that is "no".
fn null_as_false<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

/// A payroll-period-data record ("variable input"). The same shape is read (GET) and upserted (PATCH); the
/// collective PATCH adds `employmentId`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayrollPeriodData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_id: Option<String>,
    pub payroll_period: PeriodRef,
    pub shift: Shift,
    pub payslip_type: KeyValue,
    #[serde(default)]
    pub payslip_text: Option<String>,
    pub distribution_unit: CodedKey<String>,
    #[serde(default)]
    pub cost_center: Option<CodedKey<i64>>,
    #[serde(default)]
    pub cost_unit: Option<CodedKey<i64>>,
    #[serde(default)]
    pub payroll_components: Vec<ComponentValue>,
}

/// The defaults of a PATCH (`…/payrollperioddata/defaults`): a GET-shaped record in which every field
/// without a default is null, even fields that are normally required (`payrollPeriod` always is).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodDataDefaults {
    #[serde(default)]
    pub payroll_period: Option<PeriodRef>,
    #[serde(default)]
    pub shift: Option<Shift>,
    #[serde(default)]
    pub payslip_type: Option<KeyValue>,
    #[serde(default)]
    pub payslip_text: Option<String>,
    #[serde(default)]
    pub distribution_unit: Option<CodedKey<String>>,
    #[serde(default)]
    pub cost_center: Option<CodedKey<i64>>,
    #[serde(default)]
    pub cost_unit: Option<CodedKey<i64>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub payroll_components: Vec<ComponentValue>,
}

/// Which components one read of a period's data covers: Loket requires a set or a category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentSelection {
    /// `payrollComponentSet` (a GUID).
    Set(String),
    /// `payrollComponentCategory`.
    Category(i64),
}

/// The token endpoint's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: i64,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// The token endpoint's error (`invalid_grant`, `invalid_client`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// A distribution unit, cost centre or cost unit: `key`, with a `code` and `description` when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodedKey<K> {
    pub key: K,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodEmploymentRef {
    pub id: String,
    #[serde(default)]
    pub income_relationship_number: i64,
    #[serde(default)]
    pub payroll_id: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodEmployeeRef {
    pub employee_number: i64,
    #[serde(default)]
    pub formatted_name: String,
}

/// A payroll-period-data record as the list of one period shows it (every employment of the
/// administration): with the employment it belongs to, without a record id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodDataOfPeriod {
    pub employment: PeriodEmploymentRef,
    pub employee: PeriodEmployeeRef,
    pub payroll_period: PeriodRef,
    pub shift: Shift,
    pub payslip_type: KeyValue,
    pub distribution_unit: CodedKey<String>,
    #[serde(default)]
    pub cost_center: Option<CodedKey<i64>>,
    #[serde(default)]
    pub cost_unit: Option<CodedKey<i64>>,
    #[serde(default)]
    pub payroll_components: Vec<ComponentValue>,
}

/// One item of the collective create (`POST …/{employerId}/employees/employments/benefitsanddeductions`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveBenefit {
    pub employment_id: String,
    pub payroll_component: ComponentRef,
    pub start_date: Date,
    #[serde(with = "exact::option")]
    pub value: Option<Decimal>,
}

/// One item of the collective end-date change (`PUT` on the same path): end dates only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveEnd {
    pub benefit_and_deduction_id: String,
    pub employment_id: String,
    pub end_date: Date,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCount {
    pub processed: i64,
    pub processed_with_error: i64,
    pub processed_with_warning: i64,
    pub total: i64,
}

/// The answer to a collective action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectiveResult {
    pub collective_action_id: String,
    pub item_count: ItemCount,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub submitted_by_user_id: String,
    #[serde(default)]
    pub submitted_on: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// The body of a termination (`PATCH …/employments/{employmentId}/terminate`, version 2019-12-16).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminate {
    pub end_date: Date,
    pub end_of_employment_reason: KeyValue,
    pub end_of_employment_reason_tax_authorities: KeyValue,
    pub end_of_employment_due_to_illness: bool,
    pub create_mdv_entry: bool,
}
