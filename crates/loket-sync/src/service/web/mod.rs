//! The dashboard: plain server-rendered pages (maud, every value escaped) on the same service as the API.
//! Every page is in `PAGES` with the least role it needs, as the API's routes are in `ROUTES`; a page
//! that is not there is refused (deny by default). A page is reached with the session cookie only; a
//! form post carries the session's CSRF token in its `csrf` field and is refused without it (the login
//! form, before there is a session, by a double-submit cookie). No page shows a secret: secrets are
//! write-only fields, and the records the pages read never hold one in the clear.

mod admin;
mod employers;
mod history;
pub mod i18n;
mod mapping;
mod plan;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

pub(crate) use super::api::cookie;
use super::api::{Access, Api, ApiError, MAX_BODY, SESSION_COOKIE};
use super::users::{self, Role, User};
pub use i18n::Lang;

/// The name of the form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Every page of the dashboard, with the least access it needs.
pub const PAGES: &[(&str, &str, Access)] = &[
    ("GET", "/login", Access::Public),
    ("POST", "/login", Access::Public),
    ("GET", "/lang", Access::Public),
    ("GET", "/assets/app.css", Access::Public),
    ("POST", "/logout", Access::Role(Role::Viewer)),
    ("GET", "/", Access::Role(Role::Viewer)),
    ("POST", "/employers", Access::Role(Role::Admin)),
    ("GET", "/employers/{id}", Access::Role(Role::Viewer)),
    ("POST", "/employers/{id}/plan", Access::Role(Role::Operator)),
    ("GET", "/employers/{id}/mapping", Access::Role(Role::Viewer)),
    ("POST", "/employers/{id}/mapping", Access::Role(Role::Admin)),
    ("GET", "/employers/{id}/connect", Access::Role(Role::Admin)),
    ("POST", "/employers/{id}/credentials", Access::Role(Role::Admin)),
    ("POST", "/employers/{id}/loket-login", Access::Role(Role::Admin)),
    ("GET", "/employers/{id}/history", Access::Role(Role::Viewer)),
    ("GET", "/plans/{id}", Access::Role(Role::Viewer)),
    ("POST", "/plans/{id}/approve", Access::Role(Role::Operator)),
    ("POST", "/plans/{id}/reject", Access::Role(Role::Operator)),
    ("GET", "/plans/{id}/csv", Access::Role(Role::Viewer)),
    ("GET", "/runs/{id}/issues", Access::Role(Role::Viewer)),
    ("GET", "/history", Access::Role(Role::Viewer)),
    ("GET", "/users", Access::Role(Role::Admin)),
    ("POST", "/users", Access::Role(Role::Admin)),
    ("GET", "/rules", Access::Role(Role::Viewer)),
];

/// The signed-in user of a page, put there by `guard`.
#[derive(Clone, Debug)]
struct Signed {
    user: User,
    csrf: String,
}

/// What every signed-in page knows: who, the form token, the language, and where it is.
pub(super) struct Page {
    pub(super) user: User,
    pub(super) csrf: String,
    pub(super) lang: Lang,
    /// The path and query of the page (for the language switch).
    pub(super) here: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Page {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Page, PageError> {
        let lang = Lang::of(&parts.headers);
        let signed = parts.extensions.get::<Signed>().cloned().ok_or_else(|| {
            PageError::new(lang, StatusCode::UNAUTHORIZED, "Your session has ended: log in again.".to_string())
        })?;
        let here = parts.uri.path_and_query().map_or_else(|| "/".to_string(), |path| path.as_str().to_string());
        Ok(Page { user: signed.user, csrf: signed.csrf, lang, here })
    }
}

impl Page {
    pub(super) fn t(&self, key: &'static str) -> &'static str {
        self.lang.t(key)
    }

    pub(super) fn may(&self, role: Role) -> bool {
        self.user.role >= role
    }

    /// The hidden field every form of the page carries.
    pub(super) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }

    /// A refusal of the service shown as a page: its status, its message, its details.
    pub(super) fn fail(&self, error: impl Into<ApiError>) -> PageError {
        PageError::from_api(self.lang, error.into())
    }

    /// The whole page: header with the navigation, the main content.
    pub(super) fn render(&self, title: &str, content: Markup) -> Response {
        let nav = [
            ("/", self.t("Employers"), true),
            ("/history", self.t("History"), true),
            ("/users", self.t("Users"), self.may(Role::Admin)),
            ("/rules", self.t("Sync rules"), true),
        ];
        let switch = format!("/lang?to={}&next={}", self.lang.other().code(), encode(&self.here));
        let header = html! {
            header.top {
                a.brand href="/" { "loket-sync" }
                nav aria-label="main" {
                    ul {
                        @for (href, label, shown) in nav {
                            @if shown { li { a href=(href) { (label) } } }
                        }
                    }
                }
                div.who {
                    span { (self.t("Signed in as")) " " strong { (self.user.name) } " (" (self.user.role.as_str()) ")" }
                    a href=(switch) lang=(self.lang.other().code()) {
                        (if self.lang == Lang::En { "Nederlands" } else { "English" })
                    }
                    form method="post" action="/logout" {
                        (self.csrf_field())
                        button.link type="submit" { (self.t("Log out")) }
                    }
                }
            }
        };
        document(self.lang, title, header, content)
    }
}

/// Percent-encodes a value for a query string.
pub(super) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn document(lang: Lang, title: &str, header: Markup, content: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · loket-sync" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                a.skip href="#main" { (lang.t("Skip to the content")) }
                (header)
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], markup.into_string())
        .into_response()
}

/// A page outside the signed-in layout (the login page, an error before the user is known).
pub(super) fn bare(lang: Lang, title: &str, content: Markup) -> Response {
    let header = html! { header.top { a.brand href="/" { "loket-sync" } } };
    document(lang, title, header, content)
}

/// A refused or failed page request, shown as a page with its status.
#[derive(Debug)]
pub(super) struct PageError {
    lang: Lang,
    status: StatusCode,
    message: String,
    details: Vec<String>,
}

impl PageError {
    pub(super) fn new(lang: Lang, status: StatusCode, message: String) -> PageError {
        PageError { lang, status, message, details: Vec::new() }
    }

    /// A refusal of the service (its status, message and details) as a page.
    pub(super) fn from_api(lang: Lang, error: ApiError) -> PageError {
        PageError { lang, status: error.status, message: error.message, details: error.details }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let title = match self.status {
            StatusCode::NOT_FOUND => lang.t("Not found"),
            status if status.is_server_error() => lang.t("Something went wrong"),
            _ => lang.t("Refused"),
        };
        let content = html! {
            p.error role="alert" { (self.message) }
            @if !self.details.is_empty() {
                ul.details { @for detail in &self.details { li { (detail) } } }
            }
            p { a href="/" { (lang.t("Back to the employers")) } }
        };
        let mut response = bare(lang, title, content);
        *response.status_mut() = self.status;
        response
    }
}

pub(super) type PageResult = Result<Response, PageError>;

/// A redirect after a form post (303: the browser gets the page, it does not post again).
pub(super) fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

fn access_of(method: &Method, path: &str) -> Option<Access> {
    PAGES.iter().find(|(m, p, _)| *m == method.as_str() && *p == path).map(|(_, _, access)| *access)
}

/// The form fields of a urlencoded body.
pub(super) fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Authentication, the CSRF token of form posts, and authorization of every page, by the page table.
async fn guard(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let lang = Lang::of(request.headers());
    let refuse = |status: StatusCode, key: &'static str| PageError::new(lang, status, lang.t(key).to_string());
    let path = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_string()).unwrap_or_default();
    let Some(access) = access_of(request.method(), &path) else {
        return refuse(StatusCode::FORBIDDEN, "Your role does not allow this.").into_response();
    };
    let Access::Role(needed) = access else { return next.run(request).await };
    let is_get = matches!(*request.method(), Method::GET | Method::HEAD);
    let session = match cookie(request.headers(), SESSION_COOKIE) {
        Some(cookie) => users::session(&api.service.records, &cookie, api.service.clock.now()).await,
        None => Ok(None),
    };
    let (user, csrf) = match session {
        Ok(Some(found)) => found,
        Ok(None) if is_get => {
            let here = request.uri().path_and_query().map_or("/", |path| path.as_str()).to_string();
            return see_other(&format!("/login?next={}", encode(&here)));
        }
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "Your session has ended: log in again.").into_response(),
        Err(error) => {
            return PageError::new(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.t("The service failed; its log says why.").to_string(),
            )
            .with_log(&error)
            .into_response();
        }
    };
    let request = if is_get {
        request
    } else {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return PageError::new(lang, StatusCode::PAYLOAD_TOO_LARGE, format!("a form is at most {MAX_BODY} bytes"))
                .into_response();
        };
        let sent = form_fields(&bytes).into_iter().find(|(name, _)| name == CSRF_FIELD).map(|(_, value)| value);
        if sent.as_deref() != Some(csrf.as_str()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "The form has expired or did not come from this dashboard: reload the page and try again.",
            )
            .into_response();
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    if user.role < needed {
        return refuse(StatusCode::FORBIDDEN, "Your role does not allow this.").into_response();
    }
    let mut request = request;
    request.extensions_mut().insert(Signed { user, csrf });
    next.run(request).await
}

impl PageError {
    fn with_log(self, error: &(dyn std::error::Error + 'static)) -> PageError {
        tracing::error!(error = %engine::errors::chain(error), "page failed");
        self
    }
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("app.css")).into_response()
}

/// `GET /lang?to=nl&next=/…`: remembers the language in a cookie and goes back.
async fn switch_language(axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>) -> Response {
    let value = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let lang = value("to").and_then(Lang::parse).unwrap_or(Lang::En);
    let next = local_path(value("next"));
    let cookie = format!("{}={}; SameSite=Lax; Path=/; Max-Age=31536000", i18n::LANG_COOKIE, lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

/// A path of this site to go to (never another site's: `//host` and `https://…` are refused).
pub(super) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_string(),
        _ => "/".to_string(),
    }
}

/// Whether a request comes from a browser that wants a page (for the Loket callback).
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// The dashboard's routes, behind `guard`.
pub(super) fn router(api: Arc<Api>) -> Router<Arc<Api>> {
    Router::new()
        .route("/login", get(admin::login_page).post(admin::log_in))
        .route("/lang", get(switch_language))
        .route("/assets/app.css", get(stylesheet))
        .route("/logout", post(admin::log_out))
        .route("/", get(employers::list))
        .route("/employers", post(employers::add))
        .route("/employers/{id}", get(employers::one))
        .route("/employers/{id}/plan", post(employers::plan_now))
        .route("/employers/{id}/mapping", get(mapping::page).post(mapping::save))
        .route("/employers/{id}/connect", get(admin::connect_page))
        .route("/employers/{id}/credentials", post(admin::change_credentials))
        .route("/employers/{id}/loket-login", post(admin::start_loket_login))
        .route("/employers/{id}/history", get(history::of_employer))
        .route("/plans/{id}", get(plan::page))
        .route("/plans/{id}/approve", post(plan::approve))
        .route("/plans/{id}/reject", post(plan::reject))
        .route("/plans/{id}/csv", get(plan::csv))
        .route("/runs/{id}/issues", get(history::run_issues))
        .route("/history", get(history::all))
        .route("/users", get(admin::users_page).post(admin::add_user))
        .route("/rules", get(admin::rules))
        .route_layer(middleware::from_fn_with_state(api, guard))
}

/// The 404 page of a path that is no page.
pub(crate) fn not_found_page(lang: Lang) -> Response {
    PageError::new(lang, StatusCode::NOT_FOUND, lang.t("There is no such page.").to_string()).into_response()
}

/// Where the browser goes after Loket's callback: the employers page with a notice, or the refusal.
pub(crate) fn after_loket_login(headers: &HeaderMap, finished: Result<i64, ApiError>) -> Response {
    let lang = Lang::of(headers);
    match finished {
        Ok(_) => see_other("/?notice=loket_login_done"),
        Err(error) => PageError::from_api(lang, error).into_response(),
    }
}

/// The employer (connection) a page's path names (`/employers/{id}/…`), or a 404 page.
pub(super) struct Employer(pub(super) super::records::ConnectionRow);

impl axum::extract::FromRequestParts<Arc<Api>> for Employer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, api: &Arc<Api>) -> Result<Employer, PageError> {
        let lang = Lang::of(&parts.headers);
        let axum::extract::Path(text) = axum::extract::Path::<String>::from_request_parts(parts, api)
            .await
            .map_err(|rejection| PageError::new(lang, StatusCode::NOT_FOUND, rejection.body_text()))?;
        let id = path_id(lang, &text, "employer")?;
        let row = api.service.records.connection(id).await.map_err(|error| PageError::from_api(lang, error.into()))?;
        row.map(Employer)
            .ok_or_else(|| PageError::new(lang, StatusCode::NOT_FOUND, format!("there is no employer {id}")))
    }
}

/// An id from a page's path, or a 404 page that names it.
pub(super) fn path_id(lang: Lang, text: &str, what: &str) -> Result<i64, PageError> {
    text.parse().map_err(|_| PageError::new(lang, StatusCode::NOT_FOUND, format!("there is no {what} `{text}`")))
}

/// A notice after a redirect (`?notice=…`), by its key, in the page's language.
pub(super) fn notice(page: &Page, key: Option<&str>) -> Markup {
    let text = match key {
        Some("applied") => page.t("The plan was applied."),
        Some("rejected") => page.t("The plan was rejected: nothing is written."),
        Some("waiting") => page.t("Your approval is recorded; another approver is needed."),
        Some("stale") => page.t(
            "Personio or Loket changed since this plan was made: nothing was written, and a new plan waits instead.",
        ),
        Some("planned") => page.t("A new plan was made."),
        Some("saved") => page.t("Saved."),
        Some("loket_login_done") => page.t("Logged in to Loket."),
        Some("user_added") => page.t("User added."),
        Some("employer_added") => page.t("Employer added."),
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}
