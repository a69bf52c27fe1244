//! How a connection runs: its mode (review, auto), its schedule (cron in Europe/Amsterdam, or manual only)
//! and the approvals its plans need (1, or 2 for four eyes). Changed by the API and by the dashboard's
//! mapping page alike, checked here once, and journaled with before and after.

use super::Service;
use super::records::{AuditEntry, ConnectionRow};

/// A change of policy; `None` keeps what is there. `schedule: Some(None)` is manual only.
#[derive(Clone, Debug, Default)]
pub struct PolicyChange {
    pub mode: Option<String>,
    pub approvals_required: Option<i64>,
    pub schedule: Option<Option<String>>,
}

/// Why a policy cannot be: the field, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("there is no connection {0}")]
    NotFound(i64),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid { field, message: message.into() }
}

fn describe(row: &ConnectionRow) -> String {
    format!(
        "mode {}, approvals {}, schedule {}",
        row.mode,
        row.approvals_required,
        row.schedule.as_deref().unwrap_or("manual")
    )
}

impl Service {
    /// Checks and saves a policy change; the connection as it is now.
    pub async fn change_policy(&self, who: &str, id: i64, change: PolicyChange) -> Result<ConnectionRow, PolicyError> {
        let records = &self.records;
        let before = records.connection(id).await?.ok_or(PolicyError::NotFound(id))?;
        let after = self.check_policy(&before, change)?;
        if describe(&before) == describe(&after) {
            return Ok(before);
        }
        records.update_connection_policy(&after, after.last_scheduled_at != before.last_scheduled_at).await?;
        records
            .audit(AuditEntry {
                who,
                action: "connection policy changed",
                subject: format!("connection {}", before.name),
                before: Some(describe(&before)),
                after: Some(describe(&after)),
            })
            .await?;
        Ok(records.connection(id).await?.unwrap_or(after))
    }

    /// The connection as `change` would make it, or why it cannot be; nothing is saved.
    pub fn check_policy(&self, before: &ConnectionRow, change: PolicyChange) -> Result<ConnectionRow, PolicyError> {
        let mut after = before.clone();
        if let Some(mode) = change.mode {
            if !matches!(mode.as_str(), "review" | "auto") {
                return Err(invalid("mode", format!("mode `{mode}` is not one; use review or auto")));
            }
            after.mode = mode;
        }
        if let Some(required) = change.approvals_required {
            if !(1..=2).contains(&required) {
                return Err(invalid("approvals_required", "approvals_required is 1, or 2 for four eyes"));
            }
            after.approvals_required = required;
        }
        match change.schedule {
            None => {}
            Some(None) => after.schedule = None,
            Some(Some(text)) => {
                let cron =
                    super::schedule::Cron::parse(&text).map_err(|error| invalid("schedule", error.to_string()))?;
                if after.schedule.as_deref() != Some(cron.as_str()) {
                    // A new schedule starts now: it does not make up for the slots before it was set.
                    after.last_scheduled_at = Some(self.clock.now().to_string());
                }
                after.schedule = Some(cron.as_str().to_string());
            }
        }
        if after.mode == "auto" && after.approvals_required >= 2 {
            return Err(invalid(
                "mode",
                "auto mode applies without a human, four eyes need two: choose mode review, or approvals_required 1",
            ));
        }
        Ok(after)
    }
}
