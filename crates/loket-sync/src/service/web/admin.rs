//! Logging in and out, an employer's credentials and Loket login, the users, and the rules' text.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::SecretString;

use super::super::api::{Api, ApiError, callback_url, session_cookie};
use super::super::users::{self, LoginError, Role};
use super::{Employer, Lang, Page, PageError, PageResult, bare, cookie, form_fields, local_path, notice, see_other};

const LOGIN_CSRF_COOKIE: &str = "loket_sync_login_csrf";

type Form = Vec<(String, String)>;

pub(super) fn field<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn login_form(lang: Lang, token: &str, next: &str, name: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form.narrow method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="next" value=(next);
            label for="name" { (lang.t("Name")) }
            input #name type="text" name="name" value=(name) autocomplete="username" required autofocus;
            label for="password" { (lang.t("Password")) }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { (lang.t("Log in")) }
        }
    }
}

/// The login page, with a fresh double-submit token (there is no session to bind a CSRF token to yet).
fn login_response(lang: Lang, next: &str, name: &str, error: Option<&str>, status: StatusCode) -> PageResult {
    let token = super::super::crypto::random_token(24).map_err(|_| {
        PageError::new(lang, StatusCode::INTERNAL_SERVER_ERROR, lang.t("The service failed; its log says why.").into())
    })?;
    let mut response = bare(lang, lang.t("Log in"), login_form(lang, &token, next, name, error));
    *response.status_mut() = status;
    let cookie = format!("{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub(super) async fn login_page(headers: HeaderMap, Query(query): Query<Form>) -> PageResult {
    let next = local_path(field(&query, "next"));
    login_response(Lang::of(&headers), &next, "", None, StatusCode::OK)
}

pub(super) async fn log_in(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> PageResult {
    let lang = Lang::of(&headers);
    let form = form_fields(&body);
    let next = local_path(field(&form, "next"));
    let name = field(&form, "name").unwrap_or("");
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if expected.is_none() || field(&form, "csrf") != expected.as_deref() {
        let message =
            lang.t("The form has expired or did not come from this dashboard: reload the page and try again.");
        return login_response(lang, &next, name, Some(message), StatusCode::FORBIDDEN);
    }
    let service = &api.service;
    let password = field(&form, "password").unwrap_or("");
    match users::log_in(&service.records, name, password, service.clock.now()).await {
        Ok(session) => {
            let mut response = see_other(&next);
            let cookies = [
                session_cookie(&api.options, &session.cookie, users::SESSION_SECONDS),
                format!("{LOGIN_CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0"),
            ];
            for cookie in cookies {
                if let Ok(value) = cookie.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            Ok(response)
        }
        Err(LoginError::Wrong) => {
            login_response(lang, &next, name, Some(lang.t("The name or password is wrong.")), StatusCode::UNAUTHORIZED)
        }
        Err(LoginError::Throttled(_)) => login_response(
            lang,
            &next,
            name,
            Some(lang.t("Too many attempts: wait a few minutes and try again.")),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(LoginError::User(error)) => Err(PageError::from_api(lang, error.into())),
    }
}

pub(super) async fn log_out(State(api): State<Arc<Api>>, page: Page, headers: HeaderMap) -> PageResult {
    if let Some(session) = cookie(&headers, super::SESSION_COOKIE) {
        let token = super::super::crypto::token_hash(&session);
        api.service.records.delete_session(&token).await.map_err(|error| page.fail(error))?;
    }
    let mut response = see_other("/login");
    if let Ok(value) = session_cookie(&api.options, "", 0).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub(super) async fn connect_page(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(connection): Employer,
    Query(query): Query<Form>,
) -> PageResult {
    let login = api.service.records.login(connection.loket_login_id).await.map_err(|error| page.fail(error))?;
    let logged_in = login.as_ref().is_some_and(|login| login.tokens_sealed.is_some() && !login.needs_login.0);
    let changed = field(&query, "changed");
    let content = html! {
        (super::employers::tabs(&page, &connection, "connect"))
        (notice(&page, field(&query, "notice")))
        @if let Some(changed) = changed {
            p.notice role="status" {
                @if changed.is_empty() { (page.t("Nothing to change: both fields were empty.")) }
                @else { (page.t("Credentials changed:")) " " (changed) }
            }
        }
        section {
            h2 { (page.t("Personio credentials")) }
            p.hint { (page.t("Write-only: a stored secret is never shown. Leave a field empty to keep it.")) }
            form.narrow method="post" action={"/employers/" (connection.id) "/credentials"} {
                (page.csrf_field())
                label for="personio_client_secret" { (page.t("Personio client secret")) }
                input #personio_client_secret type="password" name="personio_client_secret" autocomplete="new-password";
                label for="loket_client_secret" { (page.t("Loket client secret")) }
                input #loket_client_secret type="password" name="loket_client_secret" autocomplete="new-password";
                button type="submit" { (page.t("Save credentials")) }
            }
        }
        section {
            h2 { (page.t("Loket login")) }
            @if logged_in {
                p.ok { (page.t("Logged in: loket-sync holds valid tokens.")) }
            } @else {
                p.error { (page.t("Loket needs a login again: its tokens were refused or none were given.")) }
            }
            form method="post" action={"/employers/" (connection.id) "/loket-login"} {
                (page.csrf_field())
                button type="submit" { (page.t("Log in to Loket")) }
            }
        }
    };
    Ok(page.render(&format!("{} · {}", connection.name, page.t("Connect")), content))
}

pub(super) async fn change_credentials(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(connection): Employer,
    body: Bytes,
) -> PageResult {
    let form = form_fields(&body);
    let secret = |name: &str| field(&form, name).filter(|value| !value.is_empty()).map(SecretString::from);
    let changed = api
        .service
        .change_credentials(
            &page.user.name,
            connection.id,
            secret("personio_client_secret"),
            secret("loket_client_secret"),
        )
        .await
        .map_err(|error| page.fail(error))?;
    Ok(see_other(&format!("/employers/{}/connect?changed={}", connection.id, super::encode(&changed.join(", ")))))
}

pub(super) async fn start_loket_login(
    State(api): State<Arc<Api>>,
    page: Page,
    Employer(connection): Employer,
    headers: HeaderMap,
) -> PageResult {
    let redirect = callback_url(&api.options, &headers);
    let url = api
        .service
        .start_loket_login(&page.user.name, connection.loket_login_id, &redirect)
        .await
        .map_err(|error| page.fail(super::super::handlers::login_error(error)))?;
    Ok(see_other(&url))
}

pub(super) async fn users_page(State(api): State<Arc<Api>>, page: Page, Query(query): Query<Form>) -> PageResult {
    let rows = api.service.records.users().await.map_err(|error| page.fail(error))?;
    Ok(page.render(page.t("Users"), users_content(&page, &rows, field(&query, "notice"), None)))
}

fn users_content(
    page: &Page,
    rows: &[super::super::records::UserRow],
    notice_key: Option<&str>,
    error: Option<&str>,
) -> Markup {
    html! {
        (notice(page, notice_key))
        div.table-wrap {
            table {
                thead { tr { th { (page.t("Name")) } th { (page.t("Role")) } th { (page.t("Created")) } } }
                tbody {
                    @for row in rows {
                        tr { td { (row.name) } td { (page.lang.t(role_key(&row.role))) } td { (row.created_at) } }
                    }
                }
            }
        }
        section {
            h2 { (page.t("Add a user")) }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.narrow method="post" action="/users" {
                (page.csrf_field())
                label for="new_name" { (page.t("Name")) }
                input #new_name type="text" name="name" required autocomplete="off";
                label for="new_role" { (page.t("Role")) }
                select #new_role name="role" {
                    @for role in ["viewer", "operator", "admin"] { option value=(role) { (page.lang.t(role_key(role))) } }
                }
                label for="new_password" { (page.t("Password")) }
                input #new_password type="password" name="password" required autocomplete="new-password";
                button type="submit" { (page.t("Add")) }
            }
        }
    }
}

fn role_key(role: &str) -> &'static str {
    match role {
        "admin" => "admin",
        "operator" => "operator",
        _ => "viewer",
    }
}

pub(super) async fn add_user(State(api): State<Arc<Api>>, page: Page, body: Bytes) -> PageResult {
    let form = form_fields(&body);
    let records = &api.service.records;
    let name = field(&form, "name").unwrap_or("");
    let role = field(&form, "role").and_then(Role::parse);
    let added = match role {
        Some(role) => users::add_user(records, name, role, field(&form, "password").unwrap_or("")).await,
        None => Err(users::UserError::BadRole(field(&form, "role").unwrap_or("").to_string())),
    };
    match added {
        Ok(user) => {
            records
                .note(
                    &page.user.name,
                    "user added",
                    format!("user {}", user.name),
                    Some(user.role.as_str().to_string()),
                )
                .await
                .map_err(|error| page.fail(error))?;
            Ok(see_other("/users?notice=user_added"))
        }
        Err(error) => {
            let error = ApiError::from(error);
            if error.status.is_server_error() {
                return Err(page.fail(error));
            }
            let rows = records.users().await.map_err(|error| page.fail(error))?;
            let mut response = page.render(page.t("Users"), users_content(&page, &rows, None, Some(&error.message)));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// The sync rules (docs/SYNC-RULES.md), each rule with an anchor (`/rules#S9`) that plans link to.
pub(super) async fn rules(page: Page) -> Response {
    let text = include_str!("../../../../../docs/SYNC-RULES.md");
    let content = html! {
        p.hint { (page.t("The rules the sync follows; every change in a plan names the rule that asks for it.")) }
        (rules_markup(text))
    };
    page.render(page.t("Sync rules"), content).into_response()
}

/// The rule id a line starts with (`- S9 …` → `S9`).
fn rule_id(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("- ")?;
    let id = rest.split_whitespace().next()?;
    let mut chars = id.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.clone().next().is_some()
        && chars.all(|c| c.is_ascii_digit());
    valid.then_some(id)
}

fn rules_markup(text: &str) -> Markup {
    // Blocks: headings, rules (a `- X1` line and its indented continuation), tables, paragraphs.
    let mut blocks: Vec<(&str, Option<String>, String)> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            blocks.push(("h2", None, heading.to_string()));
        } else if let Some(heading) = line.strip_prefix("# ") {
            blocks.push(("title", None, heading.to_string()));
        } else if let Some(id) = rule_id(line) {
            blocks.push(("rule", Some(id.to_string()), line[2..].to_string()));
        } else if line.starts_with('|') {
            match blocks.last_mut() {
                Some(("table", _, body)) => {
                    body.push('\n');
                    body.push_str(line);
                }
                _ => blocks.push(("table", None, line.to_string())),
            }
        } else if line.trim().is_empty() {
            blocks.push(("break", None, String::new()));
        } else {
            match blocks.last_mut() {
                Some(("rule" | "p", _, body)) => {
                    body.push(' ');
                    body.push_str(line.trim());
                }
                _ => blocks.push(("p", None, line.trim().to_string())),
            }
        }
    }
    html! {
        @for (kind, id, body) in &blocks {
            @match *kind {
                "h2" => h2 { (body) },
                "rule" => p.rule id=[id.as_deref()] { (body) },
                "table" => pre { (body) },
                "p" => p { (body) },
                _ => {},
            }
        }
    }
}
