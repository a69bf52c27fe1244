//! Several workers (`serve` processes) on one PostgreSQL database: each due scheduled run is taken by
//! exactly one of them, two that start at once on an empty database both come up on one schema, and a
//! database of a newer version is refused.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};

use loket_sync::service::connection::{self, Secrets};
use loket_sync::store::{Location, StateStore, StoreError};

use super::*;

/// A `serve` worker on the site's database: the process, and its log lines as they come.
struct Worker {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Worker {
    fn start(site: &Site) -> Worker {
        Worker::start_with(site, &[])
    }

    fn start_with(site: &Site, args: &[&str]) -> Worker {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loket-sync"))
            .args(["--config"])
            .arg(&site.config)
            .args(["--today", "2026-03-15", "-v", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", site.database_url.as_deref().unwrap())
            .env("LOKET_SYNC_KEY", KEY)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Worker { child, lines }
    }

    /// Waits for a line that contains `text` (the worker says it; no sleeping), and returns it.
    fn wait_for(&self, text: &str) -> String {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(120)) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("the worker never said `{text}`:\n{}", seen.join("\n")),
            }
        }
    }

    /// The lines said and not read yet.
    fn said(&self) -> String {
        self.lines.try_iter().collect::<Vec<_>>().join("\n")
    }

    fn stop(mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// The number in `taken=N` of a worker's `tick done` line.
fn taken(line: &str) -> usize {
    let rest = line.split("taken=").nth(1).unwrap_or("0");
    rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("0").parse().unwrap_or(0)
}

/// `count` connections of the site's configuration in its database, in `mode`, each with a yearly schedule
/// whose last slot (1 January) came after its last scheduled run: each is due once, now.
fn due_connections(site: &Site, count: usize, mode: &str) {
    let location = site.state_location();
    let text = std::fs::read_to_string(&site.config).unwrap();
    let issued = site.loket.issue_tokens();
    site._runtime.block_on(async {
        let clock = Arc::new(FixedDate(site.scenario.today));
        let service = Service::open_at(&location, KeySource::Hex(SecretString::from(KEY)), clock).await.unwrap();
        for number in 1..=count {
            let name = format!("employer-{number:02}");
            let secrets = || Secrets {
                personio_client_secret: Some(SecretString::from("demo-secret")),
                loket_client_secret: Some(SecretString::from("demo-secret")),
                loket_tokens: (number == 1).then(|| loket::Tokens {
                    access_token: SecretString::from(issued.access_token.clone()),
                    refresh_token: SecretString::from(issued.refresh_token.clone().unwrap_or_default()),
                    expires_at: loket::auth::now_seconds() + issued.expires_in,
                }),
            };
            let settings = connection::read_for_api(&name, &text, &secrets()).unwrap();
            let saved = service.save_connection("test", &name, &settings, &text, secrets()).await.unwrap();
            let row = loket_sync::service::records::ConnectionRow {
                mode: mode.to_string(),
                schedule: Some("0 0 1 1 *".to_string()),
                last_scheduled_at: Some("2020-01-01T00:00:00Z".to_string()),
                ..saved.connection
            };
            service.records.update_connection_policy(&row, true).await.unwrap();
        }
    });
}

/// The lease of the first connection's slot (`retry_at`) and its failed attempts.
fn slot_lease(site: &Site) -> (Option<String>, i64) {
    site._runtime.block_on(async {
        let store = StateStore::open_at(&site.state_location()).await.unwrap();
        let row: (Option<String>, i64) =
            sqlx::query_as("SELECT retry_at, attempts FROM connections ORDER BY id LIMIT 1")
                .fetch_one(store.pool())
                .await
                .unwrap();
        store.close().await;
        row
    })
}

/// Runs a statement on the site's database, as an operator would by hand.
fn execute(site: &Site, statement: &str) {
    site._runtime.block_on(async {
        let store = StateStore::open_at(&site.state_location()).await.unwrap();
        sqlx::query(statement).execute(store.pool()).await.unwrap();
        store.close().await;
    });
}

#[test]
fn three_workers_take_each_of_fifty_due_runs_exactly_once() {
    let site = site_on(scenario_file("01-monthly-salary-first-sync.json"), "workers", true, Db::Postgres);
    let location = site.state_location();
    due_connections(&site, 50, "review");
    // Three workers at once, each ticking at start over the same fifty due connections.
    let workers: Vec<Worker> = (0..3).map(|_| Worker::start(&site)).collect();
    let taken: Vec<usize> = workers.iter().map(|worker| taken(&worker.wait_for("tick done"))).collect();
    for worker in workers {
        worker.stop();
    }
    assert_eq!(taken.iter().sum::<usize>(), 50, "every due run taken once between them: {taken:?}");
    let plans: Vec<(i64, i64)> = site._runtime.block_on(async {
        let store = StateStore::open_at(&location).await.unwrap();
        let rows = sqlx::query_as::<_, (i64, i64)>(
            "SELECT connection_id, COUNT(*) FROM plans GROUP BY connection_id ORDER BY connection_id",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        store.close().await;
        rows
    });
    assert_eq!(plans.len(), 50, "a plan for every connection: {plans:?}");
    assert!(plans.iter().all(|(_, count)| *count == 1), "no run twice: {plans:?}");
}

#[test]
fn two_workers_starting_at_once_on_an_empty_database_share_one_schema() {
    let site = site_on(scenario_file("01-monthly-salary-first-sync.json"), "workers-empty", true, Db::Postgres);
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start(&site)).collect();
    for worker in &workers {
        worker.wait_for("serves on http://127.0.0.1:");
    }
    for worker in workers {
        worker.stop();
    }
    let versions: Vec<i64> = site._runtime.block_on(async {
        let store = StateStore::open_at(&site.state_location()).await.unwrap();
        let versions = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
        store.close().await;
        versions
    });
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6]);
}

/// Money and dates stay exact on PostgreSQL: run dates are DATE (a value that is not a date is refused),
/// amounts are text in the journal, and no column anywhere is a floating-point number.
#[test]
fn postgres_keeps_run_dates_as_dates_and_no_column_is_a_float() {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "workers-types", Db::Postgres);
    let alice = served.token("alice");
    let id = connection_id(&served, &alice);
    let (status, plan) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["run_date"], served.site.scenario.today.to_string(), "read back as the date it is: {plan}");
    let (status, decision) =
        served.call("POST", &format!("/api/v1/plans/{}/approve", plan["id"]), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::OK, "{decision}");
    let (_, runs) = served.call("GET", "/api/v1/runs", Auth::Bearer(&alice), None);
    assert_eq!(runs[0]["run_date"], served.site.scenario.today.to_string(), "{runs}");
    served.runtime.block_on(async {
        let store = StateStore::open_at(&served.site.state_location()).await.unwrap();
        let types: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() ORDER BY table_name, column_name",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let type_of = |table: &str, column: &str| {
            types.iter().find(|(t, c, _)| t == table && c == column).map(|(_, _, kind)| kind.clone())
        };
        assert_eq!(type_of("runs", "run_date").as_deref(), Some("date"));
        assert_eq!(type_of("plans", "run_date").as_deref(), Some("date"));
        assert_eq!(type_of("journal", "after_value").as_deref(), Some("text"), "amounts as written, exact");
        let floats: Vec<_> = types.iter().filter(|(_, _, kind)| kind == "real" || kind == "double precision").collect();
        assert!(floats.is_empty(), "no float columns: {floats:?}");
        let refused = sqlx::query("UPDATE runs SET run_date = CAST('2026-02-30' AS DATE)").execute(store.pool()).await;
        assert!(refused.is_err(), "not a date: refused");
        store.close().await;
    });
}

#[test]
fn a_database_of_a_newer_version_is_refused_with_what_to_do() {
    let site = site_on(scenario_file("01-monthly-salary-first-sync.json"), "workers-newer", true, Db::Postgres);
    let location = site.state_location();
    site._runtime.block_on(async {
        let store = StateStore::open_at(&location).await.unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99, 'from the future', TRUE, '\\x00', 0)")
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
        let Err(error) = StateStore::open_at(&location).await else { panic!("a newer database is refused") };
        assert!(matches!(error, StoreError::NewerDatabase { found: 99, known: 6, .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("newer loket-sync") && message.contains("use the newer version"), "{message}");
        assert!(!message.contains("demo-secret"));
    });
    // A URL with a password is never shown with it.
    let url = site.database_url.clone().unwrap().replace("postgres@", "postgres:hunter2@");
    assert!(!Location::Postgres(SecretString::from(url)).shown().contains("hunter2"));
}

#[test]
fn a_worker_killed_mid_apply_leaves_an_unfinished_run_and_the_next_worker_converges() {
    let site =
        site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "workers-kill", true, Db::Postgres);
    let expected = site.scenario.expect.loket.clone().unwrap();
    due_connections(&site, 1, "auto");
    // The first worker takes the due run, applies it in auto mode, and is killed after the first write.
    let mut first = Worker::start_with(&site, &["--pause-after-writes", "1"]);
    first.wait_for("paused after 1 writes");
    // While its run goes on, the worker extends its slot's lease (every 30 seconds: the one wait here).
    let leased = slot_lease(&site).0.expect("leased");
    first.wait_for("the slot's lease extended");
    let extended = slot_lease(&site).0.expect("still leased");
    assert!(extended.parse::<jiff::Timestamp>().unwrap() > leased.parse().unwrap(), "{leased} → {extended}");
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert_eq!(site.loket.writes(), 1);
    let runs = String::from_utf8_lossy(&run_in(&site, &["runs"]).assert().code(0).get_output().stdout).to_string();
    assert!(runs.contains("did not finish"), "the killed worker's run shows as unfinished: {runs}");
    // The killed worker's slot stays leased to it, so no other worker runs it meanwhile; the lease is not
    // extended any more, and once it expired (here: moved to the past, as two minutes would) another
    // worker takes the slot: the run lock went with the killed worker's connection, and the run converges
    // without a duplicate (G6).
    let lease = slot_lease(&site);
    assert!(lease.0.is_some() && lease.1 == 0, "leased to the killed worker: {lease:?}");
    execute(&site, "UPDATE connections SET retry_at = '2021-01-01T00:00:00Z'");
    let second = Worker::start(&site);
    let line = second.wait_for("tick done");
    second.stop();
    assert_eq!(taken(&line), 1, "{line}");
    assert_eq!(slot_lease(&site), (None, 0), "the slot is done");
    let after = site.loket.dump();
    assert!(
        scenario::compare_loket(&expected.employments, &after.employments).is_empty(),
        "{:?}",
        scenario::compare_loket(&expected.employments, &after.employments)
    );
    assert_eq!(after.employments[0].wages.len(), expected.employments[0].wages.len(), "no duplicate");
    assert_eq!(site.loket.writes(), 2, "only the write that was missing was sent");
}

/// A PostgreSQL server of one test's own (this test stops and starts it), stopped when the test ends.
struct OwnServer {
    directory: PathBuf,
    url: String,
}

impl OwnServer {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-postgres.sh")
    }

    fn start(name: &str) -> OwnServer {
        let directory = std::env::temp_dir().join(format!("loket-sync-it-{}-{name}-server", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let mut server = OwnServer { directory, url: String::new() };
        server.url = server.up(free_port());
        server
    }

    fn up(&self, port: u16) -> String {
        let output = std::process::Command::new("bash")
            .arg(OwnServer::script())
            .arg("start")
            .arg(&self.directory)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn stop(&self) {
        let status = std::process::Command::new("bash")
            .arg(OwnServer::script())
            .arg("stop")
            .arg(&self.directory)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn a_worker_whose_database_goes_away_keeps_serving_starts_no_run_and_recovers_without_a_restart() {
    let server = OwnServer::start("away");
    let database = fresh_database_on(&server.url, "away");
    let site = site_at(scenario_file("01-monthly-salary-first-sync.json"), "workers-away", true, Some(database));
    due_connections(&site, 1, "review");
    // Its run is done; the schedule's next slot is a year away.
    execute(&site, "UPDATE connections SET last_scheduled_at = '2099-01-01T00:00:00Z'");
    let worker = Worker::start_with(&site, &["--tick-seconds", "1"]);
    let address = worker.wait_for("serves on http://");
    let base = address.split("serves on ").nth(1).unwrap().trim().to_string();
    assert_eq!(taken(&worker.wait_for("tick done")), 0);

    server.stop();
    worker.wait_for("the state store does not answer: no run starts until it does");
    let health: Value =
        site._runtime.block_on(async { reqwest::get(format!("{base}/healthz")).await.unwrap().json().await.unwrap() });
    assert_eq!(health, json!({"status": "ok", "store": "unreachable"}), "the worker still serves");

    // The database comes back on the same port; the connection's run is due: the worker runs it, without
    // a restart.
    server.up(server.port());
    execute(&site, "UPDATE connections SET last_scheduled_at = '2020-01-01T00:00:00Z'");
    worker.wait_for("the state store answers again");
    let mut line = worker.wait_for("tick done");
    while taken(&line) == 0 {
        line = worker.wait_for("tick done");
    }
    assert_eq!(taken(&line), 1, "{line}");
    let health: Value =
        site._runtime.block_on(async { reqwest::get(format!("{base}/healthz")).await.unwrap().json().await.unwrap() });
    assert_eq!(health["store"], "ok");
    worker.stop();
}

/// A second worker on the served site's database, with its own API at the address it returns. Workers
/// behind one load balancer share its public address (`--public-url`): Loket sends browsers back there.
fn second_worker(served: &Served) -> String {
    let location = served.site.state_location();
    let options = ApiOptions { public_url: Some(served.base.clone()), ..ApiOptions::default() };
    served.runtime.block_on(async {
        let clock = Arc::new(FixedDate(served.site.scenario.today));
        let service = Service::open_at(&location, KeySource::Hex(SecretString::from(KEY)), clock).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(api::serve(listener, Arc::new(service), options, std::future::pending()));
        format!("http://{address}")
    })
}

/// One call to a worker at `base` (the served site's or a second one), without authentication.
fn call_at(served: &Served, base: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    served.runtime.block_on(async {
        let http = reqwest::Client::new();
        let request = http.request(method.parse().unwrap(), format!("{base}{path}"));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer = request.send().await.unwrap();
        let status = answer.status();
        (status, answer.json().await.unwrap_or(Value::Null))
    })
}

/// What one worker keeps, every worker knows: failed logins on one count on the other, and a Loket login
/// started on one is finished by the other when Loket sends the browser there (a load balancer need not
/// be sticky).
#[test]
fn failed_logins_and_a_started_loket_login_are_shared_by_every_worker() {
    let served = served_on("01-monthly-salary-first-sync.json", "workers-shared", Db::Postgres);
    let second = second_worker(&served);
    let wrong = || Some(json!({"name": "vera", "password": "wrong password"}));
    for base in [&served.base, &second, &served.base, &second, &served.base] {
        let (status, body) = call_at(&served, base, "POST", "/api/v1/session", wrong());
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    for base in [&served.base, &second] {
        let right = Some(json!({"name": "vera", "password": PASSWORD}));
        let (status, body) = call_at(&served, base, "POST", "/api/v1/session", right);
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "five failures between two workers: {body}");
    }

    let alice = served.token("alice");
    let (_, logins) = served.call("GET", "/api/v1/loket-logins", Auth::Bearer(&alice), None);
    let login = logins[0]["id"].as_i64().unwrap();
    let (status, started) =
        served.call("POST", &format!("/api/v1/loket-logins/{login}/authorize"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::OK, "{started}");
    let authorize = started["authorize_url"].as_str().unwrap().to_string();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = served.runtime.block_on(async {
        let answer = browser.get(&authorize).send().await.unwrap();
        answer.headers().get("location").unwrap().to_str().unwrap().to_string()
    });
    let path = location.strip_prefix(&served.base).unwrap_or_else(|| panic!("{location}")).to_string();
    // The state is kept as its hash only: the database does not hold what the browser carries.
    let state = path.split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let kept: Vec<String> = served.runtime.block_on(async {
        let store = StateStore::open_at(&served.site.state_location()).await.unwrap();
        let kept = sqlx::query_scalar("SELECT state_hash FROM pending_loket_logins").fetch_all(store.pool()).await;
        store.close().await;
        kept.unwrap()
    });
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(!kept[0].contains(&state), "{kept:?}");
    // The browser comes back to the other worker: it finishes the login, once.
    let (status, body) = call_at(&served, &second, "GET", &path, None);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["logged_in"], true, "{body}");
    let (status, _) = call_at(&served, &served.base, "GET", &path, None);
    assert_eq!(status, StatusCode::BAD_REQUEST, "a state is good once, on any worker");
}

/// An auto-mode connection on a database of its own server, and a worker whose run of it is paused
/// after its first write until the test makes the gate file.
struct PausedApply {
    server: OwnServer,
    site: Site,
    expected: scenario::ExpectedLoket,
    gate: PathBuf,
    worker: Worker,
}

impl PausedApply {
    fn start(name: &str) -> PausedApply {
        let server = OwnServer::start(name);
        let database = fresh_database_on(&server.url, name);
        let site = site_at(
            scenario_file("06-retroactive-correction-and-future-raise.json"),
            &format!("workers-{name}"),
            true,
            Some(database),
        );
        let expected = site.scenario.expect.loket.clone().unwrap();
        due_connections(&site, 1, "auto");
        let gate = site.directory.join("resume");
        let gate_text = gate.to_str().unwrap().to_string();
        let worker = Worker::start_with(
            &site,
            &["--tick-seconds", "1", "--pause-after-writes", "1", "--resume-when", &gate_text],
        );
        worker.wait_for("paused after 1 writes");
        PausedApply { server, site, expected, gate, worker }
    }

    fn resume(&self) {
        std::fs::write(&self.gate, "").unwrap();
        self.worker.wait_for("resumed after 1 writes");
    }

    /// Makes the connection's slot due again; the same worker, never restarted, runs it and converges:
    /// Loket as expected, nothing doubled, only the missing write sent.
    fn converges(self) {
        execute(&self.site, "UPDATE connections SET last_scheduled_at = '2021-01-01T00:00:00Z', retry_at = NULL");
        self.worker.wait_for("outcome=applied");
        let said = self.worker.said();
        self.worker.stop();
        let after = self.site.loket.dump();
        let differences = scenario::compare_loket(&self.expected.employments, &after.employments);
        assert!(differences.is_empty(), "{differences:?}\n{said}");
        assert_eq!(after.employments[0].wages.len(), self.expected.employments[0].wages.len(), "no duplicate");
        assert_eq!(self.site.loket.writes(), 2, "only the write that was missing was sent");
        drop(self.server);
    }
}

/// PostgreSQL stopped in the middle of an apply: the write whose intent cannot be journaled is not sent,
/// the run shows as unfinished, and once the database is back the next run converges without a restart
/// and without a duplicate (G6).
#[test]
fn postgres_stopped_mid_apply_no_write_goes_unjournaled_and_the_next_run_converges() {
    let paused = PausedApply::start("midapply");
    paused.server.stop();
    paused.resume();
    paused.worker.wait_for("a scheduled plan failed");
    assert_eq!(paused.site.loket.writes(), 1, "the write whose intent could not be journaled was not sent");
    paused.server.up(paused.server.port());
    let runs =
        String::from_utf8_lossy(&run_in(&paused.site, &["runs"]).assert().code(0).get_output().stdout).to_string();
    assert!(runs.contains("did not finish"), "the interrupted run shows as unfinished: {runs}");
    paused.converges();
}

/// PostgreSQL restarted while a run is between two writes: the session that held the run's lock is gone,
/// and with it the lock (another worker could take it now). The database answers again before the run
/// goes on, so only the lock can stop it: it sends nothing more, says why, and the next run converges.
#[test]
fn postgres_restarted_mid_apply_the_run_that_lost_its_lock_sends_nothing_more_and_the_next_run_converges() {
    let paused = PausedApply::start("restart");
    paused.server.stop();
    paused.server.up(paused.server.port());
    paused.resume();
    let ended = paused.worker.wait_for("outcome=");
    assert_eq!(paused.site.loket.writes(), 1, "no write sent after the lock was lost: {ended}");
    let issues =
        String::from_utf8_lossy(&run_in(&paused.site, &["issues"]).assert().code(0).get_output().stdout).to_string();
    assert!(issues.contains("run lock for legal entity"), "the run says why it stopped: {issues}");
    paused.converges();
}

/// Loket's refresh tokens rotate, and every worker has its own client for a login. A worker whose access
/// token ended after another worker refreshed must not refresh with the refresh token it holds (dead):
/// it finds the rotated tokens in the database, under the login's refresh lock, and uses them.
#[test]
fn workers_sharing_a_loket_login_refresh_its_rotating_tokens_without_losing_it() {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "workers-refresh", Db::Postgres);
    let second = second_worker(&served);
    let olga = served.token("olga");
    let id = connection_id(&served, &olga);
    let check = format!("/api/v1/connections/{id}/check");
    let call = |base: &str| {
        served.runtime.block_on(async {
            let answer = reqwest::Client::new().get(format!("{base}{check}")).bearer_auth(&olga).send().await.unwrap();
            let status = answer.status();
            let body = answer.json::<Value>().await.unwrap_or(Value::Null);
            // Read and checked: Loket answered (a lost login shows as "not_checked" with its reason).
            (status, body["validity"]["status"].clone(), body)
        })
    };
    // Both workers read Loket with the login's tokens: each holds them in its own client.
    for base in [served.base.as_str(), second.as_str()] {
        let (status, validity, body) = call(base);
        assert_eq!((status, validity), (StatusCode::OK, json!("valid")), "{base}: {body}");
    }
    // An hour passes: the first worker refreshes (the refresh token rotates), then the second one.
    served.site.loket.expire_access_tokens();
    for base in [served.base.as_str(), second.as_str()] {
        let (status, validity, body) = call(base);
        assert_eq!((status, validity), (StatusCode::OK, json!("valid")), "{base} after the tokens ended: {body}");
    }
    // Another hour: both at once; one refreshes, the other waits for it and uses its tokens.
    served.site.loket.expire_access_tokens();
    let answers: Vec<Value> = served.runtime.block_on(async {
        let http = reqwest::Client::new();
        let first = http.get(format!("{}{check}", served.base)).bearer_auth(&olga).send();
        let second = http.get(format!("{second}{check}")).bearer_auth(&olga).send();
        let (first, second) = tokio::join!(first, second);
        let mut answers = Vec::new();
        for answer in [first.unwrap(), second.unwrap()] {
            answers.push(answer.json::<Value>().await.unwrap_or(Value::Null)["validity"]["status"].clone());
        }
        answers
    });
    assert_eq!(answers, vec![json!("valid"), json!("valid")], "both read Loket at once after the tokens ended");
    let needs_login: Vec<i64> = served.runtime.block_on(async {
        let store = StateStore::open_at(&served.site.state_location()).await.unwrap();
        let rows = sqlx::query_scalar("SELECT needs_login FROM loket_logins").fetch_all(store.pool()).await.unwrap();
        store.close().await;
        rows
    });
    assert_eq!(needs_login, vec![0], "the login is kept");
}

/// Every worker delivers the outbox's notifications; two at the same moment send each one once.
#[test]
fn two_workers_delivering_at_once_send_each_notification_once() {
    let served = served_on("01-monthly-salary-first-sync.json", "workers-outbox", Db::Postgres);
    let alice = served.token("alice");
    // A receiver that answers after a moment, so that both workers are sending while the other looks.
    let (hook, received) = served.runtime.block_on(async {
        let received: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let kept = Arc::clone(&received);
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let kept = Arc::clone(&kept);
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    kept.lock().unwrap().push(body);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let running = emulator::start(router).await.unwrap();
        let url = format!("{}/hook", running.url());
        std::mem::forget(running);
        (url, received)
    });
    let (status, body) = served.call(
        "POST",
        "/api/v1/notifications",
        Auth::Bearer(&alice),
        Some(json!({"kind": "webhook", "target": hook, "events": ["run_failed"]})),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other = served.runtime.block_on(async {
        let clock = Arc::new(FixedDate(served.site.scenario.today));
        let location = served.site.state_location();
        Service::open_at(&location, KeySource::Hex(SecretString::from(KEY)), clock).await.unwrap()
    });
    let events = 12;
    let delivered = served.runtime.block_on(async {
        for n in 0..events {
            served.service.notify("run_failed", None, &format!("run {n} failed"), json!({"n": n})).await;
        }
        let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
        let (first, second) = tokio::join!(served.service.deliver(at), other.deliver(at));
        first + second
    });
    assert_eq!(delivered, events, "each delivered by one of the two workers");
    let mut bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), events, "each sent once: {bodies:?}");
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), events, "no notification twice");
}

/// Adds an employer of its own (a Loket employer under the same login, a Personio company with its own
/// credentials and legal entity) to a served site, as a connection; its id.
fn another_employer(served: &Served, number: usize) -> i64 {
    let mut loket = served.site.scenario.loket.clone();
    loket.employer.name = format!("{} ({number})", loket.employer.name);
    served.site.loket.add_employer(loket.clone()).unwrap();
    let mut personio = served.site.scenario.personio.clone();
    let legal_entity = format!("{}{number}", personio.legal_entity.id);
    personio.legal_entity.id = legal_entity.clone();
    for person in &mut personio.persons {
        person.employment.legal_entity = legal_entity.clone();
    }
    let client = format!("client-{number}");
    served.site.personio.add_company(&client, "secret-n", personio).unwrap();
    let text = std::fs::read_to_string(&served.site.config).unwrap();
    let (employer, administration) = served.site.loket.employers()[0].clone();
    let text = text
        .replace(&employer, &loket.employer_id())
        .replace(&administration, &loket.administration_id())
        .replacen("client_id = \"loket-sync-demo\"", &format!("client_id = \"{client}\""), 1)
        .replacen(
            &format!("legal_entity = \"{}\"", served.site.scenario.personio.legal_entity.id),
            &format!("legal_entity = \"{legal_entity}\""),
            1,
        );
    let file = served.site.directory.join(format!("employer-{number}.toml"));
    std::fs::write(&file, text).unwrap();
    super::service_command(&served.site, &served.state, &["connections", "import", file.to_str().unwrap()])
        .env("PERSONIO_CLIENT_SECRET", "secret-n")
        .assert()
        .success();
    let alice = served.token("alice");
    let (_, connections) = served.call("GET", "/api/v1/connections", Auth::Bearer(&alice), None);
    connections.as_array().unwrap().iter().map(|connection| connection["id"].as_i64().unwrap()).max().unwrap()
}

/// A worker applies at most two approved plans at once: a third approval meanwhile is answered 503 and
/// not kept (each apply holds a database connection for its run lock), and goes through once one ended.
#[test]
fn a_third_approval_while_two_plans_are_applied_is_refused_and_not_kept() {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "workers-busy", Db::Postgres);
    let alice = served.token("alice");
    let first = connection_id(&served, &alice);
    let ids = [first, another_employer(&served, 2), another_employer(&served, 3)];
    let plans: Vec<i64> = ids
        .iter()
        .map(|id| {
            let (status, plan) =
                served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
            assert_eq!((status, plan["status"].as_str()), (StatusCode::CREATED, Some("pending")), "{plan}");
            plan["id"].as_i64().unwrap()
        })
        .collect();
    let gate = served.site.directory.join("resume");
    let gate_text = gate.to_str().unwrap().to_string();
    let worker =
        Worker::start_with(&served.site, &["--no-scheduler", "--pause-after-writes", "1", "--resume-when", &gate_text]);
    let address = worker.wait_for("serves on http://");
    let base = address.split("serves on ").nth(1).unwrap().trim().to_string();
    let approve = |plan: i64| {
        let url = format!("{base}/api/v1/plans/{plan}/approve");
        let token = alice.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let answer = reqwest::Client::new().post(url).bearer_auth(token).send().await.unwrap();
                (answer.status(), answer.json::<Value>().await.unwrap_or(Value::Null))
            })
        })
    };
    let applying = [approve(plans[0]), approve(plans[1])];
    worker.wait_for("paused after 1 writes");
    worker.wait_for("paused after 1 writes");
    let (status, refused) = approve(plans[2]).join().unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    assert!(refused.to_string().contains("approve again in a moment"), "{refused}");
    let (_, plan) = served.call("GET", &format!("/api/v1/plans/{}", plans[2]), Auth::Bearer(&alice), None);
    assert_eq!(plan["status"], "pending", "{plan}");
    assert_eq!(plan["approvals"], json!([]), "the refused approval is not kept: {plan}");

    std::fs::write(&gate, "").unwrap();
    for handle in applying {
        let (status, decision) = handle.join().unwrap();
        assert_eq!((status, decision["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{decision}");
    }
    let (status, decision) = approve(plans[2]).join().unwrap();
    assert_eq!((status, decision["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{decision}");
    worker.stop();
}

#[test]
fn a_plan_approved_on_two_workers_at_once_is_applied_once() {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "workers-approve", Db::Postgres);
    let second = second_worker(&served);
    let (olga, otto) = (served.token("olga"), served.token("otto"));
    let id = connection_id(&served, &olga);
    let (status, plan) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    let writes = plan["writes"].as_u64().unwrap() as usize;
    let approve = format!("/api/v1/plans/{}/approve", plan["id"]);
    let answers: Vec<(StatusCode, Value)> = served.runtime.block_on(async {
        let http = reqwest::Client::new();
        let first = http.post(format!("{}{approve}", served.base)).bearer_auth(&olga).send();
        let second = http.post(format!("{second}{approve}")).bearer_auth(&otto).send();
        let (first, second) = tokio::join!(first, second);
        let mut answers = Vec::new();
        for answer in [first.unwrap(), second.unwrap()] {
            let status = answer.status();
            answers.push((status, answer.json().await.unwrap_or(Value::Null)));
        }
        answers
    });
    let applied = answers.iter().filter(|(_, body)| body["outcome"] == "applied").count();
    assert_eq!(applied, 1, "one apply between the two workers: {answers:?}");
    assert!(
        answers.iter().any(|(status, _)| *status == StatusCode::CONFLICT),
        "the other approval is told the plan is decided or being applied: {answers:?}"
    );
    assert_eq!(served.site.loket.writes(), writes, "every write sent once");
}
