//! User output: one printer for plans, issues and results; `--json` for scripts; CSV for the payroll
//! administrator. Nothing here decides anything.

use std::fmt::Write as _;

use engine::{Issue, Plan, Severity};
use serde_json::{Value, json};

/// Prints a line to stdout; when the reader has gone away (a closed pipe), stops quietly.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

pub fn issue_line(issue: &Issue) -> String {
    let who = match (issue.person, issue.employee_number) {
        (Some(person), Some(number)) => format!(" [person {person}, employee {number}]"),
        (Some(person), None) => format!(" [person {person}]"),
        (None, Some(number)) => format!(" [employee {number}]"),
        (None, None) => String::new(),
    };
    format!("{} {}{who}: {}", issue.severity, issue.code, issue.message)
}

/// The human preview: per employee, each change with its rule; what was withheld and why; the issues.
pub fn plan_text(plan: &Plan, extra_issues: &[Issue]) -> String {
    let mut out = String::new();
    for error in &plan.config_errors {
        let _ = writeln!(out, "configuration error: {error}");
    }
    for employment in &plan.employments {
        if employment.writes.is_empty() && employment.withheld.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{} (employee {}, person {})",
            employment.name, employment.employee_number, employment.person
        );
        for write in &employment.writes {
            let _ = writeln!(out, "  [{}] {}", write.rule, write.describe());
        }
        for withheld in &employment.withheld {
            let _ = writeln!(out, "  withheld ({}): {}", withheld.reason, withheld.explanation);
            for write in &withheld.writes {
                let _ = writeln!(out, "    not sent: [{}] {}", write.rule, write.describe());
            }
        }
    }
    let issues: Vec<&Issue> = plan.issues.iter().chain(extra_issues).collect();
    if !issues.is_empty() {
        let _ = writeln!(out, "\nIssues:");
        for issue in &issues {
            let _ = writeln!(out, "  {}", issue_line(issue));
        }
    }
    let _ = writeln!(out, "\n{}", summary(plan, extra_issues));
    out
}

pub fn summary(plan: &Plan, extra_issues: &[Issue]) -> String {
    let employees = plan.employments.iter().filter(|employment| !employment.writes.is_empty()).count();
    let withheld: usize = plan
        .employments
        .iter()
        .flat_map(|employment| employment.withheld.iter())
        .map(|withheld| withheld.writes.len())
        .sum();
    let count =
        |severity: Severity| plan.issues.iter().chain(extra_issues).filter(|issue| issue.severity == severity).count();
    let mut text = format!(
        "{} change(s) for {employees} employee(s); {withheld} withheld; {} error(s), {} warning(s).",
        plan.n_writes(),
        count(Severity::Error),
        count(Severity::Warning)
    );
    if plan.guard.exceeded && !plan.guard.overridden {
        text.push_str(
            " The mass-change guard refuses this plan; review it and use --allow-mass-changes if it is right.",
        );
    } else if plan.guard.overridden {
        text.push_str(" The mass-change guard was overridden with --allow-mass-changes.");
    }
    text
}

pub fn plan_json(plan: &Plan, extra_issues: &[Issue]) -> Value {
    let mut issues = plan.issues.clone();
    issues.extend(extra_issues.iter().cloned());
    json!({
        "summary": summary(plan, extra_issues),
        "writes": plan.n_writes(),
        "config_errors": plan.config_errors,
        "employments": plan.employments,
        "issues": issues,
        "guard": plan.guard,
    })
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// The plan as CSV: one row per change, withheld change and issue. On a first sync this is the alignment
/// report the article asks the payroll administrator to make by hand.
pub fn plan_csv(plan: &Plan) -> String {
    let mut out = String::from("employee_number,name,person,status,rule_or_code,change_or_message\n");
    for employment in &plan.employments {
        let mut row = |status: &str, rule: &str, text: &str| {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{}",
                employment.employee_number,
                csv_field(&employment.name),
                employment.person,
                status,
                csv_field(rule),
                csv_field(text)
            );
        };
        for write in &employment.writes {
            row("change", &write.rule, &write.describe());
        }
        for withheld in &employment.withheld {
            for write in &withheld.writes {
                row(&format!("withheld: {}", withheld.reason), &write.rule, &write.describe());
            }
        }
    }
    for issue in &plan.issues {
        let _ = writeln!(
            out,
            "{},,{},{},{},{}",
            issue.employee_number.map(|number| number.to_string()).unwrap_or_default(),
            issue.person.map(|person| person.to_string()).unwrap_or_default(),
            issue.severity,
            issue.code,
            csv_field(&issue.message)
        );
    }
    out
}

/// Exit codes: 0 in sync (withheld changes are warnings, not changes), 1 changes pending, 2 any error.
pub fn exit_code(plan: &Plan, extra_issues: &[Issue]) -> u8 {
    let errors = !plan.config_errors.is_empty()
        || plan.issues.iter().chain(extra_issues).any(|issue| issue.severity == Severity::Error);
    if errors {
        2
    } else if plan.n_writes() > 0 {
        1
    } else {
        0
    }
}
