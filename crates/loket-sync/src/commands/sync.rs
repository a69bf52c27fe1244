//! `plan` and `sync`.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;

use engine::errors::chain;

use super::{Context, ExitStatus, load_settings, print_config_errors, write_private};
use crate::connections;
use crate::journal::{CrashPoint, Journal};
use crate::report;
use crate::runner::{self, Connections, PlanError, Planned};
use crate::settings::Settings;
use crate::store::{self, RunEnd, StateStore, Store as _};

/// What `plan` was asked to do.
pub struct PlanOptions<'a> {
    pub out: Option<&'a Path>,
    pub csv: Option<&'a Path>,
    pub allow_mass_changes: bool,
}

/// What `sync` was asked to do.
pub struct SyncOptions<'a> {
    pub yes: bool,
    pub allow_mass_changes: bool,
    pub saved_plan: Option<&'a Path>,
    pub crash: CrashPoint,
}

/// Plans, or says why no plan could be made. A configuration with problems was listed (exit 2).
async fn plan_or_report(
    context: &Context<'_>,
    settings: &Settings,
    connections: &Connections,
    allow_mass_changes: bool,
) -> anyhow::Result<Option<Planned>> {
    match runner::plan(connections, &settings.sync, context.today, allow_mass_changes).await {
        Ok(planned) => Ok(Some(planned)),
        Err(PlanError::Config(errors)) => {
            print_config_errors(context.printer, settings, &errors);
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// The history, when there is one (`plan` never creates the state file), for drift notes.
async fn drift_notes(context: &Context<'_>, settings: &Settings, plan: &engine::Plan) -> Vec<String> {
    if settings.state.url.is_none() && !settings.state.path.exists() {
        return Vec::new();
    }
    match StateStore::open_at(&settings.state.location()).await {
        Ok(store) => crate::drift::notes(&store, plan).await,
        Err(error) => {
            context.printer.warn(format!(
                "the history cannot be read, so changes made in Loket since the last sync are not pointed out: {}",
                chain(&error)
            ));
            Vec::new()
        }
    }
}

pub async fn plan(context: &Context<'_>, options: PlanOptions<'_>) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let connections = connections::from_settings(&settings)?;
    let Some(planned) = plan_or_report(context, &settings, &connections, options.allow_mass_changes).await? else {
        return Ok(ExitStatus::Error);
    };
    if let Some(out) = options.out {
        let saved = crate::saved_plan::to_json(&planned, &settings.sync, context.today);
        write_private(out, serde_json::to_string_pretty(&saved).unwrap_or_default().as_bytes())?;
    }
    if let Some(csv) = options.csv {
        write_private(csv, report::plan_csv(&planned.plan).as_bytes())?;
    }
    let drift = drift_notes(context, &settings, &planned.plan).await;
    let printer = context.printer;
    let mut value = report::plan_json(&planned.plan, &[]);
    value["requests"] = serde_json::json!({"personio": planned.personio_requests, "loket": planned.loket_requests});
    value["drift"] = serde_json::json!(drift);
    printer.value(&value);
    printer.text(report::plan_text(&planned.plan, &[]));
    for note in &drift {
        printer.text(format!("note: {note}"));
    }
    printer.text(format!(
        "(read with {} Personio and {} Loket requests)",
        planned.personio_requests, planned.loket_requests
    ));
    Ok(report::exit_status(&planned.plan, &[]))
}

pub async fn sync(context: &Context<'_>, options: SyncOptions<'_>) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let connections = connections::from_settings(&settings)?;
    let file = settings.state.url.is_none().then_some(settings.state.path.as_path());
    for (file, mode) in file.map(crate::files::open_to_others).unwrap_or_default() {
        context.printer.warn(format!(
            "{} holds payroll data and can be read or written by others (mode {mode:o}); make it private: chmod 600 {}",
            file.display(),
            file.display()
        ));
    }
    let store = Arc::new(StateStore::open_at(&settings.state.location()).await?);
    let holder = format!("{} (process {})", settings.state.who, std::process::id());
    let key = settings.sync.legal_entity.clone();
    store.acquire_lock(&key, &holder, settings.state.lock_minutes).await?;
    let status = sync_locked(context, &settings, &connections, &store, &options).await;
    if let Err(error) = store.release_lock(&key, &holder).await {
        context.printer.warn(format!(
            "the run lock could not be released ({}); it expires after {} minutes",
            chain(&error),
            settings.state.lock_minutes
        ));
    }
    status
}

async fn sync_locked(
    context: &Context<'_>,
    settings: &Settings,
    connections: &Connections,
    store: &Arc<StateStore>,
    options: &SyncOptions<'_>,
) -> anyhow::Result<ExitStatus> {
    let (today, printer) = (context.today, context.printer);
    let config = &settings.sync;
    let run = store::RunStart {
        command: "sync",
        who: &settings.state.who,
        run_date: today,
        allow_mass_changes: options.allow_mass_changes,
        lock: Some(&config.legal_entity),
    };
    let run_id = store.start_run(&run).await?;
    let planned = match plan_or_report(context, settings, connections, options.allow_mass_changes).await {
        Ok(Some(planned)) => planned,
        result => {
            let empty = engine::plan(&Default::default(), &Default::default(), config, today, false);
            let outcome = if result.is_ok() { "configuration error" } else { "no plan" };
            let _ = store.finish_run(&RunEnd::unapplied(run_id, outcome, &empty)).await;
            return result.map(|_| ExitStatus::Error);
        }
    };
    if let Some(saved) = options.saved_plan
        && let Err(error) = crate::saved_plan::check(saved, &planned, config, today)
    {
        let _ = store.finish_run(&RunEnd::unapplied(run_id, "refused: stale saved plan", &planned.plan)).await;
        return Err(error.into());
    }
    let pending = planned.plan.n_writes();
    printer.text(report::plan_text(&planned.plan, &[]));
    if !printer.json() {
        for note in crate::drift::notes(store, &planned.plan).await {
            printer.line(format!("note: {note}"));
        }
    }
    if pending > 0 && !options.yes {
        if !std::io::stdin().is_terminal() {
            let _ = store.finish_run(&RunEnd::unapplied(run_id, "not confirmed", &planned.plan)).await;
            anyhow::bail!("{pending} change(s) are pending; confirm with --yes when running without a terminal");
        }
        printer.prompt(format!("Apply {pending} change(s) to Loket? [y/N] "));
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() || !matches!(answer.trim(), "y" | "Y" | "yes") {
            printer.line("Nothing was changed.");
            let _ = store.finish_run(&RunEnd::unapplied(run_id, "not confirmed", &planned.plan)).await;
            return Ok(ExitStatus::Pending);
        }
    }
    let progress = printer.progress("writes sent", pending as u64);
    let journal =
        Arc::new(Journal::new(Arc::clone(store), run_id, progress.clone(), options.crash.clone(), printer.clone()));
    let started = std::time::Instant::now();
    let applied = runner::apply(connections, &planned, config, today, journal).await;
    progress.finish_and_clear();
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, sent = applied.sent, "applied the plan");
    let errors = !planned.plan.config_errors.is_empty()
        || planned.plan.issues.iter().chain(&applied.issues).any(|issue| issue.severity == engine::Severity::Error);
    let outcome = if planned.plan.guard.exceeded && !planned.plan.guard.overridden {
        "refused by the mass-change guard".to_string()
    } else if errors {
        format!("applied {} write(s) with errors", applied.sent)
    } else {
        format!("applied {} write(s)", applied.sent)
    };
    if let Err(error) = store.finish_run(&RunEnd::applied(run_id, &outcome, &planned.plan, &applied)).await {
        printer.warn(format!("the run could not be recorded: {}", chain(&error)));
    }
    let mut value = report::plan_json(&planned.plan, &applied.issues);
    value["applied"] = serde_json::json!(applied.sent);
    value["run"] = serde_json::json!(run_id);
    printer.value(&value);
    printer.text(format!("Run {run_id}: {outcome}; {} employee(s) failed.", applied.failed_employments));
    for issue in &applied.issues {
        printer.text(format!("  {}", report::issue_line(issue)));
    }
    Ok(if errors { ExitStatus::Error } else { ExitStatus::Success })
}
