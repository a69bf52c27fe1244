//! A local Personio on a loopback port and a client for it whose waits are recorded, not waited.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use emulator::{PersonioEmulator, Running};
use personio::{PersonioClient, PersonioSettings, Sleeper};
use scenario::{PersonioSection, Scenario};

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

pub struct Harness {
    pub emulator: PersonioEmulator,
    pub running: Running,
    pub client: Arc<PersonioClient>,
    pub sleeper: Arc<RecordingSleeper>,
}

impl Harness {
    pub fn url(&self) -> String {
        self.running.url()
    }
}

pub fn settings(url: &str) -> PersonioSettings {
    let mut settings = PersonioSettings::new(
        url.parse().unwrap(),
        emulator::personio::DEMO_CLIENT_ID,
        emulator::personio::DEMO_CLIENT_SECRET.to_string().into(),
    );
    settings.backoff_base = Duration::from_secs(1);
    settings.timeout = Duration::from_secs(10);
    settings
}

pub fn scenario_file(name: &str) -> Scenario {
    let path = format!("{}/../../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(std::path::Path::new(&path)).unwrap()
}

pub async fn harness_with(section: PersonioSection, configure: impl FnOnce(&mut PersonioSettings)) -> Harness {
    let emulator = PersonioEmulator::new(section).unwrap();
    let running = emulator::start(emulator.router()).await.unwrap();
    let mut client_settings = settings(&running.url());
    configure(&mut client_settings);
    let sleeper = Arc::new(RecordingSleeper::default());
    let client =
        Arc::new(PersonioClient::with_sleeper(client_settings, Arc::clone(&sleeper) as Arc<dyn Sleeper>).unwrap());
    Harness { emulator, running, client, sleeper }
}

pub async fn harness(section: PersonioSection) -> Harness {
    harness_with(section, |_| {}).await
}

/// A token of the demo credential, asked for by hand (as a person with curl would).
pub async fn demo_token(http: &reqwest::Client, url: &str) -> personio::wire::TokenResponse {
    http.post(format!("{url}/v2/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "loket-sync-demo"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The token endpoint of a hand-written fixture server.
pub fn fixture_token() -> axum::routing::MethodRouter {
    axum::routing::post(|| async {
        axum::Json(serde_json::json!({"access_token": "papi-fixture", "token_type": "Bearer", "expires_in": 86400}))
    })
}
