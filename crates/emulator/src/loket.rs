//! A local Loket.nl: the paths, envelopes, status codes and error bodies of Loket's REST API v2, with its
//! business rules, seeded from and dumped to the `loket` section of the scenario format.
//!
//! # Rules it enforces (each refusal is a 400 `BrokenBusinessRule` with a description)
//! The write rules are `engine::model`'s, applied to the emulator's state, so the local Loket refuses exactly
//! what the engine's tests prove plans against:
//! - wages form a linked chain: a POST must start after the last wage's start; a PUT may change values, not
//!   the start date; `endDate` is derived (the day before the next wage);
//! - no two benefits or deductions of one component overlap; a PUT cannot change the component;
//! - values in range: `grossWage` 0.01–999,999.99, benefit/deduction `value` 0.01–99,999.99, period data
//!   −100,000,000–100,000,000;
//! - a benefit or deduction needs a component that exists in the catalogue of its start year, is a payment
//!   or a deduction, and has a category benefits accept (7, 9, 11, 12, 13, 17, 30);
//! - nothing dated outside the employment's start and end dates (no clock: "after the end" means dated
//!   after the end date);
//! - no payroll period data in a closed period (one with an approved run, key 9), nor in an unknown period;
//! - PATCH of payroll period data is an upsert keyed on (period, shift, payslip type, distribution unit, cost
//!   centre, cost unit): supplied components overwrite, omitted ones stay, `value: null` deletes;
//! - the collective PATCH applies each item on its own: 200 when at least one succeeded, with a message per
//!   failed item whose `id` is the employment; 400 when none did;
//! - the period data of one payroll period needs `payslipType` and one of `payrollComponentSet` or
//!   `payrollComponentCategory` (both, `payrollComponentId`, or neither: 400 in the list envelope); it
//!   shows only employments active in that period, the records of that payslip type, and the values of
//!   components of that category (the emulator knows no component sets: any set is an unknown one, 400);
//! - `…/payrollperioddata/defaults` is a bare GET-shaped record with `payrollPeriod` null and every field
//!   without a default null (the file's `period_data_defaults`; without one: shift 1, payslip type 1);
//! - a wage PUT that removes a pay scale or grade must send `applyPayGrade: false` (400 otherwise);
//!   `isGrossWageFullTime` is read-only: served as the file says (`full_time`, default true), ignored in
//!   requests; a new wage is full-time;
//! - payroll periods and the component catalogue are served whole, on one page (Loket's document declares
//!   no paging parameters for them);
//! - `GET /providers/employers/{employerId}` serves the one employer.
//!
//! # Decisions where the real behaviour is unconfirmed
//! - Whether `…/payrollperioddata/defaults` comes bare or in a `content` envelope (the local Loket answers
//!   bare; the client accepts both).
//! - The user's filter settings, which can hide employments from every list, are not emulated: every
//!   employment of the file is visible.
//! - A missing version in `Accept` is served with the newest version; a version dated before the resource's
//!   oldest is refused with 400.
//! - `deductionOrPayment` key 1 is a deduction ("Inhouding"); a component of neither kind is `null`.
//! - A DELETE of a record that does not exist is 404 without a body.
//! - Fields the sync does not use (net wage, employer costs, payslip text, …) are served as `null` and not
//!   stored; a PUT that sends a pay scale keeps it.
//! - A collective action is processed at once: `status` "Completed", `type` "Beloning"; each item is applied
//!   on its own (200 with the counts when one succeeded, a message per failed item).
//! - `If-Match` on PUT and DELETE is compared with the record's current ETag; a mismatch is 409.
//! - Page size: 1 to 1,000 (default 250); page numbers from 1; anything else is a 400.
//! - The OAuth server auto-approves (`/oauth/authorize` redirects at once with a code); access tokens live
//!   3,599 s; refresh tokens rotate and an old one is refused with `invalid_grant`; only the demo client
//!   `loket-sync-demo` / `demo-secret` is known, others get `invalid_client`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use engine::plan::{Action, ValueChange, Write};
use engine::state::{BenefitValue, Employment, LoketState, PeriodData, PeriodDataKey, WageKind, WageValue};
use engine::{ComponentKey, EmploymentId, Money, PeriodId, RecordId};
use jiff::civil::Date;
use loket::wire::{self, Envelope, KeyValue, ListEnvelope, Message, Version};
use rust_decimal::Decimal;
use scenario::{LoketSection, PeriodType, ScenarioError, derived_id, employments_section};
use serde_json::{Value, json};

use crate::faults::{self, FaultState, Faults, SharedFaults, Verdict};

pub const DEMO_CLIENT_ID: &str = "loket-sync-demo";
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
const ACCESS_TOKEN_SECONDS: u64 = 3599;

struct World {
    section: LoketSection,
    state: LoketState,
    next_id: u64,
    /// The PATCH defaults of each employment as the file gives them (with their nulls), by employment id.
    defaults: HashMap<String, scenario::PeriodDataDefaultsSection>,
}

impl World {
    fn new(section: LoketSection) -> Result<World, ScenarioError> {
        let state = section.to_state()?;
        let defaults = section
            .employments
            .iter()
            .filter_map(|employment| {
                let id = section.employment_id(employment.employee_number, employment.income_relationship_number);
                Some((id, employment.period_data_defaults.clone()?))
            })
            .collect();
        Ok(World { section, state, next_id: 0, defaults })
    }

    fn new_id(&mut self) -> RecordId {
        self.next_id += 1;
        RecordId(derived_id("loket-created", &format!("{}/{}", self.section.employer.name, self.next_id)))
    }

    fn dump(&self) -> LoketSection {
        let mut section = self.section.clone();
        section.employments = employments_section(&self.state);
        // The defaults as seeded (with their nulls); the sync never writes them.
        for employment in &mut section.employments {
            employment.period_data_defaults = self
                .section
                .employments
                .iter()
                .find(|seeded| {
                    (seeded.employee_number, seeded.income_relationship_number)
                        == (employment.employee_number, employment.income_relationship_number)
                })
                .and_then(|seeded| seeded.period_data_defaults.clone());
        }
        section
    }

    fn employment(&self, id: &str) -> Option<&Employment> {
        self.state.employments.iter().find(|employment| employment.id.as_str() == id)
    }
}

#[derive(Default)]
struct Auth {
    codes: HashSet<String>,
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    counter: u64,
}

impl Auth {
    fn token(&mut self, prefix: &str) -> String {
        self.counter += 1;
        derived_id(prefix, &format!("{}/{:?}", self.counter, Instant::now()))
    }

    fn issue(&mut self) -> wire::TokenResponse {
        let access = self.token("access");
        let refresh = self.token("refresh");
        self.access.insert(access.clone(), Instant::now() + Duration::from_secs(ACCESS_TOKEN_SECONDS));
        self.refresh.insert(refresh.clone());
        wire::TokenResponse {
            access_token: access,
            token_type: "bearer".to_string(),
            expires_in: ACCESS_TOKEN_SECONDS as i64,
            refresh_token: Some(refresh),
        }
    }
}

struct Shared {
    world: Mutex<World>,
    auth: Mutex<Auth>,
    faults: SharedFaults,
    log: crate::RequestLog,
}

/// The local Loket. Cheap to clone; every clone serves the same state.
#[derive(Clone)]
pub struct LoketEmulator {
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LoketEmulator {
    pub fn new(section: LoketSection) -> Result<LoketEmulator, ScenarioError> {
        Ok(LoketEmulator {
            shared: Arc::new(Shared {
                world: Mutex::new(World::new(section)?),
                auth: Mutex::new(Auth::default()),
                faults: Arc::new(Mutex::new(FaultState::default())),
                log: crate::RequestLog::default(),
            }),
        })
    }

    pub fn employer_id(&self) -> String {
        lock(&self.shared.world).section.employer_id()
    }

    pub fn administration_id(&self) -> String {
        lock(&self.shared.world).section.administration_id()
    }

    /// The state in the scenario format.
    pub fn dump(&self) -> LoketSection {
        lock(&self.shared.world).dump()
    }

    /// Replaces the whole state and resets the request counts; tokens stay valid.
    pub fn load(&self, section: LoketSection) -> Result<(), ScenarioError> {
        *lock(&self.shared.world) = World::new(section)?;
        faults::lock(&self.shared.faults).reset_counts();
        Ok(())
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.check()?;
        faults::lock(&self.shared.faults).set(faults);
        Ok(())
    }

    /// The writes (POST, PUT, PATCH, DELETE under `/v2/`) received since the last load, refused ones included.
    pub fn writes(&self) -> usize {
        faults::lock(&self.shared.faults).writes
    }

    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        faults::lock(&self.shared.faults).requests.clone()
    }

    /// Issues tokens as the authorization-code flow would, for tests and the demo.
    pub fn issue_tokens(&self) -> wire::TokenResponse {
        lock(&self.shared.auth).issue()
    }

    /// Every API request served so far, as the client sent it (see `log`).
    pub fn request_log(&self) -> Vec<crate::LoggedRequest> {
        self.shared.log.entries()
    }

    pub fn router(&self) -> Router {
        let shared = Arc::clone(&self.shared);
        let api = Router::new()
            .route("/providers/employers", get(employers))
            .route("/providers/employers/{employer_id}", get(employer))
            .route("/providers/employers/{employer_id}/payrolladministrations", get(administrations))
            .route("/providers/employers/{employer_id}/employees/employments", get(employments))
            .route("/providers/employers/{employer_id}/payrollperioddata", patch(patch_period_data_collective))
            .route(
                "/providers/employers/{employer_id}/employees/employments/benefitsanddeductions",
                post(post_benefits_collective).put(put_benefits_collective),
            )
            .route("/providers/employers/employees/employments/{employment_id}", get(employment))
            .route("/providers/employers/employees/employments/{employment_id}/terminate", patch(terminate))
            .route("/providers/employers/employees/employments/{employment_id}/wages", get(wages).post(post_wage))
            .route(
                "/providers/employers/employees/employments/wages/{wage_id}",
                get(get_wage).put(put_wage).delete(delete_wage),
            )
            .route(
                "/providers/employers/employees/employments/{employment_id}/benefitsanddeductions",
                get(benefits).post(post_benefit),
            )
            .route(
                "/providers/employers/employees/employments/benefitsAndDeductions/{id}",
                get(get_benefit).put(put_benefit).delete(delete_benefit),
            )
            .route(
                "/providers/employers/employees/employments/{employment_id}/payrollperioddata",
                get(period_data).patch(patch_period_data),
            )
            .route(
                "/providers/employers/employees/employments/{employment_id}/payrollperioddata/defaults",
                get(period_data_defaults),
            )
            .route(
                "/providers/employers/payrolladministrations/{administration_id}/payrollPeriods/{period_id}/payrollperioddata",
                get(period_data_of_period),
            )
            .route(
                "/providers/employers/payrolladministrations/{administration_id}/payrollcomponents/year/{year}",
                get(components),
            )
            .route("/providers/employers/payrolladministrations/{administration_id}/payrollperiods", get(periods))
            .route_layer(middleware::from_fn_with_state(Arc::clone(&shared), api_layer))
            .fallback(|| async { StatusCode::NOT_FOUND });
        let router = Router::new()
            .nest("/v2", api)
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/_emulator/state", get(get_state).put(put_state))
            .route("/_emulator/requests", get(get_requests))
            .route("/_emulator/faults", axum::routing::put(put_faults))
            .with_state(shared);
        self.shared.log.layer(router)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Responses

type Shared_ = State<Arc<Shared>>;

fn json_response(status: StatusCode, content_type: &str, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    let mut response = (status, text).into_response();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn ok_json(version: &str, body: &impl serde::Serialize) -> Response {
    json_response(StatusCode::OK, &format!("application/json;version={version}"), body)
}

/// A 400 in the single-entity envelope: `{version, messages, content: {}}`.
fn broken_rule(description: impl Into<String>) -> Response {
    let envelope = Envelope {
        version: Some(Version::of(wire::VERSION_2018)),
        messages: vec![Message::broken_rule(description)],
        content: json!({}),
    };
    json_response(StatusCode::BAD_REQUEST, "application/json", &envelope)
}

/// A 400 in the list envelope: `{…paging, version, messages, _embedded: []}`.
fn broken_rule_list(description: impl Into<String>) -> Response {
    let envelope: ListEnvelope<Value> = ListEnvelope {
        total_size: 0,
        page_size: 0,
        total_pages: 0,
        current_page: 0,
        version: Some(Version::of(wire::VERSION_2018)),
        messages: vec![Message::broken_rule(description)],
        embedded: Vec::new(),
    };
    json_response(StatusCode::BAD_REQUEST, "application/json", &envelope)
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// The resource version to serve for an `Accept` header, or the 400 that says why none fits.
fn version_for(headers: &HeaderMap, resource: &str) -> Result<String, String> {
    let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or("");
    let requested = accept.split(';').find_map(|part| part.trim().strip_prefix("version=")).map(str::trim);
    match requested {
        None => Ok(resource.to_string()),
        Some(date) if date.parse::<Date>().is_err() => {
            Err(format!("`{date}` in the Accept header is not a version date (YYYY-MM-DD)"))
        }
        Some(date) if date < resource => {
            Err(format!("this resource has no version on or before {date}; the oldest is {resource}"))
        }
        Some(_) => Ok(resource.to_string()),
    }
}

struct Paging {
    number: usize,
    size: usize,
}

fn paging(query: &HashMap<String, String>) -> Result<Paging, String> {
    let number = match query.get("pageNumber") {
        None => 1,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(format!("pageNumber `{text}` must be a whole number from 1"))?,
    };
    let size = match query.get("pageSize") {
        None => 250,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or(format!("pageSize `{text}` must be a whole number from 1 to 1000"))?,
    };
    Ok(Paging { number, size })
}

fn list_response<T: serde::Serialize>(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    resource: &str,
    items: Vec<T>,
    with_version: bool,
) -> Response {
    let version = match version_for(headers, resource) {
        Ok(version) => version,
        Err(reason) => return broken_rule_list(reason),
    };
    let paging = match paging(query) {
        Ok(paging) => paging,
        Err(reason) => return broken_rule_list(reason),
    };
    page_response(&version, paging, items, with_version)
}

/// A list that Loket's document declares without paging parameters (payroll periods, the component
/// catalogue): every item on one page.
fn whole_list_response<T: serde::Serialize>(
    headers: &HeaderMap,
    resource: &str,
    items: Vec<T>,
    with_version: bool,
) -> Response {
    let version = match version_for(headers, resource) {
        Ok(version) => version,
        Err(reason) => return broken_rule_list(reason),
    };
    let paging = Paging { number: 1, size: items.len().max(1) };
    page_response(&version, paging, items, with_version)
}

fn page_response<T: serde::Serialize>(version: &str, paging: Paging, items: Vec<T>, with_version: bool) -> Response {
    let total = items.len();
    let total_pages = total.div_ceil(paging.size);
    let page: Vec<T> = items.into_iter().skip((paging.number - 1) * paging.size).take(paging.size).collect();
    let envelope = ListEnvelope {
        total_size: total as i64,
        page_size: paging.size as i64,
        total_pages: total_pages as i64,
        current_page: paging.number as i64,
        version: with_version.then(|| Version::of(version)),
        messages: Vec::new(),
        embedded: page,
    };
    ok_json(version, &envelope)
}

fn entity_response<T: serde::Serialize>(
    status: StatusCode,
    headers: &HeaderMap,
    resource: &str,
    content: T,
) -> Response {
    let version = match version_for(headers, resource) {
        Ok(version) => version,
        Err(reason) => return broken_rule(reason),
    };
    let envelope = Envelope { version: Some(Version::of(&version)), messages: Vec::new(), content };
    let etag = etag_of(&envelope.content);
    let mut response = json_response(status, &format!("application/json;version={version}"), &envelope);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn etag_of(content: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(content).unwrap_or_default();
    format!("\"{}\"", &derived_id("etag", &text)[..8])
}

/// 409 when `If-Match` names another version of the record.
fn if_match_conflict(headers: &HeaderMap, current: &impl serde::Serialize) -> Option<Response> {
    let wanted = headers.get(header::IF_MATCH)?.to_str().ok()?;
    if wanted == "*" || wanted == etag_of(current) {
        return None;
    }
    let envelope = Envelope {
        version: Some(Version::of(wire::VERSION_2018)),
        messages: vec![Message {
            code: 409,
            id: None,
            kind: "BrokenBusinessRule".to_string(),
            description: "The record was changed by someone else (If-Match does not match); read it again.".to_string(),
            properties: Vec::new(),
        }],
        content: json!({}),
    };
    Some(json_response(StatusCode::CONFLICT, "application/json", &envelope))
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|error| format!("The request body cannot be read: {error}."))
}

// ---------------------------------------------------------------------------------------------------------
// Middleware: faults, counting, authorisation.

async fn api_layer(State(shared): Shared_, matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = crate::route_key(method.as_str(), matched.as_ref().map(|path| path.as_str()), request.uri().path());
    let is_write = method != Method::GET && method != Method::HEAD;
    let (verdict, latency) = {
        let mut state = faults::lock(&shared.faults);
        (state.admit(&route, is_write), state.latency())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match verdict {
        Verdict::RateLimited => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "").into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
        Verdict::Fail(status) => {
            let mut response = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE).into_response();
            if status == 429 || status == 503 {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return response;
        }
        Verdict::Pass | Verdict::FailAfterCommit => {}
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let valid = token
        .is_some_and(|token| lock(&shared.auth).access.get(&token).is_some_and(|expires| *expires > Instant::now()));
    if !valid {
        return json_response(
            StatusCode::UNAUTHORIZED,
            "application/json",
            &wire::ErrorMessage { message: "Authorization has been denied for this request.".to_string() },
        );
    }
    let lose = is_write && faults::lock(&shared.faults).faults.lose_writes;
    let saved = lose.then(|| lock(&shared.world).state.clone());
    let response = next.run(request).await;
    if let Some(saved) = saved {
        lock(&shared.world).state = saved;
    }
    if verdict == Verdict::FailAfterCommit {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    response
}

// ---------------------------------------------------------------------------------------------------------
// Wire views of the state

fn period_type(section: &LoketSection) -> KeyValue {
    match section.payroll_period_type {
        PeriodType::Month => KeyValue::new(1, "Maand"),
        PeriodType::FourWeeks => KeyValue::new(3, "4 weken"),
        PeriodType::Week => KeyValue::new(4, "Week"),
    }
}

fn address() -> Value {
    json!({
        "city": "Utrecht", "country": {"isoCode": "NL", "key": 528, "value": "Nederland"},
        "furtherIndication": null, "houseNumber": 1, "houseNumberAddition": null, "location": null,
        "postalCode": "3511AA", "province": null, "street": "Oudegracht"
    })
}

fn employer_view(section: &LoketSection) -> wire::Employer {
    let other = json!({
        "address": address(), "branch": null, "chamberOfCommerceNumber": null, "contact": null,
        "contactInformation": null, "deviatingPostalAddress": null, "employerLogo": null, "employerNumber": 1,
        "legalForm": null, "providerLogo": null,
        "providerSettings": {"administrationNumber": null, "groupCode": null,
                             "parentEmployerForConsolidatedOverviews": null, "sendEmailWhenSalarySlipIsAvailable": false},
        "sbi": null
    });
    wire::Employer {
        id: section.employer_id(),
        company_name: section.employer.name.clone(),
        other: other.as_object().cloned().unwrap_or_default(),
    }
}

fn administration_view(section: &LoketSection) -> wire::PayrollAdministration {
    let first_year = section.period_years.iter().min().copied().unwrap_or(2000);
    let other = json!({
        "address": address(), "administrationNumber": null, "cao": {"key": 0, "value": "Geen CAO"},
        "claTaxReturnCBSCode": null, "contact": null, "deviatingPostalAddress": null, "endDate": null,
        "groupClassification": null, "groupCode": 1, "loonmodel": {"key": 1, "value": "Standaard"},
        "payrollTaxesNumber": null, "shortName": null, "startDate": format!("{first_year}-01-01")
    });
    wire::PayrollAdministration {
        id: section.administration_id(),
        name: section.employer.name.clone(),
        description: "Salarisadministratie".to_string(),
        client_number: 1,
        payroll_period_type: period_type(section),
        other: other.as_object().cloned().unwrap_or_default(),
    }
}

fn split_name(name: &str) -> (String, String) {
    match name.split_once(' ') {
        Some((first, last)) => (first.to_string(), last.to_string()),
        None => (String::new(), name.to_string()),
    }
}

fn employment_view(section: &LoketSection, employment: &Employment, payroll_id: i64) -> wire::Employment {
    let (first, last) = split_name(&employment.name);
    let metadata = |key: i64, value: &str| json!({"key": key, "value": value});
    let other = json!({
        "calculateWorkingHours": false, "cancellationNoticeDate": null, "cancellationPeriodEmployee": null,
        "cancellationPeriodEmployer": null, "cancellationPeriodTimeUnit": null, "commissionUntilDate": null,
        "commissionUntilDate1": null, "commissionUntilDate2": null, "commissionUntilDate3": null,
        "commissionUntilDate4": null, "commissionUntilDate5": null, "commissionUntilDate6": null,
        "deviatingCLAExternalParty": null, "deviatingCLATaxReturn": null, "emailLeaveRequest": null,
        "employeeProfileId": null, "employmentCategoryType": metadata(1, "Regulier"),
        "employmentContractType": null, "employmentDurationType": metadata(1, "Onbepaalde tijd"),
        "endOfEmploymentDueToIllness": null, "endOfEmploymentReason": null,
        "endOfEmploymentReasonTaxAuthorities": null, "essMutationSet": metadata(1, "Standaard"),
        "exemptionInsuranceObligation": metadata(0, "Geen"), "exemptionPremiumWaiverMarginalLabour": false,
        "exemptionWorkRelatedExpenseScheme": false, "firstDayNotification": null,
        "hasOnCallAppearanceObligation": null, "historicalStartDate": null, "isAnonymousEmployee": false,
        "isDirectorAndMajorShareholder": null, "isFamilyOfOwner": null,
        "isGemoedsbezwaardEmployeeInsurance": false, "isGemoedsbezwaardNationalInsurance": false,
        "isOnCallEmployment": false, "isPreviousOwner": null, "linkedEmployment": null, "namePayslip": null,
        "nonPayrollAdministration": null, "participation55plusRegulationUWV": false, "payrollId": payroll_id,
        "periodPayGradeAdjustment": null, "professionCode": null, "sendToExternalParty": null,
        "signalPayGradeAdjustment": false, "specialIncomeRatio": null, "startCancellationNoticePeriod": null,
        "startDateContractOfIndefiniteDuration": null, "temporaryTaxExemption": metadata(0, "Geen"),
        "typeOfEmployee": metadata(1, "Werknemer"), "typeOfParticipation": null, "vacationCoupons": null,
        "valueOfParticipation": null, "wachtgeldOldRegulation": false, "writtenEmploymentContract": true
    });
    let employee_other = json!({
        "dateOfBirth": "1990-01-01", "initials": first.chars().next().map(|c| format!("{c}.")).unwrap_or_default(),
        "lastNamePartner": null, "photo": null, "prefix": null, "prefixPartner": null
    });
    wire::Employment {
        id: employment.id.to_string(),
        start_date: employment.start,
        end_date: employment.end,
        income_relationship_number: employment.income_relationship_number.map(|n| n as i64),
        employee: wire::EmployeeRef {
            id: derived_id("loket-employee", employment.id.as_str()),
            employee_number: employment.employee_number.0 as i64,
            first_name: Some(first),
            last_name: last,
            formatted_name: employment.name.clone(),
            other: employee_other.as_object().cloned().unwrap_or_default(),
        },
        payroll_administration: Some(wire::AdministrationRef {
            id: section.administration_id(),
            name: section.employer.name.clone(),
            description: "Salarisadministratie".to_string(),
            client_number: 1,
        }),
        other: other.as_object().cloned().unwrap_or_default(),
    }
}

fn scale_key(name: &str) -> i64 {
    i64::from_str_radix(&derived_id("pay-scale", name)[..6], 16).unwrap_or(1)
}

fn wage_views(section: &LoketSection, employment: &Employment) -> Vec<wire::Wage> {
    let mut wages: Vec<&engine::state::Wage> = employment.wages.iter().collect();
    wages.sort_by_key(|wage| wage.value.start);
    wages
        .iter()
        .enumerate()
        .map(|(index, wage)| wire::Wage {
            id: Some(wage.id.0.clone()),
            start_date: wage.value.start,
            end_date: wages.get(index + 1).and_then(|next| next.value.start.yesterday().ok()),
            gross_wage: Some(wage.value.amount.value()),
            gross_wage_type: Some(match wage.value.kind {
                WageKind::Periodic => KeyValue::new(wire::WAGE_PERIODIC, "Periodeloon"),
                WageKind::Hourly => KeyValue::new(wire::WAGE_HOURLY, "Uurloon"),
            }),
            net_wage: None,
            net_wage_type: None,
            employer_costs: None,
            employer_costs_type: None,
            payroll_period_type: Some(period_type(section)),
            pay_scale: wage.pay_scale.as_ref().map(|name| KeyValue::new(scale_key(name), name)),
            pay_grade: wage.pay_grade.as_ref().map(|name| KeyValue::new(scale_key(name), name)),
            apply_pay_grade: Some(wage.pay_grade.is_some()),
            is_gross_wage_full_time: Some(wage.full_time),
        })
        .collect()
}

fn component_metadata(section: &LoketSection, key: u32) -> (KeyValue, Option<KeyValue>, String) {
    let found = section.components.iter().find(|component| component.key == key);
    let category = found.map(|component| component.category).unwrap_or(0);
    let kind = found.map(|component| component.kind);
    let deduction_or_payment = match kind {
        Some(scenario::ComponentKindSection::Payment) => Some(KeyValue::new(wire::PAYMENT, "Betaling")),
        Some(scenario::ComponentKindSection::Deduction) => Some(KeyValue::new(wire::DEDUCTION, "Inhouding")),
        _ => None,
    };
    let description = found.map(|component| component.description.clone()).unwrap_or_default();
    (KeyValue::new(i64::from(category), &format!("Categorie {category}")), deduction_or_payment, description)
}

fn benefit_view(section: &LoketSection, record: &engine::state::BenefitOrDeduction) -> wire::BenefitOrDeduction {
    let (category, deduction_or_payment, description) = component_metadata(section, record.value.component.0);
    wire::BenefitOrDeduction {
        id: Some(record.id.0.clone()),
        start_date: record.value.start,
        end_date: record.value.end,
        value: record.value.value.value(),
        payroll_component: wire::ComponentRef {
            key: i64::from(record.value.component.0),
            description: Some(description),
            category: Some(category),
            deduction_or_payment: Some(deduction_or_payment),
            can_be_supplemented: None,
        },
    }
}

fn period_ref(world: &World, period: PeriodId) -> wire::PeriodRef {
    let found = world.state.calendar.get(period);
    wire::PeriodRef {
        year: i64::from(period.year),
        period_number: i64::from(period.number),
        period_start_date: found.map(|period| period.start),
        period_end_date: found.map(|period| period.end),
    }
}

fn shift(number: u32) -> wire::Shift {
    wire::Shift {
        shift_number: i64::from(number),
        full_time_hours_per_week: Some(Decimal::from(40)),
        bonus_percentage: Some(Decimal::ZERO),
    }
}

fn payslip_type(key: u32) -> KeyValue {
    KeyValue::new(i64::from(key), if key == 1 { "Normale strook" } else { "Bijzonder tarief" })
}

fn component_values(section: &LoketSection, record: &PeriodData) -> Vec<wire::ComponentValue> {
    record
        .values
        .iter()
        .map(|(key, value)| {
            let (category, deduction_or_payment, description) = component_metadata(section, key.0);
            wire::ComponentValue {
                payroll_component: wire::ComponentRef {
                    key: i64::from(key.0),
                    description: Some(description),
                    category: Some(category),
                    deduction_or_payment: Some(deduction_or_payment),
                    can_be_supplemented: Some(false),
                },
                value: Some(*value),
                is_supplement: false,
            }
        })
        .collect()
}

fn int_key(text: &Option<String>) -> Option<wire::CodedKey<i64>> {
    text.as_ref().and_then(|key| key.parse::<i64>().ok()).map(|key| wire::CodedKey {
        key,
        code: Some(json!(key.to_string())),
        description: Some(format!("Kostenplaats {key}")),
    })
}

fn distribution_unit(key: &Option<engine::ShortId>) -> wire::CodedKey<String> {
    wire::CodedKey {
        key: key.map(|key| key.as_str().to_string()).unwrap_or_default(),
        code: Some(json!(1)),
        description: Some("Standaard".to_string()),
    }
}

fn period_data_view(world: &World, record: &PeriodData) -> wire::PayrollPeriodData {
    wire::PayrollPeriodData {
        id: record.id.as_ref().map(|id| id.0.clone()),
        employment_id: None,
        payroll_period: period_ref(world, record.key.period),
        shift: shift(record.key.shift),
        payslip_type: payslip_type(record.key.payslip_type),
        payslip_text: None,
        distribution_unit: distribution_unit(&record.key.distribution_unit),
        cost_center: int_key(&record.key.cost_center),
        cost_unit: int_key(&record.key.cost_unit),
        payroll_components: component_values(&world.section, record),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Handlers: reads

type QueryMap = Query<HashMap<String, String>>;

async fn employers(State(shared): Shared_, headers: HeaderMap, Query(query): QueryMap) -> Response {
    let world = lock(&shared.world);
    list_response(&headers, &query, wire::VERSION_2018, vec![employer_view(&world.section)], true)
}

async fn employer(State(shared): Shared_, Path(employer_id): Path<String>, headers: HeaderMap) -> Response {
    let world = lock(&shared.world);
    if employer_id != world.section.employer_id() {
        return not_found();
    }
    entity_response(StatusCode::OK, &headers, wire::VERSION_2018, employer_view(&world.section))
}

async fn administrations(
    State(shared): Shared_,
    Path(employer_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = lock(&shared.world);
    if employer_id != world.section.employer_id() {
        return not_found();
    }
    list_response(&headers, &query, wire::VERSION_2018, vec![administration_view(&world.section)], true)
}

async fn employments(
    State(shared): Shared_,
    Path(employer_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = lock(&shared.world);
    if employer_id != world.section.employer_id() {
        return not_found();
    }
    let items: Vec<wire::Employment> = world
        .state
        .employments
        .iter()
        .enumerate()
        .map(|(index, employment)| employment_view(&world.section, employment, index as i64 + 1))
        .collect();
    list_response(&headers, &query, wire::VERSION_EMPLOYMENTS, items, true)
}

async fn employment(State(shared): Shared_, Path(employment_id): Path<String>, headers: HeaderMap) -> Response {
    let world = lock(&shared.world);
    match world.state.employments.iter().position(|employment| employment.id.as_str() == employment_id) {
        Some(index) => entity_response(
            StatusCode::OK,
            &headers,
            wire::VERSION_EMPLOYMENTS,
            employment_view(&world.section, &world.state.employments[index], index as i64 + 1),
        ),
        None => not_found(),
    }
}

async fn wages(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = lock(&shared.world);
    match world.employment(&employment_id) {
        Some(employment) => {
            list_response(&headers, &query, wire::VERSION_2018, wage_views(&world.section, employment), true)
        }
        None => not_found(),
    }
}

fn find_wage(world: &World, wage_id: &str) -> Option<(usize, wire::Wage)> {
    world.state.employments.iter().enumerate().find_map(|(index, employment)| {
        wage_views(&world.section, employment)
            .into_iter()
            .find(|wage| wage.id.as_deref() == Some(wage_id))
            .map(|wage| (index, wage))
    })
}

async fn get_wage(State(shared): Shared_, Path(wage_id): Path<String>, headers: HeaderMap) -> Response {
    let world = lock(&shared.world);
    match find_wage(&world, &wage_id) {
        Some((_, wage)) => entity_response(StatusCode::OK, &headers, wire::VERSION_2018, wage),
        None => not_found(),
    }
}

async fn benefits(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = lock(&shared.world);
    match world.employment(&employment_id) {
        Some(employment) => {
            let mut records: Vec<&engine::state::BenefitOrDeduction> =
                employment.benefits_and_deductions.iter().collect();
            records.sort_by(|a, b| a.value.cmp(&b.value));
            let items: Vec<wire::BenefitOrDeduction> =
                records.into_iter().map(|record| benefit_view(&world.section, record)).collect();
            list_response(&headers, &query, wire::VERSION_2018, items, true)
        }
        None => not_found(),
    }
}

fn find_benefit(world: &World, id: &str) -> Option<(usize, engine::state::BenefitOrDeduction)> {
    world.state.employments.iter().enumerate().find_map(|(index, employment)| {
        employment.benefits_and_deductions.iter().find(|record| record.id.0 == id).map(|record| (index, record.clone()))
    })
}

async fn get_benefit(State(shared): Shared_, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let world = lock(&shared.world);
    match find_benefit(&world, &id) {
        Some((_, record)) => {
            entity_response(StatusCode::OK, &headers, wire::VERSION_2018, benefit_view(&world.section, &record))
        }
        None => not_found(),
    }
}

async fn period_data(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = lock(&shared.world);
    match world.employment(&employment_id) {
        Some(employment) => {
            let mut records: Vec<&PeriodData> = employment.period_data.iter().collect();
            records.sort_by(|a, b| a.key.cmp(&b.key));
            let items: Vec<wire::PayrollPeriodData> =
                records.into_iter().map(|record| period_data_view(&world, record)).collect();
            list_response(&headers, &query, wire::VERSION_2018, items, true)
        }
        None => not_found(),
    }
}

/// The defaults of a PATCH, as Loket serves them: a GET-shaped record, bare, with `payrollPeriod` null and
/// every field without a default null (as the file's `period_data_defaults` says).
async fn period_data_defaults(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = lock(&shared.world);
    let Some(employment) = world.employment(&employment_id) else { return not_found() };
    let version = match version_for(&headers, wire::VERSION_2018) {
        Ok(version) => version,
        Err(reason) => return broken_rule(reason),
    };
    let defaults = world.defaults.get(employment.id.as_str()).cloned().unwrap_or(scenario::PeriodDataDefaultsSection {
        shift: Some(1),
        payslip_type: Some(1),
        cost_center: None,
        cost_unit: None,
    });
    let body = wire::PeriodDataDefaults {
        payroll_period: None,
        shift: defaults.shift.map(shift),
        payslip_type: defaults.payslip_type.map(payslip_type),
        payslip_text: None,
        distribution_unit: Some(distribution_unit(&employment.period_data_defaults.distribution_unit)),
        cost_center: int_key(&defaults.cost_center.map(|key| key.to_string())),
        cost_unit: int_key(&defaults.cost_unit.map(|key| key.to_string())),
        payroll_components: Vec::new(),
    };
    ok_json(&version, &body)
}

async fn period_data_of_period(
    State(shared): Shared_,
    Path((administration_id, period_id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    let world = lock(&shared.world);
    if administration_id != world.section.administration_id() {
        return not_found();
    }
    let Some(period) = period_id.parse::<i64>().ok().and_then(PeriodId::from_loket_id) else {
        return broken_rule_list(format!(
            "`{period_id}` is not a payroll period id (year × 100 + period, such as 202602)"
        ));
    };
    let Some(found) = world.state.calendar.get(period).cloned() else {
        return not_found();
    };
    // Loket requires a payslip type and one of a component set or category, one of each per call.
    let payslip = match query.get("payslipType").map(|text| text.parse::<u32>()) {
        Some(Ok(key)) => key,
        Some(Err(_)) => return broken_rule_list("payslipType must be a whole number (1 normal, 2 special rate)"),
        None => return broken_rule_list("The query parameter payslipType is required."),
    };
    let category = match (
        query.get("payrollComponentSet"),
        query.get("payrollComponentCategory"),
        query.get("payrollComponentId"),
    ) {
        (_, _, Some(_)) => {
            return broken_rule_list(
                "payrollComponentId is not available yet; use payrollComponentCategory or payrollComponentSet.",
            );
        }
        (Some(_), Some(_), _) => {
            return broken_rule_list("Give either payrollComponentSet or payrollComponentCategory, not both.");
        }
        (Some(set), None, _) => {
            return broken_rule_list(format!("Payroll component set `{set}` does not exist for this administration."));
        }
        (None, Some(text), _) => match text.parse::<u16>() {
            Ok(category) => category,
            Err(_) => return broken_rule_list("payrollComponentCategory must be a whole number"),
        },
        (None, None, _) => {
            return broken_rule_list(
                "Either payrollComponentSet or payrollComponentCategory or payrollComponentId must have a value.",
            );
        }
    };
    let catalogue = world.state.components.get(&period.year);
    let in_category = |key: &ComponentKey| {
        catalogue.and_then(|catalogue| catalogue.get(key)).is_some_and(|component| component.category == category)
    };
    let mut items = Vec::new();
    // Only active employments: those whose dates overlap the period.
    for (index, employment) in
        world.state.employments.iter().enumerate().filter(|(_, employment)| {
            employment.start <= found.end && employment.end.is_none_or(|end| end >= found.start)
        })
    {
        let mut records: Vec<PeriodData> = employment
            .period_data
            .iter()
            .filter(|record| record.key.period == period && record.key.payslip_type == payslip)
            .map(|record| PeriodData {
                id: record.id.clone(),
                key: record.key.clone(),
                values: record
                    .values
                    .iter()
                    .filter(|(key, _)| in_category(key))
                    .map(|(key, value)| (*key, *value))
                    .collect(),
            })
            .collect();
        records.sort_by(|a, b| a.key.cmp(&b.key));
        for record in records {
            let record = &record;
            items.push(wire::PeriodDataOfPeriod {
                employment: wire::PeriodEmploymentRef {
                    id: employment.id.to_string(),
                    income_relationship_number: employment.income_relationship_number.unwrap_or(1) as i64,
                    payroll_id: index as i64 + 1,
                },
                employee: wire::PeriodEmployeeRef {
                    employee_number: employment.employee_number.0 as i64,
                    formatted_name: employment.name.clone(),
                },
                payroll_period: period_ref(&world, period),
                shift: shift(record.key.shift),
                payslip_type: payslip_type(record.key.payslip_type),
                distribution_unit: distribution_unit(&record.key.distribution_unit),
                cost_center: int_key(&record.key.cost_center),
                cost_unit: int_key(&record.key.cost_unit),
                payroll_components: component_values(&world.section, record),
            });
        }
    }
    list_response(&headers, &query, wire::VERSION_2018, items, true)
}

async fn components(
    State(shared): Shared_,
    Path((administration_id, year)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let world = lock(&shared.world);
    if administration_id != world.section.administration_id() {
        return not_found();
    }
    let Ok(year) = year.parse::<i16>() else {
        return broken_rule_list(format!("`{year}` is not a year"));
    };
    let Some(catalogue) = world.state.components.get(&year) else {
        return whole_list_response::<wire::PayrollComponent>(&headers, wire::VERSION_2018, Vec::new(), false);
    };
    let items: Vec<wire::PayrollComponent> = catalogue
        .values()
        .map(|component| {
            let (category, deduction_or_payment, _) = component_metadata(&world.section, component.key.0);
            wire::PayrollComponent {
                key: i64::from(component.key.0),
                description: component.description.clone(),
                category,
                deduction_or_payment,
                can_be_supplemented: false,
                is_collective_mutation_possible: true,
            }
        })
        .collect();
    whole_list_response(&headers, wire::VERSION_2018, items, false)
}

async fn periods(State(shared): Shared_, Path(administration_id): Path<String>, headers: HeaderMap) -> Response {
    let world = lock(&shared.world);
    if administration_id != world.section.administration_id() {
        return not_found();
    }
    let approved = world.section.approved_through;
    let items: Vec<wire::PayrollPeriod> = world
        .state
        .calendar
        .periods()
        .iter()
        .map(|period| {
            // Every period through `approved_through` has an approved run; the next one a run in progress.
            let first_open = approved.is_none_or(|through| period.id > through)
                && world.state.calendar.periods().iter().filter(|other| other.id < period.id).all(|other| other.closed);
            let runs = if period.closed {
                vec![run(period.id, wire::RUN_APPROVED, "Verloning goedgekeurd")]
            } else if first_open && approved.is_some() {
                vec![run(period.id, 1, "In behandeling")]
            } else {
                Vec::new()
            };
            wire::PayrollPeriod {
                id: period.id.loket_id(),
                year: i64::from(period.id.year),
                period_number: i64::from(period.id.number),
                start_date: period.start,
                end_date: period.end,
                payroll_period_type: period_type(&world.section),
                test_year: false,
                payroll_runs: runs,
                automatic_processing: None,
            }
        })
        .collect();
    whole_list_response(&headers, wire::VERSION_2018, items, true)
}

fn run(period: PeriodId, key: i64, value: &str) -> wire::PayrollRun {
    wire::PayrollRun {
        id: derived_id("loket-payroll-run", &period.to_string()),
        payroll_run_status: KeyValue::new(key, value),
        sequence_number: Some(1),
        sequence_number_approved: (key == wire::RUN_APPROVED).then_some(1),
        journal_runs: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Handlers: writes, through the engine's model of Loket's rules

fn apply(world: &mut World, employment_id: &EmploymentId, action: Action) -> Result<Option<RecordId>, String> {
    let employment = world
        .state
        .employments
        .iter()
        .find(|employment| employment.id == *employment_id)
        .ok_or("the employment does not exist")?;
    let write = Write {
        employment_id: *employment_id,
        employee_number: employment.employee_number,
        rule: "api".into(),
        action,
    };
    let new_id = world.new_id();
    engine::model::apply_write_with_id(&mut world.state, &write, new_id.clone())?;
    Ok(Some(new_id))
}

fn wage_value(body: &wire::Wage) -> Result<WageValue, String> {
    let amount = body.gross_wage.ok_or("grossWage is required")?;
    let amount = Money::exact(amount).ok_or(format!("grossWage {amount} has more than two decimals"))?;
    let kind = match body.gross_wage_type.as_ref().map(|kind| kind.key) {
        Some(wire::WAGE_PERIODIC) => WageKind::Periodic,
        Some(wire::WAGE_HOURLY) => WageKind::Hourly,
        Some(other) => return Err(format!("grossWageType {other} is unknown; use 1 (periodic) or 2 (hourly)")),
        None => return Err("grossWageType is required".to_string()),
    };
    Ok(WageValue { start: body.start_date, kind, amount })
}

async fn post_wage(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: wire::Wage = match parse_body(&body) {
        Ok(body) => body,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    let Some(employment_id) = world.employment(&employment_id).map(|employment| employment.id) else {
        return not_found();
    };
    let value = match wage_value(&body) {
        Ok(value) => value,
        Err(reason) => return broken_rule(reason),
    };
    match apply(&mut world, &employment_id, Action::PostWage { after: value }) {
        Ok(Some(id)) => {
            if let Some(scale) = &body.pay_scale {
                set_pay_scale(&mut world, &id, Some(scale.value.clone()));
            }
            match find_wage(&world, &id.0) {
                Some((_, wage)) => entity_response(StatusCode::CREATED, &headers, wire::VERSION_2018, wage),
                None => not_found(),
            }
        }
        Ok(None) => not_found(),
        Err(reason) => broken_rule(format!("The wage cannot be added: {reason}.")),
    }
}

fn set_pay_scale(world: &mut World, id: &RecordId, scale: Option<String>) {
    for employment in &mut world.state.employments {
        for wage in &mut employment.wages {
            if wage.id == *id {
                wage.pay_scale = scale.clone();
            }
        }
    }
}

async fn put_wage(State(shared): Shared_, Path(wage_id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut world = lock(&shared.world);
    let Some((index, current)) = find_wage(&world, &wage_id) else { return not_found() };
    let body: wire::Wage = match parse_body(&body) {
        Ok(body) => body,
        Err(reason) => return broken_rule(reason),
    };
    if let Some(conflict) = if_match_conflict(&headers, &current) {
        return conflict;
    }
    let value = match wage_value(&body) {
        Ok(value) => value,
        Err(reason) => return broken_rule(reason),
    };
    let employment = &world.state.employments[index];
    let Some(before) = employment.wages.iter().find(|wage| wage.id.0 == wage_id).cloned() else { return not_found() };
    // With `applyPayGrade` on (or left as read), Loket replaces `grossWage` by the pay grade's amount: a PUT
    // that clears the pay scale must turn it off.
    let clears_scale = body.pay_scale.is_none() && body.pay_grade.is_none();
    if clears_scale && (before.pay_scale.is_some() || before.pay_grade.is_some()) && body.apply_pay_grade != Some(false)
    {
        return broken_rule(
            "The wage cannot be changed: a PUT without a pay scale and pay grade must send applyPayGrade false.",
        );
    }
    let employment_id = employment.id;
    let id = before.id.clone();
    match apply(&mut world, &employment_id, Action::PutWage { id: id.clone(), before, after: value }) {
        Ok(_) => {
            set_pay_scale(&mut world, &id, body.pay_scale.as_ref().map(|scale| scale.value.clone()));
            match find_wage(&world, &wage_id) {
                Some((_, wage)) => entity_response(StatusCode::OK, &headers, wire::VERSION_2018, wage),
                None => not_found(),
            }
        }
        Err(reason) => broken_rule(format!("The wage cannot be changed: {reason}.")),
    }
}

fn deleted() -> Response {
    let envelope =
        Envelope { version: Some(Version::of(wire::VERSION_2018)), messages: Vec::new(), content: json!({}) };
    json_response(StatusCode::OK, "application/json", &envelope)
}

async fn delete_wage(State(shared): Shared_, Path(wage_id): Path<String>, headers: HeaderMap) -> Response {
    let mut world = lock(&shared.world);
    let Some((index, current)) = find_wage(&world, &wage_id) else { return not_found() };
    if let Some(conflict) = if_match_conflict(&headers, &current) {
        return conflict;
    }
    let employment = &world.state.employments[index];
    let Some(before) = employment.wages.iter().find(|wage| wage.id.0 == wage_id).cloned() else { return not_found() };
    let employment_id = employment.id;
    match apply(&mut world, &employment_id, Action::DeleteWage { before }) {
        Ok(_) => deleted(),
        Err(reason) => broken_rule(format!("The wage cannot be deleted: {reason}.")),
    }
}

fn benefit_value(body: &wire::BenefitOrDeduction) -> Result<BenefitValue, String> {
    let component = u32::try_from(body.payroll_component.key).map_err(|_| "payrollComponent.key must be positive")?;
    let value = Money::exact(body.value).ok_or(format!("value {} has more than two decimals", body.value))?;
    Ok(BenefitValue { component: ComponentKey(component), start: body.start_date, end: body.end_date, value })
}

async fn post_benefit(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: wire::BenefitOrDeduction = match parse_body(&body) {
        Ok(body) => body,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    let Some(employment_id) = world.employment(&employment_id).map(|employment| employment.id) else {
        return not_found();
    };
    let value = match benefit_value(&body) {
        Ok(value) => value,
        Err(reason) => return broken_rule(reason),
    };
    match apply(&mut world, &employment_id, Action::PostBenefit { after: value }) {
        Ok(Some(id)) => match find_benefit(&world, &id.0) {
            Some((_, record)) => entity_response(
                StatusCode::CREATED,
                &headers,
                wire::VERSION_2018,
                benefit_view(&world.section, &record),
            ),
            None => not_found(),
        },
        Ok(None) => not_found(),
        Err(reason) => broken_rule(format!("The benefit or deduction cannot be added: {reason}.")),
    }
}

async fn put_benefit(State(shared): Shared_, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut world = lock(&shared.world);
    let Some((index, current)) = find_benefit(&world, &id) else { return not_found() };
    let body: wire::BenefitOrDeduction = match parse_body(&body) {
        Ok(body) => body,
        Err(reason) => return broken_rule(reason),
    };
    if let Some(conflict) = if_match_conflict(&headers, &benefit_view(&world.section, &current)) {
        return conflict;
    }
    let value = match benefit_value(&body) {
        Ok(value) => value,
        Err(reason) => return broken_rule(reason),
    };
    let employment_id = world.state.employments[index].id;
    let action = Action::PutBenefit { id: current.id.clone(), before: current.value.clone(), after: value };
    match apply(&mut world, &employment_id, action) {
        Ok(_) => match find_benefit(&world, &id) {
            Some((_, record)) => {
                entity_response(StatusCode::OK, &headers, wire::VERSION_2018, benefit_view(&world.section, &record))
            }
            None => not_found(),
        },
        Err(reason) => broken_rule(format!("The benefit or deduction cannot be changed: {reason}.")),
    }
}

async fn delete_benefit(State(shared): Shared_, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut world = lock(&shared.world);
    let Some((index, current)) = find_benefit(&world, &id) else { return not_found() };
    if let Some(conflict) = if_match_conflict(&headers, &benefit_view(&world.section, &current)) {
        return conflict;
    }
    let employment_id = world.state.employments[index].id;
    match apply(&mut world, &employment_id, Action::DeleteBenefit { id: current.id.clone(), before: current.value }) {
        Ok(_) => deleted(),
        Err(reason) => broken_rule(format!("The benefit or deduction cannot be deleted: {reason}.")),
    }
}

/// Applies one PATCH body (the upsert) to one employment.
fn patch_one(world: &mut World, employment_id: &str, body: &wire::PayrollPeriodData) -> Result<(), Option<String>> {
    let Some(employment) = world.employment(employment_id) else { return Err(None) };
    let period = PeriodId::new(
        i16::try_from(body.payroll_period.year).unwrap_or(0),
        u8::try_from(body.payroll_period.period_number).unwrap_or(0),
    )
    .ok_or(Some(format!(
        "payrollPeriod {}-{} is not a period",
        body.payroll_period.year, body.payroll_period.period_number
    )))?;
    let key = PeriodDataKey {
        period,
        shift: u32::try_from(body.shift.shift_number)
            .map_err(|_| Some("shift.shiftNumber must be positive".to_string()))?,
        payslip_type: u32::try_from(body.payslip_type.key)
            .map_err(|_| Some("payslipType.key must be positive".to_string()))?,
        distribution_unit: Some(engine::ShortId::new(&body.distribution_unit.key).ok_or_else(|| {
            Some(format!("distributionUnit.key `{}` is not a distribution unit", body.distribution_unit.key))
        })?),
        cost_center: body.cost_center.as_ref().map(|key| key.key.to_string()),
        cost_unit: body.cost_unit.as_ref().map(|key| key.key.to_string()),
    };
    let existing = employment.period_data.iter().find(|record| record.key == key).map(|record| record.values.clone());
    let mut changes = Vec::new();
    for item in &body.payroll_components {
        let component = ComponentKey(
            u32::try_from(item.payroll_component.key)
                .map_err(|_| Some("payrollComponent.key must be positive".to_string()))?,
        );
        let before = existing.as_ref().and_then(|values| values.get(&component)).copied();
        let after = match (item.value, item.is_supplement) {
            (Some(value), true) => Some(before.unwrap_or_default() + value),
            (value, _) => value,
        };
        changes.push(ValueChange { component, before, after });
    }
    let employment_id = employment.id;
    apply(world, &employment_id, Action::PatchPeriodData { key, changes }).map(|_| ()).map_err(Some)
}

async fn patch_period_data(State(shared): Shared_, Path(employment_id): Path<String>, body: Bytes) -> Response {
    let body: wire::PayrollPeriodData = match parse_body(&body) {
        Ok(body) => body,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    match patch_one(&mut world, &employment_id, &body) {
        Ok(()) => {
            let envelope = json!({"version": Version::of(wire::VERSION_2018), "messages": []});
            json_response(StatusCode::OK, "application/json", &envelope)
        }
        Err(None) => not_found(),
        Err(Some(reason)) => broken_rule(format!("The payroll period data cannot be saved: {reason}.")),
    }
}

async fn patch_period_data_collective(
    State(shared): Shared_,
    Path(employer_id): Path<String>,
    body: Bytes,
) -> Response {
    let items: Vec<wire::PayrollPeriodData> = match parse_body(&body) {
        Ok(items) => items,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    if employer_id != world.section.employer_id() {
        return not_found();
    }
    let mut messages = Vec::new();
    let mut succeeded = 0;
    for item in &items {
        let Some(employment_id) = item.employment_id.clone() else {
            messages.push(Message::broken_rule("An item has no employmentId."));
            continue;
        };
        match patch_one(&mut world, &employment_id, item) {
            Ok(()) => succeeded += 1,
            Err(reason) => messages.push(Message {
                id: Some(employment_id),
                ..Message::broken_rule(reason.unwrap_or_else(|| "The employment does not exist.".to_string()))
            }),
        }
    }
    let envelope = json!({"version": Version::of(wire::VERSION_2018), "messages": messages});
    let status = if succeeded > 0 || items.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    json_response(status, "application/json", &envelope)
}

/// Applies each item on its own: 200 with the counts when at least one succeeded (a message per failed
/// item, its `id` the employment), 400 when none did.
fn collective_response(world: &mut World, results: Vec<(String, Result<(), String>)>) -> Response {
    let total = results.len() as i64;
    let mut messages = Vec::new();
    for (employment_id, result) in &results {
        if let Err(reason) = result {
            messages.push(Message { id: Some(employment_id.clone()), ..Message::broken_rule(reason.clone()) });
        }
    }
    let failed = messages.len() as i64;
    let content = wire::CollectiveResult {
        collective_action_id: world.new_id().0,
        item_count: wire::ItemCount {
            processed: total - failed,
            processed_with_error: failed,
            processed_with_warning: 0,
            total,
        },
        status: "Completed".to_string(),
        submitted_by_user_id: derived_id("loket-user", DEMO_CLIENT_ID),
        submitted_on: jiff::Timestamp::now().to_string(),
        kind: "Beloning".to_string(),
    };
    let envelope = Envelope { version: Some(Version::of(wire::VERSION_2018)), messages, content };
    let status = if failed < total || total == 0 { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    json_response(status, &format!("application/json;version={}", wire::VERSION_2018), &envelope)
}

async fn post_benefits_collective(State(shared): Shared_, Path(employer_id): Path<String>, body: Bytes) -> Response {
    let items: Vec<wire::CollectiveBenefit> = match parse_body(&body) {
        Ok(items) => items,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    if employer_id != world.section.employer_id() {
        return not_found();
    }
    let mut results = Vec::new();
    for item in items {
        let result = (|| {
            let component = u32::try_from(item.payroll_component.key)
                .map_err(|_| "payrollComponent.key must be positive".to_string())?;
            let amount = item.value.ok_or("value is required")?;
            let value = Money::exact(amount).ok_or(format!("value {amount} has more than two decimals"))?;
            let after = BenefitValue { component: ComponentKey(component), start: item.start_date, end: None, value };
            let employment_id =
                EmploymentId::new(&item.employment_id).ok_or("the employment does not exist".to_string())?;
            apply(&mut world, &employment_id, Action::PostBenefit { after }).map(|_| ())
        })();
        results.push((item.employment_id, result));
    }
    collective_response(&mut world, results)
}

async fn put_benefits_collective(State(shared): Shared_, Path(employer_id): Path<String>, body: Bytes) -> Response {
    let items: Vec<wire::CollectiveEnd> = match parse_body(&body) {
        Ok(items) => items,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    if employer_id != world.section.employer_id() {
        return not_found();
    }
    let mut results = Vec::new();
    for item in items {
        let result = match find_benefit(&world, &item.benefit_and_deduction_id) {
            Some((index, current)) if world.state.employments[index].id.as_str() == item.employment_id => {
                let employment_id = world.state.employments[index].id;
                let after = BenefitValue { end: Some(item.end_date), ..current.value.clone() };
                let action = Action::PutBenefit { id: current.id.clone(), before: current.value, after };
                apply(&mut world, &employment_id, action).map(|_| ())
            }
            _ => Err("the benefit or deduction does not exist for this employment".to_string()),
        };
        results.push((item.employment_id, result));
    }
    collective_response(&mut world, results)
}

async fn terminate(
    State(shared): Shared_,
    Path(employment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Terminate {
        end_date: Date,
    }
    let body: Terminate = match parse_body(&body) {
        Ok(body) => body,
        Err(reason) => return broken_rule(reason),
    };
    let mut world = lock(&shared.world);
    let Some(index) = world.state.employments.iter().position(|employment| employment.id.as_str() == employment_id)
    else {
        return not_found();
    };
    let employment = &mut world.state.employments[index];
    if body.end_date < employment.start {
        return broken_rule("The end date lies before the start of the employment.");
    }
    employment.end = Some(body.end_date);
    entity_response(StatusCode::OK, &headers, wire::VERSION_EMPLOYMENTS, json!({}))
}

// ---------------------------------------------------------------------------------------------------------
// OAuth

async fn authorize(State(shared): Shared_, Query(query): QueryMap) -> Response {
    let client_id = query.get("client_id").map(String::as_str).unwrap_or("");
    if client_id != DEMO_CLIENT_ID {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown client_id");
    }
    let Some(redirect) = query.get("redirect_uri") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is required");
    };
    if query.get("response_type").map(String::as_str) != Some("code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_response_type", "response_type must be code");
    }
    let code = {
        let mut auth = lock(&shared.auth);
        let code = auth.token("code");
        auth.codes.insert(code.clone());
        code
    };
    let Ok(mut location) = url::Url::parse(redirect) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is not a URL");
    };
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = query.get("state") {
        location.query_pairs_mut().append_pair("state", state);
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = wire::OAuthError { error: error.to_string(), error_description: Some(description.to_string()) };
    json_response(status, "application/json", &body)
}

async fn token(State(shared): Shared_, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("client_id") != DEMO_CLIENT_ID || field("client_secret") != DEMO_CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret");
    }
    let mut auth = lock(&shared.auth);
    match field("grant_type") {
        "authorization_code" => {
            if !auth.codes.remove(field("code")) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code is unknown or used");
            }
        }
        "refresh_token" => {
            // Rotation: the old refresh token stops working now.
            if !auth.refresh.remove(field("refresh_token")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is unknown, used or revoked",
                );
            }
        }
        "" => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use authorization_code or refresh_token",
            );
        }
    }
    let tokens = auth.issue();
    json_response(StatusCode::OK, "application/json", &tokens)
}

// ---------------------------------------------------------------------------------------------------------
// Admin

async fn get_state(State(shared): Shared_) -> Response {
    json_response(StatusCode::OK, "application/json", &lock(&shared.world).dump())
}

async fn put_state(State(shared): Shared_, body: Bytes) -> Response {
    let section: LoketSection = match serde_json::from_slice(&body) {
        Ok(section) => section,
        Err(error) => return admin_error(format!("the body is not a `loket` section: {error}")),
    };
    match World::new(section) {
        Ok(world) => {
            *lock(&shared.world) = world;
            faults::lock(&shared.faults).reset_counts();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => admin_error(error.to_string()),
    }
}

fn admin_error(message: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, "application/json", &json!({"error": message}))
}

async fn get_requests(State(shared): Shared_) -> Response {
    let state = faults::lock(&shared.faults);
    json_response(StatusCode::OK, "application/json", &json!({"requests": state.requests, "writes": state.writes}))
}

async fn put_faults(State(shared): Shared_, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(error) => return admin_error(format!("the body is not a fault setting: {error}")),
    };
    if let Err(reason) = faults.check() {
        return admin_error(reason);
    }
    faults::lock(&shared.faults).set(faults);
    StatusCode::NO_CONTENT.into_response()
}
