//! What plans, issues and results look like: text, JSON for scripts, CSV for the payroll administrator.
//! Nothing here decides anything or prints: the printer (`printer.rs`) writes what these functions make.

use std::fmt::Write as _;

use engine::{Issue, Plan, Severity};

use crate::commands::ExitStatus;
use serde_json::{Value, json};

/// `check`'s survey: the custom attributes of the persons in scope, with the suggestion for
/// `employee_number_attribute`, and Loket's payroll components.
pub fn survey_text(survey: &crate::runner::Survey, config: &engine::Config) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Personio custom attributes of the {} persons in scope (configure them by id: Personio's API sends no labels):",
        survey.persons_in_scope
    );
    if survey.attributes.attributes.is_empty() {
        let _ = writeln!(
            out,
            "  none: give the API credential read access to the custom attributes that hold the Loket employee number and income number"
        );
    }
    for seen in &survey.attributes.attributes {
        let mut names = vec![format!("id {}", seen.id)];
        if !seen.global_id.is_empty() {
            names.push(format!("global id {}", seen.global_id));
        }
        if let Some(label) = &seen.label {
            names.push(format!("label \"{label}\""));
        }
        let suggested = survey.attributes.suggested_employee_number.as_deref() == Some(seen.id.as_str());
        let _ = writeln!(
            out,
            "  {} (type {}): {} with a value, {} equal to a Loket employee number; e.g. {}{}",
            names.join(", "),
            if seen.kind.is_empty() { "?" } else { seen.kind.as_str() },
            seen.persons_with_value,
            seen.equal_to_employee_numbers,
            if seen.samples.is_empty() { "-".to_string() } else { seen.samples.join(", ") },
            if suggested { "  <- suggested for employee_number_attribute" } else { "" }
        );
    }
    for (key, configured, seen) in [
        ("employee_number_attribute", &config.employee_number_attribute, survey.employee_number_attribute_seen),
        ("income_number_attribute", &config.income_number_attribute, survey.income_number_attribute_seen),
    ] {
        let verdict = if seen { "found on persons in scope" } else { "NOT found on any person in scope" };
        let _ = writeln!(out, "  {key} = \"{configured}\": {verdict}");
    }
    if let Some(id) = &survey.attributes.suggested_employee_number
        && !survey.employee_number_attribute_seen
    {
        let _ = writeln!(out, "  suggestion: set employee_number_attribute = \"{id}\" in [sync]");
    }
    let _ = writeln!(out, "\nLoket payroll components of {}:", survey.catalogue_year);
    let _ = writeln!(out, "  key    description     kind       category  recurring mapping");
    for row in &survey.components {
        let kind = match row.kind {
            engine::state::ComponentKind::Payment => "payment",
            engine::state::ComponentKind::Deduction => "deduction",
            engine::state::ComponentKind::None => "none",
        };
        let _ = writeln!(
            out,
            "  {:<6} {:<15} {:<10} {:<9} {}",
            row.key,
            row.description,
            kind,
            row.category,
            if row.recurring_mapping_accepts { "yes" } else { "no (one-time only)" }
        );
    }
    out
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
    rows_csv(&plan.employments, &plan.issues)
}

/// The CSV of `plan_csv` from a plan's employments and issues (a stored plan's, for the dashboard).
pub fn rows_csv(employments: &[engine::EmploymentPlan], issues: &[Issue]) -> String {
    let mut out = String::from("employee_number,name,person,status,rule_or_code,change_or_message\n");
    for employment in employments {
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
    for issue in issues {
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
pub fn exit_status(plan: &Plan, extra_issues: &[Issue]) -> ExitStatus {
    let errors = !plan.config_errors.is_empty()
        || plan.issues.iter().chain(extra_issues).any(|issue| issue.severity == Severity::Error);
    if errors {
        ExitStatus::Error
    } else if plan.n_writes() > 0 {
        ExitStatus::Pending
    } else {
        ExitStatus::Success
    }
}

impl std::fmt::Display for crate::store::RunRow {
    /// A run as `loket-sync runs` lists it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {} {} by {} at {} (as of {}): {}; {} planned, {} sent; {} error(s), {} warning(s){}",
            self.id,
            self.command,
            self.who,
            self.started_at,
            self.run_date,
            self.outcome.as_deref().unwrap_or("did not finish (crashed or still running)"),
            self.writes_planned,
            self.writes_sent,
            self.errors,
            self.warnings,
            if self.allow_mass_changes.0 { "; --allow-mass-changes" } else { "" }
        )
    }
}

impl std::fmt::Display for crate::store::JournalRow {
    /// A journal entry as `loket-sync log` lists it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = self.outcome.as_ref().map(|outcome| format!(" → {outcome}")).unwrap_or_default();
        write!(
            f,
            "{} run {} {} employee {} [{}] {}{outcome}",
            self.at, self.run_id, self.phase, self.employee_number, self.rule, self.description
        )
    }
}
