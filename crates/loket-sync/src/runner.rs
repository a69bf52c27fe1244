//! The runner: reads both systems through the clients, plans with the engine, applies each employment's
//! writes in the plan's order with employments in parallel. A POST is never retried blindly: after an
//! unknown outcome the runner re-reads and re-plans that employment. One employee's failure becomes an
//! issue; the others go on. An observer is called before and after every write.

use std::sync::Arc;

use engine::errors::{Cause, chain};
use engine::plan::Write;
use engine::state::{LoketState, PersonioState};
use engine::{Config, ConfigError, Issue, IssueCode, Plan};
use jiff::civil::Date;
use loket::read::{LoketSnapshot, ReadScope};
use loket::send::send_write;
use loket::{LoketClient, LoketError};
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
    fn before<'a>(&'a self, write: &'a Write) -> Hook<'a, Result<(), Cause>>;
    fn after<'a>(&'a self, write: &'a Write, outcome: Result<(), &'a LoketError>) -> Hook<'a, ()>;
}

/// Observes nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn before<'a>(&'a self, _: &'a Write) -> Hook<'a, Result<(), Cause>> {
        Box::pin(async { Ok(()) })
    }
    fn after<'a>(&'a self, _: &'a Write, _: Result<(), &'a LoketError>) -> Hook<'a, ()> {
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

/// The company-wide data, read once per run: Personio's compensation types, Loket's payroll calendar and
/// the catalogue of every year it has. Validation needs only these, so the configuration is validated
/// before any employee is read, and the employee reads build on them.
pub struct Company {
    personio: PersonioState,
    loket: LoketState,
}

/// What validating the configuration against the company-wide data found.
pub enum Validity {
    Valid(Box<engine::ValidConfig>),
    /// K1–K7: what is wrong with the configuration.
    Invalid(Vec<ConfigError>),
    /// A company-wide read failed (each entry names the read): nothing can be called a configuration error
    /// until the data is complete (G5).
    Unread(Vec<String>),
}

impl Company {
    pub fn types(&self) -> &[engine::state::CompensationType] {
        &self.personio.compensation_types
    }

    pub fn failed_reads(&self) -> Vec<String> {
        self.personio.failed_reads.iter().chain(&self.loket.failed_reads).cloned().collect()
    }

    /// K6: the configuration against the company-wide data only.
    pub fn validate(&self, config: &Config, run_date: Date) -> Validity {
        let failed = self.failed_reads();
        if !failed.is_empty() {
            return Validity::Unread(failed);
        }
        match engine::validate(config, &self.personio.compensation_types, &self.loket, run_date) {
            Ok(valid) => Validity::Valid(Box::new(valid)),
            Err(errors) => Validity::Invalid(errors),
        }
    }
}

/// Reads the company-wide data of both systems, concurrently.
pub async fn read_company(connections: &Connections, config: &Config) -> Company {
    let _ = config;
    let started = std::time::Instant::now();
    let (personio, loket) = tokio::join!(
        personio::history::read_types(&connections.personio),
        loket::read::read_company(&connections.loket, &connections.administration_id),
    );
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "read the company-wide data");
    Company { personio, loket }
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the configuration has {} problem(s)", .0.len())]
    Config(Vec<ConfigError>),
    #[error("cannot read the payroll periods: not connected to Loket: run `loket-sync connect loket` first")]
    NotConnected,
    #[error("the Loket token file cannot be read")]
    Tokens(#[source] loket::LoketError),
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

/// A read of the survey that failed: `check` shows the rest without it.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("cannot read the Personio persons")]
    Persons(#[source] personio::PersonioError),
    #[error("cannot read the Loket employments")]
    Employments(#[source] LoketError),
    #[error("Loket sent an employment loket-sync cannot read")]
    Employment(#[from] loket::convert::RecordError),
    #[error("cannot read the Loket payroll components of {year}")]
    Components {
        year: i16,
        #[source]
        source: LoketError,
    },
}

/// Reads what `check` surveys: persons and their employments from Personio (no compensations), the
/// employments and one year's catalogue from Loket.
pub async fn survey(connections: &Connections, config: &Config) -> Result<Survey, SurveyError> {
    let persons = connections.personio.persons().await.map_err(SurveyError::Persons)?;
    let people = personio::history::read_people(&connections.personio, &persons).await;
    let personio = PersonioState { persons: people.persons, ..PersonioState::default() };
    let employments =
        connections.loket.employments(&connections.employer_id).await.map_err(SurveyError::Employments)?;
    let mut loket = LoketState::default();
    for employment in &employments {
        loket.employments.push(loket::convert::employment_to_domain(employment)?);
    }
    let year = config.compensation_start_date.year();
    let catalogue = connections
        .loket
        .payroll_components(&connections.administration_id, year)
        .await
        .map_err(|source| SurveyError::Components { year, source })?;
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

/// Reads both systems (concurrently) and plans. The company-wide data is read once: when one of its reads
/// fails, the plan writes nothing and says which read (`read_failed`), and no employee is read.
pub async fn plan(
    connections: &Connections,
    config: &Config,
    run_date: Date,
    allow_mass_changes: bool,
) -> Result<Planned, PlanError> {
    if !connections.loket.is_connected().await.map_err(PlanError::Tokens)? {
        return Err(PlanError::NotConnected);
    }
    let personio_before = connections.personio.total_requests();
    let loket_before: usize = connections.loket.request_counts().values().sum();
    let company = read_company(connections, config).await;
    let valid = match company.validate(config, run_date) {
        Validity::Valid(valid) => valid,
        Validity::Invalid(errors) => return Err(PlanError::Config(errors)),
        Validity::Unread(_) => {
            let loket = LoketSnapshot { state: company.loket, ..LoketSnapshot::default() };
            let plan = engine::plan(&company.personio, &loket.state, config, run_date, allow_mass_changes);
            return Ok(Planned {
                plan,
                personio: company.personio,
                personio_requests: connections.personio.total_requests() - personio_before,
                loket_requests: connections.loket.request_counts().values().sum::<usize>() - loket_before,
                loket,
            });
        }
    };
    let scope = read_scope(config, valid.horizon);
    let started = std::time::Instant::now();
    let ((personio, _), loket) = tokio::join!(
        personio::history::read_persons(
            &connections.personio,
            company.personio,
            &config.legal_entity,
            config.compensation_start_date,
            valid.horizon
        ),
        loket::read::read_employments(
            &connections.loket,
            &connections.employer_id,
            &connections.administration_id,
            &scope,
            company.loket
        ),
    );
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "read the employees of both systems");
    let started = std::time::Instant::now();
    let plan = engine::plan(&personio, &loket.state, config, run_date, allow_mass_changes);
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, writes = plan.n_writes(), "planned");
    Ok(Planned {
        plan,
        personio,
        personio_requests: connections.personio.total_requests() - personio_before,
        loket_requests: connections.loket.request_counts().values().sum::<usize>() - loket_before,
        loket,
    })
}

/// What to read per employment: only what the switched-on rules need.
fn read_scope(config: &Config, horizon: Date) -> ReadScope {
    ReadScope {
        wages: config.salary,
        benefits_and_deductions: config.recurring,
        period_data_from: config.one_time.then_some(config.compensation_start_date),
        horizon,
    }
}

/// What applying did.
#[derive(Default)]
pub struct Applied {
    pub sent: usize,
    pub failed_employments: usize,
    pub issues: Vec<Issue>,
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
    // The re-reads need the employment's records, not the window (every period-data record is read).
    let scope = read_scope(&config, run_date);
    let mut sent = 0;
    let mut replans = 0;
    // Each unknown outcome may re-plan once; a bound keeps a misbehaving Loket from looping forever.
    let max_replans = writes.len() + 3;
    let Some(first) = writes.first().cloned() else { return (0, None) };
    'outer: loop {
        for write in &writes {
            if let Err(cause) = observer.before(write).await {
                return (
                    sent,
                    Some(write_failed(
                        write,
                        &format!(
                            "the audit journal cannot be written, so the write was not sent: {}",
                            chain(cause.as_ref())
                        ),
                    )),
                );
            }
            let result = send_write(&connections.loket, &snapshot, write).await;
            sent += 1;
            match result {
                Ok(_) => observer.after(write, Ok(())).await,
                Err(error) => {
                    observer.after(write, Err(&error)).await;
                    let employment_id = write.employment_id;
                    if error.is_unknown_outcome() && replans < max_replans {
                        replans += 1;
                        if let Err(reread) = snapshot.reread(&connections.loket, employment_id.as_str(), &scope).await {
                            return (
                                sent,
                                Some(write_failed(
                                    write,
                                    &format!("{}; re-reading it failed too: {}", chain(&error), chain(&reread)),
                                )),
                            );
                        }
                        let plan = engine::plan(&personio, &snapshot.state, &config, run_date, true);
                        writes =
                            plan.writes().filter(|next| next.employment_id == write.employment_id).cloned().collect();
                        continue 'outer;
                    }
                    return (sent, Some(write_failed(write, &chain(&error))));
                }
            }
        }
        break;
    }
    // Read back what was written: the plan for this employment must now be empty.
    let employment_id = first.employment_id;
    if let Err(error) = snapshot.reread(&connections.loket, employment_id.as_str(), &scope).await {
        return (sent, Some(unconfirmed(&first, &format!("reading it back failed: {}", chain(&error)))));
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

/// An issue of one employee's writes (the runner knows the employee number; `apply` adds the person).
fn write_issue(issue: Issue, write: &Write) -> Issue {
    Issue { employee_number: Some(write.employee_number), ..issue }
}

fn unconfirmed(write: &Write, reason: &str) -> Issue {
    write_issue(
        Issue::warning(
            IssueCode::WriteUnconfirmed,
            format!(
                "Loket accepted the changes for this employee, but reading them back does not confirm them ({reason}). The next sync tries again; check the employee in Loket if this repeats."
            ),
        ),
        write,
    )
}

fn write_failed(write: &Write, reason: &str) -> Issue {
    write_issue(
        Issue::error(
            IssueCode::WriteFailed,
            format!(
                "Loket did not accept \"{}\": {reason}. The rest of this employee's changes were not made in this run; fix the cause in Loket or Personio and sync again.",
                write.describe()
            ),
        ),
        write,
    )
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
            planned.loket.of_employment(&employment.employment_id),
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
