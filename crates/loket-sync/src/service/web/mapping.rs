//! The mapping page: Personio's compensation types beside Loket's components (only those a mapping may
//! use: payments for benefits, deductions for deductions, and for a recurring type only the categories
//! benefits and deductions accept, K4), the attribute picker with `check`'s suggestion, the start date,
//! switches, guard thresholds, schedule, mode and approvals. Saving validates as `check` does (the file's
//! rules, then both systems) and shows every error at its field; nothing is saved while one remains.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use maud::{Markup, html};
use toml::{Table, Value};

use super::super::api::{Api, ApiError};
use super::super::connection::{CheckResult, ConnectionError};
use super::super::policy::{PolicyChange, PolicyError};
use super::super::records::ConnectionRow;
use super::super::users::Role;
use super::Employer;
use super::admin::field;
use super::{Page, PageResult, form_fields, notice, see_other};
use crate::runner::{CatalogueRow, Survey};

/// The values of the form, from the stored configuration or as posted.
#[derive(Clone, Debug, Default)]
struct Values {
    start: String,
    salary: bool,
    recurring: bool,
    one_time: bool,
    horizon: String,
    employee_attribute: String,
    income_attribute: String,
    /// Personio type, benefit component, deduction component.
    mappings: Vec<(String, String, String)>,
    max_delete: String,
    max_wage_decrease: String,
    mode: String,
    approvals: String,
    schedule: String,
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Integer(number)) => number.to_string(),
        Some(Value::Float(number)) => number.to_string(),
        Some(Value::Datetime(date)) => date.to_string(),
        Some(Value::Boolean(flag)) => flag.to_string(),
        _ => String::new(),
    }
}

impl Values {
    fn stored(row: &ConnectionRow) -> Values {
        let table: Table = row.settings.parse().unwrap_or_default();
        let section = |name: &str| table.get(name).and_then(Value::as_table).cloned().unwrap_or_default();
        let (sync, guard) = (section("sync"), section("guard"));
        let mappings = table
            .get("mappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_table)
            .map(|mapping| {
                (
                    text_of(mapping.get("personio_type")),
                    text_of(mapping.get("benefit_component")),
                    text_of(mapping.get("deduction_component")),
                )
            })
            .collect();
        let flag = |key: &str| sync.get(key).and_then(Value::as_bool).unwrap_or(false);
        Values {
            start: text_of(sync.get("compensation_start_date")),
            salary: flag("salary"),
            recurring: flag("recurring"),
            one_time: flag("one_time"),
            horizon: text_of(sync.get("horizon_months")),
            employee_attribute: text_of(sync.get("employee_number_attribute")),
            income_attribute: text_of(sync.get("income_number_attribute")),
            mappings,
            max_delete: text_of(guard.get("max_delete_fraction")),
            max_wage_decrease: text_of(guard.get("max_wage_decrease_fraction")),
            mode: row.mode.clone(),
            approvals: row.approvals_required.to_string(),
            schedule: row.schedule.clone().unwrap_or_default(),
        }
    }

    fn posted(form: &[(String, String)]) -> Values {
        let get = |name: &str| field(form, name).unwrap_or("").trim().to_string();
        let mut mappings = Vec::new();
        for index in 0..MAX_MAPPINGS {
            let key = |name: &str| format!("mappings[{index}].{name}");
            if field(form, &key("personio_type")).is_none() {
                break;
            }
            mappings.push((
                get(&key("personio_type")),
                get(&key("benefit_component")),
                get(&key("deduction_component")),
            ));
        }
        Values {
            start: get("compensation_start_date"),
            salary: field(form, "salary").is_some(),
            recurring: field(form, "recurring").is_some(),
            one_time: field(form, "one_time").is_some(),
            horizon: get("horizon_months"),
            employee_attribute: get("employee_number_attribute"),
            income_attribute: get("income_number_attribute"),
            mappings,
            max_delete: get("max_delete_fraction"),
            max_wage_decrease: get("max_wage_decrease_fraction"),
            mode: get("mode"),
            approvals: get("approvals_required"),
            schedule: get("schedule"),
        }
    }

    /// The stored configuration with this form's values in place (every other key kept as it is).
    fn into_settings(self, stored: &str) -> String {
        let mut table: Table = stored.parse().unwrap_or_default();
        // A number where the form has one; otherwise the text, which the configuration's reader refuses
        // with a message at its field.
        let number = |text: &str| text.parse::<i64>().map_or_else(|_| Value::String(text.to_string()), Value::Integer);
        let sync = table.entry("sync").or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(sync) = sync {
            sync.insert("compensation_start_date".into(), Value::String(self.start.clone()));
            sync.insert("salary".into(), Value::Boolean(self.salary));
            sync.insert("recurring".into(), Value::Boolean(self.recurring));
            sync.insert("one_time".into(), Value::Boolean(self.one_time));
            for (key, value) in [
                ("horizon_months", &self.horizon),
                ("employee_number_attribute", &self.employee_attribute),
                ("income_number_attribute", &self.income_attribute),
            ] {
                if value.is_empty() {
                    sync.remove(key);
                } else if key == "horizon_months" {
                    sync.insert(key.into(), number(value));
                } else {
                    sync.insert(key.into(), Value::String(value.clone()));
                }
            }
        }
        let mut guard = table.get("guard").and_then(Value::as_table).cloned().unwrap_or_default();
        for (key, value) in
            [("max_delete_fraction", &self.max_delete), ("max_wage_decrease_fraction", &self.max_wage_decrease)]
        {
            if value.is_empty() {
                guard.remove(key);
            } else {
                guard.insert(key.into(), Value::String(value.clone()));
            }
        }
        if guard.is_empty() {
            table.remove("guard");
        } else {
            table.insert("guard".into(), Value::Table(guard));
        }
        let mappings: Vec<Value> = self
            .mappings
            .iter()
            .filter(|(kind, ..)| !kind.is_empty())
            .map(|(kind, benefit, deduction)| {
                let mut mapping = Table::new();
                mapping.insert("personio_type".into(), Value::String(kind.clone()));
                if !benefit.is_empty() {
                    mapping.insert("benefit_component".into(), number(benefit));
                }
                if !deduction.is_empty() {
                    mapping.insert("deduction_component".into(), number(deduction));
                }
                Value::Table(mapping)
            })
            .collect();
        if mappings.is_empty() {
            table.remove("mappings");
        } else {
            table.insert("mappings".into(), Value::Array(mappings));
        }
        toml::to_string(&table).unwrap_or_default()
    }
}

/// The most mapping rows a form takes.
const MAX_MAPPINGS: usize = 100;

/// What the two systems offer the form: Personio's types, the attributes seen, Loket's catalogue.
#[derive(Default)]
struct Catalogue {
    survey: Option<Survey>,
    types: Vec<personio::wire::CompensationType>,
    unread: Vec<String>,
}

async fn catalogue(api: &Api, id: i64) -> Catalogue {
    let (_, settings, connections) = match api.service.open_connection(id).await {
        Ok(opened) => opened,
        Err(error) => return Catalogue { unread: vec![engine::errors::chain(&error)], ..Catalogue::default() },
    };
    if !matches!(connections.loket.is_connected().await, Ok(true)) {
        let reason = "the Loket login has no tokens: log in to Loket (Connect)".to_string();
        return Catalogue { unread: vec![reason], ..Catalogue::default() };
    }
    let (survey, types) =
        tokio::join!(crate::runner::survey(&connections, &settings.sync), connections.personio.compensation_types());
    let mut unread = Vec::new();
    let survey = survey.map_err(|error| unread.push(engine::errors::chain(&error))).ok();
    let types = types.map_err(|error| unread.push(engine::errors::chain(&error))).unwrap_or_default();
    Catalogue { survey, types, unread }
}

/// Every error by the form field it belongs to (`mappings[0].benefit_component`), and those of no field.
struct Errors(Vec<(String, String)>);

impl Errors {
    fn at(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(field, _)| field == name).map(|(_, message)| message.as_str()).collect()
    }

    fn elsewhere(&self, names: &[String]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(field, _)| !names.contains(field))
            .map(|(field, message)| if field.is_empty() { message.clone() } else { format!("{field}: {message}") })
            .collect()
    }
}

/// A field of the configuration's errors as the form names it (`sync.horizon_months` → `horizon_months`).
fn form_name(field: &str) -> String {
    ["sync.", "guard.", "personio.", "loket."]
        .iter()
        .find_map(|prefix| field.strip_prefix(prefix))
        .unwrap_or(field)
        .to_string()
}

fn errors_of(error: &ConnectionError) -> Option<Errors> {
    match error {
        ConnectionError::Invalid(errors) => {
            Some(Errors(errors.iter().map(|error| (form_name(&error.field), error.message.clone())).collect()))
        }
        ConnectionError::Refused(errors) => Some(Errors(
            errors
                .iter()
                .map(|text| match text.split_once(": ") {
                    Some((field, message)) => (form_name(field), message.to_string()),
                    None => (String::new(), text.clone()),
                })
                .collect(),
        )),
        _ => None,
    }
}

fn field_errors(errors: &Errors, name: &str) -> Markup {
    let found = errors.at(name);
    html! {
        @for message in found { span.field-error id={(name) "-error"} role="alert" { (message) } }
    }
}

fn described(errors: &Errors, name: &str) -> Option<String> {
    (!errors.at(name).is_empty()).then(|| format!("{name}-error"))
}

fn text_input(page: &Page, errors: &Errors, name: &str, label: &'static str, value: &str, kind: &str) -> Markup {
    html! {
        div.field.invalid[!errors.at(name).is_empty()] {
            label for=(name) { (page.t(label)) }
            input id=(name) type=(kind) name=(name) value=(value) aria-invalid=[described(errors, name).map(|_| "true")]
                aria-describedby=[described(errors, name)];
            (field_errors(errors, name))
        }
    }
}

fn component_select(
    page: &Page,
    errors: &Errors,
    name: &str,
    label: &'static str,
    current: &str,
    options: &[&CatalogueRow],
) -> Markup {
    let known = options.iter().any(|row| row.key.to_string() == current);
    html! {
        div.field.invalid[!errors.at(name).is_empty()] {
            label for=(name) { (page.t(label)) }
            select id=(name) name=(name) aria-invalid=[described(errors, name).map(|_| "true")] aria-describedby=[described(errors, name)] {
                option value="" selected[current.is_empty()] { "— " (page.t("none")) " —" }
                @if !known && !current.is_empty() { option value=(current) selected { (current) } }
                @for row in options {
                    option value=(row.key) selected[row.key.to_string() == current] {
                        (row.key) " " (row.description)
                        @if !row.recurring_mapping_accepts { " (one-time only)" }
                    }
                }
            }
            (field_errors(errors, name))
        }
    }
}

fn attribute_select(
    page: &Page,
    errors: &Errors,
    name: &str,
    label: &'static str,
    current: &str,
    survey: &Survey,
) -> Markup {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let matches = |seen: &engine::AttributeSeen| {
        same(&seen.id, current)
            || same(&seen.global_id, current)
            || seen.label.as_deref().is_some_and(|label| same(label, current))
    };
    let known = survey.attributes.attributes.iter().any(matches);
    let suggested = survey.attributes.suggested_employee_number.as_deref();
    html! {
        div.field.invalid[!errors.at(name).is_empty()] {
            label for=(name) { (page.t(label)) }
            select id=(name) name=(name) aria-describedby=[described(errors, name)] {
                @if !known { option value=(current) selected { (current) } }
                @for seen in &survey.attributes.attributes {
                    option value=(seen.id) selected[matches(seen)] {
                        (seen.label.clone().unwrap_or_else(|| seen.id.clone())) " (" (seen.id) "; "
                        (seen.persons_with_value) " / " (seen.equal_to_employee_numbers) ")"
                        @if name == "employee_number_attribute" && suggested == Some(seen.id.as_str()) {
                            " — " (page.t("suggested by check"))
                        }
                    }
                }
            }
            (field_errors(errors, name))
        }
    }
}

fn form(page: &Page, row: &ConnectionRow, values: &Values, catalogue: &Catalogue, errors: &Errors) -> Markup {
    let editable = page.may(Role::Admin);
    let components: Vec<&CatalogueRow> = catalogue.survey.iter().flat_map(|survey| &survey.components).collect();
    let of_kind = |kind: engine::state::ComponentKind, recurring: bool| -> Vec<&CatalogueRow> {
        components
            .iter()
            .copied()
            .filter(|row| row.kind == kind && (!recurring || row.recurring_mapping_accepts))
            .collect()
    };
    let recurring_type = |name: &str| {
        catalogue
            .types
            .iter()
            .any(|kind| (kind.name == name || kind.id == name) && kind.category == personio::wire::RECURRING)
    };
    let mut rows = values.mappings.clone();
    // One empty row to add a mapping in (a posted form brings its own back).
    if rows.last().is_none_or(|(kind, ..)| !kind.is_empty()) {
        rows.push(Default::default());
    }
    let mut names: Vec<String> = [
        "compensation_start_date",
        "horizon_months",
        "employee_number_attribute",
        "income_number_attribute",
        "max_delete_fraction",
        "max_wage_decrease_fraction",
        "mode",
        "approvals_required",
        "schedule",
        "salary",
        "recurring",
        "one_time",
    ]
    .iter()
    .map(|name| name.to_string())
    .collect();
    for index in 0..rows.len() {
        for key in ["personio_type", "benefit_component", "deduction_component"] {
            names.push(format!("mappings[{index}].{key}"));
        }
    }
    let elsewhere = errors.elsewhere(&names);
    let mappable: Vec<&personio::wire::CompensationType> = catalogue
        .types
        .iter()
        .filter(|kind| kind.category == personio::wire::RECURRING || kind.category == personio::wire::ONE_TIME)
        .collect();
    html! {
        @if !catalogue.unread.is_empty() {
            div.warn {
                p { (page.t("Loket's catalogue and Personio's attributes cannot be read now:")) }
                ul { @for reason in &catalogue.unread { li { (reason) } } }
            }
        }
        @if !errors.0.is_empty() { p.error role="alert" { (page.t("Nothing was saved: fix the fields marked below.")) } }
        @if !elsewhere.is_empty() { ul.error { @for error in &elsewhere { li { (error) } } } }
        @if !editable { p.hint { (page.t("Only an admin changes the mapping.")) } }
        form.mapping method="post" action={"/employers/" (row.id) "/mapping"} novalidate {
            (page.csrf_field())
            fieldset disabled[!editable] {
                legend { (page.t("Mapping")) }
                (text_input(page, errors, "compensation_start_date", "Start date", &values.start, "date"))
                @for (name, label, on) in [("salary", "Sync the salary (basic wage)", values.salary), ("recurring", "Sync recurring compensations", values.recurring), ("one_time", "Sync one-time compensations", values.one_time)] {
                    div.field.check {
                        input id=(name) type="checkbox" name=(name) value="true" checked[on];
                        label for=(name) { (page.t(label)) }
                        (field_errors(errors, name))
                    }
                }
                (text_input(page, errors, "horizon_months", "Months ahead (horizon)", &values.horizon, "number"))
                @match &catalogue.survey {
                    Some(survey) => {
                        (attribute_select(page, errors, "employee_number_attribute", "Employee-number attribute", &values.employee_attribute, survey))
                        (attribute_select(page, errors, "income_number_attribute", "Income-number attribute", &values.income_attribute, survey))
                    }
                    None => {
                        (text_input(page, errors, "employee_number_attribute", "Employee-number attribute", &values.employee_attribute, "text"))
                        (text_input(page, errors, "income_number_attribute", "Income-number attribute", &values.income_attribute, "text"))
                    }
                }
                h2 { (page.t("Mapping")) }
                p.hint { (page.t("The components are those of Loket's catalogue a mapping may use (K4).")) " " (page.t("Leave the Personio type empty to remove a mapping.")) }
                @for (index, (kind, benefit, deduction)) in rows.iter().enumerate() {
                    @let prefix = format!("mappings[{index}].");
                    @let recurring = recurring_type(kind);
                    div.mapping-row data-index=(index) {
                        @let name = format!("{prefix}personio_type");
                        div.field.invalid[!errors.at(&name).is_empty()] {
                            label for=(name) { (page.t("Personio type")) }
                            @if mappable.is_empty() {
                                input id=(name) type="text" name=(name) value=(kind);
                            } @else {
                                select id=(name) name=(name) aria-describedby=[described(errors, &name)] {
                                    option value="" selected[kind.is_empty()] { "— " (page.t("none")) " —" }
                                    @if !kind.is_empty() && !mappable.iter().any(|t| &t.name == kind || &t.id == kind) { option value=(kind) selected { (kind) } }
                                    @for t in &mappable {
                                        option value=(t.name) selected[&t.name == kind || &t.id == kind] { (t.name) " (" (t.category) ")" }
                                    }
                                }
                            }
                            (field_errors(errors, &name))
                        }
                        @if components.is_empty() {
                            (text_input(page, errors, &format!("{prefix}benefit_component"), "Benefit component (payment)", benefit, "text"))
                            (text_input(page, errors, &format!("{prefix}deduction_component"), "Deduction component", deduction, "text"))
                        } @else {
                            (component_select(page, errors, &format!("{prefix}benefit_component"), "Benefit component (payment)", benefit, &of_kind(engine::state::ComponentKind::Payment, recurring)))
                            (component_select(page, errors, &format!("{prefix}deduction_component"), "Deduction component", deduction, &of_kind(engine::state::ComponentKind::Deduction, recurring)))
                        }
                    }
                }
                h2 { (page.t("Mass-change guard")) }
                (text_input(page, errors, "max_delete_fraction", "Guard: largest share of managed records deleted", &values.max_delete, "text"))
                (text_input(page, errors, "max_wage_decrease_fraction", "Guard: largest share of employees with a lower wage", &values.max_wage_decrease, "text"))
                h2 { (page.t("Mode")) }
                div.field.invalid[!errors.at("mode").is_empty()] {
                    label for="mode" { (page.t("Mode")) }
                    select #mode name="mode" aria-describedby=[described(errors, "mode")] {
                        option value="review" selected[values.mode == "review"] { (page.t("review: a person approves every plan")) }
                        option value="auto" selected[values.mode == "auto"] { (page.t("auto: apply plans that delete nothing")) }
                    }
                    (field_errors(errors, "mode"))
                }
                div.field.invalid[!errors.at("approvals_required").is_empty()] {
                    label for="approvals_required" { (page.t("Approvals needed")) }
                    select #approvals_required name="approvals_required" {
                        option value="1" selected[values.approvals == "1"] { (page.t("one")) }
                        option value="2" selected[values.approvals == "2"] { (page.t("two (four eyes)")) }
                    }
                    (field_errors(errors, "approvals_required"))
                }
                (text_input(page, errors, "schedule", "Schedule (cron, Europe/Amsterdam; empty: manual only)", &values.schedule, "text"))
                @if editable { button.primary type="submit" { (page.t("Save")) } }
            }
        }
        @if let Some(survey) = &catalogue.survey {
            details {
                summary { (page.t("Attribute")) }
                div.table-wrap {
                    table {
                        thead { tr { th { (page.t("Attribute")) } th.num { (page.t("Persons with a value")) } th.num { (page.t("Equal to a Loket employee number")) } } }
                        tbody {
                            @for seen in &survey.attributes.attributes {
                                tr { td { (seen.label.clone().unwrap_or_default()) " " code { (seen.id) } } td.num { (seen.persons_with_value) } td.num { (seen.equal_to_employee_numbers) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn render(page: &Page, row: &ConnectionRow, content: Markup, notice_key: Option<&str>) -> axum::response::Response {
    let content = html! {
        (super::employers::tabs(page, row, "mapping"))
        (notice(page, notice_key))
        (content)
    };
    page.render(&format!("{} · {}", row.name, page.t("Mapping")), content)
}

pub(super) async fn page(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(row): Employer,
    Query(query): Query<Vec<(String, String)>>,
) -> PageResult {
    let catalogue = catalogue(&api, row.id).await;
    let mut content = form(&page, &row, &Values::stored(&row), &catalogue, &Errors(Vec::new()));
    if let Some(reasons) = field(&query, "unchecked") {
        content = html! { p.warn role="status" { (page.t("Saved; not checked against Personio and Loket yet:")) " " (reasons) } (content) };
    }
    Ok(render(&page, &row, content, field(&query, "notice")))
}

pub(super) async fn save(State(api): State<Arc<Api>>, page: Page, Employer(row): Employer, body: Bytes) -> PageResult {
    let form_values = form_fields(&body);
    let values = Values::posted(&form_values);
    let refuse = async |errors: Errors, values: &Values| -> PageResult {
        let catalogue = catalogue(&api, row.id).await;
        let mut response = render(&page, &row, form(&page, &row, values, &catalogue, &errors), None);
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(response)
    };
    // The policy first, without saving it: nothing is saved while any field is wrong.
    let approvals = values.approvals.parse::<i64>().ok();
    if approvals.is_none() {
        return refuse(
            Errors(vec![("approvals_required".into(), "approvals_required is 1, or 2 for four eyes".into())]),
            &values,
        )
        .await;
    }
    let change = PolicyChange {
        mode: Some(values.mode.clone()),
        approvals_required: approvals,
        schedule: Some((!values.schedule.is_empty()).then(|| values.schedule.clone())),
    };
    if let Err(PolicyError::Invalid { field, message }) = api.service.check_policy(&row, change.clone()) {
        return refuse(Errors(vec![(field.to_string(), message)]), &values).await;
    }
    let settings = values.clone().into_settings(&row.settings);
    let saved = match api.service.change_settings(&page.user.name, row.id, &settings).await {
        Ok(saved) => saved,
        Err(error) => match errors_of(&error) {
            Some(errors) => return refuse(errors, &values).await,
            None => return Err(page.fail(ApiError::from(error))),
        },
    };
    api.service.change_policy(&page.user.name, row.id, change).await.map_err(|error| match error {
        PolicyError::Store(error) => page.fail(error),
        other => page.fail(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string())),
    })?;
    let location = match saved.check {
        CheckResult::Valid { .. } => format!("/employers/{}/mapping?notice=saved", row.id),
        CheckResult::NotChecked { reasons } => {
            format!("/employers/{}/mapping?unchecked={}", row.id, super::encode(&reasons.join("; ")))
        }
    };
    Ok(see_other(&location))
}
