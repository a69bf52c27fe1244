//! One module per group of verbs: `setup` (init, connect, check), `sync` (plan, sync), `history` (runs,
//! issues, log), `local` (demo, emulate, scenario). Each command returns `anyhow::Result<ExitStatus>`: an
//! error is printed with its causes by `main`; an outcome that is not an error (changes pending, issues
//! found, a configuration with problems that were listed) is an `ExitStatus`.

mod history;
mod local;
mod serve;
mod setup;
mod sync;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use jiff::civil::Date;

use crate::cli::{Cli, Command, ConnectService, ConnectionsAction, ScenarioAction, UsersAction};
use crate::printer::Printer;
use crate::settings::{self, FieldError, ProcessEnvironment, Settings};

/// The exit codes, named once: 0 in sync (or applied), 1 changes pending (or a scenario failed), 2 errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Pending,
    Error,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Pending => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// What every command may need besides its own flags.
pub struct Context<'a> {
    pub config: &'a Path,
    pub today: Date,
    pub printer: &'a Printer,
}

fn today_in_amsterdam() -> Date {
    jiff::tz::TimeZone::get("Europe/Amsterdam")
        .map(|zone| jiff::Timestamp::now().to_zoned(zone).date())
        .unwrap_or_else(|_| jiff::Zoned::now().date())
}

/// Runs the command the command line names.
pub async fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let fixed_today = cli.today.is_some();
    let today = cli.today.unwrap_or_else(today_in_amsterdam);
    if !(1900..=2200).contains(&today.year()) {
        anyhow::bail!("--today {today} is not a plausible run date; use a date between 1900 and 2200");
    }
    let context = Context { config: &cli.config, today, printer };
    match cli.command {
        Command::Init { force, environment } => setup::init(&context, force, &environment),
        Command::Connect { service: ConnectService::Loket { timeout } } => {
            setup::connect_loket(&context, timeout).await
        }
        Command::Check { offline: true } => setup::check_offline(&context),
        Command::Check { offline: false } => setup::check(&context).await,
        Command::Plan { out, csv, allow_mass_changes } => {
            let options = sync::PlanOptions { out: out.as_deref(), csv: csv.as_deref(), allow_mass_changes };
            sync::plan(&context, options).await
        }
        Command::Sync { yes, allow_mass_changes, plan, crash_after_writes, pause_after_writes } => {
            let options = sync::SyncOptions {
                yes,
                allow_mass_changes,
                saved_plan: plan.as_deref(),
                crash: crate::journal::CrashPoint {
                    exit_after: crash_after_writes,
                    pause_after: pause_after_writes,
                    resume_when: None,
                },
            };
            sync::sync(&context, options).await
        }
        Command::Runs { limit } => history::show(&context, history::History::Runs(limit)).await,
        Command::Issues { run } => history::show(&context, history::History::Issues(run)).await,
        Command::Log { employee, run } => history::show(&context, history::History::Log(employee, run)).await,
        Command::Demo => local::demo(&context).await,
        Command::Emulate { seed, personio_port, loket_port } => {
            local::emulate(&context, seed.as_deref(), personio_port, loket_port).await
        }
        Command::Scenario { action } => match action {
            ScenarioAction::Run { files } => local::scenario_run(&context, &files).await,
            ScenarioAction::Check { files } => local::scenario_check(&context, &files),
            ScenarioAction::Plan { file } => local::scenario_plan(&context, &file),
        },
        Command::Serve {
            listen,
            store,
            secure_cookies,
            public_url,
            smtp_url,
            smtp_from,
            demo,
            no_scheduler,
            tick_seconds,
            runs_at_once,
            pause_after_writes,
            resume_when,
        } => {
            let options = crate::service::api::ApiOptions { secure_cookies, public_url };
            let worker = serve::Worker {
                scheduler: !no_scheduler,
                tick: std::time::Duration::from_secs(tick_seconds),
                runs_at_once: runs_at_once as usize,
                crash: crate::journal::CrashPoint { exit_after: None, pause_after: pause_after_writes, resume_when },
            };
            if demo {
                serve::serve_demo(&context, &listen, options, worker).await
            } else {
                let smtp = smtp_url.zip(smtp_from);
                serve::serve(&context, &listen, &store, fixed_today, options, smtp, worker).await
            }
        }
        Command::Users { action: UsersAction::Add { name, role, admin, store } } => {
            serve::add_user(&context, &name, &role, admin, &store).await
        }
        Command::Connections { action: ConnectionsAction::Import { files, store } } => {
            serve::import(&context, &files, &store).await
        }
    }
}

/// Every problem of a configuration file, as `file:line: field: what to fix` (or JSON on stdout).
fn print_field_errors(printer: &Printer, errors: &[FieldError]) {
    if printer.json() {
        let list: Vec<serde_json::Value> = errors
            .iter()
            .map(|error| serde_json::json!({"file": error.file, "line": error.line, "field": error.field, "message": error.message}))
            .collect();
        printer.value(&serde_json::json!({"config_errors": list}));
    } else {
        printer.note(format!("The configuration has {} problem(s):", errors.len()));
        for error in errors {
            printer.note(format!("  {error}"));
        }
    }
}

/// The settings, or `None` after every problem of the file was printed.
fn load_settings(context: &Context<'_>) -> Option<Settings> {
    match settings::load(context.config, &ProcessEnvironment) {
        Ok(settings) => Some(settings),
        Err(errors) => {
            print_field_errors(context.printer, &errors);
            None
        }
    }
}

/// Configuration errors point into the file.
fn print_config_errors(printer: &Printer, settings: &Settings, errors: &[engine::ConfigError]) {
    let text = std::fs::read_to_string(&settings.path).unwrap_or_default();
    print_field_errors(printer, &settings::locate(&settings.path, &text, errors));
}

/// Writes a file that holds payroll data (a saved plan, a CSV export): readable by its owner only.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    crate::files::write_private(path, contents).with_context(|| format!("cannot write {}", path.display()))
}
