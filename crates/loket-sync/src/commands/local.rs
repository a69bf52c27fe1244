//! The local verbs: `demo`, `emulate`, `scenario run|check|plan`. They need no account: both systems are
//! the local emulators (or the engine alone).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use super::{Context, ExitStatus};
use crate::runner::{self, PlanError};
use crate::{demo, report, scenario_run};

pub async fn demo(context: &Context<'_>) -> anyhow::Result<ExitStatus> {
    let printer = context.printer;
    let company = demo::scenario();
    let today = company.today;
    let config = company.engine_config();
    printer.line(format!(
        "loket-sync demo: {} employees of {}, as if today were {}.",
        demo::employee_count(&company.loket),
        company.loket.employer.name,
        today
    ));
    printer.line("Starting a local Personio and a local Loket on loopback ports…");
    let local = scenario_run::start_local(company.personio.clone(), company.loket.clone(), None).await?;
    printer.line(format!("  Personio: {}   Loket: {}\n", local.personio_running.url(), local.loket_running.url()));
    printer.line("== 1. check: the configuration against both systems");
    let demo_context = Context { today, ..*context };
    if super::setup::check_connections(&demo_context, &local.connections, &config, None).await? != ExitStatus::Success {
        return Ok(ExitStatus::Error);
    }
    printer.line("\n== 2. plan: what a sync would change, per employee, with the rule behind each change");
    let plan = |allow: bool| {
        let (connections, config) = (&local.connections, &config);
        async move {
            match runner::plan(connections, config, today, allow).await {
                Ok(planned) => Ok(planned),
                Err(PlanError::Config(errors)) => {
                    for error in &errors {
                        printer.note(format!("configuration error: {error}"));
                    }
                    Err(anyhow::anyhow!("the demo configuration was refused"))
                }
                Err(error) => Err(error.into()),
            }
        }
    };
    let planned = plan(false).await?;
    printer.line(report::plan_text(&planned.plan, &[]));
    printer.line("== 3. sync: apply it");
    let before = local.loket.writes();
    let applied = runner::apply(&local.connections, &planned, &config, today, Arc::new(runner::Quiet)).await;
    printer.line(format!(
        "Applied {} write(s) to Loket ({} failed employee(s)).",
        local.loket.writes() - before,
        applied.failed_employments
    ));
    printer.line("\n== 4. sync again: nothing has changed, so nothing is written");
    let before = local.loket.writes();
    let again = plan(false).await?;
    runner::apply(&local.connections, &again, &config, today, Arc::new(runner::Quiet)).await;
    printer.line(format!(
        "{} ({} write(s) received by Loket)",
        report::summary(&again.plan, &[]),
        local.loket.writes() - before
    ));
    printer.line("\n== 5. the guard: an import gone wrong lowers a dozen wages in Personio");
    local.personio.load(demo::mass_decrease(&local.personio.dump())).map_err(anyhow::Error::msg)?;
    let risky = plan(false).await?;
    for issue in risky.plan.issues.iter().filter(|issue| issue.code == engine::IssueCode::BlastRadiusExceeded) {
        printer.line(report::issue_line(issue));
    }
    printer.line(report::summary(&risky.plan, &[]));
    printer.line("\nWhat to look at next:");
    printer
        .line("  - the issues above: each says what happened and what to do (a salary gap, a USD bonus, a leaver, …);");
    printer.line("  - `loket-sync emulate` serves this demo company, so you can point a configuration at it;");
    printer.line("  - `loket-sync init` writes a configuration for your own Personio and Loket;");
    printer.line("  - `loket-sync scenario run scenarios/*.json` runs the rule scenarios end to end.");
    Ok(ExitStatus::Success)
}

pub async fn emulate(
    context: &Context<'_>,
    seed: Option<&Path>,
    personio_port: u16,
    loket_port: u16,
) -> anyhow::Result<ExitStatus> {
    let printer = context.printer;
    let scenario = match seed {
        Some(path) => scenario::Scenario::load(path)?,
        None => demo::scenario(),
    };
    let loket = emulator::LoketEmulator::new(scenario.loket.clone()).context("the Loket section cannot be served")?;
    let personio = emulator::PersonioEmulator::new(scenario.personio.clone())
        .map_err(anyhow::Error::msg)
        .context("the Personio section cannot be served")?;
    let bind = |port: u16| async move { tokio::net::TcpListener::bind(("127.0.0.1", port)).await };
    let (personio_listener, loket_listener) = match (bind(personio_port).await, bind(loket_port).await) {
        (Ok(personio), Ok(loket)) => (personio, loket),
        (Err(error), _) | (_, Err(error)) => {
            return Err(anyhow::Error::new(error)
                .context("cannot listen; choose other ports with --personio-port and --loket-port"));
        }
    };
    let personio_running = emulator::start_on(personio_listener, personio.router())?;
    let loket_running = emulator::start_on(loket_listener, loket.router())?;
    printer.line(format!("Personio: {}  (legal entity {})", personio_running.url(), personio.legal_entity_id()));
    printer.line(format!("Loket:    {}/v2  (OAuth at {}/oauth)", loket_running.url(), loket_running.url()));
    printer.line(format!("  employer id:                {}", loket.employer_id()));
    printer.line(format!("  payroll administration id:  {}", loket.administration_id()));
    let config = scenario.engine_config();
    printer.line(format!(
        "  [sync] employee_number_attribute = \"{}\", income_number_attribute = \"{}\"",
        config.employee_number_attribute, config.income_number_attribute
    ));
    printer.line(format!(
        "Demo credentials for both: client id {} , secret {}",
        emulator::loket::DEMO_CLIENT_ID,
        emulator::loket::DEMO_CLIENT_SECRET
    ));
    printer.line(
        "Admin: GET/PUT /_emulator/state, GET /_emulator/requests, PUT /_emulator/faults on each port. Ctrl-C stops.",
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitStatus::Success)
}

/// Each file end to end through both emulators: PASS or FAIL per file; exit 1 when one failed.
pub async fn scenario_run(context: &Context<'_>, files: &[PathBuf]) -> anyhow::Result<ExitStatus> {
    let printer = context.printer;
    if files.is_empty() {
        anyhow::bail!("name at least one scenario file");
    }
    let mut all_passed = true;
    for file in files {
        match scenario_run::run_file(file).await {
            Ok(result) => {
                all_passed &= result.passed();
                printer.value(&result.to_json());
                if result.passed() {
                    printer.text(format!("PASS {} ({})", file.display(), result.scenario.name));
                } else {
                    printer.text(format!("FAIL {} ({})", file.display(), result.scenario.name));
                    for failure in &result.failures {
                        printer.text(format!("  - {failure}"));
                    }
                }
            }
            Err(error) => {
                all_passed = false;
                let error = format!("{error:#}");
                printer.value(
                    &serde_json::json!({"name": file.display().to_string(), "passed": false, "failures": [error]}),
                );
                printer.text(format!("FAIL {}: {error}", file.display()));
            }
        }
    }
    Ok(if all_passed { ExitStatus::Success } else { ExitStatus::Pending })
}

/// Each file in-process, through the engine and its model of Loket.
pub fn scenario_check(context: &Context<'_>, files: &[PathBuf]) -> anyhow::Result<ExitStatus> {
    let printer = context.printer;
    let mut all_passed = true;
    for file in files {
        let loaded = scenario::Scenario::load(file)?;
        let outcome = scenario::run_in_process(&loaded)?;
        let failures = scenario::check(&loaded, &outcome);
        all_passed &= failures.is_empty();
        printer.value(&serde_json::json!({"name": loaded.name, "passed": failures.is_empty(), "failures": failures}));
        if failures.is_empty() {
            printer.text(format!("PASS {} ({})", file.display(), loaded.name));
        } else {
            printer.text(format!("FAIL {} ({})", file.display(), loaded.name));
            for failure in failures {
                printer.text(format!("  - {failure}"));
            }
        }
    }
    Ok(if all_passed { ExitStatus::Success } else { ExitStatus::Pending })
}

/// The plan of a file's first sync, in-process.
pub fn scenario_plan(context: &Context<'_>, file: &Path) -> anyhow::Result<ExitStatus> {
    let loaded = scenario::Scenario::load(file)?;
    let personio = loaded.personio.to_state()?;
    let loket = loaded.loket.to_state()?;
    let plan = engine::plan(&personio, &loket, &loaded.engine_config(), loaded.today, false);
    context.printer.value(&report::plan_json(&plan, &[]));
    context.printer.text(report::plan_text(&plan, &[]));
    Ok(report::exit_status(&plan, &[]))
}
