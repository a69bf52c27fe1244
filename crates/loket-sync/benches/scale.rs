//! A payroll bureau's scale: many employers, each a connection with a due scheduled run in auto mode, run
//! by 1, 2 and 4 `serve` worker processes sharing one PostgreSQL database, against the local Loket (every
//! employer under one provider login) and the local Personio (a company per employer, by credentials)
//! with latency added to every request. Run with:
//!
//!     cargo bench -p loket-sync --bench scale -- 200 50 20
//!
//! (employers, employees each, milliseconds of latency; then optionally the worker counts, default
//! 1 2 4). PostgreSQL comes from `LOKET_SYNC_BENCH_POSTGRES` (a server where databases may be created) or
//! is started by `scripts/test-postgres.sh`. For each worker count it reports the wall time from the
//! workers' start until every run is recorded, the round-trip lower bound (requests × latency ÷ (8
//! concurrent requests × workers): a worker runs two employers at once within one budget of 8 requests
//! under way per API), their ratio, runs per minute, each worker's peak memory and CPU time, the CPU time
//! of the emulators, and the runs done twice or not at all (both must be 0).

// A benchmark reports its numbers on stdout: that is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loket_sync::service::connection::{self, Secrets};
use loket_sync::service::records::ConnectionRow;
use loket_sync::service::{FixedDate, KeySource, Service};
use loket_sync::store::{Location, StateStore};
use secrecy::SecretString;
use sqlx::{Connection as _, Executor as _};

#[path = "common/company.rs"]
mod company;

const KEY: &str = "5f1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0";
/// Requests one worker has under way per API at most, over the employers it runs at once.
const CONCURRENCY: f64 = 8.0;

fn postgres() -> String {
    if let Ok(url) = std::env::var("LOKET_SYNC_BENCH_POSTGRES") {
        return url.trim_end_matches('/').to_string();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-postgres.sh");
    let directory = std::env::temp_dir().join(format!("loket-sync-bench-postgres-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).map(|a| a.port());
    let output = std::process::Command::new("bash")
        .arg(script)
        .arg("start")
        .arg(&directory)
        .arg(port.expect("a free port").to_string())
        .arg(std::process::id().to_string())
        .output()
        .expect("scripts/test-postgres.sh runs");
    assert!(output.status.success(), "PostgreSQL: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

async fn fresh_database(server: &str, name: &str) -> String {
    let mut admin = sqlx::postgres::PgConnection::connect(&format!("{server}/postgres")).await.expect("PostgreSQL");
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.expect("drop");
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create");
    admin.close().await.expect("close");
    format!("{server}/{name}")
}

/// The local systems of a bureau: `employers` companies of `employees` each.
struct Bureau {
    loket: emulator::LoketEmulator,
    personio: emulator::PersonioEmulator,
    sections: Vec<scenario::LoketSection>,
    credentials: Vec<(String, String)>,
    /// The custom attributes of the employee and income numbers, by id (as `check` suggests).
    attributes: (String, String),
    servers: Vec<emulator::Running>,
}

async fn bureau(employers: usize, employees: u64) -> Bureau {
    let companies: Vec<scenario::Scenario> = (1..=employers)
        .map(|number| company::company_of(employees, &number.to_string(), &format!("Bureau client {number:03}")))
        .collect();
    let loket = emulator::LoketEmulator::new(companies[0].loket.clone()).expect("the local Loket");
    let personio = emulator::PersonioEmulator::new(companies[0].personio.clone()).expect("the local Personio");
    let mut credentials =
        vec![(emulator::loket::DEMO_CLIENT_ID.to_string(), emulator::loket::DEMO_CLIENT_SECRET.to_string())];
    for (index, company) in companies.iter().enumerate().skip(1) {
        loket.add_employer(company.loket.clone()).expect("an employer");
        let (id, secret) = (format!("bureau-client-{}", index + 1), format!("bureau-secret-{}", index + 1));
        personio.add_company(&id, &secret, company.personio.clone()).expect("a company");
        credentials.push((id, secret));
    }
    let servers = vec![
        emulator::start(loket.router()).await.expect("the local Loket serves"),
        emulator::start(personio.router()).await.expect("the local Personio serves"),
    ];
    let config = companies[0].engine_config();
    let attributes = (config.employee_number_attribute.clone(), config.income_number_attribute.clone());
    let sections = companies.into_iter().map(|company| company.loket).collect();
    Bureau { loket, personio, sections, credentials, attributes, servers }
}

/// Every employer as a connection in auto mode with a yearly schedule that is due now.
async fn connections(bureau: &Bureau, location: &Location) {
    let clock = Arc::new(FixedDate("2026-03-15".parse().expect("a date")));
    let service = Service::open_at(location, KeySource::Hex(SecretString::from(KEY)), clock).await.expect("the store");
    let personio_url = format!("http://{}", bureau.servers[1].address);
    let loket_url = format!("http://{}", bureau.servers[0].address);
    let issued = bureau.loket.issue_tokens();
    for (index, (section, (client_id, secret))) in bureau.sections.iter().zip(&bureau.credentials).enumerate() {
        let number = index + 1;
        let text = format!(
            "[personio]\nlegal_entity = \"{number}\"\nbase_url = \"{personio_url}\"\nclient_id = \"{client_id}\"\n\n[loket]\nbase_url = \"{loket_url}/v2\"\noauth_url = \"{loket_url}/oauth\"\nemployer_id = \"{}\"\npayroll_administration_id = \"{}\"\nclient_id = \"{}\"\n\n[sync]\ncompensation_start_date = \"2026-01-01\"\nsalary = true\nrecurring = true\none_time = true\nemployee_number_attribute = \"{}\"\nincome_number_attribute = \"{}\"\n\n[[mappings]]\npersonio_type = \"Car allowance\"\nbenefit_component = 7010\n\n[[mappings]]\npersonio_type = \"Bonus\"\nbenefit_component = 4001\n",
            section.employer_id(),
            section.administration_id(),
            emulator::loket::DEMO_CLIENT_ID,
            bureau.attributes.0,
            bureau.attributes.1,
        );
        let secrets = || Secrets {
            personio_client_secret: Some(SecretString::from(secret.clone())),
            loket_client_secret: Some(SecretString::from(emulator::loket::DEMO_CLIENT_SECRET)),
            loket_tokens: (number == 1).then(|| loket::Tokens {
                access_token: SecretString::from(issued.access_token.clone()),
                refresh_token: SecretString::from(issued.refresh_token.clone().unwrap_or_default()),
                expires_at: loket::auth::now_seconds() + issued.expires_in,
            }),
        };
        let name = format!("client-{number:03}");
        let settings = connection::read_for_api(&name, &text, &secrets()).expect("a valid configuration");
        let saved = service.save_connection("bench", &name, &settings, &text, secrets()).await.expect("saved");
        let row = ConnectionRow {
            mode: "auto".to_string(),
            schedule: Some("0 0 1 1 *".to_string()),
            last_scheduled_at: Some("2020-01-01T00:00:00Z".to_string()),
            ..saved.connection
        };
        service.records.update_connection_policy(&row, true).await.expect("the policy");
    }
}

fn peak_memory_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

/// The CPU seconds (user and system) of a process so far: `/proc/<pid>/stat`, in USER_HZ (100 a second).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn total(counts: &BTreeMap<String, usize>) -> usize {
    counts.values().sum()
}

fn main() {
    let numbers: Vec<usize> = std::env::args().skip(1).filter_map(|arg| arg.parse().ok()).collect();
    let employers = numbers.first().copied().unwrap_or(200);
    let employees = numbers.get(1).copied().unwrap_or(50) as u64;
    let latency_ms = numbers.get(2).copied().unwrap_or(20) as u64;
    let worker_counts: Vec<usize> = if numbers.len() > 3 { numbers[3..].to_vec() } else { vec![1, 2, 4] };
    let server = postgres();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    println!("== {employers} employers × {employees} employees, {latency_ms} ms latency, auto mode, one PostgreSQL");
    for workers in worker_counts {
        runtime.block_on(async {
            let database = fresh_database(&server, &format!("bench_scale_{workers}")).await;
            let location = Location::Postgres(SecretString::from(database.clone()));
            let bureau = bureau(employers, employees).await;
            connections(&bureau, &location).await;
            let faults = emulator::Faults { latency_ms, ..Default::default() };
            bureau.loket.set_faults(faults.clone()).expect("latency");
            bureau.personio.set_faults(faults).expect("latency");
            let before = total(&bureau.loket.request_counts()) + total(&bureau.personio.request_counts());
            let emulators_before = cpu_seconds("self").unwrap_or(0.0);
            let started = Instant::now();
            let mut children: Vec<std::process::Child> = (0..workers)
                .map(|_| {
                    std::process::Command::new(env!("CARGO_BIN_EXE_loket-sync"))
                        .args(["--today", "2026-03-15", "serve", "--listen", "127.0.0.1:0"])
                        .env("DATABASE_URL", &database)
                        .env("LOKET_SYNC_KEY", KEY)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn()
                        .expect("a worker")
                })
                .collect();
            let store = StateStore::open_at(&location).await.expect("the store");
            // Done when every employer's run is recorded: its plan applied (or in sync, or held for a person).
            loop {
                let finished: Vec<i64> = sqlx::query_scalar(
                    "SELECT COUNT(DISTINCT plans.connection_id) FROM plans LEFT JOIN runs ON runs.id = plans.run_id
                     WHERE plans.status = 'in_sync' OR (plans.status = 'applied' AND runs.finished_at IS NOT NULL)",
                )
                .fetch_all(store.pool())
                .await
                .expect("the runs");
                if finished.first().copied().unwrap_or(0) as usize >= employers {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(3600), "the runs did not finish within an hour");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let wall = started.elapsed().as_secs_f64();
            let emulators_cpu = cpu_seconds("self").unwrap_or(0.0) - emulators_before;
            let worker_cpu: Vec<String> = children
                .iter()
                .map(|child| cpu_seconds(&child.id().to_string()).map_or_else(|| "?".to_string(), |s| format!("{s:.0} s")))
                .collect();
            let memory: Vec<String> = children
                .iter()
                .map(|child| peak_memory_mb(child.id()).map_or_else(|| "?".to_string(), |mb| format!("{mb:.0} MB")))
                .collect();
            for child in &mut children {
                let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
                let _ = child.wait();
            }
            // Each employer planned once and, with writes, applied once.
            let per_connection: Vec<(i64, i64)> =
                sqlx::query_as("SELECT connections.id, COUNT(plans.id) FROM connections LEFT JOIN plans ON plans.connection_id = connections.id GROUP BY connections.id")
                    .fetch_all(store.pool())
                    .await
                    .expect("the runs per connection");
            let doubled = per_connection.iter().filter(|(_, runs)| *runs > 1).count();
            let missed = per_connection.iter().filter(|(_, runs)| *runs == 0).count();
            let failed: Vec<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE errors > 0 OR finished_at IS NULL")
                .fetch_all(store.pool())
                .await
                .expect("the failed runs");
            store.close().await;
            let requests = total(&bureau.loket.request_counts()) + total(&bureau.personio.request_counts()) - before;
            let bound = requests as f64 * latency_ms as f64 / 1000.0 / (CONCURRENCY * workers as f64);
            println!(
                "{workers} worker(s): wall {wall:.1} s; {requests} requests; lower bound {bound:.1} s; ratio {:.2}; {:.0} runs/min; peak memory per worker {}; CPU per worker {}, emulators {emulators_cpu:.0} s; doubled {doubled}, missed {missed}; runs with errors {}",
                wall / bound,
                employers as f64 / wall * 60.0,
                memory.join(", "),
                worker_cpu.join(", "),
                failed.first().copied().unwrap_or(0),
            );
        });
    }
}
