//! The two input states at domain level: what the clients (or a scenario file) hand the engine.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::types::{
    Amount, CivilDate, ComponentKey, EmployeeNumber, EmploymentId, Money, PeriodId, PersonId, RecordId, ShortId,
};

// ---------------------------------------------------------------------------------------------------------
// Personio

/// Everything read from Personio for one legal entity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonioState {
    pub compensation_types: Vec<CompensationType>,
    pub persons: Vec<Person>,
    /// Company-wide reads that failed after retries (G5): when any did, the run writes nothing.
    pub failed_reads: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TypeCategory {
    FixedSalary,
    HourlySalary,
    Recurring,
    OneTime,
    /// Any other category Personio reports (its bonus categories are unconfirmed): known, so that mapping
    /// one gets a clear error, and never synced.
    Unsupported,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensationType {
    pub id: String,
    pub name: String,
    pub category: TypeCategory,
    /// A unit that is not money (`km`): such a type is never synced (K7, C4).
    pub unit: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Interval {
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
}

impl Interval {
    pub fn describe(self) -> &'static str {
        match self {
            Interval::Monthly => "monthly",
            Interval::Quarterly => "quarterly",
            Interval::HalfYearly => "half-yearly",
            Interval::Yearly => "yearly",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalaryKind {
    Fixed,
    Hourly,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonioEmployment {
    pub legal_entity: String,
    pub start: Option<CivilDate>,
    pub end: Option<CivilDate>,
    pub status: String,
}

/// One base-salary record of the chain (S2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalaryRecord {
    pub effective_from: CivilDate,
    pub kind: SalaryKind,
    /// `None` for hourly salaries.
    pub interval: Option<Interval>,
    pub amount: Amount,
}

/// One record of a recurring history (R2): in effect from `effective_from` until the next record of the
/// same type; a value of 0 ends the compensation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurringRecord {
    pub type_id: String,
    pub effective_from: CivilDate,
    pub interval: Option<Interval>,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimePayment {
    pub type_id: String,
    pub date: CivilDate,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub first_name: String,
    pub last_name: String,
    /// Custom attributes as Personio's v2 API sends them: by id, global id and, where sent, label (M2).
    pub attributes: Vec<PersonAttribute>,
    pub employments: Vec<PersonioEmployment>,
    pub salaries: Vec<SalaryRecord>,
    pub recurring: Vec<RecurringRecord>,
    pub one_time: Vec<OneTimePayment>,
    /// Why a read of this person's data failed after retries (G5), if one did.
    pub read_failed: Option<String>,
}

/// One custom attribute of a person: `{id, global_id, type, value}`, with a label only where Personio
/// sends one (real answers carry none). `value` is the attribute's value as text: a string as it is, a
/// number in its JSON form, a list as its JSON text (never a whole number).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonAttribute {
    pub id: String,
    #[serde(default)]
    pub global_id: String,
    #[serde(default)]
    pub label: Option<String>,
    /// Personio's `type` as sent (`int`, `STRING`, …), for display only.
    #[serde(default)]
    pub kind: String,
    pub value: String,
}

impl PersonAttribute {
    /// Whether the configured name (an id, a global id or a label) names this attribute (M2): ids and
    /// global ids exactly, labels loosely, and a label only where Personio sent one.
    pub fn is_named(&self, configured: &str) -> bool {
        let configured = configured.trim();
        self.id == configured
            || (!self.global_id.is_empty() && self.global_id == configured)
            || self.label.as_deref().is_some_and(|label| crate::planner::labels_match(label, configured))
    }
}

impl Person {
    /// The configured attribute's value, if the person has it.
    pub fn attribute(&self, configured: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| attribute.is_named(configured))
            .map(|attribute| attribute.value.as_str())
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_string()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Loket

/// Everything read from Loket for one employer and payroll administration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoketState {
    pub calendar: Calendar,
    /// The payroll component catalogue per year.
    pub components: BTreeMap<i16, BTreeMap<ComponentKey, Component>>,
    pub employments: Vec<Employment>,
    /// Company-wide reads that failed after retries (G5): when any did, the run writes nothing.
    pub failed_reads: Vec<String>,
}

impl LoketState {
    pub fn component(&self, year: i16, key: ComponentKey) -> Option<&Component> {
        self.components.get(&year).and_then(|catalogue| catalogue.get(&key))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Payment,
    Deduction,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub key: ComponentKey,
    pub description: String,
    pub category: u16,
    pub kind: ComponentKind,
}

/// The component categories that benefits and deductions accept (K4).
pub const BENEFIT_CATEGORIES: [u16; 7] = [7, 9, 11, 12, 13, 17, 30];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WageKind {
    /// `grossWageType` 1.
    Periodic,
    /// `grossWageType` 2.
    Hourly,
}

/// The values of a wage that the sync owns: its start, its type and its amount.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WageValue {
    pub start: CivilDate,
    pub kind: WageKind,
    pub amount: Money,
}

impl WageValue {
    /// Equal wages: same type and amount; pay scales do not count.
    pub fn same_wage(&self, other: &WageValue) -> bool {
        self.kind == other.kind && self.amount == other.amount
    }

    pub fn describe(&self) -> String {
        match self.kind {
            WageKind::Periodic => format!("{} per period", self.amount),
            WageKind::Hourly => format!("{} per hour", self.amount),
        }
    }
}

/// A Loket wage record (a link of the linked chain; Loket derives its end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wage {
    pub id: RecordId,
    pub value: WageValue,
    pub pay_scale: Option<String>,
    pub pay_grade: Option<String>,
    /// Loket's `isGrossWageFullTime`: true (the default) when the amount is the full-time wage that Loket
    /// scales by the part-time factor itself; false when it is the actual wage. The sync writes full-time
    /// amounts (S4), so a managed wage that is not full-time is rewritten as one.
    #[serde(default = "full_time_default")]
    pub full_time: bool,
}

fn full_time_default() -> bool {
    true
}

/// The values of a benefit or deduction that the sync owns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BenefitValue {
    pub component: ComponentKey,
    pub start: CivilDate,
    pub end: Option<CivilDate>,
    pub value: Money,
}

impl BenefitValue {
    pub fn overlaps(&self, other: &BenefitValue) -> bool {
        let ends_before = |a: &BenefitValue, b: &BenefitValue| a.end.is_some_and(|end| end < b.start);
        !(ends_before(self, other) || ends_before(other, self))
    }

    pub fn in_effect_on(&self, date: CivilDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date <= end)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitOrDeduction {
    pub id: RecordId,
    pub value: BenefitValue,
}

/// The key of a payroll-period-data record: Loket's PATCH upserts on it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeriodDataKey {
    pub period: PeriodId,
    pub shift: u32,
    pub payslip_type: u32,
    pub distribution_unit: Option<ShortId>,
    pub cost_center: Option<String>,
    pub cost_unit: Option<String>,
}

/// A payroll-period-data record ("variable input") with its component values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodData {
    pub id: Option<RecordId>,
    pub key: PeriodDataKey,
    pub values: ComponentValues,
}

/// A record's values by component, sorted and without duplicates. A record holds a handful, and a company
/// holds one record per employee and period, so a sorted vector (one small allocation) takes a fraction of
/// a tree's memory and time. Serialized as a map, like `BTreeMap<ComponentKey, Decimal>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComponentValues(Vec<(ComponentKey, Decimal)>);

impl ComponentValues {
    fn position(&self, key: &ComponentKey) -> Result<usize, usize> {
        self.0.binary_search_by_key(key, |(candidate, _)| *candidate)
    }

    pub fn get(&self, key: &ComponentKey) -> Option<&Decimal> {
        self.position(key).ok().map(|index| &self.0[index].1)
    }

    pub fn contains_key(&self, key: &ComponentKey) -> bool {
        self.position(key).is_ok()
    }

    /// Sets a value; returns the one it replaces.
    pub fn insert(&mut self, key: ComponentKey, value: Decimal) -> Option<Decimal> {
        match self.position(&key) {
            Ok(index) => Some(std::mem::replace(&mut self.0[index].1, value)),
            Err(index) => {
                self.0.insert(index, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &ComponentKey) -> Option<Decimal> {
        self.position(key).ok().map(|index| self.0.remove(index).1)
    }

    pub fn keys(&self) -> impl Iterator<Item = &ComponentKey> + '_ {
        self.0.iter().map(|(key, _)| key)
    }

    /// In component order.
    pub fn iter(&self) -> impl Iterator<Item = (&ComponentKey, &Decimal)> + '_ {
        self.0.iter().map(|(key, value)| (key, value))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Like a map: a later value for the same component replaces an earlier one.
impl FromIterator<(ComponentKey, Decimal)> for ComponentValues {
    fn from_iter<I: IntoIterator<Item = (ComponentKey, Decimal)>>(items: I) -> ComponentValues {
        let mut values: Vec<(ComponentKey, Decimal)> = items.into_iter().collect();
        // Stable: among equal keys the input order stays, so keeping the last keeps the later value.
        values.sort_by_key(|(key, _)| *key);
        let mut unique: Vec<(ComponentKey, Decimal)> = Vec::with_capacity(values.len());
        for (key, value) in values {
            match unique.last_mut() {
                Some(last) if last.0 == key => last.1 = value,
                _ => unique.push((key, value)),
            }
        }
        ComponentValues(unique)
    }
}

impl Serialize for ComponentValues {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}

impl<'de> Deserialize<'de> for ComponentValues {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ComponentValues, D::Error> {
        Ok(BTreeMap::<ComponentKey, Decimal>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employment {
    pub id: EmploymentId,
    pub employee_number: EmployeeNumber,
    pub income_relationship_number: Option<u64>,
    pub name: String,
    pub start: CivilDate,
    pub end: Option<CivilDate>,
    /// The defaults of a PATCH (`…/payrollperioddata/defaults`): they name the record the sync owns (O5).
    pub period_data_defaults: PeriodDataDefaults,
    pub wages: Vec<Wage>,
    pub benefits_and_deductions: Vec<BenefitOrDeduction>,
    pub period_data: Vec<PeriodData>,
    /// Why a read of this employment's records failed after retries (G5), if one did.
    pub read_failed: Option<String>,
}

/// The key fields of an employment's period-data defaults (O5). A field Loket sends as null is at its
/// default here: shift 1 and the normal payslip type (1), no cost centre, no cost unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeriodDataDefaults {
    pub shift: u32,
    pub payslip_type: u32,
    pub distribution_unit: Option<ShortId>,
    pub cost_center: Option<String>,
    pub cost_unit: Option<String>,
}

impl Default for PeriodDataDefaults {
    fn default() -> PeriodDataDefaults {
        PeriodDataDefaults { shift: 1, payslip_type: 1, distribution_unit: None, cost_center: None, cost_unit: None }
    }
}

impl PeriodDataDefaults {
    /// The defaults with only a distribution unit (shift 1, the normal payslip, no cost centre or unit).
    pub fn with_distribution_unit(distribution_unit: Option<ShortId>) -> PeriodDataDefaults {
        PeriodDataDefaults { distribution_unit, ..PeriodDataDefaults::default() }
    }
}

impl Employment {
    /// The record the sync owns in a period (O5): the one the employment's defaults name.
    pub fn owned_key(&self, period: PeriodId) -> PeriodDataKey {
        let defaults = &self.period_data_defaults;
        PeriodDataKey {
            period,
            shift: defaults.shift,
            payslip_type: defaults.payslip_type,
            distribution_unit: defaults.distribution_unit,
            cost_center: defaults.cost_center.clone(),
            cost_unit: defaults.cost_unit.clone(),
        }
    }

    /// Whether a record is the one the sync owns in its period (O5).
    pub fn is_owned(&self, record: &PeriodData) -> bool {
        let (key, defaults) = (&record.key, &self.period_data_defaults);
        key.shift == defaults.shift
            && key.payslip_type == defaults.payslip_type
            && key.distribution_unit == defaults.distribution_unit
            && key.cost_center == defaults.cost_center
            && key.cost_unit == defaults.cost_unit
    }

    /// Whether a record of the period is another record with the owned record's shift and payslip type
    /// (another distribution unit, cost centre or cost unit): O5's `period_data_elsewhere` looks at these.
    pub fn is_beside_owned(&self, record: &PeriodData) -> bool {
        let defaults = &self.period_data_defaults;
        record.key.shift == defaults.shift && record.key.payslip_type == defaults.payslip_type && !self.is_owned(record)
    }

    pub fn owned_record(&self, period: PeriodId) -> Option<&PeriodData> {
        self.period_data.iter().find(|record| record.key.period == period && self.is_owned(record))
    }

    pub fn covers(&self, date: CivilDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date <= end)
    }
}
