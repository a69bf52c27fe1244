//! `plan()`: from both systems' state, the configuration and the run date to the Loket writes and the
//! issues. Pure: no IO, no clock.

mod matching;
mod one_time;
mod recurring;
mod salary;

use std::collections::BTreeSet;

use rust_decimal::Decimal;

pub use matching::{AttributeSeen, AttributeSurvey, label_key, labels_match, whole_number_attribute};
pub use recurring::{MAX_VALUE as MAX_BENEFIT_VALUE, MIN_VALUE as MIN_BENEFIT_VALUE};
pub use salary::{MAX_WAGE, MIN_WAGE, lowers_wage, wage_on};

use crate::calendar::CalendarKind;
use crate::config::{Config, MappingKind, ValidConfig, validate};
use crate::issue::{Issue, IssueCode, Severity};
use crate::plan::{Action, EmploymentPlan, GuardReport, Plan, Withheld, Write};
use crate::state::{Employment, LoketState, Person, PersonioState, WageValue};
use crate::types::{CivilDate, EmployeeNumber, format_date};

/// One matched person and employment, with the window the sync owns: from `max(start date, employment
/// start)` to `min(employment end, horizon)`.
pub(crate) struct Subject<'a> {
    pub person: &'a Person,
    pub employment: &'a Employment,
    pub employee_number: EmployeeNumber,
    pub window_start: CivilDate,
    pub window_end: CivilDate,
}

impl Subject<'_> {
    pub fn error(&self, code: IssueCode, message: String) -> Issue {
        Issue::error(code, message).person(self.person.id, Some(self.employee_number))
    }

    pub fn warning(&self, code: IssueCode, message: String) -> Issue {
        Issue::warning(code, message).person(self.person.id, Some(self.employee_number))
    }
}

/// What one rule family (salary, recurring, one-time) asks for one employment.
#[derive(Default)]
pub(crate) struct Part {
    pub writes: Vec<Write>,
    pub issues: Vec<Issue>,
    /// Warnings that hold only when the writes are actually sent (S10).
    pub if_sent: Vec<Issue>,
}

impl Part {
    pub fn push(&mut self, subject: &Subject, rule: &'static str, action: Action) {
        self.writes.push(Write {
            employment_id: subject.employment.id,
            employee_number: subject.employee_number,
            rule: rule.into(),
            action,
        });
    }
}

struct Outcome<'a> {
    employment: &'a Employment,
    plan: EmploymentPlan,
    issues: Vec<Issue>,
    if_sent: Vec<Issue>,
    window: (CivilDate, CivilDate),
}

/// Plans a run. Deterministic (G4): the same inputs give the same plan, in the same order, whatever the
/// order of the records in the inputs.
pub fn plan(
    personio: &PersonioState,
    loket: &LoketState,
    config: &Config,
    run_date: CivilDate,
    allow_mass_changes: bool,
) -> Plan {
    let mut plan = Plan {
        run_date,
        compensation_start_date: config.compensation_start_date,
        horizon: config.horizon(run_date),
        config_errors: Vec::new(),
        employments: Vec::new(),
        issues: Vec::new(),
        guard: GuardReport::default(),
    };
    // G5: a failed company-wide read means no deletion can be trusted; the run writes nothing. It comes
    // before validation: a mapping is only called wrong after a complete read.
    let failed_reads: Vec<&String> = personio.failed_reads.iter().chain(loket.failed_reads.iter()).collect();
    if !failed_reads.is_empty() {
        let list: Vec<&str> = failed_reads.iter().map(|read| read.as_str()).collect();
        plan.issues.push(Issue::error(
            IssueCode::ReadFailed,
            format!(
                "Nothing was synced because a company-wide read failed: {}. Check the connection and credentials, then sync again.",
                list.join("; ")
            ),
        ));
        return plan;
    }

    let valid = match validate(config, &personio.compensation_types, loket, run_date) {
        Ok(valid) => valid,
        Err(errors) => {
            plan.config_errors = errors;
            return plan;
        }
    };
    plan.issues.extend(valid.warnings.iter().cloned());

    let kind = loket.calendar.kind().unwrap_or(CalendarKind::Month);
    let persons = in_scope_persons(personio, config);
    plan.issues.extend(matching::attribute_not_found(&persons, loket, &config.employee_number_attribute));
    let (matches, match_issues) =
        matching::match_persons(&persons, loket, &config.employee_number_attribute, &config.income_number_attribute);
    let mut person_issues = match_issues;

    let mut outcomes: Vec<Outcome> =
        matches.iter().map(|matched| plan_employment(matched, loket, &valid, kind, run_date)).collect();

    plan.guard = guard(&outcomes, loket, &valid);
    if plan.guard.exceeded {
        if allow_mass_changes {
            plan.guard.overridden = true;
        } else {
            for outcome in &mut outcomes {
                withhold(
                    &mut outcome.plan,
                    IssueCode::BlastRadiusExceeded,
                    "The plan was refused by the mass-change guard.".to_string(),
                );
                outcome.if_sent.clear();
            }
            plan.issues.push(Issue::error(
                IssueCode::BlastRadiusExceeded,
                format!(
                    "Nothing was synced: the plan would delete or end {} of {} managed records and lower the wage of {} of {} employees, affecting {} employees, more than the guard allows (max_delete_fraction {}, max_wage_decrease_fraction {}). Review the plan; if it is right, sync again with --allow-mass-changes.",
                    plan.guard.destructive_writes,
                    plan.guard.managed_records,
                    plan.guard.employees_with_lower_wage,
                    plan.guard.matched_employees,
                    plan.guard.affected_employees,
                    config.max_delete_fraction,
                    config.max_wage_decrease_fraction
                ),
            ));
        }
    }

    for outcome in outcomes {
        person_issues.extend(outcome.issues);
        if !outcome.plan.writes.is_empty() {
            person_issues.extend(outcome.if_sent);
        }
        plan.employments.push(outcome.plan);
    }
    person_issues.sort_by_key(|issue| issue.person);
    plan.issues.extend(person_issues);
    plan
}

/// The persons in scope (M1), in id order, without duplicates.
pub fn in_scope_persons<'a>(personio: &'a PersonioState, config: &Config) -> Vec<&'a Person> {
    let mut persons: Vec<&Person> = personio
        .persons
        .iter()
        .filter(|person| matching::in_scope(person, &config.legal_entity, config.compensation_start_date))
        .collect();
    persons.sort_by_key(|person| person.id);
    persons.dedup_by_key(|person| person.id);
    persons
}

/// The custom attributes of the persons in scope, with how many of their values equal a Loket employee
/// number, and the one to suggest for `employee_number_attribute` (M2; `check` shows it).
pub fn survey_attributes(personio: &PersonioState, loket: &LoketState, config: &Config) -> AttributeSurvey {
    matching::survey_attributes(&in_scope_persons(personio, config), loket)
}

fn plan_employment<'a>(
    matched: &matching::Match<'a>,
    loket: &LoketState,
    valid: &ValidConfig,
    kind: CalendarKind,
    run_date: CivilDate,
) -> Outcome<'a> {
    let config = &valid.config;
    let (person, employment) = (matched.person, matched.employment);
    let window_start = config.compensation_start_date.max(employment.start);
    let window_end = employment.end.map_or(valid.horizon, |end| end.min(valid.horizon));
    let subject = Subject { person, employment, employee_number: matched.employee_number, window_start, window_end };
    let mut employment_plan = EmploymentPlan {
        person: person.id,
        employee_number: matched.employee_number,
        employment_id: employment.id,
        name: if employment.name.is_empty() { person.name() } else { employment.name.clone() },
        writes: Vec::new(),
        withheld: Vec::new(),
        failed: false,
    };
    let mut issues = Vec::new();
    let mut if_sent = Vec::new();

    // G5: never infer a deletion from an incomplete read.
    let read_failure = person.read_failed.as_ref().or(employment.read_failed.as_ref());
    if let Some(reason) = read_failure {
        issues.push(subject.error(
            IssueCode::ReadFailed,
            format!("Nothing was synced for {} because reading their data failed: {reason}. Sync again; if it keeps failing, check the connection and permissions.", employment_plan.name),
        ));
        employment_plan.failed = true;
        return Outcome { employment, plan: employment_plan, issues, if_sent, window: (window_start, window_end) };
    }

    let mut parts = Vec::new();
    if config.salary {
        parts.push(salary::plan(&subject, kind, valid.horizon));
    }
    if config.recurring {
        parts.push(recurring::plan(&subject, valid));
    }
    if config.one_time {
        parts.push(one_time::plan(&subject, loket, valid, config.recurring));
    }
    employment_plan.writes.reserve_exact(parts.iter().map(|part| part.writes.len()).sum());
    for part in parts {
        employment_plan.writes.extend(part.writes);
        issues.extend(part.issues);
        if_sent.extend(part.if_sent);
    }

    let errors: BTreeSet<&'static str> =
        issues.iter().filter(|issue| issue.severity == Severity::Error).map(|issue| issue.code.as_str()).collect();
    if !errors.is_empty() {
        // S5, S6, S3: an employee who fails gets nothing written at all in this run.
        employment_plan.failed = true;
        let first = issues.iter().find(|issue| issue.severity == Severity::Error).map(|issue| issue.code);
        withhold(
            &mut employment_plan,
            first.unwrap_or(IssueCode::SalaryGap),
            format!(
                "Nothing is written for this employee until these errors are fixed: {}.",
                errors.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
        if_sent.clear();
    } else if let Some(end) = employment.end.filter(|end| *end < run_date)
        && !employment_plan.writes.is_empty()
    {
        // E1: a terminated employment gets no writes; the warning lists what was not done.
        let changes: Vec<String> = employment_plan.writes.iter().map(Write::describe).collect();
        issues.push(subject.warning(
            IssueCode::EmploymentTerminated,
            format!(
                "The employment of {} ended on {}, so these changes were not made in Loket: {}. Make them by hand in Loket if they are still needed.",
                employment_plan.name,
                format_date(end),
                changes.join("; ")
            ),
        ));
        withhold(
            &mut employment_plan,
            IssueCode::EmploymentTerminated,
            format!("The employment ended on {}.", format_date(end)),
        );
        if_sent.clear();
    }
    Outcome { employment, plan: employment_plan, issues, if_sent, window: (window_start, window_end) }
}

/// Moves every write of an employment into its withheld list.
fn withhold(plan: &mut EmploymentPlan, reason: IssueCode, explanation: String) {
    if plan.writes.is_empty() {
        return;
    }
    let writes = std::mem::take(&mut plan.writes);
    plan.withheld.push(Withheld { reason, explanation, writes });
}

/// G8: the destructive part of the plan, measured against the managed records.
fn guard(outcomes: &[Outcome], loket: &LoketState, valid: &ValidConfig) -> GuardReport {
    let config = &valid.config;
    let recurring_components = valid.components(MappingKind::Recurring);
    let one_time_components = valid.components(MappingKind::OneTime);
    let mut report = GuardReport { matched_employees: outcomes.len(), ..GuardReport::default() };
    let mut affected = 0;
    for outcome in outcomes {
        let employment = outcome.employment;
        let (start, horizon) = (outcome.window.0, valid.horizon);
        let managed_by_date = |date: CivilDate| date >= start && date <= horizon;
        if config.salary {
            report.managed_records += employment.wages.iter().filter(|wage| managed_by_date(wage.value.start)).count();
        }
        if config.recurring {
            report.managed_records += employment
                .benefits_and_deductions
                .iter()
                .filter(|record| {
                    recurring_components.contains(&record.value.component) && managed_by_date(record.value.start)
                })
                .count();
        }
        if config.one_time {
            report.managed_records += employment
                .period_data
                .iter()
                .filter(|record| {
                    employment.is_owned(record)
                        && loket.calendar.get(record.key.period).is_some_and(|period| {
                            period.start >= config.compensation_start_date && period.end <= horizon
                        })
                })
                .map(|record| record.values.keys().filter(|key| one_time_components.contains(key)).count())
                .sum::<usize>();
        }

        let writes = &outcome.plan.writes;
        let reposted: BTreeSet<CivilDate> = writes
            .iter()
            .filter_map(|write| match &write.action {
                Action::PostWage { after } => Some(after.start),
                _ => None,
            })
            .collect();
        let destructive: usize = writes
            .iter()
            .map(|write| match &write.action {
                Action::DeleteWage { before } if reposted.contains(&before.value.start) => 0,
                Action::PatchPeriodData { changes, .. } => {
                    changes.iter().filter(|change| change.after.is_none()).count()
                }
                _ => usize::from(write.is_destructive()),
            })
            .sum();
        report.destructive_writes += destructive;
        if destructive > 0 {
            report.employees_with_deletes += 1;
        }

        let before: Vec<WageValue> = employment.wages.iter().map(|wage| wage.value.clone()).collect();
        let mut after = before.clone();
        for write in writes {
            match &write.action {
                Action::DeleteWage { before: wage } => after.retain(|value| *value != wage.value),
                Action::PutWage { before: wage, after: value, .. } => {
                    for existing in after.iter_mut().filter(|existing| **existing == wage.value) {
                        *existing = value.clone();
                    }
                }
                Action::PostWage { after: value } => after.push(value.clone()),
                _ => {}
            }
        }
        let lowered = lowers_wage(&before, &after, outcome.window);
        if lowered {
            report.employees_with_lower_wage += 1;
        }
        if lowered || destructive > 0 {
            affected += 1;
        }
    }
    report.affected_employees = affected;
    let fraction = |part: usize, whole: usize| {
        if whole == 0 { Decimal::ZERO } else { Decimal::from(part) / Decimal::from(whole) }
    };
    report.exceeded = affected >= 10
        && (fraction(report.destructive_writes, report.managed_records) > config.max_delete_fraction
            || fraction(report.employees_with_lower_wage, report.matched_employees)
                > config.max_wage_decrease_fraction);
    report
}
