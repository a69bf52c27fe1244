//! `runs`, `issues`, `log`: the history in the state database.

use super::{Context, ExitStatus, load_settings};
use crate::store::{SqliteStore, Store as _};

pub enum History {
    Runs(i64),
    Issues(Option<i64>),
    Log(Option<u64>, Option<i64>),
}

pub async fn show(context: &Context<'_>, what: History) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let printer = context.printer;
    if !settings.state.path.exists() {
        printer.line(format!("No runs yet: {} does not exist.", settings.state.path.display()));
        return Ok(ExitStatus::Success);
    }
    let store = SqliteStore::open(&settings.state.path).await?;
    match what {
        History::Runs(limit) => {
            let runs = store.runs(limit).await?;
            printer.value(&serde_json::json!(runs));
            for run in runs.iter().filter(|_| !printer.json()) {
                printer.line(format!(
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
                ));
            }
        }
        History::Issues(run) => {
            let issues = store.issues(run).await?;
            printer.value(&serde_json::json!(issues));
            if printer.json() {
                return Ok(ExitStatus::Success);
            }
            let mut code = String::new();
            for issue in &issues {
                if issue.code != code {
                    code = issue.code.clone();
                    printer.line(format!("{} ({}):", issue.code, issue.severity));
                }
                printer.line(format!(
                    "  {}{}",
                    issue.employee_number.as_ref().map(|number| format!("employee {number}: ")).unwrap_or_default(),
                    issue.message
                ));
            }
            if issues.is_empty() {
                printer.line("No issues.");
            }
        }
        History::Log(employee, run) => {
            let rows = store.log(employee, run).await?;
            printer.value(&serde_json::json!(rows));
            for row in rows.iter().filter(|_| !printer.json()) {
                printer.line(format!(
                    "{} run {} {} employee {} [{}] {}{}",
                    row.at,
                    row.run_id,
                    row.phase,
                    row.employee_number,
                    row.rule,
                    row.description,
                    row.outcome.as_ref().map(|outcome| format!(" → {outcome}")).unwrap_or_default()
                ));
            }
        }
    }
    Ok(ExitStatus::Success)
}
