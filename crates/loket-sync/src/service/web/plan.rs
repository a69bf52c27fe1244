//! A plan: per employee the changes (what, from → to, the rule), what was withheld and why, drift notes,
//! the issues; the guard's report; filters; approve or reject with a comment; the CSV download.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use maud::{Markup, html};
use serde::Deserialize;

use super::super::api::{Api, ApiError};
use super::super::plans::Decision;
use super::super::users::Role;
use super::admin::field;
use super::employers::{local_time, status_key};
use super::{Page, PageResult, form_fields, notice, path_id, see_other};
use engine::{EmploymentPlan, GuardReport, Issue, Severity};

/// A drift note of a stored plan: a write that overwrites what someone changed in Loket.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct DriftNote {
    pub(super) employee_number: u64,
    pub(super) note: String,
}

/// A plan as the service stores it (`report::plan_json` and the drift notes).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StoredPlan {
    pub(super) employments: Vec<EmploymentPlan>,
    pub(super) issues: Vec<Issue>,
    pub(super) guard: GuardReport,
    pub(super) config_errors: Vec<engine::config::ConfigError>,
    pub(super) drift: Vec<DriftNote>,
}

impl StoredPlan {
    pub(super) fn read(document: &str) -> StoredPlan {
        serde_json::from_str(document).unwrap_or_default()
    }

    /// Errors (configuration errors count) and warnings.
    pub(super) fn severities(&self) -> (usize, usize) {
        let errors = self.issues.iter().filter(|issue| issue.severity == Severity::Error).count();
        (errors + self.config_errors.len(), self.issues.len() - errors)
    }
}

/// The filters of the plan page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    Everything,
    Errors,
    Destructive,
}

fn rule_link(rule: &str) -> Markup {
    let first = rule.split(['/', ',', ' ']).next().unwrap_or(rule);
    html! { a.rule href={"/rules#" (first)} { (rule) } }
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "sev error",
        Severity::Warning => "sev warning",
    }
}

fn issue_rows(page: &Page, issues: &[&Issue]) -> Markup {
    html! {
        ul.issues {
            @for issue in issues {
                li data-code=(issue.code.as_str()) {
                    span class=(severity_class(issue.severity)) { (page.lang.t(if issue.severity == Severity::Error { "error" } else { "warning" })) }
                    " " code { (issue.code.as_str()) } " " (issue.message)
                }
            }
        }
    }
}

fn employment_section(page: &Page, plan: &StoredPlan, employment: &EmploymentPlan, only: Only) -> Option<Markup> {
    let number = employment.employee_number;
    let issues: Vec<&Issue> = plan.issues.iter().filter(|issue| issue.employee_number == Some(number)).collect();
    let has_error = employment.failed || issues.iter().any(|issue| issue.severity == Severity::Error);
    let writes: Vec<_> =
        employment.writes.iter().filter(|write| only != Only::Destructive || write.is_destructive()).collect();
    let withheld: Vec<_> = employment
        .withheld
        .iter()
        .filter(|withheld| only != Only::Destructive || withheld.writes.iter().any(|write| write.is_destructive()))
        .collect();
    let drift: Vec<&DriftNote> = plan.drift.iter().filter(|note| note.employee_number == number.0).collect();
    let shown = match only {
        Only::Everything => !writes.is_empty() || !withheld.is_empty() || !issues.is_empty() || !drift.is_empty(),
        Only::Errors => has_error,
        Only::Destructive => !writes.is_empty() || !withheld.is_empty(),
    };
    if !shown {
        return None;
    }
    Some(html! {
        section.employee data-employee=(number.0) {
            h3 { (employment.name) " · " (page.t("Employee number")) " " (number.0) }
            @if !writes.is_empty() {
                div.table-wrap {
                    table.changes {
                        thead { tr { th scope="col" { (page.t("Rule")) } th scope="col" { (page.t("Change")) } } }
                        tbody {
                            @for write in &writes {
                                tr class=[write.is_destructive().then_some("destructive")] {
                                    td { (rule_link(&write.rule)) }
                                    td { (write.describe()) }
                                }
                            }
                        }
                    }
                }
            }
            @if !withheld.is_empty() {
                h4 { (page.t("Withheld: not written, and why")) }
                ul.withheld {
                    @for item in &withheld {
                        li data-reason=(item.reason.as_str()) {
                            code { (item.reason.as_str()) } " " (item.explanation)
                            ul { @for write in &item.writes { li { (rule_link(&write.rule)) " " (write.describe()) } } }
                        }
                    }
                }
            }
            @if !drift.is_empty() {
                h4 { (page.t("Changed in Loket since the last sync")) }
                ul.drift { @for note in &drift { li { (note.note) } } }
            }
            @if !issues.is_empty() { (issue_rows(page, &issues)) }
        }
    })
}

fn guard_section(page: &Page, guard: &GuardReport) -> Markup {
    html! {
        section.guard {
            h2 { (page.t("Mass-change guard")) }
            @if guard.exceeded && !guard.overridden {
                p.error role="alert" { (page.t("The guard refuses this plan: it changes more than the thresholds allow.")) }
            } @else if guard.overridden {
                p.warn { (page.t("overridden")) }
            } @else {
                p.ok { (page.t("within the thresholds")) }
            }
            dl {
                dt { (page.t("Managed records")) } dd { (guard.managed_records) }
                dt { (page.t("Destructive writes")) } dd { (guard.destructive_writes) }
                dt { (page.t("Employees with deletes")) } dd { (guard.employees_with_deletes) " / " (guard.matched_employees) }
                dt { (page.t("Employees with a lower wage")) } dd { (guard.employees_with_lower_wage) " / " (guard.matched_employees) }
            }
        }
    }
}

pub(super) async fn page(
    State(api): State<Arc<Api>>,
    page: Page,
    Path(text): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> PageResult {
    let id = path_id(page.lang, &text, "plan")?;
    let view = api.service.plan_view(id).await.map_err(|error| page.fail(error))?;
    let connection = api.service.records.connection(view.row.connection_id).await.map_err(|error| page.fail(error))?;
    let name =
        connection.as_ref().map_or_else(|| format!("connection {}", view.row.connection_id), |row| row.name.clone());
    let required = connection.as_ref().map_or(1, |row| row.approvals_required);
    let plan = StoredPlan::read(&view.row.document);
    let only = match field(&query, "only") {
        Some("errors") => Only::Errors,
        Some("destructive") => Only::Destructive,
        _ => Only::Everything,
    };
    let employee: Option<u64> = field(&query, "employee").and_then(|text| text.parse().ok());
    let numbers: BTreeSet<(u64, &str)> =
        plan.employments.iter().map(|employment| (employment.employee_number.0, employment.name.as_str())).collect();
    let sections: Vec<Markup> = plan
        .employments
        .iter()
        .filter(|employment| employee.is_none_or(|number| employment.employee_number.0 == number))
        .filter_map(|employment| employment_section(&page, &plan, employment, only))
        .collect();
    let run_level: Vec<&Issue> = plan
        .issues
        .iter()
        .filter(|issue| issue.employee_number.is_none_or(|number| !numbers.iter().any(|(shown, _)| *shown == number.0)))
        .filter(|issue| only != Only::Errors || issue.severity == Severity::Error)
        .filter(|_| employee.is_none())
        .collect();
    let row = &view.row;
    let decided_by_me = view.approvals.iter().any(|approval| approval.user_name == page.user.name);
    let content = html! {
        (notice(&page, field(&query, "notice")))
        p.summary {
            a href={"/employers/" (row.connection_id)} { (name) }
            " · " (page.t("Status")) ": " strong data-status=(row.status) { (page.lang.t(status_key(&row.status))) }
            " · " (page.t("Run date")) ": " (row.run_date)
            " · " (page.t("Made")) ": " (local_time(&row.created_at))
            " · " (page.t("Asked by")) ": " (row.requested_by.clone().unwrap_or_else(|| page.t("schedule").to_string()))
            " · " (page.t("Writes")) ": " (row.writes)
            @if let Some(run_id) = row.run_id { " · " a href={"/runs/" (run_id) "/issues"} { (page.t("Run")) " " (run_id) } }
        }
        p { a.download href={"/plans/" (row.id) "/csv"} download { (page.t("Download CSV (alignment report)")) } }
        @if !view.approvals.is_empty() {
            h2 { (page.t("Approvals")) }
            ul.approvals {
                @for approval in &view.approvals {
                    li {
                        strong { (approval.user_name) } " · " (page.lang.t(if approval.decision == "approve" { "approve" } else { "reject" }))
                        " · " (local_time(&approval.at))
                        @if let Some(comment) = &approval.comment { " · " q { (comment) } }
                    }
                }
            }
        }
        (decision_form(&page, row.id, &row.status, required, decided_by_me))
        @if !plan.issues.is_empty() {
            h2 { (page.t("Issues")) }
            (super::history::grouped(&page, &group_items(&plan.issues), "h3"))
        }
        @if !plan.config_errors.is_empty() {
            h2 { (page.t("Configuration errors: nothing was read or planned")) }
            ul.error { @for error in &plan.config_errors { li { (error.to_string()) } } }
        }
        @if row.writes == 0 && plan.config_errors.is_empty() { p.ok { (page.t("This plan writes nothing: Loket is in line with Personio.")) } }
        form.filters method="get" action={"/plans/" (row.id)} {
            fieldset {
                legend { (page.t("Filter")) }
                label for="only" { (page.t("Show")) }
                select #only name="only" {
                    option value="" selected[only == Only::Everything] { (page.t("everything")) }
                    option value="errors" selected[only == Only::Errors] { (page.t("only errors")) }
                    option value="destructive" selected[only == Only::Destructive] { (page.t("only destructive changes")) }
                }
                label for="employee" { (page.t("Employees")) }
                select #employee name="employee" {
                    option value="" { (page.t("all employees")) }
                    @for (number, name) in &numbers {
                        option value=(number) selected[employee == Some(*number)] { (number) " " (name) }
                    }
                }
                button type="submit" { (page.t("Apply filter")) }
            }
        }
        @if sections.is_empty() && run_level.is_empty() { p { (page.t("Nothing matches the filter.")) } }
        @for section in &sections { (section) }
        @if !run_level.is_empty() {
            section.employee {
                h2 { (page.t("Issues of the whole run")) }
                (issue_rows(&page, &run_level))
            }
        }
        (guard_section(&page, &plan.guard))
    };
    Ok(page.render(&format!("{} #{}", page.t("Plan"), row.id), content))
}

fn group_items(issues: &[Issue]) -> Vec<super::history::GroupItem> {
    issues
        .iter()
        .map(|issue| super::history::GroupItem {
            severity: issue.severity.to_string(),
            code: issue.code.as_str().to_string(),
            employee: issue.employee_number.map(|number| number.0.to_string()),
            message: issue.message.clone(),
        })
        .collect()
}

fn decision_form(page: &Page, id: i64, status: &str, required: i64, decided_by_me: bool) -> Markup {
    if status != "pending" {
        return html! { p.hint { (page.t("This plan is decided; nothing more can be approved or rejected.")) } };
    }
    if !page.may(Role::Operator) {
        return html! { p.hint { (page.t("You are a viewer: you can see this plan, an operator approves it.")) } };
    }
    html! {
        section.decide {
            h2 { (page.t("Approve and apply this plan")) }
            @if required >= 2 { p.hint { (page.t("This connection asks for two approvers (four eyes), neither the one who asked for the plan.")) } }
            @if !decided_by_me {
                form method="post" action={"/plans/" (id) "/approve"} {
                    (page.csrf_field())
                    label for="comment" { (page.t("Comment")) }
                    textarea #comment name="comment" rows="2" maxlength="2000" {}
                    div.buttons {
                        button.primary type="submit" { (page.t("Approve")) }
                        button.danger type="submit" formaction={"/plans/" (id) "/reject"} { (page.t("Reject")) }
                    }
                }
            }
        }
    }
}

async fn decide(api: &Api, page: &Page, text: &str, body: &Bytes, approve: bool) -> PageResult {
    let id = path_id(page.lang, text, "plan")?;
    let form = form_fields(body);
    let comment = field(&form, "comment").map(str::to_string);
    let decision = if approve {
        super::super::api::approve_to_the_end(&api.service, &page.user, id, comment)
            .await
            .map_err(|error| page.fail(error))?
    } else {
        api.service.reject(&page.user, id, comment.as_deref()).await.map_err(|error| page.fail(error))?
    };
    Ok(match decision {
        Decision::Applied { .. } => see_other(&format!("/plans/{id}?notice=applied")),
        Decision::Waiting { .. } => see_other(&format!("/plans/{id}?notice=waiting")),
        Decision::Rejected => see_other(&format!("/plans/{id}?notice=rejected")),
        Decision::Stale { new_plan_id } => see_other(&format!("/plans/{new_plan_id}?notice=stale")),
    })
}

pub(super) async fn approve(
    State(api): State<Arc<Api>>,
    page: Page,
    Path(text): Path<String>,
    body: Bytes,
) -> PageResult {
    decide(&api, &page, &text, &body, true).await
}

pub(super) async fn reject(
    State(api): State<Arc<Api>>,
    page: Page,
    Path(text): Path<String>,
    body: Bytes,
) -> PageResult {
    decide(&api, &page, &text, &body, false).await
}

/// The plan as CSV: the first-sync alignment report, one row per change, withheld change and issue.
pub(super) async fn csv(State(api): State<Arc<Api>>, page: Page, Path(text): Path<String>) -> PageResult {
    let id = path_id(page.lang, &text, "plan")?;
    let view = api.service.plan_view(id).await.map_err(|error| page.fail(ApiError::from(error)))?;
    let plan = StoredPlan::read(&view.row.document);
    let body = crate::report::rows_csv(&plan.employments, &plan.issues);
    let disposition = format!("attachment; filename=\"loket-sync-plan-{id}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}
