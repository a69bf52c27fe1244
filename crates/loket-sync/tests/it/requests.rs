//! Every request the clients send, checked against the parameters of the vendored OpenAPI documents:
//! Loket's structural subset and the paths of its full document, and Personio's persons, employments and
//! credentials documents. Required query and header parameters are present, no query parameter is
//! undeclared, values fit the declared type, format, enum, range and length, and a form body carries the
//! required fields and no others. An operation that no document declares fails the test unless it is in
//! `UNDOCUMENTED`, with the reason.

use std::collections::BTreeSet;

use emulator::LoggedRequest;
use serde_json::Value;

use crate::*;

/// Requests no vendored document declares, and why that is known and accepted.
const UNDOCUMENTED: [(&str, &str, &str); 4] = [
    (
        "GET",
        "/providers/employers/employees/employments/{}/payrollperioddata/defaults",
        "Loket names it only in prose (the PATCH's description and its guide)",
    ),
    ("GET", "/v2/compensations", "no public copy of Personio's compensations document exists"),
    ("GET", "/v2/compensations/types", "no public copy of Personio's compensations document exists"),
    ("GET", "/v2/legal-entities", "no public copy of Personio's legal-entities document was found"),
];

/// A path item, its operation, and the values of the path's parameters.
type Operation<'a> = (&'a Value, &'a Value, Vec<(String, String)>);

pub struct Document {
    pub name: &'static str,
    value: Value,
}

impl Document {
    fn load(name: &'static str, relative: &str) -> Document {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        Document { name, value: serde_json::from_str(&text).expect("an OpenAPI document") }
    }

    pub fn loket() -> Vec<Document> {
        vec![
            Document::load("Loket subset", "loket/tests/data/loket-openapi-subset.json"),
            Document::load("Loket full document", "loket/tests/data/loket-openapi-full-paths.json"),
        ]
    }

    pub fn personio() -> Vec<Document> {
        vec![
            Document::load("Personio persons", "personio/tests/data/personio-persons-v2.json"),
            Document::load("Personio employments", "personio/tests/data/personio-employments-v2.json"),
            Document::load("Personio credentials", "personio/tests/data/personio-credentials-v2.json"),
        ]
    }

    /// The path template that matches a concrete path best (most literal segments), with its values for
    /// the template's parameters.
    fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.value["paths"].as_object()?;
        let mut best: Option<(usize, &String)> = None;
        for template in paths.keys() {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            if parts.len() != segments.len()
                || !parts.iter().zip(&segments).all(|(part, segment)| part.starts_with('{') || part == segment)
            {
                continue;
            }
            let literal = parts.iter().filter(|part| !part.starts_with('{')).count();
            if best.is_none_or(|(count, _)| literal > count) && paths[template].get(method.to_lowercase()).is_some() {
                best = Some((literal, template));
            }
        }
        let (_, template) = best?;
        let item = &paths[template];
        let values = template
            .trim_matches('/')
            .split('/')
            .zip(&segments)
            .filter(|(part, _)| part.starts_with('{'))
            .map(|(part, value)| (part.trim_matches(|c| c == '{' || c == '}').to_string(), value.to_string()))
            .collect();
        Some((item, &item[method.to_lowercase()], values))
    }

    /// `None` when this document does not declare the operation; otherwise every problem found.
    pub fn check(&self, request: &LoggedRequest, path: &str) -> Option<Vec<String>> {
        let (item, operation, path_values) = self.operation(&request.method, path)?;
        let mut problems = Vec::new();
        let mut declared: Vec<&Value> =
            item["parameters"].as_array().map(|list| list.iter().collect()).unwrap_or_default();
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            declared.retain(|existing| !(existing["name"] == parameter["name"] && existing["in"] == parameter["in"]));
            declared.push(parameter);
        }
        let mut query_names = BTreeSet::new();
        for parameter in &declared {
            let name = parameter["name"].as_str().unwrap_or_default();
            let required = parameter["required"].as_bool().unwrap_or(false);
            let schema = &parameter["schema"];
            match parameter["in"].as_str() {
                Some("query") => {
                    query_names.insert(name.to_string());
                    let values: Vec<&String> =
                        request.query.iter().filter(|(key, _)| key == name).map(|(_, value)| value).collect();
                    if values.is_empty() && required {
                        problems.push(format!("the required query parameter `{name}` is missing"));
                    }
                    for value in values {
                        problems.extend(
                            check_value(schema, value).into_iter().map(|problem| format!("query `{name}`: {problem}")),
                        );
                    }
                }
                Some("header")
                    if required && !request.headers.iter().any(|header| header.eq_ignore_ascii_case(name)) =>
                {
                    problems.push(format!("the required header `{name}` is missing"));
                }
                Some("path") => {
                    if let Some((_, value)) = path_values.iter().find(|(key, _)| key == name) {
                        problems.extend(
                            check_value(schema, value).into_iter().map(|problem| format!("path `{name}`: {problem}")),
                        );
                    }
                }
                _ => {}
            }
        }
        for (key, _) in &request.query {
            if !query_names.contains(key) {
                problems.push(format!("the query parameter `{key}` is not declared"));
            }
        }
        if let Some(schema) = operation["requestBody"]["content"]["application/x-www-form-urlencoded"].get("schema") {
            let schema = self.resolve(schema);
            let properties: BTreeSet<&str> = schema["properties"]
                .as_object()
                .map(|map| map.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for field in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !request.form_fields.iter().any(|sent| sent == field) {
                    problems.push(format!("the required form field `{field}` is missing"));
                }
            }
            for field in &request.form_fields {
                if !properties.contains(field.as_str()) {
                    problems.push(format!("the form field `{field}` is not declared"));
                }
            }
        }
        Some(problems)
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str().and_then(|reference| reference.strip_prefix("#/")) {
            Some(pointer) => self.value.pointer(&format!("/{pointer}")).unwrap_or(schema),
            None => schema,
        }
    }
}

/// A parameter's text against its schema: type, format, enum, minimum, maximum, maxLength.
fn check_value(schema: &Value, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let number = |text: &str| text.parse::<rust_decimal::Decimal>().ok();
    match schema["type"].as_str() {
        Some("integer") if text.parse::<i64>().is_err() => problems.push(format!("`{text}` is not an integer")),
        Some("number") if number(text).is_none() => problems.push(format!("`{text}` is not a number")),
        Some("boolean") if text != "true" && text != "false" => problems.push(format!("`{text}` is not a boolean")),
        _ => {}
    }
    match schema["format"].as_str() {
        Some("uuid") if !is_uuid(text) => problems.push(format!("`{text}` is not a uuid")),
        Some("date") if text.parse::<jiff::civil::Date>().is_err() => problems.push(format!("`{text}` is not a date")),
        Some("date-time") if text.parse::<jiff::Timestamp>().is_err() => {
            problems.push(format!("`{text}` is not a date-time"))
        }
        _ => {}
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.iter().any(|value| {
            value.as_str() == Some(text) || value.as_i64().is_some_and(|number| text.parse::<i64>() == Ok(number))
        })
    {
        problems.push(format!("`{text}` is not one of {allowed:?}"));
    }
    for (bound, below) in [("minimum", true), ("maximum", false)] {
        if let (Some(limit), Some(value)) = (schema[bound].as_f64(), number(text)) {
            let limit = rust_decimal::Decimal::try_from(limit).unwrap_or_default();
            if (below && value < limit) || (!below && value > limit) {
                problems.push(format!("`{text}` is outside the {bound} {limit}"));
            }
        }
    }
    if let Some(length) = schema["maxLength"].as_u64()
        && text.chars().count() as u64 > length
    {
        problems.push(format!("`{text}` is longer than {length}"));
    }
    if schema.get("pattern").is_some() {
        problems.push(format!("`{text}` must match a pattern this check cannot evaluate; check it by hand"));
    }
    problems
}

fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|part| part.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|part| part.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// The undocumented operation a request is, if it is one of `UNDOCUMENTED`.
fn undocumented(request: &LoggedRequest, path: &str) -> Option<&'static str> {
    UNDOCUMENTED.iter().find_map(|(method, template, reason)| {
        let parts: Vec<&str> = template.split('/').collect();
        let segments: Vec<&str> = path.split('/').collect();
        (request.method == *method
            && parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| *part == "{}" || part == segment))
        .then_some(*reason)
    })
}

/// Checks every logged request against the documents; the problems, and how many requests were checked.
pub fn check_all(log: &[LoggedRequest], documents: &[Document], strip: &str) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut checked = 0;
    for request in log.iter().filter(|request| request.path.starts_with("/v2")) {
        let path = request.path.strip_prefix(strip).unwrap_or(&request.path);
        let mut declared = false;
        for document in documents {
            if let Some(found) = document.check(request, path) {
                declared = true;
                problems.extend(
                    found
                        .into_iter()
                        .map(|problem| format!("{} {} ({}): {problem}", request.method, request.path, document.name)),
                );
            }
        }
        if declared {
            checked += 1;
        } else if undocumented(request, path).is_none() {
            problems.push(format!("{} {}: no vendored document declares this operation", request.method, request.path));
        }
    }
    (problems, checked)
}

#[test]
fn every_request_of_check_plan_and_sync_fits_the_vendored_openapi_parameters() {
    let site = site_from(loket_sync::demo::scenario(), "request-conformance", true);
    run_in(&site, &["check"]).assert().code(0);
    run_in(&site, &["sync", "--yes"]).assert().code(2);
    // Loket's reads the sync does not use (the list of one payroll period, one employer) and a token refresh.
    let connections =
        loket_sync::scenario_run::connect_local(&site.loket, &site._servers.0.url(), &site._servers.1.url(), 2)
            .unwrap();
    site._runtime.block_on(async {
        connections
            .loket
            .payroll_period_data_of_period(
                &connections.administration_id,
                202603,
                1,
                &loket::wire::ComponentSelection::Category(7),
            )
            .await
            .unwrap();
        connections.loket.employer(&connections.employer_id).await.unwrap();
    });

    let loket_log = site.loket.request_log();
    let (problems, checked) = check_all(&loket_log, &Document::loket(), "/v2");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    let methods: BTreeSet<&str> = loket_log.iter().map(|request| request.method.as_str()).collect();
    assert!(methods.is_superset(&BTreeSet::from(["GET", "POST", "PUT", "PATCH"])), "{methods:?}");
    assert!(checked >= 100, "only {checked} Loket requests were checked");

    let personio_log = site.personio.request_log();
    let (problems, checked) = check_all(&personio_log, &Document::personio(), "");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(personio_log.iter().any(|request| request.path == "/v2/auth/token" && !request.form_fields.is_empty()));
    assert!(checked >= 40, "only {checked} Personio requests were checked");
}

#[test]
fn the_check_fails_when_a_required_parameter_is_dropped_or_one_is_made_up() {
    let request = |path: &str, query: &[(&str, &str)]| LoggedRequest {
        method: "GET".to_string(),
        path: path.to_string(),
        query: query.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
        headers: vec!["authorization".to_string(), "accept".to_string()],
        form_fields: Vec::new(),
    };
    let period = "/v2/providers/employers/payrolladministrations/b14acd0d-75d7-4819-8d5d-b9f7b6f5b0a1/payrollPeriods/202601/payrollperioddata";
    let complete = request(period, &[("payslipType", "1"), ("payrollComponentCategory", "7")]);
    assert_eq!(check_all(&[complete], &Document::loket(), "/v2").0, Vec::<String>::new());
    let dropped = request(period, &[("payrollComponentCategory", "7")]);
    let (problems, _) = check_all(&[dropped], &Document::loket(), "/v2");
    assert!(problems.iter().any(|problem| problem.contains("`payslipType` is missing")), "{problems:?}");
    let made_up = request(period, &[("payslipType", "1"), ("payrollComponentCategory", "7"), ("year", "2026")]);
    let (problems, _) = check_all(&[made_up], &Document::loket(), "/v2");
    assert!(problems.iter().any(|problem| problem.contains("`year` is not declared")), "{problems:?}");
    let mut headerless = request(period, &[("payslipType", "1"), ("payrollComponentCategory", "7")]);
    headerless.headers.clear();
    let (problems, _) = check_all(&[headerless], &Document::loket(), "/v2");
    assert!(problems.iter().any(|problem| problem.contains("header `Accept` is missing")), "{problems:?}");
    // Personio: `limit` is 1 to 50 for persons, and the token request needs its three fields.
    let (problems, _) = check_all(&[request("/v2/persons", &[("limit", "100")])], &Document::personio(), "");
    assert!(problems.iter().any(|problem| problem.contains("outside the maximum 50")), "{problems:?}");
    let mut token = request("/v2/auth/token", &[]);
    token.method = "POST".to_string();
    token.form_fields = vec!["grant_type".to_string(), "client_id".to_string()];
    let (problems, _) = check_all(&[token], &Document::personio(), "");
    assert!(problems.iter().any(|problem| problem.contains("`client_secret` is missing")), "{problems:?}");
    let (problems, _) = check_all(&[request("/v2/persons/1/contracts", &[])], &Document::personio(), "");
    assert!(problems.iter().any(|problem| problem.contains("no vendored document declares")), "{problems:?}");
}
