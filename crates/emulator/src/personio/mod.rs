//! A local Personio (API v2), seeded from and dumped to the `personio` section of the scenario format.
//!
//! # Model
//! Per person: an employment (legal entity, status, dates, hours), custom attributes (keyed by label or id in
//! the file, resolved to definitions with ids, SCENARIOS.md), a base-salary
//! history, recurring histories per type (a 0 ends one) and one-time payments. `GET /v2/compensations` is a
//! view of one month at most, shown as SCENARIOS.md says: a salary or recurring record appears in every
//! month in which it is in effect for at least one day, with its own `effective_from` and `interval`; a
//! one-time payment only in the month of its date; a record with value 0 never; nothing dated after the
//! person's employment end; item ids are stable per record.
//!
//! # As Personio's documents and live checks say (PERSONIO-API.md)
//! - Custom attributes are served as `{id, global_id, type, value}` **without a label** (a section with
//!   `labels_served: true` adds them); an `INT` attribute whose value is a whole number comes as a JSON
//!   number, others as strings; `type` is served as the file's definition writes it (upper case for
//!   defined ones, lower-case `string` for undefined ones, as Personio's examples show both).
//! - `self` and `next` links are absolute (`http://host/v2/persons?cursor=…`) and carry only the cursor;
//!   the cursor carries the first page's query (filters and `limit`).
//! - The token endpoint answers errors with 400 `application/problem+json` (`error`, `error_description`,
//!   `error_uri`, `timestamp`, `trace_id`): a wrong secret is `unauthorized_client`, a form without
//!   `grant_type` `invalid_request`, another grant `unsupported_grant_type`, an unknown scope `invalid_scope`.
//!
//! # Decisions where the real behaviour is unconfirmed
//! - A window is at most one calendar month: `end_date` on or before `start_date` plus one month; without
//!   dates the current month is shown (the only use of the clock).
//! - Cursors are opaque (`cur_…`); a cursor that was not handed out is a 400, and so is a request that gives
//!   any parameter but `limit` beside a cursor (a client must follow the link, not rebuild it).
//! - `limit` ranges: persons and employments 1–50 (default 10), compensations and types 1–100 (default
//!   100), legal entities 1–100 (default 20); outside them, a 400.
//! - A token is `papi-` plus a value stable per credential and scopes, valid 24 h; revoking it ends it.
//!   Only the demo credential `loket-sync-demo` / `demo-secret` is known.
//! - Scopes: persons and employments need `personio:persons:read`, compensations and types
//!   `personio:compensations:read`, legal entities `personio:legal-entities:read`; without, a 403 (a live
//!   Personio has been seen to answer 401 for a missing right; the client says so for either).
//! - A type counted in a unit shows `amount{value, unit}` without a currency; the type carries the unit.
//! - Rate limiting (a fault knob) answers 429 with `x-ratelimit-*` headers and no `Retry-After`.

mod handlers;
mod oauth;
mod paging;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use jiff::civil::Date;
use personio::wire;
use scenario::{PersonioSection, ScenarioError, derived_id};

use crate::admin::{AdministeredState, Instruments, admin_router, administered_emulator_methods};
use crate::common::{admit_after_latency, bearer_token, json_response, lock, route_key};
use crate::faults::Verdict;
use oauth::TokenGrant;

pub use crate::common::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// The items of one compensations window, computed once for all its pages (cleared when the state is
/// replaced): a month of a large company is many pages, and each would otherwise compute the whole month.
type WindowKey = (usize, Date, Date, Option<Vec<String>>, Option<Vec<String>>);

/// One Personio company: the credentials that reach it and its data. A local Personio holds several, told
/// apart by the credentials a token was issued for (the first has the demo credentials).
struct Company {
    client_id: String,
    client_secret: String,
    section: PersonioSection,
}

/// Which company a request's token belongs to, put in the request by the API layer.
#[derive(Clone, Copy, Debug)]
pub(super) struct CompanyIndex(pub(super) usize);

/// One company's section locked, behind the lock of all of them.
pub(super) struct SectionGuard<'a> {
    companies: std::sync::MutexGuard<'a, Vec<Company>>,
    index: usize,
}

impl std::ops::Deref for SectionGuard<'_> {
    type Target = PersonioSection;
    fn deref(&self) -> &PersonioSection {
        &self.companies[self.index].section
    }
}

impl std::ops::DerefMut for SectionGuard<'_> {
    fn deref_mut(&mut self) -> &mut PersonioSection {
        &mut self.companies[self.index].section
    }
}

struct Shared {
    companies: Mutex<Vec<Company>>,
    tokens: Mutex<HashMap<String, TokenGrant>>,
    instruments: Instruments,
    windows: Mutex<HashMap<WindowKey, Arc<Vec<wire::Compensation>>>>,
}

type SharedState = State<Arc<Shared>>;

impl Shared {
    pub(super) fn section(&self, company: CompanyIndex) -> SectionGuard<'_> {
        let companies = lock(&self.companies);
        let index = company.0.min(companies.len().saturating_sub(1));
        SectionGuard { companies, index }
    }

    /// The company these credentials reach.
    pub(super) fn company_of(&self, client_id: &str, client_secret: &str) -> Option<CompanyIndex> {
        lock(&self.companies)
            .iter()
            .position(|company| company.client_id == client_id && company.client_secret == client_secret)
            .map(CompanyIndex)
    }
}

/// Checks what a seed must hold for the emulator to serve it.
fn check_section(section: &PersonioSection) -> Result<(), ScenarioError> {
    section.to_state().map(|_| ())
}

impl AdministeredState for Shared {
    type Section = PersonioSection;
    const SECTION_NAME: &'static str = "personio";

    fn instruments(&self) -> &Instruments {
        &self.instruments
    }

    fn dump_section(&self) -> PersonioSection {
        self.section(CompanyIndex(0)).clone()
    }

    /// Replaces the section (the HR administrator at work) and forgets the windows computed from the old one.
    fn replace_section(&self, section: PersonioSection) -> Result<(), ScenarioError> {
        check_section(&section)?;
        *self.section(CompanyIndex(0)) = section;
        lock(&self.windows).clear();
        Ok(())
    }
}

/// The local Personio. Cheap to clone; every clone serves the same state.
#[derive(Clone)]
pub struct PersonioEmulator {
    shared: Arc<Shared>,
}

impl PersonioEmulator {
    pub fn new(section: PersonioSection) -> Result<PersonioEmulator, ScenarioError> {
        check_section(&section)?;
        Ok(PersonioEmulator {
            shared: Arc::new(Shared {
                companies: Mutex::new(vec![Company {
                    client_id: DEMO_CLIENT_ID.to_string(),
                    client_secret: DEMO_CLIENT_SECRET.to_string(),
                    section,
                }]),
                tokens: Mutex::new(HashMap::new()),
                instruments: Instruments::default(),
                windows: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn legal_entity_id(&self) -> String {
        self.shared.section(CompanyIndex(0)).legal_entity.id.clone()
    }

    /// Adds a company reached with its own credentials (a bureau's other client); the client id must be new.
    pub fn add_company(
        &self,
        client_id: &str,
        client_secret: &str,
        section: PersonioSection,
    ) -> Result<(), ScenarioError> {
        check_section(&section)?;
        let mut companies = lock(&self.shared.companies);
        if companies.iter().any(|company| company.client_id == client_id) {
            return Err(ScenarioError::Invalid {
                field: "personio".to_string(),
                message: format!("a company with client id {client_id} is already served"),
            });
        }
        companies.push(Company { client_id: client_id.to_string(), client_secret: client_secret.to_string(), section });
        Ok(())
    }

    administered_emulator_methods!(PersonioSection);

    pub fn router(&self) -> Router {
        let shared = Arc::clone(&self.shared);
        let api = Router::new()
            .route("/persons", get(handlers::persons))
            .route("/persons/{person_id}", get(handlers::person))
            .route("/persons/{person_id}/employments", get(handlers::employments))
            .route("/legal-entities", get(handlers::legal_entities))
            .route("/compensations/types", get(handlers::compensation_types))
            .route("/compensations", get(handlers::compensations))
            .route_layer(middleware::from_fn_with_state(Arc::clone(&shared), api_layer))
            .route("/auth/token", post(oauth::token))
            .route("/auth/revoke", post(oauth::revoke))
            .fallback(|| async { problem(StatusCode::NOT_FOUND, "Not found", "There is no such resource.") });
        let router = Router::new().nest("/v2", api).with_state(Arc::clone(&shared)).merge(admin_router(shared));
        self.shared.instruments.log.layer(router)
    }
}

/// An error in Personio's format: `application/problem+json` with a trace id, a timestamp and one error.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = wire::ErrorBody {
        personio_trace_id: derived_id("trace", &format!("{title}/{detail}/{:?}", Instant::now())),
        timestamp: jiff::Timestamp::now().to_string(),
        errors: vec![wire::ErrorItem {
            title: title.to_string(),
            detail: detail.to_string(),
            kind: Some(format!("https://developer.personio.de/errors/{}", status.as_u16())),
            meta: None,
        }],
    };
    json_response(status, "application/problem+json", &body)
}

/// The scope each API route needs.
fn scope_of(route: &str) -> &'static str {
    if route.contains("/compensations") {
        wire::SCOPE_COMPENSATIONS
    } else if route.contains("/legal-entities") {
        wire::SCOPE_LEGAL_ENTITIES
    } else {
        wire::SCOPE_PERSONS
    }
}

/// The middleware of every API request: the fault knobs, the counts, the rate-limit headers, the bearer
/// token and its scopes. Personio's API has no writes, so nothing counts as one.
async fn api_layer(State(shared): SharedState, matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route = route_key(matched.as_ref(), &request);
    let admission = admit_after_latency(&shared.instruments.faults, &route, false).await;
    let rate_headers = |response: &mut Response, remaining: u32| {
        if let Some(limit) = admission.rate_limit_per_second {
            for (name, value) in [
                ("x-ratelimit-replenish-rate", limit.to_string()),
                ("x-ratelimit-burst-capacity", limit.to_string()),
                ("x-ratelimit-requested-tokens", "1".to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
        }
    };
    match admission.verdict {
        Verdict::RateLimited => {
            let mut response =
                problem(StatusCode::TOO_MANY_REQUESTS, "Too many requests", "The rate limit was exceeded; slow down.");
            rate_headers(&mut response, 0);
            return response;
        }
        Verdict::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return problem(status, "Unavailable", "A fault was injected.");
        }
        Verdict::Corrupt => {
            let mut response =
                axum::response::IntoResponse::into_response((StatusCode::OK, crate::faults::CORRUPT_BODY));
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return response;
        }
        Verdict::Pass | Verdict::FailAfterCommit => {}
    }
    let grant = bearer_token(request.headers()).and_then(|token| {
        lock(&shared.tokens)
            .get(&token)
            .filter(|grant| grant.expires > Instant::now())
            .map(|grant| (grant.scopes.clone(), grant.company))
    });
    let Some((scopes, company)) = grant else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The access token is missing, unknown, expired or revoked.",
        );
    };
    if !scopes.iter().any(|scope| scope == scope_of(&route)) {
        return problem(
            StatusCode::FORBIDDEN,
            "Insufficient access scope",
            &format!("This request needs the scope {}.", scope_of(&route)),
        );
    }
    let mut request = request;
    request.extensions_mut().insert(CompanyIndex(company));
    let mut response = next.run(request).await;
    rate_headers(&mut response, admission.remaining);
    response
}
