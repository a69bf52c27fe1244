//! Saved plans (`plan --out`, `sync --plan`): the plan with a format version and a fingerprint of everything
//! it was made from; a saved plan is applied only if a fresh read has the same fingerprint, as Terraform
//! refuses a stale plan.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::runner::Planned;

pub const FORMAT_VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the saved plan {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a saved plan; make one with `loket-sync plan --out`")]
    NotAPlan {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is not a saved plan of this version (format_version {found})")]
    Version { path: PathBuf, found: serde_json::Value },
    #[error(
        "the saved plan {path} is stale: Personio or Loket changed since it was made. Run `loket-sync plan --out` again and review the new plan"
    )]
    Stale { path: PathBuf },
}

/// A stable fingerprint of everything a plan was made from. The order in which an API lists records is
/// not data: both states are put in a canonical order first, so that two reads of unchanged systems give
/// the same fingerprint. (SHA-256, shown as the first 128 bits in the shape of a UUID.)
pub fn fingerprint(planned: &Planned, config: &engine::Config, today: Date) -> String {
    let mut personio = planned.personio.clone();
    personio.persons.sort_by_key(|person| person.id);
    for person in &mut personio.persons {
        person.salaries.sort_by(|a, b| (a.effective_from, &a.amount).cmp(&(b.effective_from, &b.amount)));
        person
            .recurring
            .sort_by(|a, b| (&a.type_id, a.effective_from, &a.amount).cmp(&(&b.type_id, b.effective_from, &b.amount)));
        person.one_time.sort_by(|a, b| (a.date, &a.type_id, &a.amount).cmp(&(b.date, &b.type_id, &b.amount)));
        person.employments.sort_by(|a, b| (&a.legal_entity, a.start).cmp(&(&b.legal_entity, b.start)));
        person.attributes.sort_by(|a, b| a.id.cmp(&b.id));
    }
    personio.compensation_types.sort_by(|a, b| a.id.cmp(&b.id));
    let mut loket = planned.loket.state.clone();
    loket.employments.sort_by_key(|a| a.id);
    for employment in &mut loket.employments {
        employment.wages.sort_by(|a, b| a.id.cmp(&b.id));
        employment.benefits_and_deductions.sort_by(|a, b| a.id.cmp(&b.id));
        employment.period_data.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let text = serde_json::to_string(&(&personio, &loket, config, today)).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hex: String = digest.as_ref()[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The saved form of a plan.
pub fn to_json(planned: &Planned, config: &engine::Config, today: Date) -> serde_json::Value {
    serde_json::json!({
        "format_version": FORMAT_VERSION,
        "fingerprint": fingerprint(planned, config, today),
        "plan": planned.plan,
    })
}

/// Whether the plan saved at `path` may be applied: neither system changed since it was made.
pub fn check(path: &Path, planned: &Planned, config: &engine::Config, today: Date) -> Result<(), SavedPlanError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read { path: path.to_path_buf(), source })?;
    let saved: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| SavedPlanError::NotAPlan { path: path.to_path_buf(), source })?;
    if saved["format_version"] != FORMAT_VERSION {
        return Err(SavedPlanError::Version { path: path.to_path_buf(), found: saved["format_version"].clone() });
    }
    if saved["fingerprint"].as_str() != Some(fingerprint(planned, config, today).as_str()) {
        return Err(SavedPlanError::Stale { path: path.to_path_buf() });
    }
    Ok(())
}
