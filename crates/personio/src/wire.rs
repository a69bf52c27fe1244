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

/// The token endpoint's error: 400 `application/problem+json` (Personio's credentials document).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdRef {
    pub id: String,
}

/// A custom attribute as Personio's v2 API sends it: `{id, global_id, type, value}`. Real answers carry no
/// `label` (the schema lists an optional one); `type` comes in upper case (the schema's enum) or lower case
/// (the examples and live answers); `value` is a string, a number, or a list of strings or objects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomAttribute {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_as_empty")]
    pub global_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "null_as_empty")]
    pub kind: String,
    #[serde(default)]
    pub value: Value,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl CustomAttribute {
    /// The value as text: a string as it is, a number in its JSON form, null as empty, a list as its JSON
    /// text (which is never a whole number).
    pub fn value_text(&self) -> String {
        match &self.value {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

/// Dates of an employment: Personio's document types them as plain strings. A date (`2024-01-17`) or the
/// date of a timestamp (`2024-01-17T00:00:00Z`) is accepted, null or empty is none; anything else fails
/// the read with the text it got.
pub mod lenient_date {
    use jiff::civil::Date;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(date) => serializer.collect_str(date),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let day = trimmed.get(..10).filter(|_| trimmed.len() == 10 || trimmed[10..].starts_with('T'));
        day.and_then(|day| day.parse::<Date>().ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
    }
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
    #[serde(default, with = "lenient_date")]
    pub termination_date: Option<Date>,
    #[serde(default, with = "lenient_date")]
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
    #[serde(default, deserialize_with = "null_as_empty")]
    pub status: String,
    /// No field of an employment is required in Personio's document: an employment without a legal entity
    /// belongs to none, so it is out of scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<IdRef>,
    #[serde(default, with = "lenient_date")]
    pub employment_start_date: Option<Date>,
    #[serde(default, with = "lenient_date")]
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
