//! The binary end to end (assert_cmd) against the emulators: every scenario file through `scenario run`,
//! `plan` exit codes, `sync`, `init`, `connect loket`, bad configuration files, and the demo.

/// Tests that run on each state store, SQLite and PostgreSQL: the same tests for both stores.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { super::$name(super::Db::Sqlite) } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { super::$name(super::Db::Postgres) } )*
        }
    };
}

mod house;
mod requests;
mod safety;
mod service;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use emulator::{LoketEmulator, PersonioEmulator, Running};
use scenario::Scenario;

fn binary() -> Command {
    Command::cargo_bin("loket-sync").expect("the loket-sync binary")
}

fn scenarios() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
}

fn temp_dir(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("loket-sync-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

#[test]
fn every_scenario_file_passes_through_scenario_run() {
    let files = scenarios();
    assert!(files.len() >= 19);
    let output = binary().args(["scenario", "run", "--json"]).args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), files.len());
    let failed: Vec<&serde_json::Value> = lines.iter().filter(|line| line["passed"] != true).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(output.status.success());
    // The JSON carries the two runs, their writes and the issues, as SCENARIOS.md says.
    let gap = lines.iter().find(|line| line["name"].as_str().unwrap().contains("gap")).unwrap();
    assert_eq!(gap["runs"].as_array().unwrap().len(), 2);
    assert_eq!(gap["runs"][0]["writes"], 0);
    assert_eq!(gap["runs"][0]["issues"][0]["code"], "salary_gap");
    assert_eq!(gap["runs"][0]["issues"][0]["person"], 1004);
    let config_error = lines.iter().find(|line| !line["config_errors"].as_array().unwrap().is_empty()).unwrap();
    assert_eq!(config_error["runs"].as_array().unwrap().len(), 0);
}

#[test]
fn scenario_run_fails_a_file_whose_expectation_is_wrong() {
    let directory = temp_dir("wrong-expectation");
    let mut scenario = Scenario::load(&scenarios()[1]).unwrap();
    scenario.expect.loket.as_mut().unwrap().employments[0].wages[1].amount = "4166.66".parse().unwrap();
    let path = directory.join("wrong.json");
    std::fs::write(&path, serde_json::to_string(&scenario).unwrap()).unwrap();
    let assert = binary().args(["scenario", "run"]).arg(&path).assert().code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("FAIL") && stdout.contains("4166.66"), "{stdout}");
}

#[test]
fn scenario_run_says_which_file_is_missing_or_not_a_scenario_and_runs_the_rest() {
    let directory = temp_dir("bad-scenario-files");
    let invalid = directory.join("invalid.json");
    std::fs::write(&invalid, r#"{"description": "no name"}"#).unwrap();
    let missing = directory.join("missing.json");
    let good = &scenarios()[0];
    let assert = binary().args(["scenario", "run"]).arg(&missing).arg(&invalid).arg(good).assert().code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("missing.json cannot be read: No such file"), "{stdout}");
    assert!(
        stdout.contains("this is not a valid scenario file") && stdout.contains("missing field `name`"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("PASS {}", good.display())), "{stdout}");
}

/// The state store a test runs on: the SQLite file (the default), or a fresh PostgreSQL database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server of the tests: `LOKET_SYNC_TEST_POSTGRES` (a server where the tests may create
/// databases; `.ci/run` starts one), else one started for this test process by `scripts/test-postgres.sh`
/// from the machine's PostgreSQL binaries, which stops by itself when the process ends.
fn postgres_server() -> &'static str {
    static SERVER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("LOKET_SYNC_TEST_POSTGRES")
            && !url.is_empty()
        {
            return url.trim_end_matches('/').to_string();
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-postgres.sh");
        let directory = std::env::temp_dir().join(format!("loket-sync-it-postgres-{}", std::process::id()));
        let output = std::process::Command::new("bash")
            .arg(script)
            .arg("start")
            .arg(&directory)
            .arg(free_port().to_string())
            .arg(std::process::id().to_string())
            .output()
            .expect("scripts/test-postgres.sh runs");
        assert!(output.status.success(), "PostgreSQL for the tests: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    })
}

/// A fresh, empty database on the tests' server, for one test; its URL.
fn fresh_database(name: &str) -> String {
    fresh_database_on(postgres_server(), name)
}

/// A fresh, empty database on the PostgreSQL server at `server`; its URL.
fn fresh_database_on(server: &str, name: &str) -> String {
    use sqlx::{Connection as _, Executor as _};
    let database: String = format!("it_{}_{}", name, std::process::id())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut admin = sqlx::postgres::PgConnection::connect(&format!("{server}/postgres")).await.unwrap();
        admin.execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str()).await.unwrap();
        admin.execute(format!("CREATE DATABASE {database}").as_str()).await.unwrap();
        admin.close().await.unwrap();
    });
    format!("{server}/{database}")
}

/// Both emulators seeded from a scenario file, a configuration pointing at them, and tokens on disk.
struct Site {
    directory: PathBuf,
    config: PathBuf,
    loket: LoketEmulator,
    personio: PersonioEmulator,
    scenario: Scenario,
    /// The PostgreSQL database of `[state] url`, when the site runs on one.
    database_url: Option<String>,
    _runtime: tokio::runtime::Runtime,
    _servers: (Running, Running),
}

impl Site {
    /// Where the site's state is.
    fn state_location(&self) -> loket_sync::store::Location {
        match &self.database_url {
            Some(url) => loket_sync::store::Location::Postgres(secrecy::SecretString::from(url.clone())),
            None => loket_sync::store::Location::File(self.directory.join("loket-sync.db")),
        }
    }
}

/// A loopback port that is free now (for `connect loket`'s redirect listener).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn scenario_file(file: &str) -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(file)).unwrap()
}

fn site(file: &str, name: &str, tokens: bool) -> Site {
    site_from(scenario_file(file), name, tokens)
}

fn site_from(scenario: Scenario, name: &str, tokens: bool) -> Site {
    site_on(scenario, name, tokens, Db::Sqlite)
}

/// `site_from`, its state in the store `db` says (on PostgreSQL a fresh database named after the test).
fn site_on(scenario: Scenario, name: &str, tokens: bool, db: Db) -> Site {
    match db {
        Db::Sqlite => site_at(scenario, name, tokens, None),
        Db::Postgres => {
            let name = format!("pg-{name}");
            let url = fresh_database(&name);
            site_at(scenario, &name, tokens, Some(url))
        }
    }
}

/// A site whose state is in the PostgreSQL database at `database_url`, or in its SQLite file.
fn site_at(scenario: Scenario, name: &str, tokens: bool, database_url: Option<String>) -> Site {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let loket = LoketEmulator::new(scenario.loket.clone()).unwrap();
    let personio = PersonioEmulator::new(scenario.personio.clone()).unwrap();
    let (loket_running, personio_running) = runtime.block_on(async {
        (emulator::start(loket.router()).await.unwrap(), emulator::start(personio.router()).await.unwrap())
    });
    let directory = temp_dir(name);
    let mut mappings = String::new();
    for mapping in &scenario.config.mappings {
        mappings.push_str(&format!("\n[[mappings]]\npersonio_type = \"{}\"\n", mapping.personio_type));
        if let Some(component) = mapping.benefit_component {
            mappings.push_str(&format!("benefit_component = {component}\n"));
        }
        if let Some(component) = mapping.deduction_component {
            mappings.push_str(&format!("deduction_component = {component}\n"));
        }
    }
    let text = format!(
        r#"[personio]
legal_entity = "{legal_entity}"
base_url = "{personio_url}"
client_id = "loket-sync-demo"

[loket]
base_url = "{loket_url}/v2"
oauth_url = "{loket_url}/oauth"
employer_id = "{employer}"
payroll_administration_id = "{administration}"
client_id = "loket-sync-demo"
redirect_port = {port}

[sync]
compensation_start_date = "{start}"
salary = true
recurring = true
one_time = true
horizon_months = {horizon}
employee_number_attribute = "{employee_number_attribute}"
income_number_attribute = "{income_number_attribute}"
{mappings}"#,
        legal_entity = scenario.personio.legal_entity.id,
        personio_url = personio_running.url(),
        loket_url = loket_running.url(),
        employer = loket.employer_id(),
        administration = loket.administration_id(),
        port = free_port(),
        start = scenario.config.compensation_start_date,
        horizon = scenario.config.horizon_months,
        // By id, as `loket-sync check` suggests: the local Personio, like the real one, sends no labels.
        employee_number_attribute = scenario.engine_config().employee_number_attribute,
        income_number_attribute = scenario.engine_config().income_number_attribute,
    );
    let text = match &database_url {
        Some(url) => format!("{text}\n[state]\nurl = \"{url}\"\n"),
        None => text,
    };
    let config = directory.join("loket-sync.toml");
    std::fs::write(&config, text).unwrap();
    if tokens {
        let issued = loket.issue_tokens();
        let file = serde_json::json!({"access_token": issued.access_token, "refresh_token": issued.refresh_token, "expires_at": loket::auth::now_seconds() + 3000});
        std::fs::write(directory.join("loket-tokens.json"), file.to_string()).unwrap();
    }
    Site {
        directory,
        config,
        loket,
        personio,
        scenario,
        database_url,
        _runtime: runtime,
        _servers: (loket_running, personio_running),
    }
}

/// `connect loket` in the background, and the authorize URL it printed.
fn start_connect(site: &Site) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loket-sync"))
        .arg("--config")
        .arg(&site.config)
        .args(["connect", "loket", "--timeout", "60"])
        .env("PERSONIO_CLIENT_SECRET", "demo-secret")
        .env("LOKET_CLIENT_SECRET", "demo-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url =
        lines.by_ref().map(|line| line.unwrap()).find(|line| line.starts_with("http")).expect("the authorize URL");
    (child, url)
}

fn run_in(site: &Site, args: &[&str]) -> Command {
    let mut command = binary();
    command
        .arg("--config")
        .arg(&site.config)
        .args(["--today", "2026-03-15"])
        .args(args)
        .env("PERSONIO_CLIENT_SECRET", "demo-secret")
        .env("LOKET_CLIENT_SECRET", "demo-secret")
        .env_remove("PERSONIO_CLIENT_ID");
    command
}

#[test]
fn plan_exit_codes_then_sync_then_in_sync() {
    let site = site("06-retroactive-correction-and-future-raise.json", "exit-codes", true);
    let pending = run_in(&site, &["plan", "--csv"])
        .arg(site.directory.join("plan.csv"))
        .arg("--out")
        .arg(site.directory.join("plan.json"))
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&pending.get_output().stdout).to_string();
    assert!(
        stdout.contains("[S9] change basic wage from €5,000.00 per period to €5,100.00 per period from 1 Apr 2026"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(site.directory.join("plan.csv")).unwrap();
    assert!(
        csv.starts_with(
            "employee_number,name,person,status,rule_or_code,change_or_message\n1006,Thijs Mulder,1006,change,S9,"
        ),
        "{csv}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site.directory.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
    assert!(saved["fingerprint"].as_str().is_some_and(|fingerprint| fingerprint.len() == 36));

    // Without a terminal, sync wants --yes.
    run_in(&site, &["sync"]).assert().code(2);
    assert_eq!(site.loket.writes(), 0);
    run_in(&site, &["sync", "--yes"]).assert().code(0);
    assert_eq!(site.loket.writes(), 2);
    run_in(&site, &["plan"]).assert().code(0);
    let json = run_in(&site, &["plan", "--json"]).assert().code(0);
    let value: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(value["writes"], 0);
}

#[test]
fn plan_exits_2_on_an_error_issue() {
    let site = site("04-salary-gap-fails-employee.json", "gap", true);
    let assert = run_in(&site, &["plan"]).assert().code(2);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("Cannot sync base salary because no salary was found for 1 Jan 2026 to 14 Jan 2026."),
        "{stdout}"
    );
}

#[test]
fn a_start_date_that_is_no_period_start_names_the_file_line_and_field() {
    let site = site("17-start-date-not-period-start.json", "k2", true);
    let assert = run_in(&site, &["plan"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let expected = format!("{}:15: sync.compensation_start_date:", site.config.display());
    assert!(stderr.contains(&expected) && stderr.contains("starts on 1 Jan 2026"), "{stderr}");
}

#[test]
fn bad_configuration_files_give_every_error_at_once() {
    let directory = temp_dir("bad-config");
    let path = directory.join("loket-sync.toml");
    std::fs::write(
        &path,
        r#"[personio]
legal_entity = 1
client_secret = "never here"

[loket]
employer_id = "e"
payroll_administration_id = "a"
client_id = "c"
requests_per_second = "ten"
environment = "staging"

[sync]
salary = "yes"
horizon = 12

[[mappings]]
personio_type = "Car allowance"
benefit_component = "7010"
"#,
    )
    .unwrap();
    let assert = binary().arg("--config").arg(&path).arg("plan").assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let file = path.display().to_string();
    for expected in [
        format!("{file}:2: personio.legal_entity: must be a string in quotes, not a whole number"),
        format!("{file}:3: personio.client_secret: secrets never go in the file"),
        format!("{file}:9: loket.requests_per_second: must be a whole number, not a string"),
        format!("{file}:10: loket.environment: `staging` is not an environment"),
        format!("{file}:12: sync.compensation_start_date: is required"),
        format!("{file}:13: sync.salary: must be true or false, not a string"),
        format!("{file}:14: sync.horizon: unknown setting. Did you mean `horizon_months`?"),
        format!("{file}:18: mappings[0].benefit_component: must be a whole number, not a string"),
    ] {
        assert!(stderr.contains(&expected), "missing `{expected}` in:\n{stderr}");
    }
    // A syntax error names its line.
    std::fs::write(&path, "[sync]\ncompensation_start_date = \n").unwrap();
    let assert = binary().arg("--config").arg(&path).arg("plan").assert().code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains(&format!("{file}:2: (syntax)")));
    // No file at all says what to do.
    let assert = binary().arg("--config").arg(directory.join("missing.toml")).arg("plan").assert().code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("run `loket-sync init`"));
}

#[test]
fn init_writes_a_file_that_parses_and_refuses_to_overwrite() {
    let directory = temp_dir("init");
    let path = directory.join("loket-sync.toml");
    // Before init: the missing file is named, with what to do.
    let missing = binary().arg("--config").arg(&path).args(["check", "--offline"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!("{}: there is no configuration file here; run `loket-sync init`", path.display())),
        "{stderr}"
    );
    binary().arg("--config").arg(&path).args(["init", "--environment", "acceptance"]).assert().code(0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("environment = \"acceptance\""));
    assert!(!text.contains("client_secret ="), "no secret in the file");
    binary()
        .arg("--config")
        .arg(&path)
        .args(["check", "--offline"])
        .env_remove("PERSONIO_CLIENT_SECRET")
        .assert()
        .code(0);
    binary().arg("--config").arg(&path).arg("init").assert().code(2);
}

#[test]
fn connect_loket_takes_the_redirect_and_stores_private_tokens() {
    let site = site("01-monthly-salary-first-sync.json", "connect", false);
    let (mut child, url) = start_connect(&site);
    // The "browser": the local Loket approves at once and redirects to the loopback listener.
    site._runtime.block_on(async {
        loket::client::install_crypto_provider();
        let answer = reqwest::get(&url).await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
    });
    let status = child.wait().unwrap();
    assert!(status.success());
    let tokens = site.directory.join("loket-tokens.json");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777, 0o600);
    run_in(&site, &["plan"]).assert().code(1);
}

#[test]
fn the_demo_runs_from_nothing() {
    let assert = binary().arg("demo").assert().code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("== 4. sync again"), "{stdout}");
    assert!(stdout.contains("(0 write(s) received by Loket)"), "{stdout}");
    assert!(stdout.contains("error blast_radius_exceeded"), "{stdout}");
}

#[test]
fn plan_without_a_loket_login_says_to_connect_first() {
    let site = site("01-monthly-salary-first-sync.json", "not-connected", false);
    let assert = run_in(&site, &["plan"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains(
            "error: cannot read the payroll periods: not connected to Loket: run `loket-sync connect loket` first"
        ),
        "{stderr}"
    );
}

#[test]
fn emulate_serves_both_apis_until_stopped() {
    let directory = temp_dir("emulate");
    let seed = scenarios()[0].clone();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loket-sync"))
        .args(["emulate", "--personio-port", "0", "--loket-port", "0", "--seed"])
        .arg(&seed)
        .current_dir(&directory)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map(|line| line.unwrap());
    let personio = lines.next().unwrap();
    let loket = lines.next().unwrap();
    assert!(personio.starts_with("Personio: http://127.0.0.1:") && personio.contains("(legal entity 1)"), "{personio}");
    let loket_url = loket.split_whitespace().nth(1).unwrap().trim_end_matches("/v2").to_string();
    let rest: Vec<String> = lines.by_ref().take(4).collect();
    assert!(rest.iter().any(|line| line.contains("client id loket-sync-demo , secret demo-secret")), "{rest:?}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let state: scenario::LoketSection = runtime.block_on(async {
        loket::client::install_crypto_provider();
        reqwest::get(format!("{loket_url}/_emulator/state")).await.unwrap().json().await.unwrap()
    });
    assert_eq!(state.employments.len(), 1);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// M2: `check` lists the custom attributes the persons in scope have, with how many values equal a Loket
/// employee number, suggests one, and lists Loket's payroll components; `plan` warns once for the run.
#[test]
fn check_shows_the_attributes_with_a_suggestion_and_the_component_catalogue() {
    let site = site("20-attributes-configured-by-id.json", "check-survey", true);
    // A configuration by label, as the first version's default: real Personio (and the local one) sends none.
    let text = std::fs::read_to_string(&site.config).unwrap();
    let text = text.replace(
        "employee_number_attribute = \"dynamic_2001\"",
        "employee_number_attribute = \"Employee number – Loket\"",
    );
    std::fs::write(&site.config, text).unwrap();
    let check = run_in(&site, &["check"]).assert().code(0);
    let stdout = String::from_utf8_lossy(&check.get_output().stdout).to_string();
    for expected in [
        "custom attributes of the 3 persons in scope",
        "id dynamic_2001, global id employee_number_loket (type INT): 3 with a value, 3 equal to a Loket employee number; e.g. 1041, 1042, 1043  <- suggested for employee_number_attribute",
        "employee_number_attribute = \"Employee number – Loket\": NOT found on any person in scope",
        "income_number_attribute = \"dynamic_2002\": found on persons in scope",
        "suggestion: set employee_number_attribute = \"dynamic_2001\" in [sync]",
        "Loket payroll components of 2026:",
        "7010   Autotoeslag     payment    7         yes",
        "8020   Pensioen WN     deduction  12        yes",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }
    let json = run_in(&site, &["check", "--json"]).assert().code(0);
    let value: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    let survey = &value["survey"];
    assert_eq!(survey["attributes"]["suggested_employee_number"], "dynamic_2001", "{value}");
    assert_eq!(survey["employee_number_attribute_seen"], false);
    let attributes = survey["attributes"]["attributes"].as_array().unwrap();
    assert!(attributes.iter().all(|attribute| attribute["label"].is_null()), "no labels are served: {survey}");
    let bonus = survey["components"].as_array().unwrap().iter().find(|row| row["key"] == 4001).unwrap();
    assert_eq!((bonus["kind"].as_str(), bonus["category"].as_u64()), (Some("payment"), Some(7)));
    // The plan says it once for the run, naming the suggestion, and matches nobody.
    let plan = run_in(&site, &["plan", "--json"]).assert().code(0);
    let value: serde_json::Value = serde_json::from_slice(&plan.get_output().stdout).unwrap();
    let issues = value["issues"].as_array().unwrap();
    let run_level: Vec<&serde_json::Value> =
        issues.iter().filter(|issue| issue["code"] == "attribute_not_found").collect();
    assert_eq!(run_level.len(), 1, "{issues:#?}");
    assert!(run_level[0]["message"].as_str().unwrap().contains("suggests `dynamic_2001`"), "{run_level:?}");
}
