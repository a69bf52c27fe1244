//! The configuration model and its validation (K rules). Validation needs Personio's compensation types
//! and Loket's periods and component catalogue, nothing about employees, so a runner validates before it
//! reads any employee data (K6).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::issue::{Issue, IssueCode};
use crate::state::{BENEFIT_CATEGORIES, CompensationType, ComponentKind, LoketState, TypeCategory};
use crate::types::{CivilDate, ComponentKey, end_of_month_after, format_date};

pub const DEFAULT_EMPLOYEE_NUMBER_ATTRIBUTE: &str = "Employee number – Loket";
pub const DEFAULT_INCOME_NUMBER_ATTRIBUTE: &str = "Income number";
pub const DEFAULT_HORIZON_MONTHS: u32 = 12;
/// The longest horizon accepted: five years ahead is already far beyond any payroll planning.
pub const MAX_HORIZON_MONTHS: u32 = 60;

/// One mapping of a Personio compensation type to Loket components (K4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// A Personio compensation type, by id or exact name.
    pub personio_type: String,
    pub benefit_component: Option<ComponentKey>,
    pub deduction_component: Option<ComponentKey>,
}

/// The sync's configuration as the user wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The Personio legal entity (K1). Persons employed elsewhere are out of scope (M1).
    pub legal_entity: String,
    pub compensation_start_date: CivilDate,
    pub salary: bool,
    pub recurring: bool,
    pub one_time: bool,
    pub horizon_months: u32,
    pub mappings: Vec<Mapping>,
    pub employee_number_attribute: String,
    pub income_number_attribute: String,
    pub max_delete_fraction: Decimal,
    pub max_wage_decrease_fraction: Decimal,
}

impl Config {
    /// A configuration with every switch off (K3) and the documented defaults.
    pub fn new(legal_entity: impl Into<String>, compensation_start_date: CivilDate) -> Config {
        Config {
            legal_entity: legal_entity.into(),
            compensation_start_date,
            salary: false,
            recurring: false,
            one_time: false,
            horizon_months: DEFAULT_HORIZON_MONTHS,
            mappings: Vec::new(),
            employee_number_attribute: DEFAULT_EMPLOYEE_NUMBER_ATTRIBUTE.to_string(),
            income_number_attribute: DEFAULT_INCOME_NUMBER_ATTRIBUTE.to_string(),
            max_delete_fraction: Decimal::new(25, 2),
            max_wage_decrease_fraction: Decimal::new(25, 2),
        }
    }

    /// The last day of the month `horizon_months` after the run date.
    pub fn horizon(&self, run_date: CivilDate) -> CivilDate {
        end_of_month_after(run_date, self.horizon_months)
    }
}

/// The configuration field an error is about, typed, so that the binary finds it in the file without
/// parsing a name back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigField {
    LegalEntity,
    CompensationStartDate,
    HorizonMonths,
    MaxDeleteFraction,
    MaxWageDecreaseFraction,
    /// A key of the `index`-th mapping (`personio_type`, `benefit_component`, `deduction_component`).
    Mapping {
        index: usize,
        key: String,
    },
}

impl ConfigField {
    /// The configuration section the field is in: `personio`, `sync`, `guard` or `mappings`, and which
    /// occurrence of it (mappings are a list).
    pub fn section(&self) -> (&'static str, usize) {
        match self {
            ConfigField::LegalEntity => ("personio", 0),
            ConfigField::CompensationStartDate | ConfigField::HorizonMonths => ("sync", 0),
            ConfigField::MaxDeleteFraction | ConfigField::MaxWageDecreaseFraction => ("guard", 0),
            ConfigField::Mapping { index, .. } => ("mappings", *index),
        }
    }

    /// The key inside its section.
    pub fn key(&self) -> &str {
        match self {
            ConfigField::LegalEntity => "legal_entity",
            ConfigField::CompensationStartDate => "compensation_start_date",
            ConfigField::HorizonMonths => "horizon_months",
            ConfigField::MaxDeleteFraction => "max_delete_fraction",
            ConfigField::MaxWageDecreaseFraction => "max_wage_decrease_fraction",
            ConfigField::Mapping { key, .. } => key,
        }
    }
}

impl std::fmt::Display for ConfigField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigField::Mapping { index, key } => write!(f, "mappings[{index}].{key}"),
            other => f.write_str(other.key()),
        }
    }
}

/// One configuration error, naming the field to fix (`field` is `location` as text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigError {
    pub field: String,
    pub location: ConfigField,
    pub message: String,
}

impl ConfigError {
    fn new(location: ConfigField, message: impl Into<String>) -> ConfigError {
        ConfigError { field: location.to_string(), location, message: message.into() }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingKind {
    Recurring,
    OneTime,
}

/// A mapping resolved against Personio's types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedMapping {
    pub type_id: String,
    pub type_name: String,
    pub kind: MappingKind,
    pub benefit_component: Option<ComponentKey>,
    pub deduction_component: Option<ComponentKey>,
    /// The type is counted in a unit that is not money: accepted, never synced (K7).
    pub non_monetary: bool,
}

impl ResolvedMapping {
    /// The component a value of this sign goes to (R3): positive to the benefit side, negative to the
    /// deduction side.
    pub fn component_for(&self, negative: bool) -> Option<ComponentKey> {
        if negative { self.deduction_component } else { self.benefit_component }
    }
}

/// A configuration checked against both systems: what `plan` works from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidConfig {
    pub config: Config,
    pub horizon: CivilDate,
    pub mappings: Vec<ResolvedMapping>,
    /// Configuration warnings (K7), reported with every run.
    pub warnings: Vec<Issue>,
    /// The components recurring mappings target: the benefits and deductions the sync owns.
    pub recurring_components: BTreeSet<ComponentKey>,
    /// The components one-time mappings target: the period-data values the sync owns.
    pub one_time_components: BTreeSet<ComponentKey>,
    /// The years Loket has opened: it has payroll periods, and so a component catalogue, for them (R10).
    pub open_years: BTreeSet<i16>,
}

impl ValidConfig {
    /// Whether Loket has opened the year of `date` (R10).
    pub fn year_open(&self, date: CivilDate) -> bool {
        self.open_years.contains(&date.year())
    }
}

impl ValidConfig {
    pub fn mapping_for(&self, type_id: &str, kind: MappingKind) -> Option<&ResolvedMapping> {
        self.mappings.iter().find(|mapping| mapping.kind == kind && mapping.type_id == type_id)
    }

    /// The components that recurring (or one-time) mappings target: the ones the sync owns.
    pub fn components(&self, kind: MappingKind) -> &BTreeSet<ComponentKey> {
        match kind {
            MappingKind::Recurring => &self.recurring_components,
            MappingKind::OneTime => &self.one_time_components,
        }
    }
}

/// Checks the configuration against Personio's compensation types and Loket's calendar and catalogue.
/// Every error is returned at once (K6), each naming its field.
pub fn validate(
    config: &Config,
    types: &[CompensationType],
    loket: &LoketState,
    run_date: CivilDate,
) -> Result<ValidConfig, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let csd = config.compensation_start_date;

    if config.legal_entity.trim().is_empty() {
        errors.push(ConfigError::new(ConfigField::LegalEntity, "Name the Personio legal entity to sync (its id)."));
    }
    if config.horizon_months > MAX_HORIZON_MONTHS {
        errors.push(ConfigError::new(
            ConfigField::HorizonMonths,
            format!("{} months is too far ahead; use at most {MAX_HORIZON_MONTHS}.", config.horizon_months),
        ));
    }
    for (field, value) in [
        (ConfigField::MaxDeleteFraction, config.max_delete_fraction),
        (ConfigField::MaxWageDecreaseFraction, config.max_wage_decrease_fraction),
    ] {
        if value < Decimal::ZERO || value > Decimal::ONE {
            errors.push(ConfigError::new(
                field,
                format!("{value} is not a fraction: use a number from 0 to 1, such as 0.25."),
            ));
        }
    }

    // K2: the start date must be the first day of a Loket payroll period.
    match loket.calendar.containing(csd) {
        Some(period) if period.start == csd => {}
        Some(period) => errors.push(ConfigError::new(
            ConfigField::CompensationStartDate,
            format!(
                "{} is not the first day of a Loket payroll period: it falls in period {}, which starts on {}. Use {} (or the start of a later period).",
                format_date(csd),
                period.id,
                format_date(period.start),
                period.start
            ),
        )),
        None if loket.calendar.years().contains(&(csd.year())) => errors.push(ConfigError::new(
            ConfigField::CompensationStartDate,
            format!("{} lies in no Loket payroll period; use the first day of a period.", format_date(csd)),
        )),
        None => errors.push(ConfigError::new(
            ConfigField::CompensationStartDate,
            format!(
                "Loket has no payroll periods in {} for this payroll administration; choose a start date in a year that has periods.",
                csd.year()
            ),
        )),
    }

    // K4: the years whose catalogue a mapped component must be in.
    let horizon = config.horizon(run_date);
    let years: Vec<i16> =
        loket.calendar.years().into_iter().filter(|year| *year >= csd.year() && *year <= horizon.year()).collect();

    let mut mappings = Vec::new();
    let mut seen_types: BTreeMap<String, usize> = BTreeMap::new();
    let mut component_kinds: BTreeMap<ComponentKey, (MappingKind, usize)> = BTreeMap::new();
    for (index, mapping) in config.mappings.iter().enumerate() {
        let field = |name: &str| ConfigField::Mapping { index, key: name.to_string() };
        if mapping.benefit_component.is_none() && mapping.deduction_component.is_none() {
            errors.push(ConfigError::new(
                field("benefit_component"),
                format!(
                    "The mapping of `{}` names no component: give a benefit_component, a deduction_component or both.",
                    mapping.personio_type
                ),
            ));
        }
        let wanted = mapping.personio_type.trim();
        let found = types
            .iter()
            .find(|candidate| candidate.id == wanted)
            .or_else(|| types.iter().find(|candidate| candidate.name == wanted));
        let Some(compensation_type) = found else {
            let known: Vec<&str> = types
                .iter()
                .filter(|candidate| matches!(candidate.category, TypeCategory::Recurring | TypeCategory::OneTime))
                .map(|candidate| candidate.name.as_str())
                .collect();
            errors.push(ConfigError::new(
                field("personio_type"),
                format!(
                    "Personio has no compensation type `{}` (by id or exact name). Known recurring and one-time types: {}.",
                    mapping.personio_type,
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            ));
            continue;
        };
        let kind = match compensation_type.category {
            TypeCategory::Recurring => MappingKind::Recurring,
            TypeCategory::OneTime => MappingKind::OneTime,
            TypeCategory::FixedSalary | TypeCategory::HourlySalary => {
                errors.push(ConfigError::new(
                    field("personio_type"),
                    format!(
                        "`{}` is a salary type: salary needs no mapping (it always goes to the basic wage); remove this mapping and turn on `salary`.",
                        compensation_type.name
                    ),
                ));
                continue;
            }
            TypeCategory::Unsupported => {
                errors.push(ConfigError::new(
                    field("personio_type"),
                    format!(
                        "`{}` is a Personio compensation type of a category the sync does not handle: only recurring and one-time types can be mapped. Remove this mapping, or record these payments under a recurring or one-time type in Personio.",
                        compensation_type.name
                    ),
                ));
                continue;
            }
        };
        if let Some(first) = seen_types.insert(compensation_type.id.clone(), index) {
            errors.push(ConfigError::new(
                field("personio_type"),
                format!("`{}` is already mapped by mappings[{first}]; map each type once.", compensation_type.name),
            ));
            continue;
        }
        for (side, component, wanted_kind) in [
            ("benefit_component", mapping.benefit_component, ComponentKind::Payment),
            ("deduction_component", mapping.deduction_component, ComponentKind::Deduction),
        ] {
            let Some(key) = component else { continue };
            let missing: Vec<String> = years
                .iter()
                .filter(|year| loket.component(**year, key).is_none())
                .map(|year| year.to_string())
                .collect();
            if !missing.is_empty() {
                errors.push(ConfigError::new(
                    field(side),
                    format!(
                        "Loket has no payroll component {key} in {} for this payroll administration.",
                        missing.join(", ")
                    ),
                ));
            }
            // One error per problem, naming the first year it occurs in.
            let found = years.iter().find_map(|year| loket.component(*year, key).map(|found| (*year, found)));
            let wrong_kind = years.iter().find_map(|year| {
                loket.component(*year, key).filter(|found| found.kind != wanted_kind).map(|found| (*year, found))
            });
            if let Some((year, found)) = wrong_kind {
                errors.push(ConfigError::new(
                    field(side),
                    format!(
                        "Loket component {key} ({}) is {} in {year}, but a {} must be {}.",
                        found.description,
                        describe_kind(found.kind),
                        side.replace('_', " "),
                        describe_kind(wanted_kind)
                    ),
                ));
            } else if let Some((_, found)) = found
                && kind == MappingKind::Recurring
                && !BENEFIT_CATEGORIES.contains(&found.category)
            {
                errors.push(ConfigError::new(
                    field(side),
                    format!(
                        "Loket component {key} ({}) has category {}, which benefits and deductions do not accept; use a component of category 7, 9, 11, 12, 13, 17 or 30.",
                        found.description, found.category
                    ),
                ));
            }
            // K5: a component serves recurring or one-time mappings, not both.
            match component_kinds.get(&key) {
                Some((other_kind, other_index)) if *other_kind != kind => errors.push(ConfigError::new(
                    field(side),
                    format!(
                        "Loket component {key} is the target of a {} mapping (mappings[{other_index}]) and of this {} mapping; a component may serve one of the two only.",
                        describe_mapping_kind(*other_kind),
                        describe_mapping_kind(kind)
                    ),
                )),
                Some(_) => {}
                None => {
                    component_kinds.insert(key, (kind, index));
                }
            }
        }
        let non_monetary = compensation_type.unit.is_some();
        if non_monetary {
            warnings.push(Issue::warning(
                IssueCode::NonMonetary,
                format!(
                    "Personio type `{}` is counted in {}, not in money: it is mapped but will never be synced. Remove the mapping or handle it in Loket by hand.",
                    compensation_type.name,
                    compensation_type.unit.as_deref().unwrap_or("another unit")
                ),
            ));
        }
        mappings.push(ResolvedMapping {
            type_id: compensation_type.id.clone(),
            type_name: compensation_type.name.clone(),
            kind,
            benefit_component: mapping.benefit_component,
            deduction_component: mapping.deduction_component,
            non_monetary,
        });
    }

    let components = |kind: MappingKind| -> BTreeSet<ComponentKey> {
        mappings
            .iter()
            .filter(|mapping: &&ResolvedMapping| mapping.kind == kind)
            .flat_map(|mapping| [mapping.benefit_component, mapping.deduction_component])
            .flatten()
            .collect()
    };
    if errors.is_empty() {
        Ok(ValidConfig {
            config: config.clone(),
            horizon,
            recurring_components: components(MappingKind::Recurring),
            one_time_components: components(MappingKind::OneTime),
            open_years: loket.calendar.years().into_iter().filter(|year| loket.components.contains_key(year)).collect(),
            mappings,
            warnings,
        })
    } else {
        Err(errors)
    }
}

fn describe_kind(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Payment => "a payment",
        ComponentKind::Deduction => "a deduction",
        ComponentKind::None => "neither a payment nor a deduction",
    }
}

fn describe_mapping_kind(kind: MappingKind) -> &'static str {
    match kind {
        MappingKind::Recurring => "recurring",
        MappingKind::OneTime => "one-time",
    }
}
