//! The schedules at work. `tick(now)` makes a plan for every connection whose schedule had a slot since
//! its last scheduled plan (slots missed while the service was down make one plan, not one each). Then by
//! the connection's mode: `review` keeps the plan pending for approval; `auto` applies it when it has no
//! error, no guard refusal and no destructive change (a delete, an end, a lower wage), else keeps it
//! pending too. The serve loop calls `tick` with the clock; tests call it with the time they choose.
//!
//! A slot is leased, not spent: the worker that claims it holds it until `retry_at` (`LEASE`), and extends
//! that while its run goes on (the heartbeat). A worker killed mid-run stops extending it, and once the
//! lease expired another worker takes the slot again. A run that fails is tried again after 5, 10, 20 and
//! 40 minutes, then not before the next slot; one that needs a Loket login waits for the login.

use engine::{Action, Plan, Severity};
use serde::Serialize;

use super::Service;
use super::plans::{Decision, PlanningError};
use super::records::ConnectionRow;
use super::schedule::Cron;
use crate::store::Store as _;

/// How long a claimed slot is the claiming worker's without a heartbeat.
const LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);
/// How often a worker extends the lease of a run it is doing.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);
/// Tries of a failed slot after the first (5, 10, 20, 40 minutes after each failure).
const RETRIES: i64 = 4;
const FIRST_RETRY: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// What a tick did for one connection.
#[derive(Debug, Serialize)]
pub struct Scheduled {
    pub connection_id: i64,
    pub plan_id: Option<i64>,
    /// `pending`, `in_sync`, `applied`, `stale`, or why no plan was made.
    pub outcome: String,
}

/// Why an `auto` plan is kept for a human instead, if it is.
pub fn needs_a_human(plan: &Plan) -> Option<String> {
    if !plan.config_errors.is_empty() || plan.issues.iter().any(|issue| issue.severity == Severity::Error) {
        return Some("it has errors".to_string());
    }
    if plan.guard.exceeded {
        return Some("the mass-change guard refuses it".to_string());
    }
    if plan.guard.employees_with_lower_wage > 0 {
        return Some("it lowers a wage".to_string());
    }
    let ends = |action: &Action| match action {
        Action::PutBenefit { before, after, .. } => after.end.is_some() && after.end != before.end,
        _ => false,
    };
    if plan.writes().any(|write| write.is_destructive() || ends(&write.action)) {
        return Some("it deletes or ends a record".to_string());
    }
    None
}

impl Service {
    /// Runs what is due at `now`, `runs_at_once` at a time. A slot is claimed only when a run can start,
    /// so that the due runs of a busy moment spread over every worker instead of the first to tick.
    pub async fn tick(&self, now: jiff::Timestamp) -> Vec<Scheduled> {
        let connections = match self.records.connections().await {
            Ok(connections) => connections,
            Err(error) => {
                tracing::error!(error = %engine::errors::chain(&error), "the schedules cannot be read");
                return Vec::new();
            }
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let lane = || async {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(connection) = connections.get(index) else { break };
                if let Some(scheduled) = self.run_if_due(connection, now).await {
                    done.push((index, scheduled));
                }
            }
            done
        };
        let lanes = (0..self.runs_at_once.max(1)).map(|_| lane());
        let mut done: Vec<(usize, Scheduled)> =
            futures_util::future::join_all(lanes).await.into_iter().flatten().collect();
        done.sort_by_key(|(index, _)| *index);
        let done: Vec<Scheduled> = done.into_iter().map(|(_, scheduled)| scheduled).collect();
        tracing::info!(taken = done.len(), "tick done");
        done
    }

    /// Claims and runs the connection's scheduled run if one is due at `now`: a new slot, or a slot not
    /// finished whose lease expired or whose retry is due.
    async fn run_if_due(&self, connection: &ConnectionRow, now: jiff::Timestamp) -> Option<Scheduled> {
        let cron = connection.schedule.as_deref().and_then(|text| Cron::parse(text).ok())?;
        let retry_at = connection.retry_at.as_deref().map(|at| at.parse::<jiff::Timestamp>().unwrap_or(now));
        let attempts = match retry_at {
            // Another worker's lease, or a retry still to come.
            Some(at) if at > now => return None,
            Some(_) => connection.attempts,
            None => {
                let slot = cron.previous(now)?;
                let last = connection.last_scheduled_at.as_deref().and_then(|at| at.parse::<jiff::Timestamp>().ok());
                if last.is_some_and(|last| last >= slot) {
                    return None;
                }
                0
            }
        };
        // Taken first, in one statement: of several workers that see this slot due, one takes it, leased.
        let started = std::time::Instant::now();
        let at = |elapsed: std::time::Duration, plus: jiff::SignedDuration| {
            let elapsed = jiff::SignedDuration::try_from(elapsed).unwrap_or_default();
            now.checked_add(elapsed).and_then(|at| at.checked_add(plus)).unwrap_or(now).to_string()
        };
        let mut lease = at(started.elapsed(), LEASE);
        match self.records.claim_slot(connection, &now.to_string(), &lease, attempts).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => {
                // Nothing is started that cannot be recorded; the next tick tries again.
                tracing::error!(error = %engine::errors::chain(&error), "the schedule cannot be recorded");
                return None;
            }
        }
        // Four eyes outrank auto mode: such a plan always waits.
        let mode = if connection.approvals_required >= 2 { "review" } else { connection.mode.as_str() };
        let run = self.scheduled_run(connection.id, mode);
        tokio::pin!(run);
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = heartbeat.tick() => {
                    let longer = at(started.elapsed(), LEASE);
                    match self.records.move_lease(connection.id, &lease, Some(&longer), attempts).await {
                        Ok(true) => {
                            tracing::info!(connection = connection.id, until = %longer, "the slot's lease extended");
                            lease = longer;
                        }
                        Ok(false) => tracing::warn!(connection = connection.id, "the slot's lease was taken over"),
                        Err(error) => tracing::warn!(error = %engine::errors::chain(&error), "the slot's lease cannot be extended"),
                    }
                }
            }
        };
        let (plan_id, outcome, next) = match outcome {
            Ok((plan_id, outcome)) => (Some(plan_id), outcome, None),
            Err(error) => {
                let message = engine::errors::chain(&error);
                tracing::warn!(connection = connection.id, error = %message, "a scheduled plan failed");
                // Tried again with a doubling wait, unless only a Loket login can fix it.
                let retry = (!matches!(error, PlanningError::NeedsLogin(_)) && attempts < RETRIES).then(|| {
                    let wait = FIRST_RETRY.checked_mul(1 << attempts.clamp(0, 16) as i32).unwrap_or(FIRST_RETRY);
                    at(started.elapsed(), wait)
                });
                if !matches!(error, PlanningError::NeedsLogin(_)) {
                    let text = format!("the scheduled run of {} failed", connection.name);
                    let details = serde_json::json!({"error": message, "retry_at": retry});
                    self.notify("run_failed", Some(connection.id), &text, details).await;
                }
                (None, format!("failed: {message}"), retry)
            }
        };
        let failures = if next.is_some() { attempts + 1 } else { 0 };
        if let Err(error) = self.records.move_lease(connection.id, &lease, next.as_deref(), failures).await {
            // The lease expires by itself and the slot is taken again then.
            tracing::error!(error = %engine::errors::chain(&error), "the end of a scheduled run cannot be recorded");
        }
        Some(Scheduled { connection_id: connection.id, plan_id, outcome })
    }

    /// A scheduled plan waits for approval: `plan_pending`, with why auto mode held it back, if it did.
    async fn waits(&self, connection_id: i64, row: &super::records::PlanRow, held_back: Option<String>) {
        let message = format!("a scheduled plan of {} write(s) waits for approval", row.writes);
        let details = serde_json::json!({"plan_id": row.id, "writes": row.writes, "held_back": held_back});
        self.notify("plan_pending", Some(connection_id), &message, details).await;
    }

    async fn scheduled_run(&self, connection_id: i64, mode: &str) -> Result<(i64, String), PlanningError> {
        if mode != "auto" {
            let (view, _) = self.make_plan_with(connection_id, None, false).await?;
            if view.row.status == "pending" {
                self.waits(connection_id, &view.row, None).await;
            }
            return Ok((view.row.id, view.row.status));
        }
        // Auto mode plans and applies under one hold of the legal entity's run lock, from one read of both
        // systems: nothing can change the plan between the two, so it is not read a second time to check.
        let opened = self.open_connection(connection_id).await?;
        let holder = format!("loket-sync serve (process {}), schedule (auto)", std::process::id());
        let lock_key = opened.1.sync.legal_entity.clone();
        self.store.acquire_lock(&lock_key, &holder, opened.1.state.lock_minutes).await?;
        let result = self.auto_locked(&opened).await;
        let _ = self.store.release_lock(&lock_key, &holder).await;
        result
    }

    async fn auto_locked(
        &self,
        opened: &(super::records::ConnectionRow, crate::settings::Settings, crate::runner::Connections),
    ) -> Result<(i64, String), PlanningError> {
        let connection_id = opened.0.id;
        let (view, planned) = self.plan_opened(opened, None, false).await?;
        let plan_id = view.row.id;
        if view.row.status != "pending" {
            return Ok((plan_id, view.row.status));
        }
        if let Some(reason) = needs_a_human(&planned.plan) {
            self.records
                .note(
                    "schedule",
                    "auto apply held back",
                    format!("connection {connection_id} plan {plan_id}"),
                    Some(reason.clone()),
                )
                .await?;
            self.waits(connection_id, &view.row, Some(reason)).await;
            return Ok((plan_id, "pending".to_string()));
        }
        let (row, settings, connections) = opened;
        let decision =
            self.apply_locked(&view.row, &row.name, settings, connections, "schedule (auto)", Some(planned)).await?;
        Ok(match decision {
            Decision::Applied { .. } => (plan_id, "applied".to_string()),
            Decision::Stale { new_plan_id } => (new_plan_id, "stale".to_string()),
            _ => (plan_id, "pending".to_string()),
        })
    }
}
