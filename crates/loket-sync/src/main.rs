//! The loket-sync binary. This first version runs the engine on scenario files, in-process:
//!
//! - `loket-sync scenario check FILE... [--json]`: plans, applies to the Loket model, plans again, and
//!   compares with each file's `expect`; exit 0 when all pass, 1 otherwise, 2 on unreadable input.
//! - `loket-sync scenario plan FILE [--json]`: shows the plan of the file's first sync: every write with
//!   its rule, what was withheld and why, and the issues.
//!
//! The commands that talk to Personio and Loket (`check`, `plan`, `sync`, `demo`, `emulate`, `scenario
//! run`) arrive with the API clients and emulators.

use std::path::PathBuf;
use std::process::ExitCode;

/// Prints a line to stdout; when the reader has gone away (a closed pipe), stops quietly instead of
/// panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

const USAGE: &str = "usage:
  loket-sync scenario check FILE... [--json]   run scenario files in-process and compare with `expect`
  loket-sync scenario plan FILE [--json]       show the plan of a scenario file's first sync
  loket-sync --version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|arg| arg == "--json");
    let words: Vec<&str> = args.iter().map(String::as_str).filter(|arg| *arg != "--json").collect();
    match words.as_slice() {
        ["--version"] | ["-V"] => {
            say!("loket-sync {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        ["--help"] | ["-h"] | ["help"] => {
            say!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["scenario", "check", files @ ..] if !files.is_empty() => check(files, json),
        ["scenario", "plan", file] => show_plan(file, json),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn check(files: &[&str], json: bool) -> ExitCode {
    let mut all_passed = true;
    for file in files {
        let path = PathBuf::from(file);
        let result = scenario::Scenario::load(&path)
            .and_then(|loaded| scenario::run_in_process(&loaded).map(|outcome| (loaded, outcome)));
        let (loaded, outcome) = match result {
            Ok(pair) => pair,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        };
        let failures = scenario::check(&loaded, &outcome);
        all_passed &= failures.is_empty();
        if json {
            let line = serde_json::json!({
                "name": loaded.name,
                "passed": failures.is_empty(),
                "failures": failures,
                "config_errors": outcome.config_errors.iter().map(|(field, message)| serde_json::json!({"field": field, "message": message})).collect::<Vec<_>>(),
                "runs": if outcome.config_errors.is_empty() {
                    serde_json::json!([
                        {"writes": outcome.first_run_writes, "issues": outcome.first_run_issues},
                        {"writes": outcome.second_run_writes}
                    ])
                } else {
                    serde_json::json!([])
                },
                "loket": {"employments": outcome.loket},
            });
            say!("{line}");
        } else if failures.is_empty() {
            say!("PASS {} ({})", file, loaded.name);
        } else {
            say!("FAIL {} ({})", file, loaded.name);
            for failure in failures {
                say!("  - {failure}");
            }
        }
    }
    if all_passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn show_plan(file: &str, json: bool) -> ExitCode {
    let loaded = match scenario::Scenario::load(&PathBuf::from(file)) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let states = loaded.personio.to_state().and_then(|personio| loaded.loket.to_state().map(|loket| (personio, loket)));
    let (personio, loket) = match states {
        Ok(states) => states,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let plan = engine::plan(&personio, &loket, &loaded.engine_config(), loaded.today, false);
    if json {
        say!("{}", serde_json::to_string_pretty(&plan).unwrap_or_default());
    } else {
        for error in &plan.config_errors {
            say!("configuration error: {error}");
        }
        for employment in &plan.employments {
            say!("{} (employee {})", employment.name, employment.employee_number);
            for write in &employment.writes {
                say!("  [{}] {}", write.rule, write.describe());
            }
            for withheld in &employment.withheld {
                say!("  withheld ({}): {}", withheld.reason, withheld.explanation);
                for write in &withheld.writes {
                    say!("    not sent: [{}] {}", write.rule, write.describe());
                }
            }
        }
        for issue in &plan.issues {
            let who = issue.person.map(|person| format!(" person {person}")).unwrap_or_default();
            say!("{} {}{}: {}", issue.severity, issue.code, who, issue.message);
        }
        say!("{} writes", plan.n_writes());
    }
    if plan.has_errors() {
        ExitCode::from(2)
    } else if plan.n_writes() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
