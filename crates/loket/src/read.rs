//! Reading Loket: the company-wide data (payroll periods, one catalogue per year) once, then per employment
//! only what the switched-on rules need, into a `LoketSnapshot`; and the re-read of one employment (after an
//! unknown outcome, or to read back what was written) with the same conversions (`convert.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use engine::EmploymentId;
use engine::state::LoketState;
use jiff::civil::Date;

use engine::errors::chain;

use crate::client::{LoketClient, LoketError};
use crate::convert::{
    RecordError, benefits_to_domain, calendar_to_domain, catalogue_to_domain, defaults_to_domain, employment_to_domain,
    period_data_list_to_domain, wages_to_domain,
};
use crate::wire;

/// Why one employment's records could not be read: nothing is written for it (G5).
#[derive(Debug, thiserror::Error)]
pub enum EmploymentReadError {
    #[error("Loket did not answer the read")]
    Request(#[from] LoketError),
    #[error("Loket sent a record loket-sync cannot read")]
    Record(#[from] RecordError),
    #[error("employment {0} is not in the snapshot")]
    NotInSnapshot(String),
    #[error("the read was interrupted")]
    Interrupted,
}

/// What to read besides the company-wide data: only what the switched-on rules need.
#[derive(Clone, Debug)]
pub struct ReadScope {
    pub wages: bool,
    pub benefits_and_deductions: bool,
    /// Payroll period data of the periods from this date through `horizon` (the one-time rules).
    pub period_data_from: Option<Date>,
    pub horizon: Date,
}

/// Loket as read: the engine's state, plus the wire records by id, so that a PUT sends the whole record as
/// read with only the synced fields changed.
#[derive(Clone, Debug, Default)]
pub struct LoketSnapshot {
    pub state: LoketState,
    pub wages: HashMap<String, wire::Wage>,
    pub benefits: HashMap<String, wire::BenefitOrDeduction>,
    /// The number of requests the read took, by kind.
    pub requests: BTreeMap<String, usize>,
}

/// The company-wide data: the payroll calendar and the catalogue of every year it has. Reads that fail go
/// to `failed_reads`, naming the read (G5); the rest is what was read.
pub async fn read_company(client: &LoketClient, administration_id: &str) -> LoketState {
    let mut state = LoketState::default();
    match client.payroll_periods(administration_id).await {
        Ok(periods) => match calendar_to_domain(&periods) {
            Ok(calendar) => state.calendar = calendar,
            Err(error) => state.failed_reads.push(format!("Loket payroll periods: {}", chain(&error))),
        },
        Err(error) => state.failed_reads.push(format!("Loket payroll periods: {}", chain(&error))),
    }
    for year in state.calendar.years() {
        match client.payroll_components(administration_id, year).await {
            Ok(components) => {
                state.components.insert(year, catalogue_to_domain(&components));
            }
            Err(error) => state.failed_reads.push(format!("Loket payroll components of {year}: {}", chain(&error))),
        }
    }
    state
}

/// Reads everything the plan needs for one employer and payroll administration: the company-wide data, then
/// the employments.
pub async fn read_state(
    client: &Arc<LoketClient>,
    employer_id: &str,
    administration_id: &str,
    scope: &ReadScope,
) -> LoketSnapshot {
    let company = read_company(client, administration_id).await;
    read_employments(client, employer_id, administration_id, scope, company).await
}

/// Reads the employments on top of company-wide data already read (`company`). A failure of the list goes
/// to `failed_reads` (the run then writes nothing); one employment's failure to its `read_failed` (nothing is
/// written for it). Never a partial history presented as complete (G5).
pub async fn read_employments(
    client: &Arc<LoketClient>,
    employer_id: &str,
    administration_id: &str,
    scope: &ReadScope,
    company: LoketState,
) -> LoketSnapshot {
    let mut snapshot = LoketSnapshot { state: company, ..LoketSnapshot::default() };
    let state = &mut snapshot.state;
    let employments = match client.employments(employer_id).await {
        Ok(employments) => employments,
        Err(error) => {
            state.failed_reads.push(format!("Loket employments: {}", chain(&error)));
            Vec::new()
        }
    };
    let employments: Vec<wire::Employment> = employments
        .into_iter()
        .filter(|employment| {
            employment
                .payroll_administration
                .as_ref()
                .is_none_or(|administration| administration.id == administration_id)
        })
        .collect();

    // Per employment, concurrently (the client bounds the requests under way).
    let mut tasks = tokio::task::JoinSet::new();
    for (index, employment) in employments.iter().enumerate() {
        let client = Arc::clone(client);
        let id = employment.id.clone();
        let scope = scope.clone();
        tasks.spawn(async move { (index, read_employment(&client, &id, &scope, true).await) });
    }
    let mut per_employment: Vec<Result<EmploymentRecords, EmploymentReadError>> =
        employments.iter().map(|_| Err(EmploymentReadError::Interrupted)).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined {
            per_employment[index] = result;
        }
    }
    for (employment, records) in employments.iter().zip(per_employment) {
        let mut domain = match employment_to_domain(employment) {
            Ok(domain) => domain,
            Err(error) => {
                state.failed_reads.push(chain(&error));
                continue;
            }
        };
        let converted = records.and_then(|records| {
            records.into_domain(&mut domain, &mut snapshot.wages, &mut snapshot.benefits).map_err(Into::into)
        });
        if let Err(error) = converted {
            domain.read_failed = Some(read_failure(&error));
        }
        state.employments.push(domain);
    }
    snapshot.requests = client.request_counts();
    snapshot
}

/// One employment's records as Loket sent them.
#[derive(Clone, Debug, Default)]
struct EmploymentRecords {
    wages: Option<Vec<wire::Wage>>,
    benefits: Option<Vec<wire::BenefitOrDeduction>>,
    /// The employment's own list of period data: unlike the list of one payroll period, it needs no payslip
    /// type or component category and shows ended employments and those outside the user's filter.
    period_data: Option<Vec<wire::PayrollPeriodData>>,
    defaults: Option<wire::PeriodDataDefaults>,
}

impl EmploymentRecords {
    /// Converts what was read into `employment` (what was not read stays as it is); the wire records of
    /// wages and benefits are kept by id for the PUTs that replace them. One record that cannot be read fails
    /// them all.
    fn into_domain(
        self,
        employment: &mut engine::state::Employment,
        wages: &mut HashMap<String, wire::Wage>,
        benefits: &mut HashMap<String, wire::BenefitOrDeduction>,
    ) -> Result<(), RecordError> {
        let converted_wages = self.wages.map(|list| wages_to_domain(list, wages)).transpose()?;
        let converted_benefits = self.benefits.map(|list| benefits_to_domain(list, benefits)).transpose()?;
        let period_data = self.period_data.as_deref().map(period_data_list_to_domain).transpose()?;
        let defaults = self.defaults.as_ref().map(defaults_to_domain).transpose()?;
        if let Some(converted) = converted_wages {
            employment.wages = converted;
        }
        if let Some(converted) = converted_benefits {
            employment.benefits_and_deductions = converted;
        }
        if let Some(period_data) = period_data {
            employment.period_data = period_data;
        }
        if let Some(defaults) = defaults {
            employment.period_data_defaults = defaults;
        }
        Ok(())
    }
}

/// `with_defaults`: read the PATCH defaults too (the first read; they do not change by writing).
async fn read_employment(
    client: &LoketClient,
    id: &str,
    scope: &ReadScope,
    with_defaults: bool,
) -> Result<EmploymentRecords, EmploymentReadError> {
    let mut records = EmploymentRecords::default();
    if scope.wages {
        records.wages = Some(client.wages(id).await?);
    }
    if scope.benefits_and_deductions {
        records.benefits = Some(client.benefits_and_deductions(id).await?);
    }
    if scope.period_data_from.is_some() {
        records.period_data = Some(client.payroll_period_data(id).await?);
        if with_defaults {
            records.defaults = Some(client.payroll_period_data_defaults(id).await?);
        }
    }
    Ok(records)
}

/// The message an employment's `read_failed` carries: the cause itself (the wrapper only says which kind
/// of failure it is, which the cause's words already say).
fn read_failure(error: &EmploymentReadError) -> String {
    match error {
        EmploymentReadError::Request(cause) => chain(cause),
        EmploymentReadError::Record(cause) => chain(cause),
        other => chain(other),
    }
}

impl LoketSnapshot {
    /// The part of the snapshot one employment's writes need: its records (and their wire forms, for PUTs),
    /// the calendar and the catalogue. Each worker gets its own, so memory stays linear in the company.
    pub fn of_employment(&self, employment_id: &EmploymentId) -> LoketSnapshot {
        let employments: Vec<engine::state::Employment> =
            self.state.employments.iter().filter(|employment| employment.id == *employment_id).cloned().collect();
        let wage_ids: HashSet<&str> =
            employments.iter().flat_map(|employment| employment.wages.iter().map(|wage| wage.id.0.as_str())).collect();
        let benefit_ids: HashSet<&str> = employments
            .iter()
            .flat_map(|employment| employment.benefits_and_deductions.iter().map(|record| record.id.0.as_str()))
            .collect();
        LoketSnapshot {
            wages: self
                .wages
                .iter()
                .filter(|(id, _)| wage_ids.contains(id.as_str()))
                .map(|(id, wage)| (id.clone(), wage.clone()))
                .collect(),
            benefits: self
                .benefits
                .iter()
                .filter(|(id, _)| benefit_ids.contains(id.as_str()))
                .map(|(id, record)| (id.clone(), record.clone()))
                .collect(),
            state: LoketState {
                calendar: self.state.calendar.clone(),
                components: self.state.components.clone(),
                employments,
                failed_reads: Vec::new(),
            },
            requests: Default::default(),
        }
    }

    /// Reads one employment's records again (what `scope` says) into the snapshot, with the conversions of
    /// the first read: a record that cannot be read fails the re-read, never silently dropped (G5).
    pub async fn reread(
        &mut self,
        client: &LoketClient,
        employment_id: &str,
        scope: &ReadScope,
    ) -> Result<(), EmploymentReadError> {
        let records = read_employment(client, employment_id, scope, false).await?;
        let employment = self
            .state
            .employments
            .iter_mut()
            .find(|employment| employment.id.as_str() == employment_id)
            .ok_or_else(|| EmploymentReadError::NotInSnapshot(employment_id.to_string()))?;
        Ok(records.into_domain(employment, &mut self.wages, &mut self.benefits)?)
    }
}
