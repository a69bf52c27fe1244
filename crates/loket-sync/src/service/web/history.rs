//! History: the runs with their outcome, who and counts; the audit log of the service, searchable; the
//! journal of an employer's writes (intent, before/after, Loket's answer), searchable by employee; and
//! the issues of a run, grouped by code, each with what to do and the employees concerned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};

use super::super::api::Api;
use super::super::records::ConnectionRun;
use super::Employer;
use super::admin::field;
use super::employers::{local_time, tabs};
use super::i18n::what_to_do;
use super::{Page, PageError, PageResult, path_id};
use crate::store::Store as _;

type Form = Vec<(String, String)>;

fn runs_table(page: &Page, runs: &[ConnectionRun], with_employer: bool) -> Markup {
    if runs.is_empty() {
        return html! { p { (page.t("No runs yet.")) } };
    }
    html! {
        div.table-wrap {
            table.runs {
                thead {
                    tr {
                        th scope="col" { (page.t("Run")) }
                        @if with_employer { th scope="col" { (page.t("Employer")) } }
                        th scope="col" { (page.t("Started")) }
                        th scope="col" { (page.t("Who")) }
                        th scope="col" { (page.t("Outcome")) }
                        th scope="col" class="num" { (page.t("Planned")) }
                        th scope="col" class="num" { (page.t("Sent")) }
                        th scope="col" class="num" { (page.t("Errors")) }
                        th scope="col" class="num" { (page.t("Warnings")) }
                    }
                }
                tbody {
                    @for run in runs {
                        tr {
                            th scope="row" { a href={"/runs/" (run.run.id) "/issues"} { "#" (run.run.id) } }
                            @if with_employer {
                                td {
                                    @match (run.connection_id, &run.connection_name) {
                                        (Some(id), Some(name)) => a href={"/employers/" (id)} { (name) },
                                        _ => "—",
                                    }
                                }
                            }
                            td { (local_time(&run.run.started_at)) }
                            td { (run.run.who) }
                            td { (run.run.outcome.clone().unwrap_or_else(|| "did not finish".to_string())) }
                            td.num { (run.run.writes_planned) }
                            td.num { (run.run.writes_sent) }
                            td.num { (run.run.errors) }
                            td.num { (run.run.warnings) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /history?q=…`: every run, and the audit log of the service (searchable).
pub(super) async fn all(State(api): State<Arc<Api>>, page: Page, Query(query): Query<Form>) -> PageResult {
    let records = &api.service.records;
    let runs = records.runs_of(None, 200).await.map_err(|error| page.fail(error))?;
    let search = field(&query, "q").map(str::trim).filter(|text| !text.is_empty());
    let audit = records.audit_search(search, 500).await.map_err(|error| page.fail(error))?;
    let content = html! {
        h2 { (page.t("Runs")) }
        (runs_table(&page, &runs, true))
        h2 #audit { (page.t("Audit log")) }
        form.filters method="get" action="/history#audit" role="search" {
            label for="q" { (page.t("Search")) }
            input #q type="search" name="q" value=(search.unwrap_or(""));
            button type="submit" { (page.t("Search")) }
        }
        @if audit.is_empty() { p { (page.t("Nothing recorded yet.")) } } @else {
            div.table-wrap {
                table.audit {
                    thead {
                        tr {
                            th scope="col" { (page.t("When")) }
                            th scope="col" { (page.t("Who")) }
                            th scope="col" { (page.t("Action")) }
                            th scope="col" { (page.t("Subject")) }
                            th scope="col" { (page.t("Before")) }
                            th scope="col" { (page.t("After")) }
                        }
                    }
                    tbody {
                        @for row in &audit {
                            tr {
                                td { (local_time(&row.at)) }
                                td { (row.who) }
                                td { (row.action) }
                                td { (row.subject) }
                                td { pre { (row.before_value.clone().unwrap_or_default()) } }
                                td { pre { (row.after_value.clone().unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page.render(page.t("History"), content))
}

/// `GET /employers/{id}/history?employee=N`: the employer's runs and the journal of its writes.
pub(super) async fn of_employer(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(connection): Employer,
    Query(query): Query<Form>,
) -> PageResult {
    let records = &api.service.records;
    let runs = records.runs_of(Some(connection.id), 200).await.map_err(|error| page.fail(error))?;
    let employee_text = field(&query, "employee").map(str::trim).filter(|text| !text.is_empty());
    let employee = match employee_text {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            PageError::new(
                page.lang,
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                format!("`{text}` is not an employee number: give the number only, such as 1001"),
            )
        })?),
        None => None,
    };
    let journal = records.journal_of(connection.id, employee).await.map_err(|error| page.fail(error))?;
    let content = html! {
        (tabs(&page, &connection, "history"))
        h2 { (page.t("Runs")) }
        (runs_table(&page, &runs, false))
        h2 #writes { (page.t("Writes to Loket")) }
        form.filters method="get" action={"/employers/" (connection.id) "/history#writes"} role="search" {
            label for="employee" { (page.t("Employee number")) }
            input #employee type="search" name="employee" inputmode="numeric" value=(employee_text.unwrap_or(""));
            button type="submit" { (page.t("Search")) }
        }
        @if journal.is_empty() { p { (page.t("Nothing recorded yet.")) } } @else {
            div.table-wrap {
                table.journal {
                    thead {
                        tr {
                            th scope="col" { (page.t("When")) }
                            th scope="col" { (page.t("Run")) }
                            th scope="col" { (page.t("Employee number")) }
                            th scope="col" { (page.t("Rule")) }
                            th scope="col" { (page.t("Description")) }
                            th scope="col" { (page.t("Before")) }
                            th scope="col" { (page.t("After")) }
                            th scope="col" { (page.t("Loket's answer")) }
                        }
                    }
                    tbody {
                        @for row in &journal {
                            tr data-employee=(row.employee_number) {
                                td { (local_time(&row.at)) }
                                td { a href={"/runs/" (row.run_id) "/issues"} { "#" (row.run_id) } }
                                td { (row.employee_number) }
                                td { a.rule href={"/rules#" (row.rule)} { (row.rule) } }
                                td { (row.description) " (" (row.phase) ")" }
                                td { pre { (row.before_value.clone().unwrap_or_default()) } }
                                td { pre { (row.after_value.clone().unwrap_or_default()) } }
                                td { (row.outcome.clone().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page.render(&format!("{} · {}", connection.name, page.t("History")), content))
}

/// One issue for the grouping by code.
pub(super) struct GroupItem {
    pub(super) severity: String,
    pub(super) code: String,
    pub(super) employee: Option<String>,
    pub(super) message: String,
}

/// Issues grouped by code (errors first), each group with what to do and the employees concerned.
pub(super) fn grouped(page: &Page, items: &[GroupItem], heading: &str) -> Markup {
    let mut by_code: BTreeMap<(&str, &str), Vec<&GroupItem>> = BTreeMap::new();
    for item in items {
        by_code.entry((item.severity.as_str(), item.code.as_str())).or_default().push(item);
    }
    html! {
        @for ((severity, code), rows) in &by_code {
            section.issue-group data-code=(code) {
                @let title = html! {
                    span class={"sev " (severity)} { (page.lang.t(if *severity == "error" { "error" } else { "warning" })) }
                    " " code { (code) } " (" (rows.len()) ")"
                };
                @if heading == "h2" { h2 { (title) } } @else { h3 { (title) } }
                p { strong { (page.t("What to do")) ": " } (what_to_do(page.lang, code)) }
                @let employees: Vec<String> = rows.iter().filter_map(|row| row.employee.clone()).collect();
                @if !employees.is_empty() {
                    p { strong { (page.t("Employees concerned")) ": " } (employees.join(", ")) }
                }
                details {
                    summary { (page.t("Details")) }
                    ul.issues { @for row in rows { li { (row.message) } } }
                }
            }
        }
    }
}

/// `GET /runs/{id}/issues`: the issues of a run, grouped by code.
pub(super) async fn run_issues(State(api): State<Arc<Api>>, page: Page, Path(text): Path<String>) -> PageResult {
    let id = path_id(page.lang, &text, "run")?;
    let run =
        api.service.records.run(id).await.map_err(|error| page.fail(error))?.ok_or_else(|| {
            PageError::new(page.lang, axum::http::StatusCode::NOT_FOUND, format!("there is no run {id}"))
        })?;
    let issues = api.service.store.issues(Some(id)).await.map_err(|error| page.fail(error))?;
    let items: Vec<GroupItem> = issues
        .iter()
        .map(|issue| GroupItem {
            severity: issue.severity.clone(),
            code: issue.code.clone(),
            employee: issue.employee_number.clone(),
            message: issue.message.clone(),
        })
        .collect();
    let content = html! {
        (runs_table(&page, std::slice::from_ref(&run), true))
        @if issues.is_empty() { p.ok { (page.t("No issues in this run.")) } }
        (grouped(&page, &items, "h2"))
    };
    Ok(page.render(&format!("{} #{}", page.t("Issues of run"), id), content))
}
