//! `loket-sync scenario run`: each file end to end, exactly as SCENARIOS.md says: both emulators on
//! loopback ports chosen by the OS, seeded from the file, two real syncs through the HTTP clients, the Loket
//! state read back over HTTP (`GET /_emulator/state`), writes counted by the emulator.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use emulator::{LoketEmulator, PersonioEmulator, Running};
use scenario::{Outcome, Scenario};
use serde_json::{Value, json};

use anyhow::Context as _;

use crate::connections::{self, ConnectError, Endpoints};
use crate::runner::{self, Connections, PlanError, Quiet};

/// Both emulators of one file, running, with connections to them.
pub struct Local {
    pub loket: LoketEmulator,
    pub personio: PersonioEmulator,
    pub loket_running: Running,
    pub personio_running: Running,
    pub connections: Connections,
}

/// Starts both emulators from sections and connects clients to them (the demo credentials).
pub async fn start_local(
    personio: scenario::PersonioSection,
    loket: scenario::LoketSection,
    latency: Option<Duration>,
) -> anyhow::Result<Local> {
    let loket_emulator = LoketEmulator::new(loket).context("the Loket section cannot be served")?;
    let personio_emulator = PersonioEmulator::new(personio).context("the Personio section cannot be served")?;
    if let Some(latency) = latency {
        let faults = emulator::Faults { latency_ms: latency.as_millis() as u64, ..Default::default() };
        loket_emulator.set_faults(faults.clone())?;
        personio_emulator.set_faults(faults)?;
    }
    let loket_running = emulator::start(loket_emulator.router()).await.context("the local Loket cannot listen")?;
    let personio_running =
        emulator::start(personio_emulator.router()).await.context("the local Personio cannot listen")?;
    let connections = connect_local(&loket_emulator, &loket_running.url(), &personio_running.url(), 8)?;
    Ok(Local { loket: loket_emulator, personio: personio_emulator, loket_running, personio_running, connections })
}

/// Clients for local emulators; the Loket tokens are issued directly (no browser in a scenario run).
pub fn connect_local(
    loket: &LoketEmulator,
    loket_url: &str,
    personio_url: &str,
    concurrency: usize,
) -> Result<Connections, ConnectError> {
    let tokens = loket.issue_tokens();
    let store = Arc::new(loket::MemoryTokenStore::new(Some(loket::Tokens {
        access_token: tokens.access_token.into(),
        refresh_token: tokens.refresh_token.unwrap_or_default().into(),
        expires_at: loket::auth::now_seconds() + tokens.expires_in,
    })));
    connections::connect(Endpoints {
        personio_url: connections::parse_url(personio_url)?,
        personio_client_id: emulator::personio::DEMO_CLIENT_ID.to_string(),
        personio_secret: emulator::personio::DEMO_CLIENT_SECRET.to_string().into(),
        personio_app_id: None,
        personio_concurrency: concurrency,
        personio_shared_permits: None,
        loket_url: connections::parse_url(&format!("{loket_url}/v2"))?,
        loket_oauth_url: connections::parse_url(&format!("{loket_url}/oauth"))?,
        loket_client_id: emulator::loket::DEMO_CLIENT_ID.to_string(),
        loket_secret: emulator::loket::DEMO_CLIENT_SECRET.to_string().into(),
        loket_requests_per_second: None,
        loket_concurrency: concurrency,
        loket_redirect_uri: None,
        loket_backoff: Some(Duration::from_millis(50)),
        token_store: store,
        employer_id: loket.employer_id(),
        administration_id: loket.administration_id(),
    })
}

/// The result of one file.
pub struct FileResult {
    pub scenario: Scenario,
    pub outcome: Outcome,
    pub runs: Vec<(usize, Vec<engine::Issue>)>,
    pub failures: Vec<String>,
}

impl FileResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The one-line JSON object of `--json`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.scenario.name,
            "passed": self.passed(),
            "failures": self.failures,
            "config_errors": self.outcome.config_errors.iter().map(|(field, message)| json!({"field": field, "message": message})).collect::<Vec<_>>(),
            "runs": self.runs.iter().map(|(writes, issues)| json!({"writes": writes, "issues": issues})).collect::<Vec<_>>(),
            "loket": {"employments": self.outcome.loket},
        })
    }
}

/// Runs one sync against the local emulators; returns the writes the emulator received and the issues.
async fn one_sync(local: &Local, scenario: &Scenario) -> Result<(usize, Vec<engine::Issue>), PlanError> {
    let config = scenario.engine_config();
    let before = local.loket.writes();
    let planned = runner::plan(&local.connections, &config, scenario.today, false).await?;
    let applied = runner::apply(&local.connections, &planned, &config, scenario.today, Arc::new(Quiet)).await;
    let mut issues = planned.plan.issues.clone();
    issues.extend(applied.issues);
    Ok((local.loket.writes() - before, issues))
}

pub async fn run_file(path: &Path) -> anyhow::Result<FileResult> {
    let scenario = Scenario::load(path)?;
    let local = start_local(scenario.personio.clone(), scenario.loket.clone(), None).await?;
    let mut outcome = Outcome::default();
    let mut runs = Vec::new();
    match one_sync(&local, &scenario).await {
        Err(PlanError::Config(errors)) => {
            outcome.config_errors = errors.into_iter().map(|error| (error.field, error.message)).collect();
        }
        Err(error) => return Err(error.into()),
        Ok((writes, issues)) => {
            outcome.first_run_writes = writes;
            outcome.first_run_issues = issues.clone();
            runs.push((writes, issues));
            let (writes, issues) =
                one_sync(&local, &scenario).await.context("the second run refused the configuration")?;
            outcome.second_run_writes = writes;
            runs.push((writes, issues));
        }
    }
    // Read Loket back over HTTP, as the format says.
    let state_url = format!("{}/_emulator/state", local.loket_running.url());
    loket::client::install_crypto_provider();
    let section: scenario::LoketSection = reqwest::get(&state_url)
        .await
        .with_context(|| format!("cannot read {state_url}"))?
        .json()
        .await
        .with_context(|| format!("cannot read {state_url}"))?;
    outcome.loket = section.employments;
    let failures = scenario::check(&scenario, &outcome);
    Ok(FileResult { scenario, outcome, runs, failures })
}
