//! The loket-sync engine: every rule of docs/SYNC-RULES.md as a pure function.
//!
//! `plan(personio, loket, config, run_date, allow_mass_changes)` takes the state of both systems at
//! domain level, the configuration and the run date, and returns the exact Loket writes (in an order Loket
//! accepts), the issues to report and what was withheld and why. It does no IO, reads no clock and does
//! not allocate anything it does not return, so every rule is tested here in milliseconds.
//!
//! `model::apply` is a model of Loket's own rules: the tests apply plans with it to prove that Loket would
//! accept them and that a second plan writes nothing (G3).

pub mod calendar;
pub mod config;
pub mod errors;
pub mod exact;
pub mod issue;
pub mod model;
pub mod plan;
mod planner;
pub mod state;
pub mod types;

pub use calendar::{Calendar, CalendarKind, Period};
pub use config::{Config, ConfigError, ConfigField, Mapping, ValidConfig, validate};
pub use issue::{Issue, IssueCode, Severity};
pub use model::{Rejection, apply};
pub use plan::{Action, EmploymentPlan, GuardReport, Plan, ValueChange, Withheld, Write};
pub use planner::{
    AttributeSeen, AttributeSurvey, in_scope_persons, label_key, labels_match, lowers_wage, plan, survey_attributes,
    wage_on, whole_number_attribute,
};
pub use types::{
    Amount, CivilDate, ComponentKey, Currency, EmployeeNumber, EmploymentId, Money, PeriodId, PersonId, RecordId,
    ShortId, Unit,
};
