//! The service's verbs: `serve` (the HTTP API until SIGTERM or Ctrl-C), `users add`, `connections import`.

use std::io::BufRead as _;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::SecretString;

use super::{Context, ExitStatus};
use crate::cli::ServiceStore;
use crate::service::api::{self, ApiOptions};
use crate::service::users::{self, Role};
use crate::service::{Clock, FixedDate, KeySource, Service, SystemClock, connection};
use crate::settings::ProcessEnvironment;

async fn open(context: &Context<'_>, store: &ServiceStore, fixed_today: bool) -> anyhow::Result<Service> {
    let key = match (&store.key_file, std::env::var(crate::env::LOKET_SYNC_KEY).ok().filter(|key| !key.is_empty())) {
        (Some(path), _) => KeySource::File(path),
        (None, Some(hex)) => KeySource::Hex(SecretString::from(hex)),
        (None, None) => KeySource::None,
    };
    let clock: Arc<dyn Clock> = if fixed_today { Arc::new(FixedDate(context.today)) } else { Arc::new(SystemClock) };
    let location = match store.database_url.as_deref().filter(|url| !url.is_empty()) {
        Some(url) => crate::store::Location::Postgres(SecretString::from(url.to_string())),
        None => crate::store::Location::File(store.state.clone()),
    };
    Service::open_at(&location, key, clock)
        .await
        .with_context(|| format!("the service's state store {} cannot be used", location.shown()))
}

/// How a `serve` process works beside answering requests: whether it runs the schedules, how often it
/// looks, and (tests only) where an apply stops.
pub struct Worker {
    pub scheduler: bool,
    pub tick: std::time::Duration,
    /// Scheduled runs at once (`--runs-at-once`).
    pub runs_at_once: usize,
    pub crash: crate::journal::CrashPoint,
}

pub async fn serve(
    context: &Context<'_>,
    listen: &str,
    store: &ServiceStore,
    fixed_today: bool,
    options: ApiOptions,
    smtp: Option<(String, String)>,
    worker: Worker,
) -> anyhow::Result<ExitStatus> {
    let mut service = open(context, store, fixed_today).await?;
    if let Some((url, from)) = smtp {
        service = service.with_mailer(crate::service::notify::Mailer::new(&url, &from).map_err(anyhow::Error::msg)?);
    }
    run(context, listen, service, options, worker).await
}

/// `serve --demo`: the demo employers as connections, then the service as `serve` runs it.
pub async fn serve_demo(
    context: &Context<'_>,
    listen: &str,
    options: ApiOptions,
    worker: Worker,
) -> anyhow::Result<ExitStatus> {
    let today = crate::demo::scenario().today;
    let demo = crate::service::demo::start(Arc::new(FixedDate(today))).await.context("the demo cannot start")?;
    let printer = context.printer;
    printer.note(format!("loket-sync serve --demo: {} demo employers, as if today were {today}", demo.employers.len()));
    for employer in &demo.employers {
        printer.note(format!("  {employer}"));
    }
    printer.note(format!("  state store: {} (a fresh one each time)", demo.state.display()));
    printer.note(format!("  log in as admin with the password {}", demo.admin_password));
    printer.note("  then: POST /api/v1/session, GET /api/v1/connections, POST /api/v1/connections/1/plans, …");
    let servers = demo.servers;
    let status = run(context, listen, demo.service, options, worker).await;
    drop(servers);
    status
}

async fn run(
    context: &Context<'_>,
    listen: &str,
    mut service: Service,
    options: ApiOptions,
    worker: Worker,
) -> anyhow::Result<ExitStatus> {
    service.crash = worker.crash;
    service.runs_at_once = worker.runs_at_once;
    let service = Arc::new(service);
    let (scheduler, tick) = (worker.scheduler, worker.tick);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; pass another address with --listen"))?;
    let address = listener.local_addr().context("the listening address cannot be read")?;
    context.printer.note(format!("loket-sync serves on http://{address}"));
    // The schedules: a tick at start (what was missed while the service was down runs once) and every 30
    // seconds. On shutdown the server stops taking requests, and the scheduler finishes what it is doing.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    if !scheduler {
        context.printer.note("no scheduler: schedules and notifications are left to another serve process");
    }
    let scheduler = tokio::spawn({
        let service = Arc::clone(&service);
        async move {
            if !scheduler {
                return;
            }
            // While the store does not answer, no run starts (none could be recorded) and the wait doubles,
            // up to five minutes; the first tick that finds it again runs what is due.
            let mut failures: u32 = 0;
            loop {
                let wait = match service.records.ping().await {
                    Ok(()) => {
                        if failures > 0 {
                            tracing::warn!(failures, "the state store answers again");
                        }
                        failures = 0;
                        for done in service.tick(service.clock.now()).await {
                            tracing::info!(connection = done.connection_id, plan = ?done.plan_id, outcome = %done.outcome, "scheduled run");
                        }
                        service.deliver(service.clock.now()).await;
                        tick
                    }
                    Err(error) => {
                        failures += 1;
                        let wait =
                            (tick * 2u32.saturating_pow(failures.min(8))).min(std::time::Duration::from_secs(300));
                        tracing::warn!(error = %engine::errors::chain(&error), retry_in_seconds = wait.as_secs(), "the state store does not answer: no run starts until it does");
                        wait
                    }
                };
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stopped.changed() => break,
                }
            }
        }
    });
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    api::serve(listener, service, options, shutdown).await.context("the service stopped")?;
    let _ = scheduler.await;
    context.printer.note("loket-sync stopped");
    Ok(ExitStatus::Success)
}

/// SIGTERM or Ctrl-C. The server then stops taking requests and lets the ones under way finish: an approval
/// that is applying finishes its run, which is recorded.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

pub async fn add_user(
    context: &Context<'_>,
    name: &str,
    role: &str,
    admin: bool,
    store: &ServiceStore,
) -> anyhow::Result<ExitStatus> {
    let role = if admin {
        Role::Admin
    } else {
        Role::parse(role).ok_or_else(|| users::UserError::BadRole(role.to_string()))?
    };
    let password = match std::env::var(crate::env::LOKET_SYNC_PASSWORD).ok().filter(|text| !text.is_empty()) {
        Some(password) => password,
        None => {
            context.printer.prompt(format!("Password for {name} (at least {} characters): ", users::MIN_PASSWORD));
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("the password cannot be read from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let service = open(context, store, false).await?;
    let user = users::add_user(&service.records, name, role, &password).await?;
    service
        .records
        .audit(crate::service::records::AuditEntry {
            who: "command line",
            action: "user added",
            subject: format!("user {}", user.name),
            before: None,
            after: Some(role.as_str().to_string()),
        })
        .await?;
    context.printer.line(format!("user {} added as {}", user.name, role.as_str()));
    Ok(ExitStatus::Success)
}

pub async fn import(
    context: &Context<'_>,
    files: &[std::path::PathBuf],
    store: &ServiceStore,
) -> anyhow::Result<ExitStatus> {
    if files.is_empty() {
        anyhow::bail!("name the configuration files to import: loket-sync connections import FILE…");
    }
    let service = open(context, store, true).await?;
    let mut status = ExitStatus::Success;
    for file in files {
        let name = file.file_stem().and_then(|stem| stem.to_str()).unwrap_or("connection").to_string();
        let result = async {
            let (settings, text, secrets) = connection::read_for_import(file, &ProcessEnvironment)?;
            service.save_connection("command line", &name, &settings, &text, secrets).await
        }
        .await;
        match result {
            Ok(saved) => {
                context.printer.value(&serde_json::json!({"file": file, "saved": saved}));
                let check = match &saved.check {
                    connection::CheckResult::Valid { .. } => "valid against both systems".to_string(),
                    connection::CheckResult::NotChecked { reasons } => {
                        format!("not checked yet: {}", reasons.join("; "))
                    }
                };
                context.printer.text(format!(
                    "{}: connection `{name}` (id {}) saved; {check}",
                    file.display(),
                    saved.connection.id
                ));
            }
            Err(error) => {
                status = ExitStatus::Error;
                context
                    .printer
                    .error(&anyhow::Error::new(error).context(format!("{} was not imported", file.display())));
            }
        }
    }
    Ok(status)
}
