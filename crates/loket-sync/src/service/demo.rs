//! `loket-sync serve --demo`: the whole service at once, without an account. A local Loket holds three demo
//! employers under one provider login, and a local Personio three companies, each reached with its own
//! credentials; they become three
//! connections (in a fresh state store in a temporary folder, under a fresh key), with schedules, one of
//! them in auto mode and one asking for four eyes, and an admin whose password is printed.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use super::connection::{self, Secrets};
use super::records::ConnectionRow;
use super::users::{self, Role};
use super::{Clock, KeySource, Service};

/// What the demo started: the service, the emulators' servers (kept running while the demo runs), and
/// what to print.
pub struct Demo {
    pub service: Service,
    pub state: PathBuf,
    pub admin_password: String,
    pub servers: Vec<emulator::Running>,
    pub employers: Vec<String>,
}

/// The names of the demo's employers and how each connection runs: mode, schedule, approvals.
const EMPLOYERS: &[(&str, &str, &str, i64)] =
    &[("", "review", "0 6 * * 1-5", 1), (" Noord", "auto", "0 7 * * 1-5", 1), (" Zuid", "review", "30 6 1 * *", 2)];

fn settings_text(
    scenario: &scenario::Scenario,
    personio_client_id: &str,
    personio_url: &str,
    loket_url: &str,
    loket: &scenario::LoketSection,
) -> String {
    let config = scenario.engine_config();
    let mut text = format!(
        "[personio]\nlegal_entity = \"{}\"\nbase_url = \"{personio_url}\"\nclient_id = \"{}\"\n\n[loket]\nbase_url = \"{loket_url}/v2\"\noauth_url = \"{loket_url}/oauth\"\nemployer_id = \"{}\"\npayroll_administration_id = \"{}\"\nclient_id = \"{}\"\n\n[sync]\ncompensation_start_date = \"{}\"\nsalary = true\nrecurring = true\none_time = true\nhorizon_months = {}\nemployee_number_attribute = \"{}\"\nincome_number_attribute = \"{}\"\n",
        scenario.personio.legal_entity.id,
        personio_client_id,
        loket.employer_id(),
        loket.administration_id(),
        emulator::loket::DEMO_CLIENT_ID,
        scenario.config.compensation_start_date,
        scenario.config.horizon_months,
        config.employee_number_attribute,
        config.income_number_attribute,
    );
    for mapping in &scenario.config.mappings {
        let _ = write!(text, "\n[[mappings]]\npersonio_type = \"{}\"\n", mapping.personio_type);
        if let Some(component) = mapping.benefit_component {
            let _ = writeln!(text, "benefit_component = {component}");
        }
        if let Some(component) = mapping.deduction_component {
            let _ = writeln!(text, "deduction_component = {component}");
        }
    }
    text
}

/// Starts the demo: emulators, store, admin, connections, schedules.
pub async fn start(clock: Arc<dyn Clock>) -> anyhow::Result<Demo> {
    let company = crate::demo::scenario();
    let directory = std::env::temp_dir().join(format!("loket-sync-serve-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    crate::files::create_private_dir(&directory)?;
    let state = directory.join("service.db");
    let key = super::crypto::random_token(32)?;
    let service = Service::open(&state, KeySource::Hex(SecretString::from(key)), clock).await?;
    let admin_password = super::crypto::random_token(12)?;
    users::add_user(&service.records, "admin", Role::Admin, &admin_password).await?;

    let mut sections = Vec::new();
    for (suffix, ..) in EMPLOYERS {
        let mut loket = company.loket.clone();
        loket.employer.name = format!("{}{suffix}", loket.employer.name);
        sections.push(loket);
    }
    let loket = emulator::LoketEmulator::new(sections[0].clone())?;
    for section in &sections[1..] {
        loket.add_employer(section.clone())?;
    }
    let loket_running = emulator::start(loket.router()).await?;
    // One local Personio; each employer is a company of its own in it, reached with its own credentials.
    let personio = emulator::PersonioEmulator::new(company.personio.clone())?;
    let mut credentials =
        vec![(emulator::loket::DEMO_CLIENT_ID.to_string(), emulator::loket::DEMO_CLIENT_SECRET.to_string())];
    for number in 2..=sections.len() {
        let (id, secret) = (format!("loket-sync-demo-{number}"), format!("demo-secret-{number}"));
        personio.add_company(&id, &secret, company.personio.clone())?;
        credentials.push((id, secret));
    }
    let personio_running = emulator::start(personio.router()).await?;
    let mut employers = Vec::new();
    for ((section, (_, mode, schedule, approvals)), (client_id, client_secret)) in
        sections.iter().zip(EMPLOYERS).zip(&credentials)
    {
        let text = settings_text(&company, client_id, &personio_running.url(), &loket_running.url(), section);
        let issued = loket.issue_tokens();
        let secrets = Secrets {
            personio_client_secret: Some(SecretString::from(client_secret.clone())),
            loket_client_secret: Some(SecretString::from(emulator::loket::DEMO_CLIENT_SECRET)),
            loket_tokens: Some(loket::Tokens {
                access_token: SecretString::from(issued.access_token),
                refresh_token: SecretString::from(issued.refresh_token.unwrap_or_default()),
                expires_at: loket::auth::now_seconds() + issued.expires_in,
            }),
        };
        let name: String = section
            .employer
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        let settings = connection::read_for_api(&name, &text, &secrets)?;
        let saved = service.save_connection("demo", &name, &settings, &text, secrets).await?;
        let policy = ConnectionRow {
            mode: mode.to_string(),
            schedule: Some(schedule.to_string()),
            last_scheduled_at: Some(service.clock.now().to_string()),
            approvals_required: *approvals,
            ..saved.connection
        };
        service.records.update_connection_policy(&policy, true).await?;
        employers.push(format!("{} ({mode}, \"{schedule}\", {approvals} approval(s))", section.employer.name));
    }
    Ok(Demo { service, state, admin_password, servers: vec![personio_running, loket_running], employers })
}
