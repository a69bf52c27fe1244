//! `runs`, `issues`, `log`: the history in the state database.

use super::{Context, ExitStatus, load_settings};
use crate::store::{StateStore, Store as _};

pub enum History {
    Runs(i64),
    Issues(Option<i64>),
    Log(Option<u64>, Option<i64>),
}

pub async fn show(context: &Context<'_>, what: History) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let printer = context.printer;
    if settings.state.url.is_none() && !settings.state.path.exists() {
        printer.line(format!("No runs yet: {} does not exist.", settings.state.path.display()));
        return Ok(ExitStatus::Success);
    }
    let store = StateStore::open_at(&settings.state.location()).await?;
    match what {
        History::Runs(limit) => printer.records(&store.runs(limit).await?),
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
        History::Log(employee, run) => printer.records(&store.log(employee, run).await?),
    }
    Ok(ExitStatus::Success)
}
