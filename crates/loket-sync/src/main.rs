//! loket-sync: keeps a Dutch employer's payroll in Loket.nl in line with the compensation data in Personio.

use loket_sync::{demo, report, runner, say, scenario_run, settings};

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use jiff::civil::Date;

use loket_sync::runner::Connections;
use loket_sync::settings::{FieldError, ProcessEnvironment, Settings};
use loket_sync::store::{self, SqliteStore, Store};

#[derive(Parser)]
#[command(name = "loket-sync", version, about = "Keeps Loket.nl payroll in line with Personio compensation data")]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "loket-sync.toml")]
    config: PathBuf,
    /// Output for scripts: JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Run as if today were this date (YYYY-MM-DD); default: today in Europe/Amsterdam.
    #[arg(long, global = true)]
    today: Option<Date>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented loket-sync.toml to fill in.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Loket environment: production or acceptance.
        #[arg(long, default_value = "production")]
        environment: String,
    },
    /// Log in to Loket (authorization code flow) and keep the tokens in a 0600 file beside the configuration.
    Connect {
        #[command(subcommand)]
        service: ConnectService,
    },
    /// Check the configuration against both systems; show Personio types and Loket components side by side.
    Check {
        /// Check the file only, without contacting Personio or Loket.
        #[arg(long)]
        offline: bool,
    },
    /// Read both systems and show, per employee, every change and every issue. Exit 0 in sync, 1 changes
    /// pending, 2 errors.
    Plan {
        /// Save the plan (with a fingerprint of everything read) as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Export the plan as CSV for the payroll administrator.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Show the plan as the mass-change guard would let it through.
        #[arg(long)]
        allow_mass_changes: bool,
    },
    /// Plan, confirm, and apply.
    Sync {
        /// Apply without asking (for scripts).
        #[arg(long)]
        yes: bool,
        /// Let a plan through that the mass-change guard refuses (recorded with the run).
        #[arg(long)]
        allow_mass_changes: bool,
        /// Apply a plan saved with `plan --out`, only if neither system changed since.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Test-only crash point: exit after this many writes.
        #[arg(long, hide = true)]
        crash_after_writes: Option<usize>,
        /// Test-only crash point: stop and wait after this many writes (for a kill -9).
        #[arg(long, hide = true)]
        pause_after_writes: Option<usize>,
    },
    /// List the runs.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Show a run's issues grouped by code (default: the last run).
    Issues {
        #[arg(long)]
        run: Option<i64>,
    },
    /// Show the audit trail: every write's intent and Loket's answer.
    Log {
        #[arg(long)]
        employee: Option<u64>,
        #[arg(long)]
        run: Option<i64>,
    },
    /// Run the whole product against a local demo company: no account, no credentials.
    Demo,
    /// Serve a local Personio and Loket until Ctrl-C.
    Emulate {
        /// Seed both from a scenario file's `personio` and `loket` sections (default: the demo company).
        #[arg(long)]
        seed: Option<PathBuf>,
        #[arg(long, default_value_t = 7101)]
        personio_port: u16,
        #[arg(long, default_value_t = 7102)]
        loket_port: u16,
    },
    /// Scenario files: run them end to end through the emulators, or in-process.
    Scenario {
        #[command(subcommand)]
        action: ScenarioAction,
    },
}

#[derive(Subcommand)]
enum ConnectService {
    /// Log in to Loket.
    Loket {
        /// Give up after this many seconds without the redirect.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum ScenarioAction {
    /// Both emulators on loopback ports, two real syncs through the HTTP clients, compared with `expect`.
    Run { files: Vec<PathBuf> },
    /// The same in-process, through the engine and its model of Loket (no server).
    Check { files: Vec<PathBuf> },
    /// The plan of a file's first sync, in-process.
    Plan { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(run(cli));
    ExitCode::from(code)
}

fn today_in_amsterdam() -> Date {
    jiff::tz::TimeZone::get("Europe/Amsterdam")
        .map(|zone| jiff::Timestamp::now().to_zoned(zone).date())
        .unwrap_or_else(|_| jiff::Zoned::now().date())
}

async fn run(cli: Cli) -> u8 {
    let today = cli.today.unwrap_or_else(today_in_amsterdam);
    if !(1900..=2200).contains(&today.year()) {
        eprintln!("error: --today {today} is not a plausible run date; use a date between 1900 and 2200");
        return 2;
    }
    match cli.command {
        Command::Init { force, environment } => init(&cli.config, force, &environment),
        Command::Connect { service: ConnectService::Loket { timeout } } => connect_loket(&cli.config, timeout).await,
        Command::Check { offline: true } => check_offline(&cli.config, cli.json),
        Command::Check { offline: false } => check(&cli.config, cli.json, today).await,
        Command::Plan { out, csv, allow_mass_changes } => {
            plan_command(&cli.config, cli.json, today, out.as_deref(), csv.as_deref(), allow_mass_changes).await
        }
        Command::Sync { yes, allow_mass_changes, plan, crash_after_writes, pause_after_writes } => {
            let options = SyncOptions {
                today,
                json: cli.json,
                yes,
                allow_mass_changes,
                saved_plan: plan.as_deref(),
                crash: loket_sync::journal::CrashPoint {
                    exit_after: crash_after_writes,
                    pause_after: pause_after_writes,
                },
            };
            sync_command(&cli.config, options).await
        }
        Command::Runs { limit } => history(&cli.config, cli.json, History::Runs(limit)).await,
        Command::Issues { run } => history(&cli.config, cli.json, History::Issues(run)).await,
        Command::Log { employee, run } => history(&cli.config, cli.json, History::Log(employee, run)).await,
        Command::Demo => run_demo(cli.json).await,
        Command::Emulate { seed, personio_port, loket_port } => {
            emulate(seed.as_deref(), personio_port, loket_port).await
        }
        Command::Scenario { action } => match action {
            ScenarioAction::Run { files } => scenario_run_command(&files, cli.json).await,
            ScenarioAction::Check { files } => scenario_check(&files, cli.json),
            ScenarioAction::Plan { file } => scenario_plan(&file, cli.json),
        },
    }
}

// -------------------------------------------------------------------------------------------------------
// Settings and connections

fn print_field_errors(errors: &[FieldError], json: bool) {
    if json {
        let list: Vec<serde_json::Value> = errors
            .iter()
            .map(|error| serde_json::json!({"file": error.file, "line": error.line, "field": error.field, "message": error.message}))
            .collect();
        say!("{}", serde_json::json!({"config_errors": list}));
    } else {
        eprintln!("The configuration has {} problem(s):", errors.len());
        for error in errors {
            eprintln!("  {error}");
        }
    }
}

fn load_settings(path: &Path, json: bool) -> Option<Settings> {
    match settings::load(path, &ProcessEnvironment) {
        Ok(settings) => Some(settings),
        Err(errors) => {
            print_field_errors(&errors, json);
            None
        }
    }
}

fn connections(settings: &Settings) -> Result<Connections, String> {
    let personio_secret =
        settings.personio.client_secret.clone().ok_or_else(|| {
            format!("the Personio client secret is missing: set the {}", settings.personio.secret_source)
        })?;
    if settings.personio.client_id.is_empty() {
        return Err("the Personio client id is missing: set personio.client_id or PERSONIO_CLIENT_ID".to_string());
    }
    let loket_secret = settings
        .loket
        .client_secret
        .clone()
        .ok_or_else(|| format!("the Loket client secret is missing: set the {}", settings.loket.secret_source))?;
    let mut personio_settings = personio::PersonioSettings::new(
        settings.personio.base_url.clone(),
        &settings.personio.client_id,
        personio_secret,
    );
    personio_settings.app_id = settings.personio.app_id.clone();
    personio_settings.concurrency = settings.personio.concurrency;
    let mut loket_settings = loket::LoketSettings::new(
        settings.loket.base_url.clone(),
        settings.loket.oauth_url.clone(),
        &settings.loket.client_id,
        loket_secret,
    );
    loket_settings.requests_per_second = settings.loket.requests_per_second;
    loket_settings.concurrency = settings.loket.concurrency;
    loket_settings.redirect_uri = format!("http://127.0.0.1:{}/callback", settings.loket.redirect_port);
    let store = Arc::new(loket::FileTokenStore::new(settings.loket.token_file.clone()));
    Ok(Connections {
        personio: Arc::new(personio::PersonioClient::new(personio_settings).map_err(|error| error.to_string())?),
        loket: Arc::new(loket::LoketClient::new(loket_settings, store).map_err(|error| error.to_string())?),
        employer_id: settings.loket.employer_id.clone(),
        administration_id: settings.loket.administration_id.clone(),
    })
}

/// Configuration errors point into the file; a failure to read a system (`personio`, `loket`) does not.
fn config_errors_in_file(settings: &Settings, errors: &[engine::ConfigError], json: bool) {
    let (reads, fields): (Vec<&engine::ConfigError>, Vec<&engine::ConfigError>) =
        errors.iter().partition(|error| error.field == "personio" || error.field == "loket");
    for error in &reads {
        if json {
            say!("{}", serde_json::json!({"error": error.message, "system": error.field}));
        } else {
            eprintln!("error: {}", error.message);
        }
    }
    if !fields.is_empty() {
        let text = std::fs::read_to_string(&settings.path).unwrap_or_default();
        let fields: Vec<engine::ConfigError> = fields.into_iter().cloned().collect();
        print_field_errors(&settings::locate(&settings.path, &text, &fields), json);
    }
}

// -------------------------------------------------------------------------------------------------------
// init, connect, check

const TEMPLATE: &str = include_str!("template.toml");

fn init(path: &Path, force: bool, environment: &str) -> u8 {
    if !["production", "acceptance"].contains(&environment) {
        eprintln!("error: --environment must be production or acceptance, not {environment}");
        return 2;
    }
    if path.exists() && !force {
        eprintln!("error: {} exists already; use --force to overwrite it", path.display());
        return 2;
    }
    let text = TEMPLATE.replace("environment = \"production\"", &format!("environment = \"{environment}\""));
    match std::fs::write(path, text) {
        Ok(()) => {
            say!(
                "Wrote {}. Fill in the ids, mappings and start date, set the secrets as environment variables, then run `loket-sync connect loket` and `loket-sync check`.",
                path.display()
            );
            0
        }
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", path.display());
            2
        }
    }
}

async fn connect_loket(path: &Path, timeout: u64) -> u8 {
    let Some(settings) = load_settings(path, false) else { return 2 };
    let connections = match connections(&settings) {
        Ok(connections) => connections,
        Err(reason) => {
            eprintln!("error: {reason}");
            return 2;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", settings.loket.redirect_port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{} for Loket's redirect: {error}; choose another loket.redirect_port",
                settings.loket.redirect_port
            );
            return 2;
        }
    };
    let state = scenario::derived_id("oauth-state", &format!("{:?}", std::time::SystemTime::now()));
    say!("Open this address in a browser, log in to Loket and approve loket-sync:");
    say!("{}", connections.loket.authorize_url(&state));
    let (sender, receiver) = tokio::sync::oneshot::channel::<std::collections::HashMap<String, String>>();
    let sender = Arc::new(std::sync::Mutex::new(Some(sender)));
    let router = axum::Router::new().route(
        "/callback",
        axum::routing::get(
            move |axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>| {
                let sender = Arc::clone(&sender);
                async move {
                    if let Some(sender) = sender.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take() {
                        let _ = sender.send(query);
                    }
                    "loket-sync received the approval; you can close this window."
                }
            },
        ),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let answer = tokio::time::timeout(Duration::from_secs(timeout), receiver).await;
    server.abort();
    let query = match answer {
        Ok(Ok(query)) => query,
        _ => {
            eprintln!("error: no approval arrived within {timeout} s; run `loket-sync connect loket` again");
            return 2;
        }
    };
    if query.get("state") != Some(&state) {
        eprintln!(
            "error: the redirect does not belong to this login (state mismatch); run `loket-sync connect loket` again"
        );
        return 2;
    }
    let Some(code) = query.get("code") else {
        eprintln!("error: Loket sent no code: {}", query.get("error").map(String::as_str).unwrap_or("unknown error"));
        return 2;
    };
    match connections.loket.exchange_code(code).await {
        Ok(()) => {
            say!(
                "Connected to Loket. The tokens are in {} (readable by you only).",
                settings.loket.token_file.display()
            );
            0
        }
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    }
}

fn check_offline(path: &Path, json: bool) -> u8 {
    let Some(settings) = load_settings(path, json) else { return 2 };
    let missing: Vec<String> = [
        settings
            .personio
            .client_secret
            .is_none()
            .then(|| format!("the Personio client secret ({})", settings.personio.secret_source)),
        settings
            .loket
            .client_secret
            .is_none()
            .then(|| format!("the Loket client secret ({})", settings.loket.secret_source)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if json {
        say!("{}", serde_json::json!({"ok": true, "missing_secrets": missing}));
    } else {
        say!(
            "{} is well-formed: {} mapping(s); salary {}, recurring {}, one-time {}.",
            settings.path.display(),
            settings.sync.mappings.len(),
            on_off(settings.sync.salary),
            on_off(settings.sync.recurring),
            on_off(settings.sync.one_time)
        );
        for secret in &missing {
            say!("  not set yet: {secret}");
        }
    }
    0
}

fn on_off(switch: bool) -> &'static str {
    if switch { "on" } else { "off" }
}

async fn check(path: &Path, json: bool, today: Date) -> u8 {
    let Some(settings) = load_settings(path, json) else { return 2 };
    let connections = match connections(&settings) {
        Ok(connections) => connections,
        Err(reason) => {
            eprintln!("error: {reason}");
            return 2;
        }
    };
    check_with(&connections, &settings.sync, today, json, Some(&settings)).await
}

async fn check_with(
    connections: &Connections,
    config: &engine::Config,
    today: Date,
    json: bool,
    settings: Option<&Settings>,
) -> u8 {
    let valid = runner::check_config(connections, config, today).await;
    let types = connections.personio.compensation_types().await.unwrap_or_default();
    let survey = runner::survey(connections, config).await;
    let components: &[runner::CatalogueRow] = survey.as_ref().map(|survey| survey.components.as_slice()).unwrap_or(&[]);
    let mut rows = Vec::new();
    for kind in types.iter().filter(|kind| kind.category == "RECURRING" || kind.category == "ONE_TIME") {
        let mapping = config
            .mappings
            .iter()
            .find(|mapping| mapping.personio_type == kind.name || mapping.personio_type == kind.id);
        let describe = |key: Option<engine::ComponentKey>| {
            key.map(|key| {
                let found = components.iter().find(|component| component.key == key.0);
                format!("{key} {}", found.map(|component| component.description.as_str()).unwrap_or("(not in Loket)"))
            })
            .unwrap_or_else(|| "-".to_string())
        };
        rows.push((
            format!(
                "{} ({}{})",
                kind.name,
                kind.category.to_lowercase(),
                kind.unit.as_ref().map(|unit| format!(", {unit}")).unwrap_or_default()
            ),
            mapping.map(|mapping| describe(mapping.benefit_component)).unwrap_or_else(|| "not mapped".to_string()),
            mapping.map(|mapping| describe(mapping.deduction_component)).unwrap_or_default(),
        ));
    }
    if !json {
        match &survey {
            Ok(survey) => say!("{}", report::survey_text(survey, config)),
            Err(reason) => say!("The attributes and components cannot be shown: {reason}"),
        }
    }
    let survey_json = match &survey {
        Ok(survey) => serde_json::to_value(survey).unwrap_or_default(),
        Err(reason) => serde_json::json!({"error": reason}),
    };
    match valid {
        Ok(valid) => {
            if json {
                say!(
                    "{}",
                    serde_json::json!({"ok": true, "warnings": valid.warnings, "mappings": rows.iter().map(|(kind, benefit, deduction)| serde_json::json!({"personio_type": kind, "benefit": benefit, "deduction": deduction})).collect::<Vec<_>>(), "survey": survey_json})
                );
            } else {
                say!("Personio type → Loket benefit component | deduction component");
                for (kind, benefit, deduction) in &rows {
                    say!("  {kind} → {benefit} | {deduction}");
                }
                for warning in &valid.warnings {
                    say!("{}", report::issue_line(warning));
                }
                say!("The configuration is valid against both systems.");
            }
            0
        }
        Err(errors) => {
            match settings {
                Some(settings) => config_errors_in_file(settings, &errors, json),
                None => {
                    for error in &errors {
                        eprintln!("  {error}");
                    }
                }
            }
            2
        }
    }
}

// -------------------------------------------------------------------------------------------------------
// plan and sync

/// A stable fingerprint of everything a plan was made from, for the saved-plan check.
/// The order in which an API lists records is not data: both states are put in a canonical order first,
/// so that two reads of unchanged systems give the same fingerprint.
fn fingerprint(planned: &runner::Planned, config: &engine::Config, today: Date) -> String {
    let mut personio = planned.personio.clone();
    personio.persons.sort_by_key(|person| person.id);
    for person in &mut personio.persons {
        person.salaries.sort_by(|a, b| (a.effective_from, &a.amount).cmp(&(b.effective_from, &b.amount)));
        person
            .recurring
            .sort_by(|a, b| (&a.type_id, a.effective_from, &a.amount).cmp(&(&b.type_id, b.effective_from, &b.amount)));
        person.one_time.sort_by(|a, b| (a.date, &a.type_id, &a.amount).cmp(&(b.date, &b.type_id, &b.amount)));
        person.employments.sort_by(|a, b| (&a.legal_entity, a.start).cmp(&(&b.legal_entity, b.start)));
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
    scenario::derived_id("plan-fingerprint", &text)
}

async fn plan_command(path: &Path, json: bool, today: Date, out: Option<&Path>, csv: Option<&Path>, allow: bool) -> u8 {
    let Some(settings) = load_settings(path, json) else { return 2 };
    let connections = match connections(&settings) {
        Ok(connections) => connections,
        Err(reason) => {
            eprintln!("error: {reason}");
            return 2;
        }
    };
    let planned = match runner::plan(&connections, &settings.sync, today, allow).await {
        Ok(planned) => planned,
        Err(errors) => {
            config_errors_in_file(&settings, &errors, json);
            return 2;
        }
    };
    if let Some(out) = out {
        let saved = serde_json::json!({"format_version": 1, "fingerprint": fingerprint(&planned, &settings.sync, today), "plan": planned.plan});
        if let Err(error) = std::fs::write(out, serde_json::to_string_pretty(&saved).unwrap_or_default()) {
            eprintln!("error: cannot write {}: {error}", out.display());
            return 2;
        }
    }
    if let Some(csv) = csv
        && let Err(error) = std::fs::write(csv, report::plan_csv(&planned.plan))
    {
        eprintln!("error: cannot write {}: {error}", csv.display());
        return 2;
    }
    // Drift: only when there is a history to compare with (plan never creates the state file).
    let drift = if settings.state.path.exists() {
        match SqliteStore::open(&settings.state.path).await {
            Ok(store) => drift_notes(&store, &planned.plan).await,
            Err(error) => {
                eprintln!(
                    "warning: the history cannot be read, so changes made in Loket since the last sync are not pointed out: {error}"
                );
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    if json {
        let mut value = report::plan_json(&planned.plan, &[]);
        value["requests"] = serde_json::json!({"personio": planned.personio_requests, "loket": planned.loket_requests});
        value["drift"] = serde_json::json!(drift);
        say!("{value}");
    } else {
        say!("{}", report::plan_text(&planned.plan, &[]));
        for note in &drift {
            say!("note: {note}");
        }
        say!("(read with {} Personio and {} Loket requests)", planned.personio_requests, planned.loket_requests);
    }
    report::exit_code(&planned.plan, &[])
}

/// What `sync` was asked to do.
struct SyncOptions<'a> {
    today: Date,
    json: bool,
    yes: bool,
    allow_mass_changes: bool,
    saved_plan: Option<&'a Path>,
    crash: loket_sync::journal::CrashPoint,
}

/// Notes for writes that overwrite a value someone changed in Loket since loket-sync last wrote it.
async fn drift_notes(store: &SqliteStore, plan: &engine::Plan) -> Vec<String> {
    let Ok(last) = store.last_written().await else { return Vec::new() };
    let mut notes = Vec::new();
    for write in plan.writes() {
        let key = store::record_key(write);
        let (before, _) = store::values(write);
        if let (Some((written, at)), Some(before)) = (last.get(&key), before)
            && *written != before
            && !written.is_empty()
        {
            notes.push(format!(
                "employee {}: {} — changed in Loket since the last sync (loket-sync wrote {written} at {at}; Loket now has {before}); the sync overwrites it",
                write.employee_number,
                write.describe()
            ));
        }
    }
    notes
}

async fn sync_command(path: &Path, options: SyncOptions<'_>) -> u8 {
    let json = options.json;
    let Some(settings) = load_settings(path, json) else { return 2 };
    let connections = match connections(&settings) {
        Ok(connections) => connections,
        Err(reason) => {
            eprintln!("error: {reason}");
            return 2;
        }
    };
    let store = match SqliteStore::open(&settings.state.path).await {
        Ok(store) => Arc::new(store),
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let holder = format!("{} (process {})", settings.state.who, std::process::id());
    let key = settings.sync.legal_entity.clone();
    if let Err(error) = store.acquire_lock(&key, &holder, settings.state.lock_minutes).await {
        eprintln!("error: {error}");
        return 2;
    }
    let code = sync_locked(&settings, &connections, &store, &options).await;
    if let Err(error) = store.release_lock(&key, &holder).await {
        eprintln!(
            "warning: the run lock could not be released ({error}); it expires after {} minutes",
            settings.state.lock_minutes
        );
    }
    code
}

async fn sync_locked(
    settings: &Settings,
    connections: &Connections,
    store: &Arc<SqliteStore>,
    options: &SyncOptions<'_>,
) -> u8 {
    let (today, json) = (options.today, options.json);
    let config = &settings.sync;
    let run = store::RunStart {
        command: "sync",
        who: &settings.state.who,
        run_date: today,
        allow_mass_changes: options.allow_mass_changes,
    };
    let run_id = match store.start_run(&run).await {
        Ok(id) => id,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let planned = match runner::plan(connections, config, today, options.allow_mass_changes).await {
        Ok(planned) => planned,
        Err(errors) => {
            config_errors_in_file(settings, &errors, json);
            let empty = engine::plan(&Default::default(), &Default::default(), config, today, false);
            let _ = store.finish_run(run_id, "configuration error", &empty, 0, &[]).await;
            return 2;
        }
    };
    if let Some(saved) = options.saved_plan {
        match check_saved_plan(saved, &planned, config, today) {
            Ok(()) => {}
            Err(reason) => {
                eprintln!("error: {reason}");
                let _ = store.finish_run(run_id, "refused: stale saved plan", &planned.plan, 0, &[]).await;
                return 2;
            }
        }
    }
    let pending = planned.plan.n_writes();
    if !json {
        say!("{}", report::plan_text(&planned.plan, &[]));
        for note in drift_notes(store, &planned.plan).await {
            say!("note: {note}");
        }
    }
    if pending > 0 && !options.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("error: {pending} change(s) are pending; confirm with --yes when running without a terminal");
            let _ = store.finish_run(run_id, "not confirmed", &planned.plan, 0, &[]).await;
            return 2;
        }
        eprint!("Apply {pending} change(s) to Loket? [y/N] ");
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() || !matches!(answer.trim(), "y" | "Y" | "yes") {
            say!("Nothing was changed.");
            let _ = store.finish_run(run_id, "not confirmed", &planned.plan, 0, &[]).await;
            return 1;
        }
    }
    let progress = std::io::stderr().is_terminal() && !json;
    let journal =
        Arc::new(loket_sync::journal::Journal::new(Arc::clone(store), run_id, pending, progress, options.crash));
    let applied = runner::apply(connections, &planned, config, today, journal).await;
    if progress && pending > 0 {
        eprintln!();
    }
    let errors = !planned.plan.config_errors.is_empty()
        || planned.plan.issues.iter().chain(&applied.issues).any(|issue| issue.severity == engine::Severity::Error);
    let outcome = if planned.plan.guard.exceeded && !planned.plan.guard.overridden {
        "refused by the mass-change guard".to_string()
    } else if errors {
        format!("applied {} write(s) with errors", applied.sent)
    } else {
        format!("applied {} write(s)", applied.sent)
    };
    if let Err(error) = store.finish_run(run_id, &outcome, &planned.plan, applied.sent, &applied.issues).await {
        eprintln!("warning: the run could not be recorded: {error}");
    }
    if json {
        let mut value = report::plan_json(&planned.plan, &applied.issues);
        value["applied"] = serde_json::json!(applied.sent);
        value["run"] = serde_json::json!(run_id);
        say!("{value}");
    } else {
        say!("Run {run_id}: {outcome}; {} employee(s) failed.", applied.failed_employments);
        for issue in &applied.issues {
            say!("  {}", report::issue_line(issue));
        }
    }
    if errors { 2 } else { 0 }
}

/// A saved plan is applied only if neither system changed since it was made (its fingerprint of
/// everything read equals a fresh read's), as Terraform refuses a stale plan.
fn check_saved_plan(
    path: &Path,
    planned: &runner::Planned,
    config: &engine::Config,
    today: Date,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the saved plan {}: {error}", path.display()))?;
    let saved: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        format!("{} is not a saved plan ({error}); make one with `loket-sync plan --out`", path.display())
    })?;
    if saved["format_version"] != 1 {
        return Err(format!(
            "{} is not a saved plan of this version (format_version {})",
            path.display(),
            saved["format_version"]
        ));
    }
    let fresh = fingerprint(planned, config, today);
    if saved["fingerprint"].as_str() != Some(fresh.as_str()) {
        return Err(format!(
            "the saved plan {} is stale: Personio or Loket changed since it was made. Run `loket-sync plan --out` again and review the new plan",
            path.display()
        ));
    }
    Ok(())
}

enum History {
    Runs(i64),
    Issues(Option<i64>),
    Log(Option<u64>, Option<i64>),
}

async fn history(path: &Path, json: bool, what: History) -> u8 {
    let Some(settings) = load_settings(path, json) else { return 2 };
    if !settings.state.path.exists() {
        say!("No runs yet: {} does not exist.", settings.state.path.display());
        return 0;
    }
    let store = match SqliteStore::open(&settings.state.path).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let result = match what {
        History::Runs(limit) => store.runs(limit).await.map(|runs| {
            if json {
                say!("{}", serde_json::json!(runs));
            }
            for run in runs.iter().filter(|_| !json) {
                say!(
                    "run {} {} by {} at {} (as of {}): {}; {} planned, {} sent; {} error(s), {} warning(s){}",
                    run.id,
                    run.command,
                    run.who,
                    run.started_at,
                    run.run_date,
                    run.outcome.as_deref().unwrap_or("did not finish (crashed or still running)"),
                    run.writes_planned,
                    run.writes_sent,
                    run.errors,
                    run.warnings,
                    if run.allow_mass_changes { "; --allow-mass-changes" } else { "" }
                );
            }
        }),
        History::Issues(run) => store.issues(run).await.map(|issues| {
            if json {
                say!("{}", serde_json::json!(issues));
                return;
            }
            let mut code = String::new();
            for issue in &issues {
                if issue.code != code {
                    code = issue.code.clone();
                    say!("{} ({}):", issue.code, issue.severity);
                }
                say!(
                    "  {}{}",
                    issue.employee_number.as_ref().map(|number| format!("employee {number}: ")).unwrap_or_default(),
                    issue.message
                );
            }
            if issues.is_empty() {
                say!("No issues.");
            }
        }),
        History::Log(employee, run) => store.log(employee, run).await.map(|rows| {
            if json {
                say!("{}", serde_json::json!(rows));
            }
            for row in rows.iter().filter(|_| !json) {
                say!(
                    "{} run {} {} employee {} [{}] {}{}",
                    row.at,
                    row.run_id,
                    row.phase,
                    row.employee_number,
                    row.rule,
                    row.description,
                    row.outcome.as_ref().map(|outcome| format!(" → {outcome}")).unwrap_or_default()
                );
            }
        }),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    }
}

// -------------------------------------------------------------------------------------------------------
// demo and emulate

async fn run_demo(json: bool) -> u8 {
    let company = demo::scenario();
    let today = company.today;
    let config = company.engine_config();
    say!(
        "loket-sync demo: {} employees of {}, as if today were {}.",
        demo::employee_count(&company.loket),
        company.loket.employer.name,
        today
    );
    say!("Starting a local Personio and a local Loket on loopback ports…");
    let local = match scenario_run::start_local(company.personio.clone(), company.loket.clone(), None).await {
        Ok(local) => local,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    say!("  Personio: {}   Loket: {}\n", local.personio_running.url(), local.loket_running.url());
    say!("== 1. check: the configuration against both systems");
    if check_with(&local.connections, &config, today, json, None).await != 0 {
        return 2;
    }
    say!("\n== 2. plan: what a sync would change, per employee, with the rule behind each change");
    let planned = match runner::plan(&local.connections, &config, today, false).await {
        Ok(planned) => planned,
        Err(errors) => {
            for error in &errors {
                eprintln!("configuration error: {error}");
            }
            return 2;
        }
    };
    say!("{}", report::plan_text(&planned.plan, &[]));
    say!("== 3. sync: apply it");
    let before = local.loket.writes();
    let applied = runner::apply(&local.connections, &planned, &config, today, Arc::new(runner::Quiet)).await;
    say!(
        "Applied {} write(s) to Loket ({} failed employee(s)).",
        local.loket.writes() - before,
        applied.failed_employments
    );
    say!("\n== 4. sync again: nothing has changed, so nothing is written");
    let before = local.loket.writes();
    let again = match runner::plan(&local.connections, &config, today, false).await {
        Ok(planned) => planned,
        Err(_) => return 2,
    };
    runner::apply(&local.connections, &again, &config, today, Arc::new(runner::Quiet)).await;
    say!("{} ({} write(s) received by Loket)", report::summary(&again.plan, &[]), local.loket.writes() - before);
    say!("\n== 5. the guard: an import gone wrong lowers a dozen wages in Personio");
    if let Err(error) = local.personio.load(demo::mass_decrease(&local.personio.dump())) {
        eprintln!("error: {error}");
        return 2;
    }
    let risky = match runner::plan(&local.connections, &config, today, false).await {
        Ok(planned) => planned,
        Err(_) => return 2,
    };
    for issue in risky.plan.issues.iter().filter(|issue| issue.code == engine::IssueCode::BlastRadiusExceeded) {
        say!("{}", report::issue_line(issue));
    }
    say!("{}", report::summary(&risky.plan, &[]));
    say!("\nWhat to look at next:");
    say!("  - the issues above: each says what happened and what to do (a salary gap, a USD bonus, a leaver, …);");
    say!("  - `loket-sync emulate` serves this demo company, so you can point a configuration at it;");
    say!("  - `loket-sync init` writes a configuration for your own Personio and Loket;");
    say!("  - `loket-sync scenario run scenarios/*.json` runs the rule scenarios end to end.");
    0
}

async fn emulate(seed: Option<&Path>, personio_port: u16, loket_port: u16) -> u8 {
    let scenario = match seed {
        Some(path) => match scenario::Scenario::load(path) {
            Ok(scenario) => scenario,
            Err(error) => {
                eprintln!("error: {error}");
                return 2;
            }
        },
        None => demo::scenario(),
    };
    let loket = match emulator::LoketEmulator::new(scenario.loket.clone()) {
        Ok(loket) => loket,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let personio = match emulator::PersonioEmulator::new(scenario.personio.clone()) {
        Ok(personio) => personio,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let bind = |port: u16| async move { tokio::net::TcpListener::bind(("127.0.0.1", port)).await };
    let (personio_listener, loket_listener) = match (bind(personio_port).await, bind(loket_port).await) {
        (Ok(personio), Ok(loket)) => (personio, loket),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: cannot listen: {error}; choose other ports with --personio-port and --loket-port");
            return 2;
        }
    };
    let personio_running = match emulator::start_on(personio_listener, personio.router()) {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let loket_running = match emulator::start_on(loket_listener, loket.router()) {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    say!("Personio: {}  (legal entity {})", personio_running.url(), personio.legal_entity_id());
    say!("Loket:    {}/v2  (OAuth at {}/oauth)", loket_running.url(), loket_running.url());
    say!("  employer id:                {}", loket.employer_id());
    say!("  payroll administration id:  {}", loket.administration_id());
    let config = scenario.engine_config();
    say!(
        "  [sync] employee_number_attribute = \"{}\", income_number_attribute = \"{}\"",
        config.employee_number_attribute,
        config.income_number_attribute
    );
    say!(
        "Demo credentials for both: client id {} , secret {}",
        emulator::loket::DEMO_CLIENT_ID,
        emulator::loket::DEMO_CLIENT_SECRET
    );
    say!("Admin: GET/PUT /_emulator/state, GET /_emulator/requests, PUT /_emulator/faults on each port. Ctrl-C stops.");
    let _ = tokio::signal::ctrl_c().await;
    0
}

// -------------------------------------------------------------------------------------------------------
// scenario files

async fn scenario_run_command(files: &[PathBuf], json: bool) -> u8 {
    if files.is_empty() {
        eprintln!("error: name at least one scenario file");
        return 2;
    }
    let mut all_passed = true;
    for file in files {
        match scenario_run::run_file(file).await {
            Ok(result) => {
                all_passed &= result.passed();
                if json {
                    say!("{}", result.to_json());
                } else if result.passed() {
                    say!("PASS {} ({})", file.display(), result.scenario.name);
                } else {
                    say!("FAIL {} ({})", file.display(), result.scenario.name);
                    for failure in &result.failures {
                        say!("  - {failure}");
                    }
                }
            }
            Err(error) => {
                all_passed = false;
                if json {
                    say!(
                        "{}",
                        serde_json::json!({"name": file.display().to_string(), "passed": false, "failures": [error]})
                    );
                } else {
                    say!("FAIL {}: {error}", file.display());
                }
            }
        }
    }
    if all_passed { 0 } else { 1 }
}

fn scenario_check(files: &[PathBuf], json: bool) -> u8 {
    let mut all_passed = true;
    for file in files {
        let result = scenario::Scenario::load(file)
            .and_then(|loaded| scenario::run_in_process(&loaded).map(|outcome| (loaded, outcome)));
        let (loaded, outcome) = match result {
            Ok(pair) => pair,
            Err(error) => {
                eprintln!("error: {error}");
                return 2;
            }
        };
        let failures = scenario::check(&loaded, &outcome);
        all_passed &= failures.is_empty();
        if json {
            say!("{}", serde_json::json!({"name": loaded.name, "passed": failures.is_empty(), "failures": failures}));
        } else if failures.is_empty() {
            say!("PASS {} ({})", file.display(), loaded.name);
        } else {
            say!("FAIL {} ({})", file.display(), loaded.name);
            for failure in failures {
                say!("  - {failure}");
            }
        }
    }
    if all_passed { 0 } else { 1 }
}

fn scenario_plan(file: &Path, json: bool) -> u8 {
    let loaded = match scenario::Scenario::load(file) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let states = loaded.personio.to_state().and_then(|personio| loaded.loket.to_state().map(|loket| (personio, loket)));
    let (personio, loket) = match states {
        Ok(states) => states,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let plan = engine::plan(&personio, &loket, &loaded.engine_config(), loaded.today, false);
    if json {
        say!("{}", report::plan_json(&plan, &[]));
    } else {
        say!("{}", report::plan_text(&plan, &[]));
    }
    report::exit_code(&plan, &[])
}
