//! Money on the wire. Loket and Personio send amounts as JSON numbers (`1234.5`, `0.1`); they are parsed from the number's
//! own text with `Decimal::from_str_exact`, never through `f64`, and written back as JSON numbers from the
//! decimal's text. Used by both clients and both emulators, so all read and write the same way. (Parsing
//! text is no IO: the engine stays pure.)

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON value that is not an exact amount.
#[derive(Debug, thiserror::Error)]
pub enum NumberError {
    #[error("expected a number, got {0}")]
    NotANumber(String),
    #[error("{text} is not an exact amount")]
    Inexact {
        text: String,
        #[source]
        source: rust_decimal::Error,
    },
}

/// Parses the text of a JSON number exactly: `1234.5`, `-0.10`, `1e3`, `2.5E-1`.
pub fn parse_number(text: &str) -> Result<Decimal, NumberError> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('"') {
        return Err(NumberError::NotANumber(text.to_string()));
    }
    let inexact = |source| NumberError::Inexact { text: text.to_string(), source };
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).map_err(inexact);
    }
    Decimal::from_str_exact(text).map_err(inexact)
}

fn to_raw(value: &Decimal) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(value.normalize().to_string())
}

pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    to_raw(value).map_err(serde::ser::Error::custom)?.serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    parse_number(raw.get()).map_err(|error| D::Error::custom(crate::errors::chain(&error)))
}

/// The same for amounts that may be `null`.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
        let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
        match raw {
            None => Ok(None),
            Some(raw) if raw.get().trim() == "null" => Ok(None),
            Some(raw) => {
                parse_number(raw.get()).map(Some).map_err(|error| D::Error::custom(crate::errors::chain(&error)))
            }
        }
    }
}
