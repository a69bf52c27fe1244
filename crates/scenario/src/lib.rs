//! The scenario file format of loket-sync (SCENARIOS.md), in one place: the serde types, their conversion
//! to and from the engine's domain states, the comparison of an outcome with `expect`, and an in-process
//! run (file → states → `plan` → `apply` → second `plan`) that needs no server.
//!
//! The `personio` and `loket` sections double as the seed and dump format of the emulators, so the
//! engine's tests, the emulators and the runner all read files through these types.

pub mod compare;
pub mod domain;
pub mod format;

use std::path::Path;

pub use compare::{Outcome, check, compare_issues, compare_loket};
pub use domain::{ScenarioError, derived_id, derived_number, employments_section, other_distribution_unit};
pub use format::*;

impl Scenario {
    /// Parses a scenario file's text; the error names the line and column of what is wrong.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        serde_json::from_str(text).map_err(|error| ScenarioError::Parse(error.to_string()))
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ScenarioError::Read(format!("{} cannot be read: {error}", path.display())))?;
        Scenario::from_json(&text).map_err(|error| match error {
            ScenarioError::Parse(reason) => {
                ScenarioError::Parse(format!("{} ({reason}); see the format in docs/SCENARIOS.md", path.display()))
            }
            other => other,
        })
    }

    /// The engine configuration of this file, for its only legal entity.
    pub fn engine_config(&self) -> engine::Config {
        self.config.to_config(&self.personio)
    }
}

/// Runs a scenario in-process: two syncs through `plan` and the Loket model, as the emulator-backed run
/// does over HTTP. An error means the model refused a write the engine planned, which is a bug.
pub fn run_in_process(scenario: &Scenario) -> Result<Outcome, ScenarioError> {
    let personio = scenario.personio.to_state()?;
    let mut loket = scenario.loket.to_state()?;
    let config = scenario.engine_config();
    let mut outcome = Outcome::default();
    let first = engine::plan(&personio, &loket, &config, scenario.today, false);
    if !first.config_errors.is_empty() {
        outcome.config_errors =
            first.config_errors.iter().map(|error| (error.field.clone(), error.message.clone())).collect();
        outcome.loket = employments_section(&loket);
        return Ok(outcome);
    }
    outcome.first_run_writes = first.n_writes();
    outcome.first_run_issues = first.issues.clone();
    loket = engine::apply(&loket, &first)
        .map_err(|rejection| ScenarioError::Invalid { field: "plan".to_string(), message: rejection.to_string() })?;
    let second = engine::plan(&personio, &loket, &config, scenario.today, false);
    outcome.second_run_writes = second.n_writes();
    loket = engine::apply(&loket, &second)
        .map_err(|rejection| ScenarioError::Invalid { field: "plan".to_string(), message: rejection.to_string() })?;
    outcome.loket = employments_section(&loket);
    Ok(outcome)
}
