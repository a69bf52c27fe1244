//! Issues: what the run reports to the payroll administrator. Codes are public interface: keep them stable.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::{CivilDate, ComponentKey, EmployeeNumber, PeriodId, PersonId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCode {
    SalaryGap,
    UnsupportedInterval,
    CurrencyNotEur,
    CurrencyMixedPeriod,
    NonMonetary,
    NoComponentForSign,
    ValueOutOfRange,
    NoPayrollPeriod,
    PeriodClosed,
    EmploymentTerminated,
    EmployeeNumberMissing,
    EmploymentNotFound,
    EmploymentAmbiguous,
    SalaryScaleOverwritten,
    WageAfterHorizon,
    ReadFailed,
    BlastRadiusExceeded,
    /// R10: a record starts in a year Loket has not opened.
    YearNotOpen,
    /// O5: another record of the period holds a one-time-mapped value.
    PeriodDataElsewhere,
    /// M2: not one in-scope person has a value for the configured employee-number attribute.
    AttributeNotFound,
    /// S4: a managed Loket wage was entered as the actual (part-time) wage and is rewritten as full-time.
    WageNotFullTime,
    /// Not a planning rule: Loket refused a write while the plan was applied (the runner reports it).
    WriteFailed,
    /// Not a planning rule: Loket accepted the writes, but reading the employment back shows changes still
    /// to make (the runner reports it; the next sync tries again).
    WriteUnconfirmed,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::SalaryGap => "salary_gap",
            IssueCode::UnsupportedInterval => "unsupported_interval",
            IssueCode::CurrencyNotEur => "currency_not_eur",
            IssueCode::CurrencyMixedPeriod => "currency_mixed_period",
            IssueCode::NonMonetary => "non_monetary",
            IssueCode::NoComponentForSign => "no_component_for_sign",
            IssueCode::ValueOutOfRange => "value_out_of_range",
            IssueCode::NoPayrollPeriod => "no_payroll_period",
            IssueCode::PeriodClosed => "period_closed",
            IssueCode::EmploymentTerminated => "employment_terminated",
            IssueCode::EmployeeNumberMissing => "employee_number_missing",
            IssueCode::EmploymentNotFound => "employment_not_found",
            IssueCode::EmploymentAmbiguous => "employment_ambiguous",
            IssueCode::SalaryScaleOverwritten => "salary_scale_overwritten",
            IssueCode::WageAfterHorizon => "wage_after_horizon",
            IssueCode::ReadFailed => "read_failed",
            IssueCode::BlastRadiusExceeded => "blast_radius_exceeded",
            IssueCode::YearNotOpen => "year_not_open",
            IssueCode::PeriodDataElsewhere => "period_data_elsewhere",
            IssueCode::AttributeNotFound => "attribute_not_found",
            IssueCode::WageNotFullTime => "wage_not_full_time",
            IssueCode::WriteFailed => "write_failed",
            IssueCode::WriteUnconfirmed => "write_unconfirmed",
        }
    }
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something the user must fix before this employee (or run) can sync; nothing was written for it.
    Error,
    /// By design something was skipped, withheld or not written; everything else was synced.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub start: CivilDate,
    pub end: CivilDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub code: IssueCode,
    pub severity: Severity,
    /// The Personio person; `None` for run-level and configuration issues.
    pub person: Option<PersonId>,
    pub employee_number: Option<EmployeeNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentKey>,
    /// One English sentence (or two) that says what happened and what to do.
    pub message: String,
}

impl Issue {
    pub fn new(code: IssueCode, severity: Severity, message: impl Into<String>) -> Issue {
        Issue {
            code,
            severity,
            person: None,
            employee_number: None,
            period: None,
            date_range: None,
            component: None,
            message: message.into(),
        }
    }

    pub fn error(code: IssueCode, message: impl Into<String>) -> Issue {
        Issue::new(code, Severity::Error, message)
    }

    pub fn warning(code: IssueCode, message: impl Into<String>) -> Issue {
        Issue::new(code, Severity::Warning, message)
    }

    pub fn person(mut self, person: PersonId, employee_number: Option<EmployeeNumber>) -> Issue {
        self.person = Some(person);
        self.employee_number = employee_number;
        self
    }

    pub fn period(mut self, period: PeriodId) -> Issue {
        self.period = Some(period);
        self
    }

    pub fn range(mut self, start: CivilDate, end: CivilDate) -> Issue {
        self.date_range = Some(DateRange { start, end });
        self
    }

    pub fn component(mut self, component: ComponentKey) -> Issue {
        self.component = Some(component);
        self
    }
}
