//! Plans that wait for a human. A plan is made (by hand or by a schedule) and kept `pending` with the
//! fingerprint of everything it was made from; it is applied only when approved (by one operator, or by two
//! different ones where the connection asks for four eyes, neither of them the one who asked for the plan),
//! and only if both systems still give the same fingerprint: otherwise it is `stale`, and a new plan is made
//! to be approved in its place. A plan without writes is `in_sync` at once. Every decision is journaled.

use std::sync::Arc;

use serde::Serialize;

use super::Service;
use super::connection::ConnectionError;
use super::records::{ApprovalRow, AuditEntry, PlanRow};
use super::users::User;
use crate::journal::Journal;
use crate::printer::Printer;
use crate::runner::{self, PlanError, Planned};
use crate::store::{RunEnd, RunStart, Store as _};

#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    #[error("there is no plan {0}")]
    NotFound(i64),
    #[error("plan {id} is {status}, not pending: only a pending plan can be approved or rejected")]
    NotPending { id: i64, status: String },
    #[error("{0} asked for this plan and so cannot approve it: the connection asks for two other approvers")]
    OwnPlan(String),
    #[error("{0} has already decided on this plan")]
    AlreadyDecided(String),
    #[error("a comment is at most {MAX_COMMENT} characters")]
    LongComment,
    #[error("the plan cannot be made")]
    Plan(#[source] PlanError),
    #[error("Loket login {0} is needed again (Loket refused its tokens): an admin logs in to Loket for it")]
    NeedsLogin(i64),
    #[error(
        "this worker is applying {0} approved plans already; approve again in a moment (the approval was not kept, nothing was written)"
    )]
    Busy(usize),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A plan as the API shows it: the row, its approvals, and the plan itself (changes, withheld, issues).
#[derive(Debug, Serialize)]
pub struct PlanView {
    #[serde(flatten)]
    pub row: PlanRow,
    pub approvals: Vec<ApprovalRow>,
    pub plan: serde_json::Value,
}

/// What an approval came to.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Recorded; more approvals are needed.
    Waiting { approvals: usize, required: i64 },
    /// Applied: the run and what it did.
    Applied { run_id: i64, sent: usize, errors: usize },
    /// Either system changed since the plan was made: it was not applied; the new plan waits instead.
    Stale { new_plan_id: i64 },
    /// Rejected: nothing is written.
    Rejected,
}

/// The longest comment an approval or rejection takes.
pub const MAX_COMMENT: usize = 2000;

/// A comment trimmed (none when empty), or the error that it is too long.
fn tidy_comment(comment: Option<&str>) -> Result<Option<String>, PlanningError> {
    let comment = comment.map(str::trim).filter(|text| !text.is_empty());
    match comment {
        Some(text) if text.chars().count() > MAX_COMMENT => Err(PlanningError::LongComment),
        other => Ok(other.map(str::to_string)),
    }
}

impl Service {
    /// Reads both systems and plans; the plan is kept pending (or `in_sync` when it writes nothing).
    pub async fn make_plan(&self, connection_id: i64, requested_by: Option<&str>) -> Result<PlanView, PlanningError> {
        Ok(self.make_plan_with(connection_id, requested_by, false).await?.0)
    }

    /// `make_plan`, and what it was made from.
    pub(super) async fn make_plan_with(
        &self,
        connection_id: i64,
        requested_by: Option<&str>,
        allow_mass_changes: bool,
    ) -> Result<(PlanView, Planned), PlanningError> {
        let opened = self.open_connection(connection_id).await?;
        self.plan_opened(&opened, requested_by, allow_mass_changes).await
    }

    /// Reads both systems through an opened connection and keeps the plan (pending, or `in_sync`).
    pub(super) async fn plan_opened(
        &self,
        (row, settings, connections): &(super::records::ConnectionRow, crate::settings::Settings, runner::Connections),
        requested_by: Option<&str>,
        allow_mass_changes: bool,
    ) -> Result<(PlanView, Planned), PlanningError> {
        let connection_id = row.id;
        // A login Loket no longer accepts plans nothing, and says so once, for every connection of it.
        if let Err(error) = connections.loket.ensure_token().await {
            let lost = matches!(error, loket::LoketError::OAuth(_) | loket::LoketError::NotConnected);
            if lost {
                self.login_lost(row.loket_login_id, &engine::errors::chain(&error)).await?;
                return Err(PlanningError::NeedsLogin(row.loket_login_id));
            }
            return Err(PlanningError::Plan(PlanError::Tokens(error)));
        }
        let today = self.clock.today();
        let planned =
            runner::plan(connections, &settings.sync, today, allow_mass_changes).await.map_err(PlanningError::Plan)?;
        let mut document = crate::report::plan_json(&planned.plan, &[]);
        // Writes that overwrite what someone changed in Loket since loket-sync last wrote it.
        let drift: Vec<serde_json::Value> = crate::drift::by_employee(&self.store, &planned.plan)
            .await
            .into_iter()
            .map(|(employee_number, note)| serde_json::json!({"employee_number": employee_number, "note": note}))
            .collect();
        document["drift"] = serde_json::json!(drift);
        let writes = planned.plan.n_writes() as i64;
        let plan_row = PlanRow {
            id: 0,
            connection_id,
            status: if writes == 0 { "in_sync" } else { "pending" }.to_string(),
            requested_by: requested_by.map(str::to_string),
            allow_mass_changes: crate::store::Flag(allow_mass_changes),
            run_date: today.to_string(),
            fingerprint: crate::saved_plan::fingerprint(&planned, &settings.sync, today),
            document: document.to_string(),
            writes,
            created_at: String::new(),
            decided_at: None,
            run_id: None,
        };
        let previous = self.records.plans_of(connection_id, 1).await?.into_iter().next();
        let id = self.records.insert_plan(&plan_row).await?;
        self.announce(&row.name, connection_id, id, &planned.plan, previous.as_ref(), requested_by.is_some()).await;
        self.records
            .note(
                requested_by.unwrap_or("schedule"),
                "plan made",
                format!("connection {} plan {id}", row.name),
                Some(format!("{writes} write(s), {}", plan_row.status)),
            )
            .await?;
        Ok((self.plan_view(id).await?, planned))
    }

    /// The notifications a new plan calls for: waiting for approval (when a person asked for it; the
    /// scheduler announces its own), errors that the connection's previous plan did not have, a guard
    /// refusal.
    async fn announce(
        &self,
        name: &str,
        connection_id: i64,
        plan_id: i64,
        plan: &engine::Plan,
        previous: Option<&PlanRow>,
        pending: bool,
    ) {
        let details = serde_json::json!({"connection": name, "plan_id": plan_id, "writes": plan.n_writes()});
        if pending && plan.n_writes() > 0 {
            let message = format!("a plan of {} write(s) for {name} waits for approval", plan.n_writes());
            self.notify("plan_pending", Some(connection_id), &message, details.clone()).await;
        }
        let errors_of = |issues: &serde_json::Value| -> std::collections::BTreeSet<String> {
            issues
                .as_array()
                .into_iter()
                .flatten()
                .filter(|issue| issue["severity"] == "error")
                .map(|issue| format!("{} {}", issue["code"], issue["employee_number"]))
                .collect()
        };
        let now = errors_of(&serde_json::to_value(&plan.issues).unwrap_or_default());
        let before = previous
            .and_then(|row| serde_json::from_str::<serde_json::Value>(&row.document).ok())
            .map(|document| errors_of(&document["issues"]))
            .unwrap_or_default();
        let new: Vec<&String> = now.difference(&before).collect();
        if !new.is_empty() {
            let message = format!("the plan for {name} has {} new error issue(s)", new.len());
            self.notify(
                "new_errors",
                Some(connection_id),
                &message,
                serde_json::json!({"plan_id": plan_id, "new": new}),
            )
            .await;
        }
        if plan.guard.exceeded && !plan.guard.overridden {
            let message = format!("the mass-change guard refuses the plan for {name}");
            self.notify(
                "guard_refused",
                Some(connection_id),
                &message,
                serde_json::json!({"plan_id": plan_id, "guard": plan.guard}),
            )
            .await;
        }
    }

    /// A plan by hand that lets the mass-change guard through (`--allow-mass-changes` of the CLI); the
    /// override is journaled with its user, and the plan still waits for approval as any other.
    pub async fn make_plan_overriding_the_guard(
        &self,
        connection_id: i64,
        user: &str,
    ) -> Result<PlanView, PlanningError> {
        let view = self.make_plan_with(connection_id, Some(user), true).await?.0;
        self.records
            .note(
                user,
                "mass-change guard overridden",
                format!("connection {connection_id} plan {}", view.row.id),
                Some(format!("{} write(s)", view.row.writes)),
            )
            .await?;
        Ok(view)
    }

    pub async fn plan_view(&self, id: i64) -> Result<PlanView, PlanningError> {
        let row = self.records.plan(id).await?.ok_or(PlanningError::NotFound(id))?;
        let approvals = self.records.approvals(id).await?;
        let plan = serde_json::from_str(&row.document).unwrap_or(serde_json::Value::Null);
        Ok(PlanView { row, approvals, plan })
    }

    async fn pending(&self, id: i64) -> Result<PlanRow, PlanningError> {
        let row = self.records.plan(id).await?.ok_or(PlanningError::NotFound(id))?;
        if row.status != "pending" {
            return Err(PlanningError::NotPending { id, status: row.status });
        }
        Ok(row)
    }

    /// Rejects a pending plan (with the reason, when given): nothing is written.
    pub async fn reject(&self, user: &User, id: i64, comment: Option<&str>) -> Result<Decision, PlanningError> {
        let row = self.pending(id).await?;
        let comment = tidy_comment(comment)?;
        if !self.records.insert_approval(id, &user.name, "reject", comment.as_deref()).await? {
            return Err(PlanningError::AlreadyDecided(user.name.clone()));
        }
        if !self.records.move_plan(id, "pending", "rejected", None).await? {
            return Err(PlanningError::NotPending { id, status: "decided meanwhile".to_string() });
        }
        self.journal_decision(user, &row, "plan rejected").await?;
        Ok(Decision::Rejected)
    }

    /// Records `user`'s approval; with enough approvals, re-plans, compares fingerprints and applies.
    pub async fn approve(&self, user: &User, id: i64, comment: Option<&str>) -> Result<Decision, PlanningError> {
        let row = self.pending(id).await?;
        let comment = tidy_comment(comment)?;
        let connection = self
            .records
            .connection(row.connection_id)
            .await?
            .ok_or_else(|| ConnectionError::NotFound(row.connection_id.to_string()))?;
        let required = connection.approvals_required;
        if required >= 2 && row.requested_by.as_deref() == Some(user.name.as_str()) {
            return Err(PlanningError::OwnPlan(user.name.clone()));
        }
        if !self.records.insert_approval(id, &user.name, "approve", comment.as_deref()).await? {
            return Err(PlanningError::AlreadyDecided(user.name.clone()));
        }
        self.journal_decision(user, &row, "plan approved").await?;
        let approvals =
            self.records.approvals(id).await?.iter().filter(|approval| approval.decision == "approve").count();
        if (approvals as i64) < required {
            return Ok(Decision::Waiting { approvals, required });
        }
        let applied = self.apply_approved(&row, &user.name).await;
        if applied.is_err() && self.records.plan(id).await?.is_some_and(|plan| plan.status == "pending") {
            // The apply did not happen (the lock was held, a read failed, the login is needed): the approval
            // is taken back, so the same approver can try again once the cause is fixed.
            sqlx::query("DELETE FROM approvals WHERE plan_id = $1 AND user_name = $2")
                .bind(id)
                .bind(&user.name)
                .execute(&self.records.pool)
                .await
                .map_err(crate::store::StoreError::from)?;
        }
        applied
    }

    async fn journal_decision(&self, user: &User, row: &PlanRow, action: &str) -> Result<(), PlanningError> {
        self.records
            .note(
                &user.name,
                action,
                format!("connection {} plan {}", row.connection_id, row.id),
                Some(format!("fingerprint {}", row.fingerprint)),
            )
            .await?;
        Ok(())
    }

    /// Applies an approved plan if nothing changed since it was made, under the legal entity's run lock.
    pub(super) async fn apply_approved(&self, row: &PlanRow, approver: &str) -> Result<Decision, PlanningError> {
        let _permit = Arc::clone(&self.applies)
            .try_acquire_owned()
            .map_err(|_| PlanningError::Busy(super::APPROVED_APPLIES_AT_ONCE))?;
        let (connection, settings, connections) = self.open_connection(row.connection_id).await?;
        let holder = format!("loket-sync serve (process {}), approved by {approver}", std::process::id());
        let lock_key = settings.sync.legal_entity.clone();
        self.store.acquire_lock(&lock_key, &holder, settings.state.lock_minutes).await?;
        let result = self.apply_locked(row, &connection.name, &settings, &connections, approver, None).await;
        let _ = self.store.release_lock(&lock_key, &holder).await;
        result
    }

    /// Applies `row` under the run lock the caller holds. `fresh` is the plan as it was just made under
    /// this same lock (the scheduler's auto mode): nothing can have changed since, so it is applied as it
    /// is. Otherwise (a plan that waited for approval) both systems are read again and the plan is applied
    /// only if their fingerprint is the one it was made from.
    pub(super) async fn apply_locked(
        &self,
        row: &PlanRow,
        name: &str,
        settings: &crate::settings::Settings,
        connections: &runner::Connections,
        approver: &str,
        fresh: Option<Planned>,
    ) -> Result<Decision, PlanningError> {
        let today: jiff::civil::Date = row.run_date.parse().unwrap_or_else(|_| self.clock.today());
        let planned: Planned = match fresh {
            Some(planned) => planned,
            None => runner::plan(connections, &settings.sync, today, row.allow_mass_changes.0)
                .await
                .map_err(PlanningError::Plan)?,
        };
        if crate::saved_plan::fingerprint(&planned, &settings.sync, today) != row.fingerprint {
            if !self.records.move_plan(row.id, "pending", "stale", None).await? {
                // Another approver applied it meanwhile (which is why the fingerprint changed).
                return Err(PlanningError::NotPending { id: row.id, status: "decided meanwhile".to_string() });
            }
            self.records
                .audit(AuditEntry {
                    who: approver,
                    action: "plan stale",
                    subject: format!("connection {name} plan {}", row.id),
                    before: Some(row.fingerprint.clone()),
                    after: None,
                })
                .await?;
            let fresh =
                self.make_plan_with(row.connection_id, row.requested_by.as_deref(), row.allow_mass_changes.0).await?.0;
            return Ok(Decision::Stale { new_plan_id: fresh.row.id });
        }
        if !self.records.move_plan(row.id, "pending", "applied", None).await? {
            return Err(PlanningError::NotPending { id: row.id, status: "decided meanwhile".to_string() });
        }
        let run = RunStart {
            command: "serve: approved plan",
            who: approver,
            run_date: today,
            allow_mass_changes: row.allow_mass_changes.0,
            lock: Some(&settings.sync.legal_entity),
        };
        // Nothing is written until the run is recorded; a plan whose run cannot be recorded waits again
        // rather than showing as applied with nothing behind it.
        let started = match self.store.start_run(&run).await {
            Ok(run_id) => self.records.link_run(run_id, row.connection_id).await.map(|()| run_id),
            Err(error) => Err(error),
        };
        let run_id = match started {
            Ok(run_id) => run_id,
            Err(error) => {
                let _ = self.records.move_plan(row.id, "applied", "pending", None).await;
                return Err(error.into());
            }
        };
        let printer = Printer::new(true);
        let journal = Arc::new(Journal::new(
            Arc::clone(&self.store),
            run_id,
            indicatif::ProgressBar::hidden(),
            self.crash.clone(),
            printer,
        ));
        let applied = runner::apply(connections, &planned, &settings.sync, today, journal).await;
        let errors = applied.issues.iter().filter(|issue| issue.severity == engine::Severity::Error).count();
        let outcome = format!("applied {} write(s){}", applied.sent, if errors > 0 { " with errors" } else { "" });
        self.store.finish_run(&RunEnd::applied(run_id, &outcome, &planned.plan, &applied)).await?;
        sqlx::query("UPDATE plans SET run_id = $1 WHERE id = $2")
            .bind(run_id)
            .bind(row.id)
            .execute(&self.records.pool)
            .await
            .map_err(crate::store::StoreError::from)?;
        if errors > 0 {
            let message = format!("the run of {name} ended with {errors} error(s)");
            let details = serde_json::json!({"run_id": run_id, "plan_id": row.id, "sent": applied.sent});
            self.notify("run_failed", Some(row.connection_id), &message, details).await;
        }
        Ok(Decision::Applied { run_id, sent: applied.sent, errors })
    }
}
