//! The plan: typed Loket writes in a valid order, the issues, and what was withheld and why.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::issue::{Issue, IssueCode, Severity};
use crate::state::{BenefitValue, PeriodDataKey, Wage, WageValue};
use crate::types::{CivilDate, ComponentKey, EmployeeNumber, EmploymentId, PersonId, RecordId, format_date};

/// One change to one component value inside a payroll-period-data PATCH. `after: None` deletes the value
/// (`"value": null` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueChange {
    pub component: ComponentKey,
    pub before: Option<Decimal>,
    pub after: Option<Decimal>,
}

/// What one write does, with the Loket record it targets and the values before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    PostWage {
        after: WageValue,
    },
    /// Loket replaces the record: the client sends the record as read with only these values changed, and
    /// no pay scale.
    PutWage {
        id: RecordId,
        before: Wage,
        after: WageValue,
    },
    DeleteWage {
        before: Wage,
    },
    PostBenefit {
        after: BenefitValue,
    },
    PutBenefit {
        id: RecordId,
        before: BenefitValue,
        after: BenefitValue,
    },
    DeleteBenefit {
        id: RecordId,
        before: BenefitValue,
    },
    /// An upsert of the owned record of one period: only the named components change.
    PatchPeriodData {
        key: PeriodDataKey,
        changes: Vec<ValueChange>,
    },
}

/// One Loket write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub employment_id: EmploymentId,
    pub employee_number: EmployeeNumber,
    /// The rule that asks for it (`S9`, `R6`, …).
    pub rule: Cow<'static, str>,
    #[serde(flatten)]
    pub action: Action,
}

impl Write {
    /// One line for a person: what changes, from what, to what.
    pub fn describe(&self) -> String {
        match &self.action {
            Action::PostWage { after } => {
                format!("add basic wage {} from {}", after.describe(), format_date(after.start))
            }
            Action::PutWage { before, after, .. } => format!(
                "change basic wage from {} to {} from {}",
                before.value.describe(),
                after.describe(),
                format_date(after.start)
            ),
            Action::DeleteWage { before } => {
                format!("delete basic wage {} from {}", before.value.describe(), format_date(before.value.start))
            }
            Action::PostBenefit { after } => format!(
                "add component {} of {} from {}{}",
                after.component,
                after.value,
                format_date(after.start),
                describe_end(after.end)
            ),
            Action::PutBenefit { before, after, .. } if before.value == after.value => format!(
                "set the end of component {} ({} from {}) to {}",
                after.component,
                after.value,
                format_date(after.start),
                after.end.map(format_date).unwrap_or_else(|| "none".to_string())
            ),
            Action::PutBenefit { before, after, .. } => format!(
                "change component {} from {}{} to {}{} (from {})",
                after.component,
                before.value,
                describe_end(before.end),
                after.value,
                describe_end(after.end),
                format_date(after.start)
            ),
            Action::DeleteBenefit { before, .. } => format!(
                "delete component {} of {} from {}{}",
                before.component,
                before.value,
                format_date(before.start),
                describe_end(before.end)
            ),
            Action::PatchPeriodData { key, changes } => {
                let parts: Vec<String> = changes
                    .iter()
                    .map(|change| {
                        format!(
                            "component {} from {} to {}",
                            change.component,
                            describe_value(change.before),
                            describe_value(change.after)
                        )
                    })
                    .collect();
                format!("set variable input of period {}: {}", key.period, parts.join(", "))
            }
        }
    }

    /// Whether this write deletes or ends a managed record, as the blast-radius guard counts (G8).
    /// R6 end dates never count.
    pub fn is_destructive(&self) -> bool {
        match &self.action {
            Action::DeleteWage { .. } | Action::DeleteBenefit { .. } => true,
            Action::PutBenefit { before, after, .. } => self.rule != "R6" && ends_earlier(before.end, after.end),
            Action::PatchPeriodData { changes, .. } => changes.iter().any(|change| change.after.is_none()),
            _ => false,
        }
    }
}

/// Whether `after` ends a record earlier than `before` did (`None` is open-ended).
pub fn ends_earlier(before: Option<CivilDate>, after: Option<CivilDate>) -> bool {
    match (before, after) {
        (None, Some(_)) => true,
        (Some(before), Some(after)) => after < before,
        _ => false,
    }
}

fn describe_end(end: Option<CivilDate>) -> String {
    end.map(|end| format!(" to {}", format_date(end))).unwrap_or_default()
}

fn describe_value(value: Option<Decimal>) -> String {
    value.map(|value| crate::types::Money::round(value).to_string()).unwrap_or_else(|| "nothing".to_string())
}

/// Writes that the plan computed but will not send, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    pub reason: IssueCode,
    pub explanation: String,
    pub writes: Vec<Write>,
}

/// The plan for one matched employment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmploymentPlan {
    pub person: PersonId,
    pub employee_number: EmployeeNumber,
    pub employment_id: EmploymentId,
    pub name: String,
    /// The writes to send, in an order Loket accepts.
    pub writes: Vec<Write>,
    pub withheld: Vec<Withheld>,
    /// An error issue stopped every write for this employee.
    pub failed: bool,
}

/// What the blast-radius guard saw (G8).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardReport {
    pub managed_records: usize,
    pub destructive_writes: usize,
    pub matched_employees: usize,
    pub employees_with_deletes: usize,
    pub employees_with_lower_wage: usize,
    pub affected_employees: usize,
    /// The plan crosses a threshold.
    pub exceeded: bool,
    /// It crossed one and the user allowed it explicitly (`--allow-mass-changes`).
    pub overridden: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub run_date: CivilDate,
    pub compensation_start_date: CivilDate,
    pub horizon: CivilDate,
    /// When not empty, the configuration is invalid: nothing was read or planned (K6).
    pub config_errors: Vec<ConfigError>,
    pub employments: Vec<EmploymentPlan>,
    pub issues: Vec<Issue>,
    pub guard: GuardReport,
}

impl Plan {
    /// Every write to send, employment by employment, each employment's in its own valid order.
    pub fn writes(&self) -> impl Iterator<Item = &Write> {
        self.employments.iter().flat_map(|employment| employment.writes.iter())
    }

    pub fn n_writes(&self) -> usize {
        self.employments.iter().map(|employment| employment.writes.len()).sum()
    }

    pub fn has_errors(&self) -> bool {
        !self.config_errors.is_empty() || self.issues.iter().any(|issue| issue.severity == Severity::Error)
    }
}
