//! The runner: reads both systems through the clients, plans with the engine, applies each employment's
//! writes in the plan's order with employments in parallel. A POST is never retried blindly: after an
//! unknown outcome the runner re-reads and re-plans that employment. One employee's failure becomes an
//! issue; the others go on. An observer is called before and after every write.

use std::sync::Arc;

use engine::plan::Write;
use engine::state::{LoketState, PersonioState};
use engine::{Config, ConfigError, Issue, IssueCode, Plan};
use jiff::civil::Date;
use loket::LoketClient;
use loket::convert::{LoketSnapshot, ReadScope, read_state as read_loket, send_write};
use personio::PersonioClient;

/// Both connections of one configuration.
#[derive(Clone)]
pub struct Connections {
    pub personio: Arc<PersonioClient>,
    pub loket: Arc<LoketClient>,
    pub employer_id: String,
    pub administration_id: String,
}

/// A boxed future, for the observer's hooks.
pub type Hook<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Called before and after every write (the audit journal plugs in here). When `before` fails, the write
/// is not sent: nothing reaches Loket without its intent on record.
pub trait Observer: Send + Sync {
    fn before<'a>(&'a self, write: &'a Write) -> Hook<'a, Result<(), String>>;
    fn after<'a>(&'a self, write: &'a Write, outcome: &'a Result<(), String>) -> Hook<'a, ()>;
}

/// Observes nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn before<'a>(&'a self, _: &'a Write) -> Hook<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn after<'a>(&'a self, _: &'a Write, _: &'a Result<(), String>) -> Hook<'a, ()> {
        Box::pin(async {})
    }
}

/// What was read and planned.
pub struct Planned {
    pub plan: Plan,
    pub personio: PersonioState,
    pub loket: LoketSnapshot,
    pub personio_requests: usize,
    pub loket_requests: usize,
}

/// K6: checks the configuration against the company-wide data only, before any employee data is read.
pub async fn check_config(
    connections: &Connections,
    config: &Config,
    run_date: Date,
) -> Result<engine::ValidConfig, Vec<ConfigError>> {
    let read_error = |what: &str, error: String| vec![ConfigError { field: what.to_string(), message: error }];
    let types = connections
        .personio
        .compensation_types()
        .await
        .map_err(|error| read_error("personio", format!("cannot read the compensation types: {error}")))?;
    let types = personio::history::types_to_domain(&types);
    let periods = connections
        .loket
        .payroll_periods(&connections.administration_id)
        .await
        .map_err(|error| read_error("loket", format!("cannot read the payroll periods: {error}")))?;
    let calendar = loket::convert::calendar_to_domain(&periods)
        .map_err(|error| read_error("loket", format!("cannot read the payroll periods: {error}")))?;
    let mut loket = LoketState { calendar, ..LoketState::default() };
    for year in loket.calendar.years() {
        let components =
            connections.loket.payroll_components(&connections.administration_id, year).await.map_err(|error| {
                read_error("loket", format!("cannot read the payroll components of {year}: {error}"))
            })?;
        loket.components.insert(year, loket::convert::catalogue_to_domain(&components));
    }
    engine::validate(config, &types, &loket, run_date)
}

/// What `check` shows beside the validation: the Personio custom attributes of the persons in scope (with
/// the one to suggest for `employee_number_attribute`) and Loket's payroll components, so that the
/// attributes and mappings can be written without opening either system.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Survey {
    pub persons_in_scope: usize,
    pub attributes: engine::AttributeSurvey,
    /// Whether the configured attributes name an attribute some person in scope has.
    pub employee_number_attribute_seen: bool,
    pub income_number_attribute_seen: bool,
    /// The year of the catalogue shown (the compensation start date's).
    pub catalogue_year: i16,
    pub components: Vec<CatalogueRow>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CatalogueRow {
    pub key: u32,
    pub description: String,
    /// `payment`, `deduction` or `none`.
    pub kind: engine::state::ComponentKind,
    pub category: u16,
    /// Whether a recurring mapping (a benefit or deduction) accepts it (K4): a payment or deduction of a
    /// category benefits and deductions allow. One-time mappings accept any component.
    pub recurring_mapping_accepts: bool,
}

/// Reads what `check` surveys: persons and their employments from Personio (no compensations), the
/// employments and one year's catalogue from Loket.
pub async fn survey(connections: &Connections, config: &Config) -> Result<Survey, String> {
    let persons =
        connections.personio.persons().await.map_err(|error| format!("cannot read the Personio persons: {error}"))?;
    let people = personio::history::read_people(&connections.personio, &persons).await;
    let personio = PersonioState { persons: people.persons, ..PersonioState::default() };
    let employments = connections
        .loket
        .employments(&connections.employer_id)
        .await
        .map_err(|error| format!("cannot read the Loket employments: {error}"))?;
    let mut loket = LoketState::default();
    for employment in &employments {
        loket.employments.push(loket::convert::employment_to_domain(employment)?);
    }
    let year = config.compensation_start_date.year();
    let catalogue = connections
        .loket
        .payroll_components(&connections.administration_id, year)
        .await
        .map_err(|error| format!("cannot read the Loket payroll components of {year}: {error}"))?;
    let components = loket::convert::catalogue_to_domain(&catalogue)
        .into_values()
        .map(|component| CatalogueRow {
            key: component.key.0,
            recurring_mapping_accepts: component.kind != engine::state::ComponentKind::None
                && engine::state::BENEFIT_CATEGORIES.contains(&component.category),
            description: component.description,
            kind: component.kind,
            category: component.category,
        })
        .collect();
    let attributes = engine::survey_attributes(&personio, &loket, config);
    let in_scope = engine::in_scope_persons(&personio, config);
    let seen = |configured: &str| {
        in_scope.iter().any(|person| person.attribute(configured).is_some_and(|value| !value.trim().is_empty()))
    };
    Ok(Survey {
        persons_in_scope: in_scope.len(),
        employee_number_attribute_seen: seen(&config.employee_number_attribute),
        income_number_attribute_seen: seen(&config.income_number_attribute),
        attributes,
        catalogue_year: year,
        components,
    })
}

/// Reads both systems (concurrently) and plans.
pub async fn plan(
    connections: &Connections,
    config: &Config,
    run_date: Date,
    allow_mass_changes: bool,
) -> Result<Planned, Vec<ConfigError>> {
    let valid = check_config(connections, config, run_date).await?;
    let scope = ReadScope {
        wages: config.salary,
        benefits_and_deductions: config.recurring,
        period_data_from: config.one_time.then_some(config.compensation_start_date),
        horizon: valid.horizon,
    };
    let personio_before = connections.personio.total_requests();
    let loket_before: usize = connections.loket.request_counts().values().sum();
    let ((personio, _), loket) = tokio::join!(
        personio::read_state(
            &connections.personio,
            &config.legal_entity,
            config.compensation_start_date,
            valid.horizon
        ),
        read_loket(&connections.loket, &connections.employer_id, &connections.administration_id, &scope),
    );
    let plan = engine::plan(&personio, &loket.state, config, run_date, allow_mass_changes);
    Ok(Planned {
        plan,
        personio,
        personio_requests: connections.personio.total_requests() - personio_before,
        loket_requests: connections.loket.request_counts().values().sum::<usize>() - loket_before,
        loket,
    })
}

/// What applying did.
#[derive(Default)]
pub struct Applied {
    pub sent: usize,
    pub failed_employments: usize,
    pub issues: Vec<Issue>,
}

/// Re-reads one employment's records (after an unknown outcome).
async fn reread(
    connections: &Connections,
    snapshot: &mut LoketSnapshot,
    employment_id: &str,
    config: &Config,
) -> Result<(), String> {
    let client = &connections.loket;
    let Some(index) = snapshot.state.employments.iter().position(|employment| employment.id.as_str() == employment_id)
    else {
        return Err("the employment is gone".to_string());
    };
    let employment = &mut snapshot.state.employments[index];
    if config.salary {
        let wages = client.wages(employment_id).await.map_err(|error| error.to_string())?;
        employment.wages = loket::convert::wages_to_domain(wages, &mut snapshot.wages)?;
    }
    if config.recurring {
        let records = client.benefits_and_deductions(employment_id).await.map_err(|error| error.to_string())?;
        employment.benefits_and_deductions = loket::convert::benefits_to_domain(records, &mut snapshot.benefits)?;
    }
    if config.one_time {
        let records = client.payroll_period_data(employment_id).await.map_err(|error| error.to_string())?;
        employment.period_data = loket::convert::period_data_list_to_domain(&records)?;
    }
    Ok(())
}

/// Applies one employment's writes; re-plans after an unknown outcome (at most three times).
async fn apply_employment(
    connections: Connections,
    mut snapshot: LoketSnapshot,
    personio: Arc<PersonioState>,
    config: Config,
    run_date: Date,
    mut writes: Vec<Write>,
    observer: Arc<dyn Observer>,
) -> (usize, Option<Issue>) {
    let mut sent = 0;
    let mut replans = 0;
    // Each unknown outcome may re-plan once; a bound keeps a misbehaving Loket from looping forever.
    let max_replans = writes.len() + 3;
    let Some(first) = writes.first().cloned() else { return (0, None) };
    'outer: loop {
        for write in &writes {
            if let Err(reason) = observer.before(write).await {
                return (
                    sent,
                    Some(write_failed(
                        write,
                        &format!("the audit journal cannot be written ({reason}), so the write was not sent"),
                    )),
                );
            }
            let result = send_write(&connections.loket, &snapshot, write).await;
            sent += 1;
            match result {
                Ok(_) => observer.after(write, &Ok(())).await,
                Err(error) => {
                    observer.after(write, &Err(error.to_string())).await;
                    let employment_id = write.employment_id;
                    if error.is_unknown_outcome() && replans < max_replans {
                        replans += 1;
                        if let Err(reason) = reread(&connections, &mut snapshot, employment_id.as_str(), &config).await
                        {
                            return (
                                sent,
                                Some(write_failed(write, &format!("{error}; re-reading it failed too: {reason}"))),
                            );
                        }
                        let plan = engine::plan(&personio, &snapshot.state, &config, run_date, true);
                        writes =
                            plan.writes().filter(|next| next.employment_id == write.employment_id).cloned().collect();
                        continue 'outer;
                    }
                    return (sent, Some(write_failed(write, &error.to_string())));
                }
            }
        }
        break;
    }
    // Read back what was written: the plan for this employment must now be empty.
    let employment_id = first.employment_id;
    if let Err(reason) = reread(&connections, &mut snapshot, employment_id.as_str(), &config).await {
        return (sent, Some(unconfirmed(&first, &format!("reading it back failed: {reason}"))));
    }
    let check = engine::plan(&personio, &snapshot.state, &config, run_date, true);
    let left: Vec<String> =
        check.writes().filter(|write| write.employment_id == employment_id).map(Write::describe).collect();
    if left.is_empty() {
        (sent, None)
    } else {
        (sent, Some(unconfirmed(&first, &format!("these changes are still to make: {}", left.join("; ")))))
    }
}

fn unconfirmed(write: &Write, reason: &str) -> Issue {
    Issue {
        code: IssueCode::WriteUnconfirmed,
        severity: engine::Severity::Warning,
        person: None,
        employee_number: Some(write.employee_number),
        period: None,
        date_range: None,
        component: None,
        message: format!(
            "Loket accepted the changes for this employee, but reading them back does not confirm them ({reason}). The next sync tries again; check the employee in Loket if this repeats."
        ),
    }
}

fn write_failed(write: &Write, reason: &str) -> Issue {
    Issue {
        code: IssueCode::WriteFailed,
        severity: engine::Severity::Error,
        person: None,
        employee_number: Some(write.employee_number),
        period: None,
        date_range: None,
        component: None,
        message: format!(
            "Loket did not accept \"{}\": {reason}. The rest of this employee's changes were not made in this run; fix the cause in Loket or Personio and sync again.",
            write.describe()
        ),
    }
}

/// The part of a snapshot one employment's writes need: its records (and their wire forms, for PUTs), the
/// calendar and the catalogue. Each worker gets its own, so memory stays linear in the company.
fn snapshot_of(snapshot: &LoketSnapshot, employment_id: &engine::EmploymentId) -> LoketSnapshot {
    let employments: Vec<engine::state::Employment> =
        snapshot.state.employments.iter().filter(|employment| employment.id == *employment_id).cloned().collect();
    let wage_ids: std::collections::HashSet<&str> =
        employments.iter().flat_map(|employment| employment.wages.iter().map(|wage| wage.id.0.as_str())).collect();
    let benefit_ids: std::collections::HashSet<&str> = employments
        .iter()
        .flat_map(|employment| employment.benefits_and_deductions.iter().map(|record| record.id.0.as_str()))
        .collect();
    LoketSnapshot {
        wages: snapshot
            .wages
            .iter()
            .filter(|(id, _)| wage_ids.contains(id.as_str()))
            .map(|(id, wage)| (id.clone(), wage.clone()))
            .collect(),
        benefits: snapshot
            .benefits
            .iter()
            .filter(|(id, _)| benefit_ids.contains(id.as_str()))
            .map(|(id, record)| (id.clone(), record.clone()))
            .collect(),
        state: LoketState {
            calendar: snapshot.state.calendar.clone(),
            components: snapshot.state.components.clone(),
            employments,
            failed_reads: Vec::new(),
        },
        requests: Default::default(),
    }
}

/// Applies a plan: employments in parallel, each in the plan's order.
pub async fn apply(
    connections: &Connections,
    planned: &Planned,
    config: &Config,
    run_date: Date,
    observer: Arc<dyn Observer>,
) -> Applied {
    let personio = Arc::new(planned.personio.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for employment in planned.plan.employments.iter().filter(|employment| !employment.writes.is_empty()) {
        tasks.spawn(apply_employment(
            connections.clone(),
            snapshot_of(&planned.loket, &employment.employment_id),
            Arc::clone(&personio),
            config.clone(),
            run_date,
            employment.writes.clone(),
            Arc::clone(&observer),
        ));
    }
    let mut applied = Applied::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((sent, issue)) => {
                applied.sent += sent;
                if let Some(mut issue) = issue {
                    issue.person = planned
                        .plan
                        .employments
                        .iter()
                        .find(|employment| Some(employment.employee_number) == issue.employee_number)
                        .map(|employment| employment.person);
                    if issue.severity == engine::Severity::Error {
                        applied.failed_employments += 1;
                    }
                    applied.issues.push(issue);
                }
            }
            Err(error) => {
                applied.issues.push(Issue::error(IssueCode::WriteFailed, format!("a worker stopped: {error}")))
            }
        }
    }
    applied.issues.sort_by_key(|issue| issue.employee_number);
    applied
}
