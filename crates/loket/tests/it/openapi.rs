//! A small validator of JSON bodies against the vendored OpenAPI subset: `allOf`, `properties`, `items`,
//! `type`, `nullable`, `format` (date, uuid), the upper-case uuid pattern (matched case-insensitively),
//! `maxLength`, `minimum`/`maximum`, `enum`. Strict for responses: every declared property is present and
//! none is undeclared (`version` aside).

use serde_json::{Map, Value};

pub struct Spec {
    document: Value,
}

impl Spec {
    pub fn load() -> Spec {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/loket-openapi-subset.json");
        let text = std::fs::read_to_string(path).expect("the vendored OpenAPI subset");
        Spec { document: serde_json::from_str(&text).expect("valid JSON") }
    }

    /// The operation for a concrete path (`/providers/employers/abc/...`), matching `{param}` segments.
    fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.document["paths"].as_object()?;
        let template = paths.keys().find(|template| {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(part, segment)| part.starts_with('{') || part == segment)
        })?;
        paths[template].get(method.to_lowercase())
    }

    fn schema_for<'a>(content: &'a Value, content_type: &str) -> Option<&'a Value> {
        let content = content.as_object()?;
        let wanted = content_type.replace(' ', "");
        content.get(&wanted).or_else(|| content.values().next()).map(|media| &media["schema"])
    }

    /// Checks a response body; `None` when the subset has no schema for it (unknown path, no content).
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Option<Vec<String>> {
        let operation = self.operation(method, path)?;
        let response = operation["responses"].get(status.to_string())?;
        let schema = Spec::schema_for(response.get("content")?, content_type)?;
        let mut errors = Vec::new();
        check(schema, body, "$", true, true, &mut errors);
        Some(errors)
    }

    /// Checks a request body against the request schemas of every version; it passes if one fits.
    pub fn check_request(&self, method: &str, path: &str, body: &Value) -> Option<Vec<String>> {
        let operation = self.operation(method, path)?;
        let content = operation.get("requestBody")?.get("content")?.as_object()?;
        let mut best: Option<Vec<String>> = None;
        for media in content.values() {
            let mut errors = Vec::new();
            check(&media["schema"], body, "$", false, true, &mut errors);
            if best.as_ref().is_none_or(|found| errors.len() < found.len()) {
                best = Some(errors);
            }
        }
        best
    }
}

/// Merges `allOf` parts into one object schema.
fn flatten(schema: &Value) -> Value {
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else { return schema.clone() };
    let mut properties = Map::new();
    let mut merged = Map::new();
    for part in parts {
        let part = flatten(part);
        if let Some(found) = part.get("properties").and_then(Value::as_object) {
            properties.extend(found.clone());
        }
        for (key, value) in part.as_object().into_iter().flatten() {
            if key != "properties" {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    merged.insert("properties".to_string(), Value::Object(properties));
    merged.insert("type".to_string(), Value::String("object".to_string()));
    Value::Object(merged)
}

fn is_uuid(text: &str) -> bool {
    let hex: String = text.trim_matches(|c| matches!(c, '{' | '}' | '(' | ')')).replace('-', "");
    hex.len() == 32 && hex.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn check(schema: &Value, value: &Value, at: &str, strict: bool, top: bool, errors: &mut Vec<String>) {
    let schema = flatten(schema);
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{at}: null, but the schema is not nullable"));
        }
        return;
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or(if schema.get("properties").is_some() {
        "object"
    } else {
        ""
    });
    match kind {
        "object" => {
            let Some(object) = value.as_object() else {
                errors.push(format!("{at}: expected an object, got {value}"));
                return;
            };
            let properties = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for (name, property) in &properties {
                match object.get(name) {
                    Some(item) => check(property, item, &format!("{at}.{name}"), strict, false, errors),
                    None if strict => errors.push(format!("{at}: declared property `{name}` is missing")),
                    None => {}
                }
            }
            for name in object.keys() {
                let allowed = properties.contains_key(name) || (top && name == "version");
                if !allowed {
                    errors.push(format!("{at}: property `{name}` is not declared"));
                }
            }
        }
        "array" => {
            let Some(items) = value.as_array() else {
                errors.push(format!("{at}: expected an array, got {value}"));
                return;
            };
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{at}[{index}]"), strict, false, errors);
                }
            }
        }
        "string" => {
            let Some(text) = value.as_str() else {
                errors.push(format!("{at}: expected a string, got {value}"));
                return;
            };
            match schema.get("format").and_then(Value::as_str) {
                Some("date") if text.parse::<jiff::civil::Date>().is_err() => {
                    errors.push(format!("{at}: `{text}` is not a date"))
                }
                Some("uuid") if !is_uuid(text) => errors.push(format!("{at}: `{text}` is not a uuid")),
                _ => {}
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && text.chars().count() as u64 > max
            {
                errors.push(format!("{at}: `{text}` is longer than {max}"));
            }
            if let Some(options) = schema.get("enum").and_then(Value::as_array)
                && !options.iter().any(|option| option.as_str() == Some(text))
            {
                errors.push(format!("{at}: `{text}` is not one of {options:?}"));
            }
        }
        "integer" => {
            if !(value.is_i64() || value.is_u64()) {
                errors.push(format!("{at}: expected an integer, got {value}"));
            } else {
                range(&schema, value, at, errors);
            }
        }
        "number" => {
            if !value.is_number() {
                errors.push(format!("{at}: expected a number, got {value}"));
            } else {
                range(&schema, value, at, errors);
            }
        }
        "boolean" if !value.is_boolean() => errors.push(format!("{at}: expected a boolean, got {value}")),
        _ => {}
    }
}

fn range(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let number = value.as_f64().unwrap_or(0.0);
    if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
        && number < minimum
    {
        errors.push(format!("{at}: {value} is below the minimum {minimum}"));
    }
    if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
        && number > maximum
    {
        errors.push(format!("{at}: {value} is above the maximum {maximum}"));
    }
}
