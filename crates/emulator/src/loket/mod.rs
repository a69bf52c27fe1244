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

mod oauth;
mod reads;
mod records;
mod responses;
mod views;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use engine::RecordId;
use engine::state::{Employment, LoketState};
use loket::wire;
use scenario::{LoketSection, ScenarioError, derived_id, employments_section};

use crate::admin::{AdministeredState, Instruments, admin_router, administered_emulator_methods};
use crate::common::{Refusal, admit_after_latency, bearer_token, json_response, lock, route_key};
use crate::faults::Verdict;
use oauth::Auth;
use reads::{Administrations, EmploymentsOfEmployer};
use records::{BenefitsAndDeductions, PeriodDataRecords, Wages};
use responses::not_found;

pub use crate::common::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// Loket's data: the section as seeded (for what the engine's state does not hold) and the state the
/// writes change.
struct World {
    section: LoketSection,
    state: LoketState,
    next_id: u64,
    /// The PATCH defaults of each employment as the file gives them (with their nulls), by employment id.
    defaults: HashMap<String, scenario::PeriodDataDefaultsSection>,
    /// The section's employer and administration ids, derived once (every request looks a world up by one).
    employer_id: String,
    administration_id: String,
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
        let (employer_id, administration_id) = (section.employer_id(), section.administration_id());
        Ok(World { section, state, next_id: 0, defaults, employer_id, administration_id })
    }

    /// Whether this world holds the employment or record (wage, benefit or deduction) with this id.
    fn holds(&self, id: &str) -> bool {
        self.state.employments.iter().any(|employment| {
            employment.id.as_str() == id
                || employment.wages.iter().any(|wage| wage.id.0 == id)
                || employment.benefits_and_deductions.iter().any(|record| record.id.0 == id)
        })
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

/// One world locked: the employer that holds what a request names, behind the lock of all of them.
struct WorldGuard<'a> {
    worlds: MutexGuard<'a, Vec<World>>,
    index: usize,
}

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.worlds[self.index]
    }
}

impl std::ops::DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.worlds[self.index]
    }
}

/// Several employers under one provider login (a payroll bureau's): each its own world; the first is the
/// one `load` and `dump` see, `add_employer` adds the others.
struct Shared {
    worlds: Mutex<Vec<World>>,
    /// Which world held an id when it was last looked up: a bureau's local Loket serves hundreds of
    /// employers, and a scan of all their records for every request grew with their number. A hint only:
    /// it is checked against the world before it is used. Locked after `worlds`, never before.
    holders: Mutex<HashMap<String, usize>>,
    auth: Mutex<Auth>,
    instruments: Instruments,
}

type SharedState = State<Arc<Shared>>;

impl Shared {
    fn world_where(&self, test: impl Fn(&World) -> bool) -> Option<WorldGuard<'_>> {
        let worlds = lock(&self.worlds);
        let index = worlds.iter().position(test)?;
        Some(WorldGuard { worlds, index })
    }

    /// The world of the employer `employer_id` names, locked; a 404 otherwise.
    fn world_of_employer(&self, employer_id: &str) -> Result<WorldGuard<'_>, Refusal> {
        self.world_where(|world| world.employer_id == employer_id).ok_or_else(|| not_found().into())
    }

    /// The world of the payroll administration `administration_id` names, locked; a 404 otherwise.
    fn world_of_administration(&self, administration_id: &str) -> Result<WorldGuard<'_>, Refusal> {
        self.world_where(|world| world.administration_id == administration_id).ok_or_else(|| not_found().into())
    }

    /// The world that holds the employment or record (wage, benefit or deduction) with this id, locked;
    /// the first world when none does (the handler then answers 404 as it finds nothing there).
    fn world_holding(&self, id: &str) -> WorldGuard<'_> {
        let worlds = lock(&self.worlds);
        let mut holders = lock(&self.holders);
        let hinted = holders.get(id).copied().filter(|&index| worlds.get(index).is_some_and(|world| world.holds(id)));
        let index = match hinted.or_else(|| worlds.iter().position(|world| world.holds(id))) {
            Some(index) => {
                holders.insert(id.to_string(), index);
                index
            }
            None => 0,
        };
        drop(holders);
        WorldGuard { worlds, index }
    }

    fn primary(&self) -> WorldGuard<'_> {
        WorldGuard { worlds: lock(&self.worlds), index: 0 }
    }
}

impl AdministeredState for Shared {
    type Section = LoketSection;
    const SECTION_NAME: &'static str = "loket";

    fn instruments(&self) -> &Instruments {
        &self.instruments
    }

    fn dump_section(&self) -> LoketSection {
        self.primary().dump()
    }

    /// Replaces the first employer's state; the others stay.
    fn replace_section(&self, section: LoketSection) -> Result<(), ScenarioError> {
        *self.primary() = World::new(section)?;
        Ok(())
    }
}

/// The local Loket. Cheap to clone; every clone serves the same state.
#[derive(Clone)]
pub struct LoketEmulator {
    shared: Arc<Shared>,
}

impl LoketEmulator {
    pub fn new(section: LoketSection) -> Result<LoketEmulator, ScenarioError> {
        Ok(LoketEmulator {
            shared: Arc::new(Shared {
                worlds: Mutex::new(vec![World::new(section)?]),
                holders: Mutex::new(HashMap::new()),
                auth: Mutex::new(Auth::default()),
                instruments: Instruments::default(),
            }),
        })
    }

    pub fn employer_id(&self) -> String {
        self.shared.primary().section.employer_id()
    }

    pub fn administration_id(&self) -> String {
        self.shared.primary().section.administration_id()
    }

    administered_emulator_methods!(LoketSection);

    /// Adds an employer under the same provider login (a payroll bureau's next client); its employer and
    /// administration ids must differ from those already here.
    pub fn add_employer(&self, section: LoketSection) -> Result<(), ScenarioError> {
        let world = World::new(section)?;
        let mut worlds = lock(&self.shared.worlds);
        let (employer, administration) = (world.section.employer_id(), world.section.administration_id());
        if worlds.iter().any(|other| other.employer_id == employer || other.administration_id == administration) {
            return Err(ScenarioError::Invalid {
                field: "loket.employer".to_string(),
                message: format!("an employer with id {employer} or administration {administration} is already served"),
            });
        }
        worlds.push(world);
        Ok(())
    }

    /// The employer and administration ids of every employer served.
    pub fn employers(&self) -> Vec<(String, String)> {
        lock(&self.shared.worlds)
            .iter()
            .map(|world| (world.employer_id.clone(), world.administration_id.clone()))
            .collect()
    }

    /// The writes (POST, PUT, PATCH, DELETE under `/v2/`) received since the last load, refused ones included.
    pub fn writes(&self) -> usize {
        self.shared.instruments.writes()
    }

    /// Issues tokens as the authorization-code flow would, for tests and the demo.
    pub fn issue_tokens(&self) -> wire::TokenResponse {
        lock(&self.shared.auth).issue()
    }

    /// Ends every access token issued so far, as an hour passing would: the next request with one is
    /// answered 401, and its holder must refresh (refresh tokens stay as they are, each usable once).
    pub fn expire_access_tokens(&self) {
        lock(&self.shared.auth).access.clear();
    }

    pub fn router(&self) -> Router {
        let shared = Arc::clone(&self.shared);
        let api = Router::new()
            .route("/providers/employers", get(reads::employers))
            .route("/providers/employers/{employer_id}", get(reads::employer))
            .route("/providers/employers/{employer_id}/payrolladministrations", get(reads::list_of_employer::<Administrations>))
            .route("/providers/employers/{employer_id}/employees/employments", get(reads::list_of_employer::<EmploymentsOfEmployer>))
            .route(
                "/providers/employers/{employer_id}/payrollperioddata",
                patch(writes::patch_period_data_collective),
            )
            .route(
                "/providers/employers/{employer_id}/employees/employments/benefitsanddeductions",
                post(writes::benefits_collective::<wire::CollectiveBenefit>)
                    .put(writes::benefits_collective::<wire::CollectiveEnd>),
            )
            .route("/providers/employers/employees/employments/{employment_id}", get(reads::employment))
            .route("/providers/employers/employees/employments/{employment_id}/terminate", patch(writes::terminate))
            .route(
                "/providers/employers/employees/employments/{employment_id}/wages",
                get(reads::records_of_employment::<Wages>).post(writes::post_record::<Wages>),
            )
            .route(
                "/providers/employers/employees/employments/wages/{wage_id}",
                get(reads::record::<Wages>).put(writes::put_record::<Wages>).delete(writes::delete_record::<Wages>),
            )
            .route(
                "/providers/employers/employees/employments/{employment_id}/benefitsanddeductions",
                get(reads::records_of_employment::<BenefitsAndDeductions>)
                    .post(writes::post_record::<BenefitsAndDeductions>),
            )
            .route(
                "/providers/employers/employees/employments/benefitsAndDeductions/{id}",
                get(reads::record::<BenefitsAndDeductions>)
                    .put(writes::put_record::<BenefitsAndDeductions>)
                    .delete(writes::delete_record::<BenefitsAndDeductions>),
            )
            .route(
                "/providers/employers/employees/employments/{employment_id}/payrollperioddata",
                get(reads::records_of_employment::<PeriodDataRecords>).patch(writes::patch_period_data),
            )
            .route(
                "/providers/employers/employees/employments/{employment_id}/payrollperioddata/defaults",
                get(reads::period_data_defaults),
            )
            .route(
                "/providers/employers/payrolladministrations/{administration_id}/payrollPeriods/{period_id}/payrollperioddata",
                get(reads::period_data_of_period),
            )
            .route(
                "/providers/employers/payrolladministrations/{administration_id}/payrollcomponents/year/{year}",
                get(reads::components),
            )
            .route(
                "/providers/employers/payrolladministrations/{administration_id}/payrollperiods",
                get(reads::periods),
            )
            .route_layer(middleware::from_fn_with_state(Arc::clone(&shared), api_layer))
            .fallback(|| async { StatusCode::NOT_FOUND });
        let router = Router::new()
            .nest("/v2", api)
            .route("/oauth/authorize", get(oauth::authorize))
            .route("/oauth/token", post(oauth::token))
            .with_state(Arc::clone(&shared))
            .merge(admin_router(shared));
        self.shared.instruments.log.layer(router)
    }
}

/// The middleware of every API request: the fault knobs, the counts, the bearer token, and writes that are
/// lost or whose answer is lost.
async fn api_layer(State(shared): SharedState, matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route = route_key(matched.as_ref(), &request);
    let is_write = request.method() != Method::GET && request.method() != Method::HEAD;
    let admission = admit_after_latency(&shared.instruments.faults, &route, is_write).await;
    match admission.verdict {
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
        Verdict::Corrupt => {
            let mut response = (StatusCode::OK, crate::faults::CORRUPT_BODY).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return response;
        }
        Verdict::Pass | Verdict::FailAfterCommit => {}
    }
    let valid = bearer_token(request.headers())
        .is_some_and(|token| lock(&shared.auth).access.get(&token).is_some_and(|expires| *expires > Instant::now()));
    if !valid {
        return json_response(
            StatusCode::UNAUTHORIZED,
            "application/json",
            &wire::ErrorMessage { message: "Authorization has been denied for this request.".to_string() },
        );
    }
    let lose = is_write && lock(&shared.instruments.faults).faults.lose_writes;
    let saved: Option<Vec<LoketState>> =
        lose.then(|| lock(&shared.worlds).iter().map(|world| world.state.clone()).collect());
    let response = next.run(request).await;
    if let Some(saved) = saved {
        for (world, state) in lock(&shared.worlds).iter_mut().zip(saved) {
            world.state = state;
        }
    }
    if admission.verdict == Verdict::FailAfterCommit {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    response
}
