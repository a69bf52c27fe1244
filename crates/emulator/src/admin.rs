//! The admin endpoints both emulators serve on their own port, written once over the `AdministeredState`
//! trait: `GET`/`PUT /_emulator/state` (the state in the scenario format), `GET /_emulator/requests` (the
//! counts by route template) and `PUT /_emulator/faults` (the fault knobs).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::common::{json_response, lock};
use crate::faults::{Faults, SharedFaults};
use crate::log::{LoggedRequest, RequestLog};

/// What every emulator keeps beside its own state: the fault knobs with the request counts, and the log of
/// the requests as the clients sent them.
#[derive(Default)]
pub(crate) struct Instruments {
    pub(crate) faults: SharedFaults,
    pub(crate) log: RequestLog,
}

impl Instruments {
    /// Sets the fault knobs when every one is in range; the counts stay.
    pub(crate) fn set_faults(&self, faults: Faults) -> Result<(), crate::faults::FaultsError> {
        faults.check()?;
        lock(&self.faults).set(faults);
        Ok(())
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<String, usize> {
        lock(&self.faults).requests.clone()
    }

    /// The writes (POST, PUT, PATCH, DELETE under `/v2/`) received since the last load, refused ones included.
    pub(crate) fn writes(&self) -> usize {
        lock(&self.faults).writes
    }

    pub(crate) fn request_log(&self) -> Vec<LoggedRequest> {
        self.log.entries()
    }
}

/// The shared state of one emulator, as the admin endpoints see it: a section of the scenario format to
/// dump and to load, and the instruments.
pub(crate) trait AdministeredState: Send + Sync + 'static {
    /// The section of the scenario format the emulator is seeded from.
    type Section: Serialize + DeserializeOwned;
    /// The section's name in the scenario format, for the refusal of a body that is not one.
    const SECTION_NAME: &'static str;

    fn instruments(&self) -> &Instruments;

    /// The state in the scenario format.
    fn dump_section(&self) -> Self::Section;

    /// Replaces the whole state, or refuses the section and keeps the old state.
    fn replace_section(&self, section: Self::Section) -> Result<(), scenario::ScenarioError>;

    /// Replaces the whole state and resets the request counts, so that a test counts only what follows the
    /// load; tokens stay valid, because a client that is running does not expect to log in again.
    fn load_section(&self, section: Self::Section) -> Result<(), scenario::ScenarioError> {
        self.replace_section(section)?;
        lock(&self.instruments().faults).reset_counts();
        Ok(())
    }
}

/// The admin endpoints of one emulator, to be merged into its router.
pub(crate) fn admin_router<S: AdministeredState>(state: Arc<S>) -> Router {
    Router::new()
        .route("/_emulator/state", get(get_state::<S>).put(put_state::<S>))
        .route("/_emulator/requests", get(get_requests::<S>))
        .route("/_emulator/faults", put(put_faults::<S>))
        .with_state(state)
}

async fn get_state<S: AdministeredState>(State(state): State<Arc<S>>) -> Response {
    json_response(StatusCode::OK, "application/json", &state.dump_section())
}

async fn put_state<S: AdministeredState>(State(state): State<Arc<S>>, body: Bytes) -> Response {
    let section: S::Section = match serde_json::from_slice(&body) {
        Ok(section) => section,
        Err(error) => return admin_error(format!("the body is not a `{}` section: {error}", S::SECTION_NAME)),
    };
    match state.load_section(section) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => admin_error(error.to_string()),
    }
}

async fn get_requests<S: AdministeredState>(State(state): State<Arc<S>>) -> Response {
    let faults = lock(&state.instruments().faults);
    json_response(StatusCode::OK, "application/json", &json!({"requests": faults.requests, "writes": faults.writes}))
}

async fn put_faults<S: AdministeredState>(State(state): State<Arc<S>>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(error) => return admin_error(format!("the body is not a fault setting: {error}")),
    };
    match state.instruments().set_faults(faults) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => admin_error(error.to_string()),
    }
}

/// A refused admin request: 400 with `{"error": …}`, the reason in words.
fn admin_error(message: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, "application/json", &json!({"error": message}))
}

/// The inherent methods both emulator handles (`LoketEmulator`, `PersonioEmulator`) share, written once for
/// a handle whose `shared` field is an `Arc` of an `AdministeredState`. A macro rather than a trait, because
/// they are inherent methods: the tests and the demo call them without importing anything.
macro_rules! administered_emulator_methods {
    ($section:ty) => {
        /// The state in the scenario format.
        pub fn dump(&self) -> $section {
            $crate::admin::AdministeredState::dump_section(&*self.shared)
        }

        /// Replaces the whole state and resets the request counts; tokens stay valid.
        pub fn load(&self, section: $section) -> Result<(), scenario::ScenarioError> {
            $crate::admin::AdministeredState::load_section(&*self.shared, section)
        }

        /// Sets the fault knobs, or says which one is out of range.
        pub fn set_faults(&self, faults: $crate::Faults) -> Result<(), $crate::FaultsError> {
            self.shared.instruments.set_faults(faults)
        }

        /// The API requests counted since the last load, by route template.
        pub fn request_counts(&self) -> std::collections::BTreeMap<String, usize> {
            self.shared.instruments.request_counts()
        }

        /// Every API request served so far, as the client sent it (see `log`).
        pub fn request_log(&self) -> Vec<$crate::LoggedRequest> {
            self.shared.instruments.request_log()
        }
    };
}

pub(crate) use administered_emulator_methods;
