//! A local Loket on a loopback port, a client connected to it through the OAuth flow, a sleeper that
//! records instead of waiting, and a recorder of every exchange for the conformance checks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use emulator::{LoketEmulator, Running};
use loket::{LoketClient, LoketSettings, MemoryTokenStore, Sleeper, TokenStore};
use scenario::LoketSection;
use serde_json::Value;

/// Records the waits instead of waiting.
#[derive(Default)]
pub struct RecordingSleeper {
    pub waits: Mutex<Vec<Duration>>,
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.waits.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub request: Option<Value>,
    pub status: u16,
    pub content_type: String,
    pub response: Option<Value>,
}

pub struct Harness {
    pub emulator: LoketEmulator,
    pub running: Running,
    pub client: Arc<LoketClient>,
    pub sleeper: Arc<RecordingSleeper>,
    pub store: Arc<MemoryTokenStore>,
    pub exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl Harness {
    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn settings(&self) -> LoketSettings {
        settings(&self.url())
    }
}

pub fn settings(url: &str) -> LoketSettings {
    let mut settings = LoketSettings::new(
        format!("{url}/v2").parse().unwrap(),
        format!("{url}/oauth").parse().unwrap(),
        emulator::loket::DEMO_CLIENT_ID,
        emulator::loket::DEMO_CLIENT_SECRET.to_string().into(),
    );
    settings.backoff_base = Duration::from_millis(10);
    settings.timeout = Duration::from_secs(10);
    settings
}

/// The Loket section of a shared scenario file, with extra employments so lists span pages.
pub fn section() -> LoketSection {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/12-absent-one-time-is-deleted.json");
    let mut section = scenario::Scenario::load(std::path::Path::new(path)).unwrap().loket;
    let template = section.employments[0].clone();
    for number in 1..=4 {
        let mut extra = template.clone();
        extra.employee_number = 2000 + number;
        extra.name = format!("Extra Medewerker{number}");
        extra.payroll_period_data.clear();
        section.employments.push(extra);
    }
    section
}

async fn record(exchanges: Arc<Mutex<Vec<Exchange>>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let request_json = serde_json::from_slice(&bytes).ok();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let content_type =
        parts.headers.get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
    if let Some(api_path) = path.strip_prefix("/v2") {
        exchanges.lock().unwrap().push(Exchange {
            method,
            path: api_path.to_string(),
            request: request_json,
            status: parts.status.as_u16(),
            content_type,
            response: serde_json::from_slice(&bytes).ok(),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Logs in through `/oauth/authorize` and `/oauth/token` as a user would (without a browser).
pub async fn connect(client: &LoketClient) {
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = no_redirects.get(client.authorize_url("state-1")).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location: url::Url = answer.headers()["location"].to_str().unwrap().parse().unwrap();
    let code = location.query_pairs().find(|(name, _)| name == "code").unwrap().1.to_string();
    assert!(location.query_pairs().any(|(name, value)| name == "state" && value == "state-1"));
    client.exchange_code(&code).await.unwrap();
}

pub async fn harness_with(section: LoketSection, configure: impl FnOnce(&mut LoketSettings)) -> Harness {
    let emulator = LoketEmulator::new(section).unwrap();
    let exchanges = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&exchanges);
    let router = emulator
        .router()
        .layer(middleware::from_fn(move |request: Request, next: Next| record(Arc::clone(&recorder), request, next)));
    let running = emulator::start(router).await.unwrap();
    let mut client_settings = settings(&running.url());
    configure(&mut client_settings);
    let sleeper = Arc::new(RecordingSleeper::default());
    let store = Arc::new(MemoryTokenStore::default());
    let client = Arc::new(
        LoketClient::with_sleeper(
            client_settings,
            Arc::clone(&store) as Arc<dyn TokenStore>,
            Arc::clone(&sleeper) as Arc<dyn Sleeper>,
        )
        .unwrap(),
    );
    connect(&client).await;
    Harness { emulator, running, client, sleeper, store, exchanges }
}

pub async fn harness() -> Harness {
    harness_with(section(), |_| {}).await
}
