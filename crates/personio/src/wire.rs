//! Personio API v2 wire types: one contract for the client and the local Personio. Field names follow
//! Personio's documentation and public client code; where they are unconfirmed the local Personio decides,
//! and its crate docs say so. Amounts go through `engine::exact`.

use engine::exact;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Links {
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub this: Option<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub links: Links,
}

/// A list response: `_data` and the link to the next page, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    #[serde(rename = "_data")]
    pub data: Vec<T>,
    #[serde(rename = "_meta", default)]
    pub meta: Meta,
}

/// An error body (`application/problem+json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub personio_trace_id: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    pub title: String,
    #[serde(default)]
    pub detail: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: i64,
    #[serde(default)]
    pub scope: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdRef {
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomAttribute {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub global_id: String,
    pub label: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub preferred_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
    #[serde(default)]
    pub employments: Vec<IdRef>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Termination {
    pub termination_date: Option<Date>,
    pub last_working_day: Option<Date>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub title: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Employment {
    pub id: String,
    #[serde(default)]
    pub status: String,
    pub legal_entity: IdRef,
    #[serde(default)]
    pub employment_start_date: Option<Date>,
    #[serde(default)]
    pub employment_end_date: Option<Date>,
    #[serde(default)]
    pub termination: Option<Termination>,
    #[serde(default, with = "exact::option")]
    pub weekly_working_hours: Option<Decimal>,
    #[serde(default, with = "exact::option")]
    pub full_time_weekly_working_hours: Option<Decimal>,
    #[serde(default)]
    pub position: Option<Position>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegalEntity {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub country: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompensationType {
    pub id: String,
    pub name: String,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub category: String,
}

/// `{value, currency}` for money; `{value, unit}` for a type counted in another unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    #[serde(with = "exact")]
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One item of `GET /v2/compensations`: a salary, recurring or one-time compensation in the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compensation {
    pub id: String,
    pub person: IdRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<IdRef>,
    #[serde(rename = "type")]
    pub kind: TypeRef,
    pub amount: Amount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub effective_from: Date,
    #[serde(default, with = "exact::option", skip_serializing_if = "Option::is_none")]
    pub weekly_working_hours: Option<Decimal>,
    #[serde(default, with = "exact::option", skip_serializing_if = "Option::is_none")]
    pub full_time_weekly_working_hours: Option<Decimal>,
}

pub const FIXED_SALARY: &str = "FIXED_SALARY";
pub const HOURLY_SALARY: &str = "HOURLY_SALARY";
pub const RECURRING: &str = "RECURRING";
pub const ONE_TIME: &str = "ONE_TIME";

pub const SCOPE_PERSONS: &str = "personio:persons:read";
pub const SCOPE_COMPENSATIONS: &str = "personio:compensations:read";
pub const SCOPE_LEGAL_ENTITIES: &str = "personio:legal-entities:read";
