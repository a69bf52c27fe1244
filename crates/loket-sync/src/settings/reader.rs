//! The reader of a configuration file: typed values of each section's keys, every problem collected with
//! the line the TOML parser's spans give for it.

use std::path::Path;

use jiff::civil::Date;
use rust_decimal::Decimal;
use secrecy::SecretString;
use toml::{Table, Value};
use url::Url;

use super::{Environment, FieldError};

pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    pub(super) errors: Vec<FieldError>,
}

impl Reader<'_> {
    /// The line of `key` in the `occurrence`-th table of the section (`[[mappings]]` has one per mapping),
    /// from the TOML parser's spans; the table's first line when the key is not written out, 1 for a section
    /// that is not there.
    pub(super) fn line_of(&self, section: Option<(&str, usize)>, key: Option<&str>) -> usize {
        use toml::de::{DeTable, DeValue};
        let Ok(document) = DeTable::parse(self.text) else { return 1 };
        let line = |offset: usize| {
            self.text.as_bytes()[..offset.min(self.text.len())].iter().filter(|byte| **byte == b'\n').count() + 1
        };
        let find = |table: &DeTable<'_>, name: &str| -> Option<(usize, usize)> {
            table
                .iter()
                .find(|(candidate, _)| candidate.get_ref().as_ref() == name)
                .map(|(key, value)| (key.span().start, value.span().start))
        };
        let root = document.get_ref();
        let (table, start) = match section {
            None => (root, 0),
            Some((name, occurrence)) => {
                let Some((_, value)) = root.iter().find(|(candidate, _)| candidate.get_ref().as_ref() == name) else {
                    return 1;
                };
                let found = match value.get_ref() {
                    DeValue::Table(table) if occurrence == 0 => Some((table, value.span().start)),
                    DeValue::Array(items) => items.get(occurrence).and_then(|item| match item.get_ref() {
                        DeValue::Table(table) => Some((table, item.span().start)),
                        _ => None,
                    }),
                    _ => None,
                };
                let Some(found) = found else { return 1 };
                found
            }
        };
        match key.and_then(|key| find(table, key)) {
            Some((key_start, _)) => line(key_start),
            // Where the table starts: its header.
            None => line(start),
        }
    }

    /// An error in `key` of `section`, at the key's line.
    pub(super) fn refuse(&mut self, section: &Section, key: &str, message: impl Into<String>) {
        self.error(section.at(), section.field(key), Some(key), message);
    }

    pub(super) fn error(
        &mut self,
        section: Option<(&str, usize)>,
        field: String,
        key: Option<&str>,
        message: impl Into<String>,
    ) {
        let line = self.line_of(section, key);
        self.errors.push(FieldError { file: self.path.to_path_buf(), line, field, message: message.into() });
    }
}

/// A section and what may be in it.
pub(super) struct Section<'t> {
    pub(super) name: &'static str,
    pub(super) occurrence: usize,
    pub(super) table: Option<&'t Table>,
    pub(super) field_prefix: String,
}

impl<'t> Section<'t> {
    pub(super) fn get(&self, key: &str) -> Option<&'t Value> {
        self.table.and_then(|table| table.get(key))
    }

    pub(super) fn field(&self, key: &str) -> String {
        format!("{}{key}", self.field_prefix)
    }

    pub(super) fn at(&self) -> Option<(&str, usize)> {
        Some((self.name, self.occurrence))
    }
}

pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a number with decimals",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

impl Reader<'_> {
    /// A section the file must have: an error when it is missing, and one for every key it does not know.
    pub(super) fn required<'a>(&mut self, section: Section<'a>, known: &[&str]) -> Section<'a> {
        if section.table.is_none() {
            let name = section.name;
            self.error(None, name.to_string(), None, format!("the [{name}] section is missing"));
        }
        self.optional(section, known)
    }

    /// A section the file may leave out: an error for every key it does not know.
    pub(super) fn optional<'a>(&mut self, section: Section<'a>, known: &[&str]) -> Section<'a> {
        self.check_keys(&section, known);
        section
    }

    pub(super) fn check_keys(&mut self, section: &Section, allowed: &[&str]) {
        let Some(table) = section.table else { return };
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = allowed
                    .iter()
                    .find(|candidate| candidate.contains(key.as_str()) || key.contains(*candidate))
                    .map(|candidate| format!(" Did you mean `{candidate}`?"))
                    .unwrap_or_default();
                self.refuse(section, key, format!("unknown setting.{hint} Known: {}.", allowed.join(", ")));
            }
        }
    }

    pub(super) fn string(&mut self, section: &Section, key: &str, required: bool) -> Option<String> {
        match section.get(key) {
            Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_string()),
            Some(Value::String(_)) if required => {
                self.refuse(section, key, "must not be empty");
                None
            }
            Some(Value::String(_)) => None,
            Some(other) => {
                self.refuse(section, key, format!("must be a string in quotes, not {}", type_name(other)));
                None
            }
            None if required => {
                self.error(section.at(), section.field(key), None, "is required");
                None
            }
            None => None,
        }
    }

    pub(super) fn boolean(&mut self, section: &Section, key: &str) -> bool {
        match section.get(key) {
            Some(Value::Boolean(value)) => *value,
            Some(other) => {
                self.refuse(section, key, format!("must be true or false, not {}", type_name(other)));
                false
            }
            None => false,
        }
    }

    pub(super) fn integer(
        &mut self,
        section: &Section,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        match section.get(key) {
            Some(Value::Integer(value)) if range.contains(value) => Some(*value),
            Some(Value::Integer(value)) => {
                self.refuse(section, key, format!("{value} is out of range; use {} to {}", range.start(), range.end()));
                None
            }
            Some(other) => {
                self.refuse(section, key, format!("must be a whole number, not {}", type_name(other)));
                None
            }
            None => None,
        }
    }

    pub(super) fn fraction(&mut self, section: &Section, key: &str) -> Option<Decimal> {
        let value = match section.get(key)? {
            Value::Float(value) => value.to_string(),
            Value::Integer(value) => value.to_string(),
            Value::String(text) => text.clone(),
            other => {
                self.refuse(section, key, format!("must be a number from 0 to 1, not {}", type_name(other)));
                return None;
            }
        };
        match value.parse::<Decimal>() {
            Ok(value) if value >= Decimal::ZERO && value <= Decimal::ONE => Some(value),
            _ => {
                self.refuse(section, key, format!("`{value}` must be a number from 0 to 1, such as 0.25"));
                None
            }
        }
    }

    pub(super) fn date(&mut self, section: &Section, key: &str, required: bool) -> Option<Date> {
        let text = match section.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Datetime(datetime)) => datetime.to_string(),
            Some(other) => {
                self.refuse(section, key, format!("must be a date such as 2026-01-01, not {}", type_name(other)));
                return None;
            }
            None if required => {
                self.error(
                    section.at(),
                    section.field(key),
                    None,
                    "is required: the compensation start date, such as 2026-01-01",
                );
                return None;
            }
            None => return None,
        };
        match text.parse::<Date>() {
            Ok(date) => Some(date),
            Err(_) => {
                self.refuse(section, key, format!("`{text}` is not a date; write it as YYYY-MM-DD"));
                None
            }
        }
    }

    pub(super) fn url(&mut self, section: &Section, key: &str, default: &str) -> Url {
        let text = self.string(section, key, false).unwrap_or_else(|| default.to_string());
        match text.parse::<Url>() {
            Ok(url) if url.scheme() == "https" || url.scheme() == "http" => url,
            _ => {
                self.refuse(section, key, format!("`{text}` is not an http(s) URL"));
                default.parse().unwrap_or_else(|_| Url::parse("https://invalid.example").expect("a constant URL"))
            }
        }
    }

    /// A secret from the environment variable or file the section names. Missing is not an error here:
    /// only commands that talk to the service need it, and they say what to set.
    pub(super) fn secret(
        &mut self,
        section: &Section,
        env: &dyn Environment,
        default_env: &str,
        base: &Path,
    ) -> (Option<SecretString>, String) {
        if section.get("client_secret").is_some() {
            self.error(
                section.at(),
                section.field("client_secret"),
                Some("client_secret"),
                format!("secrets never go in the file: remove it and set the environment variable {default_env}, or name a file with client_secret_file"),
            );
        }
        if let Some(file) = self.string(section, "client_secret_file", false) {
            let path = base.join(&file);
            return match std::fs::read_to_string(&path) {
                Ok(text) if !text.trim().is_empty() => {
                    (Some(text.trim().to_string().into()), format!("file {}", path.display()))
                }
                _ => (None, format!("file {}", path.display())),
            };
        }
        let name = self.string(section, "client_secret_env", false).unwrap_or_else(|| default_env.to_string());
        (env.var(&name).map(SecretString::from), format!("environment variable {name}"))
    }
}
