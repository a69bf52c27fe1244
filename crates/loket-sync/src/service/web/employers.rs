//! The employers (connections): one row each with its state, and one employer's page with its plans.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use maud::{Markup, html};
use secrecy::SecretString;

use super::super::api::{Api, ApiError};
use super::super::connection::{self, Secrets};
use super::super::records::{ConnectionRow, ConnectionRun, PlanRow};
use super::super::users::Role;
use super::Employer;
use super::admin::field;
use super::plan::StoredPlan;
use super::{Page, PageError, PageResult, form_fields, notice, see_other};

/// What the employers page shows of one connection.
pub(super) struct EmployerState {
    pub(super) state: &'static str,
    pub(super) last_run: Option<ConnectionRun>,
    pub(super) next_run: Option<String>,
    /// The next run is a failed scheduled run tried again.
    pub(super) retrying: bool,
    pub(super) employees: usize,
    pub(super) changes: i64,
    pub(super) errors: usize,
    pub(super) warnings: usize,
    pub(super) latest_plan: Option<PlanRow>,
}

/// A stored time (RFC 3339, UTC) as Amsterdam's wall clock, `2026-03-15 06:00`.
pub(super) fn local_time(text: &str) -> String {
    match text.parse::<jiff::Timestamp>() {
        Ok(at) => at.to_zoned(super::super::schedule::amsterdam()).strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => text.to_string(),
    }
}

pub(super) async fn state_of(api: &Api, row: &ConnectionRow) -> Result<EmployerState, ApiError> {
    let records = &api.service.records;
    let login = records.login(row.loket_login_id).await?;
    let needs_login = login.as_ref().is_none_or(|login| login.needs_login.0 || login.tokens_sealed.is_none());
    let latest_plan = records.plans_of(row.id, 1).await?.into_iter().next();
    let last_run = records.runs_of(Some(row.id), 1).await?.into_iter().next();
    // A failed scheduled run tried again comes before the schedule's next slot.
    let retry = row.retry_at.as_deref().filter(|_| row.attempts > 0).map(local_time);
    let retrying = retry.is_some();
    let next_run = retry.or_else(|| {
        row.schedule.as_deref().and_then(|text| super::super::schedule::Cron::parse(text).ok()).and_then(|cron| {
            cron.next(api.service.clock.now())
                .map(|at| at.to_zoned(super::super::schedule::amsterdam()).strftime("%Y-%m-%d %H:%M").to_string())
        })
    });
    let stored = latest_plan.as_ref().map(|plan| StoredPlan::read(&plan.document)).unwrap_or_default();
    let (errors, warnings) = stored.severities();
    let run_failed = last_run.as_ref().is_some_and(|run| run.run.errors > 0)
        && latest_plan.as_ref().is_some_and(|plan| plan.status == "applied");
    let state = match &latest_plan {
        _ if needs_login => "needs Loket login",
        None => "not planned yet",
        Some(plan) if plan.status == "pending" => "changes waiting for approval",
        // A person decided against the last plan: that is what the row says (its errors are counted beside).
        Some(plan) if plan.status == "rejected" => "last plan rejected",
        Some(_) if errors > 0 || run_failed => "failing",
        Some(_) if warnings > 0 => "warnings",
        Some(_) => "in sync",
    };
    Ok(EmployerState {
        state,
        last_run,
        next_run,
        retrying,
        employees: stored.employments.len(),
        changes: latest_plan.as_ref().map_or(0, |plan| plan.writes),
        errors,
        warnings,
        latest_plan,
    })
}

/// Every connection with its state, for the employers page.
async fn employers(api: &Api, page: &Page) -> Result<(Vec<ConnectionRow>, Vec<EmployerState>), PageError> {
    let rows = api.service.records.connections().await.map_err(|error| page.fail(error))?;
    let mut states = Vec::new();
    for row in &rows {
        states.push(state_of(api, row).await.map_err(|error| page.fail(error))?);
    }
    Ok((rows, states))
}

/// The CSS class of a state (its colour and icon).
pub(super) fn state_class(state: &str) -> &'static str {
    match state {
        "in sync" => "state ok",
        "changes waiting for approval" => "state pending",
        "warnings" | "last plan rejected" | "not planned yet" => "state warn",
        _ => "state bad",
    }
}

/// The tabs of one employer's pages.
pub(super) fn tabs(page: &Page, connection: &ConnectionRow, current: &str) -> Markup {
    let id = connection.id;
    let tabs = [
        ("overview", format!("/employers/{id}"), page.t("Plans"), true),
        ("mapping", format!("/employers/{id}/mapping"), page.t("Mapping"), true),
        ("connect", format!("/employers/{id}/connect"), page.t("Connect"), page.may(Role::Admin)),
        ("history", format!("/employers/{id}/history"), page.t("History"), true),
    ];
    html! {
        nav.tabs aria-label=(connection.name) {
            @for (key, href, label, shown) in tabs {
                @if shown {
                    a href=(href) aria-current=[(key == current).then_some("page")] { (label) }
                }
            }
        }
    }
}

pub(super) async fn list(
    State(api): State<Arc<Api>>,
    page: Page,
    Query(query): Query<Vec<(String, String)>>,
) -> PageResult {
    let (rows, states) = employers(&api, &page).await?;
    let content =
        list_content(&page, &rows, &states, query.iter().find(|(k, _)| k == "notice").map(|(_, v)| v.as_str()), &[]);
    Ok(page.render(page.t("Employers"), content))
}

fn list_content(
    page: &Page,
    rows: &[ConnectionRow],
    states: &[EmployerState],
    notice_key: Option<&str>,
    add_errors: &[String],
) -> Markup {
    html! {
        (notice(page, notice_key))
        @if rows.is_empty() {
            p { (page.t("No employers yet: an admin adds one below, or imports a configuration with `loket-sync connections import`.")) }
        } @else {
            div.table-wrap {
                table.employers {
                    thead {
                        tr {
                            th scope="col" { (page.t("Employer")) }
                            th scope="col" { (page.t("State")) }
                            th scope="col" { (page.t("Last run")) }
                            th scope="col" { (page.t("Next run")) }
                            th scope="col" class="num" { (page.t("Employees")) }
                            th scope="col" class="num" { (page.t("Changes")) }
                            th scope="col" class="num" { (page.t("Issues")) }
                        }
                    }
                    tbody {
                        @for (row, state) in rows.iter().zip(states) {
                            tr data-employer=(row.name) {
                                th scope="row" { a href={"/employers/" (row.id)} { (row.name) } }
                                td {
                                    span class=(state_class(state.state)) data-state=(state.state) { (page.lang.t(state.state)) }
                                    @if let Some(plan) = &state.latest_plan {
                                        @if plan.status == "pending" {
                                            " " a href={"/plans/" (plan.id)} { (page.t("Open")) }
                                        }
                                    }
                                }
                                td {
                                    @match &state.last_run {
                                        Some(run) => a href={"/runs/" (run.run.id) "/issues"} { (super::employers::local_time(&run.run.started_at)) },
                                        None => (page.t("never")),
                                    }
                                }
                                td {
                                    (state.next_run.clone().unwrap_or_else(|| page.t("manual only").to_string()))
                                    @if state.retrying { " (" (page.t("tried again after a failure")) ")" }
                                }
                                td.num { (state.employees) }
                                td.num { (state.changes) }
                                td.num {
                                    (state.errors + state.warnings)
                                    @if state.errors > 0 { " (" (state.errors) " " (page.t("error")) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if page.may(Role::Admin) {
            details open[!add_errors.is_empty() || rows.is_empty()] {
                summary { (page.t("Add an employer")) }
                @if !add_errors.is_empty() {
                    ul.error role="alert" { @for error in add_errors { li { (error) } } }
                }
                form method="post" action="/employers" {
                    (page.csrf_field())
                    label for="add_name" { (page.t("Connection name")) }
                    input #add_name type="text" name="name" required pattern="[A-Za-z0-9._-]{1,64}";
                    label for="add_settings" { (page.t("Configuration (loket-sync.toml)")) }
                    textarea #add_settings name="settings" rows="12" required {}
                    label for="add_personio" { (page.t("Personio client secret")) }
                    input #add_personio type="password" name="personio_client_secret" autocomplete="new-password" required;
                    label for="add_loket" { (page.t("Loket client secret")) }
                    input #add_loket type="password" name="loket_client_secret" autocomplete="new-password" required;
                    button type="submit" { (page.t("Add")) }
                }
            }
        }
    }
}

pub(super) async fn add(State(api): State<Arc<Api>>, page: Page, body: Bytes) -> PageResult {
    let form = form_fields(&body);
    let name = field(&form, "name").unwrap_or("").trim().to_string();
    let text = field(&form, "settings").unwrap_or("").to_string();
    let secret = |key: &str| field(&form, key).filter(|value| !value.is_empty()).map(SecretString::from);
    let secrets = Secrets {
        personio_client_secret: secret("personio_client_secret"),
        loket_client_secret: secret("loket_client_secret"),
        loket_tokens: None,
    };
    let saved = match connection::read_for_api(&name, &text, &secrets) {
        Ok(settings) => api.service.save_connection(&page.user.name, &name, &settings, &text, secrets).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(saved) => Ok(see_other(&format!("/employers/{}/connect?notice=employer_added", saved.connection.id))),
        Err(error) => {
            let error = ApiError::from(error);
            if error.status.is_server_error() {
                return Err(page.fail(error));
            }
            let (rows, states) = employers(&api, &page).await?;
            let errors: Vec<String> = std::iter::once(error.message).chain(error.details).collect();
            let mut response = page.render(page.t("Employers"), list_content(&page, &rows, &states, None, &errors));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

pub(super) async fn one(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(connection): Employer,
    Query(query): Query<Vec<(String, String)>>,
) -> PageResult {
    let state = state_of(&api, &connection).await.map_err(|error| page.fail(error))?;
    let plans = api.service.records.plans_of(connection.id, 50).await.map_err(|error| page.fail(error))?;
    let content = html! {
        (tabs(&page, &connection, "overview"))
        (notice(&page, field(&query, "notice")))
        p {
            span class=(state_class(state.state)) data-state=(state.state) { (page.lang.t(state.state)) }
            " · " (page.t("Mode")) ": " (connection.mode)
            " · " (page.t("Approvals needed")) ": " (connection.approvals_required)
            " · " (page.t("Next run")) ": " (state.next_run.clone().unwrap_or_else(|| page.t("manual only").to_string()))
            @if state.retrying { " (" (page.t("tried again after a failure")) ")" }
        }
        @if page.may(Role::Operator) {
            form.inline method="post" action={"/employers/" (connection.id) "/plan"} {
                (page.csrf_field())
                button type="submit" { (page.t("Plan now")) }
                label.check {
                    input type="checkbox" name="allow_mass_changes" value="yes";
                    (page.t("Apply a plan that crosses the guard (journaled with your name)"))
                }
            }
        }
        h2 { (page.t("Plans")) }
        @if plans.is_empty() { p { (page.t("Nothing recorded yet.")) } } @else {
            div.table-wrap {
                table {
                    thead {
                        tr {
                            th scope="col" { (page.t("Plan")) }
                            th scope="col" { (page.t("Status")) }
                            th scope="col" { (page.t("Made")) }
                            th scope="col" { (page.t("Asked by")) }
                            th scope="col" class="num" { (page.t("Writes")) }
                        }
                    }
                    tbody {
                        @for plan in &plans {
                            tr {
                                th scope="row" { a href={"/plans/" (plan.id)} { "#" (plan.id) } }
                                td { (page.lang.t(status_key(&plan.status))) }
                                td { (local_time(&plan.created_at)) }
                                td { (plan.requested_by.clone().unwrap_or_else(|| page.t("schedule").to_string())) }
                                td.num { (plan.writes) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page.render(&connection.name, content))
}

/// The text key of a plan's status.
pub(super) fn status_key(status: &str) -> &'static str {
    match status {
        "pending" => "pending",
        "in_sync" => "in_sync",
        "applied" => "applied",
        "rejected" => "rejected",
        _ => "stale",
    }
}

pub(super) async fn plan_now(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(connection): Employer,
    body: Bytes,
) -> PageResult {
    let form = form_fields(&body);
    let service = &api.service;
    let made = if field(&form, "allow_mass_changes") == Some("yes") {
        service.make_plan_overriding_the_guard(connection.id, &page.user.name).await
    } else {
        service.make_plan(connection.id, Some(&page.user.name)).await
    };
    let view = made.map_err(|error| {
        let error = ApiError::from(error);
        PageError::from_api(
            page.lang,
            ApiError { message: format!("{} {}", page.t("The plan cannot be made:"), error.message), ..error },
        )
    })?;
    Ok(see_other(&format!("/plans/{}?notice=planned", view.row.id)))
}
