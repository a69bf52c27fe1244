//! Run safety and history: the state store, the audit journal, drift notes, the run lock, saved plans,
//! the mass-change guard, crash convergence (G6, G7) and bad state files.

use loket_sync::store::{RunStart, StateStore, Store};
use scenario::{LoketSection, compare_loket};

use super::*;

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).to_string()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).to_string()
}

fn store(site: &Site) -> StateStore {
    site._runtime.block_on(StateStore::open_at(&site.state_location())).unwrap()
}

on_both_stores!(
    runs_issues_and_the_audit_log_are_recorded,
    a_value_changed_in_loket_since_the_last_sync_is_pointed_out,
    a_second_concurrent_run_is_refused_and_a_dead_runs_lock_is_taken_over,
    a_saved_plan_is_applied_only_if_nothing_changed_since,
    the_mass_change_guard_refuses_and_an_override_is_recorded,
    a_crash_after_every_write_converges_on_the_next_run,
    a_kill_9_mid_apply_converges_on_the_next_run,
    writes_whose_answer_is_lost_converge_without_duplicates,
    a_run_interrupted_between_the_two_writes_of_an_r6_r7_change_converges,
    writes_are_read_back_and_a_lost_one_is_reported,
);

/// Creates the state store, then changes it by hand with one SQL statement, as someone outside loket-sync might.
fn fresh_store_edited(site: &Site, statement: &str) {
    let created = store(site);
    let database = site.directory.join("loket-sync.db");
    site._runtime.block_on(async {
        created.close().await;
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
        pool.close().await;
    });
}

/// Counts every record, so a duplicate shows even where the comparison keys by start date.
fn records(section: &LoketSection) -> usize {
    section
        .employments
        .iter()
        .map(|employment| {
            employment.wages.len() + employment.benefits_and_deductions.len() + employment.payroll_period_data.len()
        })
        .sum()
}

fn runs_issues_and_the_audit_log_are_recorded(db: Db) {
    let site = site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "journal", true, db);
    run_in(&site, &["sync", "--yes"]).assert().code(0);
    let runs = stdout(&run_in(&site, &["runs"]).assert().code(0));
    assert!(
        runs.contains("run 1 sync") && runs.contains("applied 2 write(s)") && runs.contains("2 planned, 2 sent"),
        "{runs}"
    );
    let log = stdout(&run_in(&site, &["log", "--employee", "1006"]).assert().code(0));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "an intent and a result per write: {log}");
    assert!(lines[0].contains("intent") && lines[1].contains("result") && lines[1].ends_with("→ ok"), "{log}");
    assert!(
        log.contains("[S9] change basic wage from €5,000.00 per period to €5,100.00 per period from 1 Apr 2026"),
        "{log}"
    );
    // Money is stored exactly, as text.
    let rows = site._runtime.block_on(store(&site).log(Some(1006), None)).unwrap();
    assert_eq!(rows[0].before_value.as_deref(), Some("Periodic 5000.00"));
    assert_eq!(rows[0].after_value.as_deref(), Some("Periodic 5100.00"));

    let gap = site_on(scenario_file("04-salary-gap-fails-employee.json"), "journal-gap", true, db);
    run_in(&gap, &["sync", "--yes"]).assert().code(2);
    let issues = stdout(&run_in(&gap, &["issues", "--run", "1"]).assert().code(0));
    assert!(issues.starts_with("salary_gap (error):\n  employee 1004: Cannot sync base salary"), "{issues}");
}

fn a_value_changed_in_loket_since_the_last_sync_is_pointed_out(db: Db) {
    let site = site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "drift", true, db);
    run_in(&site, &["sync", "--yes"]).assert().code(0);
    let mut changed = site.loket.dump();
    let wage = changed.employments[0].wages.iter_mut().find(|wage| wage.start.to_string() == "2026-04-01").unwrap();
    wage.amount = "5150.00".parse().unwrap();
    site.loket.load(changed).unwrap();
    let preview = stdout(&run_in(&site, &["plan"]).assert().code(1));
    assert!(preview.contains("note: employee 1006: change basic wage from €5,150.00 per period to €5,100.00 per period from 1 Apr 2026 — changed in Loket since the last sync"), "{preview}");
    let output = stdout(&run_in(&site, &["sync", "--yes"]).assert().code(0));
    assert!(output.contains("changed in Loket since the last sync"), "{output}");
    assert!(output.contains("loket-sync wrote Periodic 5100.00"), "{output}");
}

fn a_second_concurrent_run_is_refused_and_a_dead_runs_lock_is_taken_over(db: Db) {
    let site = site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "lock", true, db);
    let database = store(&site);
    // Held by a live process (this test): refused, nothing written.
    site._runtime.block_on(database.acquire_lock("1", "another run", 30)).unwrap();
    let refused = run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert!(stderr(&refused).contains("another run for legal entity 1 holds the lock"), "{}", stderr(&refused));
    assert_eq!(site.loket.writes(), 0);
    site._runtime.block_on(database.release_lock("1", "another run")).unwrap();
    // A run that is gone: its lock expired (SQLite) or went with its connection (PostgreSQL): taken over.
    let gone = store(&site);
    site._runtime.block_on(async {
        gone.acquire_lock("1", "a run long ago", 0).await.unwrap();
        gone.close().await;
    });
    run_in(&site, &["sync", "--yes"]).assert().code(0);
}

/// A run under the lock `entity-1` and a write of it, for the tests of the run lock's fence.
fn a_run_and_its_write() -> (RunStart<'static>, engine::plan::Write) {
    let run = RunStart {
        command: "sync",
        who: "the first worker",
        run_date: jiff::civil::date(2026, 3, 15),
        allow_mass_changes: false,
        lock: Some("entity-1"),
    };
    let write = serde_json::from_value(serde_json::json!({
        "employment_id": "emp-1",
        "employee_number": 1,
        "rule": "S9",
        "action": "post_wage",
        "after": {"start": "2026-03-01", "kind": "periodic", "amount": "5100.00"}
    }))
    .unwrap();
    (run, write)
}

/// The intents a run journaled.
async fn intents(store: &StateStore, run_id: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM journal WHERE run_id = $1 AND phase = 'intent'")
        .bind(run_id)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// PostgreSQL: a run lock goes with the session that holds it. When the server ends that session (as it
/// does for a holder whose machine stops answering the keepalive probes the session is set up with), the
/// lock is free for another worker at once, and the run that held it can journal, so send, nothing more.
#[test]
fn a_run_whose_lock_session_ended_journals_no_more_intents_and_the_lock_is_free() {
    use loket_sync::store::StoreError;
    let url = secrecy::SecretString::from(fresh_database("pg-fence"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let first = StateStore::connect(&url).await.unwrap();
        let second = StateStore::connect(&url).await.unwrap();
        first.acquire_lock("entity-1", "the first worker", 30).await.unwrap();
        let session = first.lock_session("entity-1").await.unwrap().expect("the first worker holds the lock");
        assert_eq!(session.keepalives, "idle 20, every 5, 4 probes");
        let (run, write) = a_run_and_its_write();
        let run_id = first.start_run(&run).await.unwrap();
        first.journal_intent(run_id, &write).await.unwrap();
        let refused = second.acquire_lock("entity-1", "the second worker", 30).await;
        assert!(matches!(refused, Err(StoreError::Locked { .. })), "held: {refused:?}");

        // The server ends the holder's session (and waits until it has ended).
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend(CAST($1 AS INTEGER), 10000)")
            .bind(session.backend_pid)
            .fetch_one(second.pool())
            .await
            .unwrap();
        assert!(ended);
        second.acquire_lock("entity-1", "the second worker", 30).await.unwrap();
        for attempt in ["first", "second"] {
            let lost = first.journal_intent(run_id, &write).await;
            let Err(error @ StoreError::LockLost { .. }) = lost else {
                panic!("{attempt} intent after the loss: {lost:?}")
            };
            assert!(error.to_string().contains("sends nothing more to Loket"), "{error}");
        }
        assert_eq!(intents(&second, run_id).await, 1, "only the intent made under the lock is journaled");
        // The first worker letting go does not free the lock the second one holds.
        first.release_lock("entity-1", "the first worker").await.unwrap();
        let refused = first.acquire_lock("entity-1", "the first worker", 30).await;
        assert!(matches!(refused, Err(StoreError::Locked { .. })), "the second worker holds it: {refused:?}");
        second.release_lock("entity-1", "the second worker").await.unwrap();
        first.close().await;
        second.close().await;
    });
}

/// SQLite: a run's lock is renewed with each write's intent (a run longer than `lock_minutes` keeps it),
/// and a run whose lock another run took over (it had expired) can journal, so send, nothing more.
#[test]
fn a_sqlite_run_renews_its_lock_with_each_intent_and_one_whose_lock_was_taken_over_sends_nothing_more() {
    use loket_sync::store::StoreError;
    let site = site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "renew", true, Db::Sqlite);
    let store = store(&site);
    site._runtime.block_on(async {
        store.acquire_lock("entity-1", "the first run", 30).await.unwrap();
        let (run, write) = a_run_and_its_write();
        let run_id = store.start_run(&run).await.unwrap();
        let expires = || async {
            let at: String = sqlx::query_scalar("SELECT expires_at FROM locks WHERE key = 'entity-1'")
                .fetch_one(store.pool())
                .await
                .unwrap();
            at.parse::<jiff::Timestamp>().unwrap()
        };
        // The run has gone on for longer than its lock lasts: the next intent renews it.
        sqlx::query("UPDATE locks SET expires_at = '2000-01-01T00:00:00Z'").execute(store.pool()).await.unwrap();
        store.journal_intent(run_id, &write).await.unwrap();
        assert!(expires().await > jiff::Timestamp::now(), "renewed for another lock_minutes");

        // Another run took the lock over (as one does once a lock expired): this run is fenced off.
        sqlx::query("UPDATE locks SET holder = 'another run', acquired_at = '2026-03-15T10:00:00Z'")
            .execute(store.pool())
            .await
            .unwrap();
        let lost = store.journal_intent(run_id, &write).await;
        assert!(matches!(lost, Err(StoreError::LockLost { .. })), "{lost:?}");
        let holder: String = sqlx::query_scalar("SELECT holder FROM locks WHERE key = 'entity-1'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(holder, "another run", "the other run's lock is left as it is");
        assert_eq!(intents(&store, run_id).await, 1, "only the intent made under the lock is journaled");
    });
}

fn a_saved_plan_is_applied_only_if_nothing_changed_since(db: Db) {
    let site = site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "saved-plan", true, db);
    let plan = site.directory.join("plan.json");
    run_in(&site, &["plan", "--out"]).arg(&plan).assert().code(1);
    // The HR administrator changes a salary after the plan was made.
    let mut changed = site.personio.dump();
    changed.persons[0].salaries[1].value = "5200.00".parse().unwrap();
    site.personio.load(changed).unwrap();
    let stale = run_in(&site, &["sync", "--yes", "--plan"]).arg(&plan).assert().code(2);
    assert!(stderr(&stale).contains("is stale"), "{}", stderr(&stale));
    assert_eq!(site.loket.writes(), 0);
    run_in(&site, &["plan", "--out"]).arg(&plan).assert().code(1);
    run_in(&site, &["sync", "--yes", "--plan"]).arg(&plan).assert().code(0);
    std::fs::write(&plan, "{ not a plan").unwrap();
    let corrupt = run_in(&site, &["sync", "--yes", "--plan"]).arg(&plan).assert().code(2);
    assert!(stderr(&corrupt).contains("is not a saved plan"), "{}", stderr(&corrupt));
}

fn the_mass_change_guard_refuses_and_an_override_is_recorded(db: Db) {
    let site = site_on(loket_sync::demo::scenario(), "guard", true, db);
    run_in(&site, &["sync", "--yes"]).assert().code(2); // the demo has a salary gap: an error issue
    site.personio.load(loket_sync::demo::mass_decrease(&site.personio.dump())).unwrap();
    let writes = site.loket.writes();
    let plan = stdout(&run_in(&site, &["plan"]).assert().code(2));
    assert!(plan.contains("The mass-change guard refuses this plan"), "{plan}");
    run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert_eq!(site.loket.writes(), writes, "refused: nothing written");
    run_in(&site, &["sync", "--yes", "--allow-mass-changes"]).assert().code(2);
    assert_eq!(site.loket.writes(), writes + 12);
    let runs = stdout(&run_in(&site, &["runs"]).assert().code(0));
    assert!(runs.lines().next().unwrap().contains("--allow-mass-changes"), "{runs}");
    assert!(runs.contains("refused by the mass-change guard"), "{runs}");
}

/// The Loket state a clean run of the demo company leaves.
fn clean_result(site: &Site, original: &LoketSection) -> LoketSection {
    site.loket.load(original.clone()).unwrap();
    run_in(site, &["sync", "--yes"]).assert().code(2);
    site.loket.dump()
}

fn a_crash_after_every_write_converges_on_the_next_run(db: Db) {
    let site = site_on(loket_sync::demo::scenario(), "crash", true, db);
    let original = site.loket.dump();
    let clean = clean_result(&site, &original);
    let total = site.loket.writes();
    assert!(total >= 20, "a realistic sync: {total} writes");
    for k in 1..total {
        site.loket.load(original.clone()).unwrap();
        run_in(&site, &["sync", "--yes", "--crash-after-writes", &k.to_string()]).assert().code(137);
        // Employments are applied in parallel: writes already under way when the k-th answer came may
        // have reached Loket too.
        let sent = site.loket.writes();
        assert!(sent >= k && sent <= total, "stopped after {k} writes, {sent} sent");
        run_in(&site, &["sync", "--yes"]).assert().code(2);
        let after = site.loket.dump();
        assert!(
            compare_loket(&clean.employments, &after.employments).is_empty(),
            "after a crash at {k}: {:?}",
            compare_loket(&clean.employments, &after.employments)
        );
        assert_eq!(records(&after), records(&clean), "no duplicates after a crash at {k}");
        assert_eq!(site.loket.writes(), total, "the second run wrote only what was missing");
    }
}

fn a_kill_9_mid_apply_converges_on_the_next_run(db: Db) {
    let site = site_on(loket_sync::demo::scenario(), "kill", true, db);
    let original = site.loket.dump();
    let clean = clean_result(&site, &original);
    for k in [3usize, 11] {
        site.loket.load(original.clone()).unwrap();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loket-sync"))
            .arg("--config")
            .arg(&site.config)
            .args(["--today", "2026-03-15", "sync", "--yes", "--pause-after-writes", &k.to_string()])
            .env("PERSONIO_CLIENT_SECRET", "demo-secret")
            .env("LOKET_CLIENT_SECRET", "demo-secret")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for the crash point to be reached (the child says so), then kill -9.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        assert!(lines.any(|line| line.unwrap().contains("paused after")), "the child reached its crash point");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(site.loket.writes() >= k);
        run_in(&site, &["sync", "--yes"]).assert().code(2);
        let after = site.loket.dump();
        assert!(compare_loket(&clean.employments, &after.employments).is_empty(), "after kill -9 at {k}");
        assert_eq!(records(&after), records(&clean));
    }
    let runs = stdout(&run_in(&site, &["runs"]).assert().code(0));
    assert!(runs.contains("did not finish"), "a killed run shows as unfinished: {runs}");
}

fn writes_whose_answer_is_lost_converge_without_duplicates(db: Db) {
    for file in [
        "06-retroactive-correction-and-future-raise.json",
        "07-recurring-ends-open-historical-record.json",
        "12-absent-one-time-is-deleted.json",
    ] {
        let site = site_on(scenario_file(file), &format!("lost-{}", &file[..2]), true, db);
        let expected = site.scenario.expect.loket.clone().unwrap();
        // Every POST, PUT and PATCH happens and is answered 500.
        site.loket.set_faults(emulator::Faults { fail_after_commit_rate: 1.0, ..Default::default() }).unwrap();
        run_in(&site, &["sync", "--yes"]).assert().code(0);
        site.loket.set_faults(emulator::Faults::default()).unwrap();
        let after = site.loket.dump();
        assert!(
            compare_loket(&expected.employments, &after.employments).is_empty(),
            "{file}: {:?}",
            compare_loket(&expected.employments, &after.employments)
        );
        let expected_records: usize = expected
            .employments
            .iter()
            .map(|employment| {
                employment.wages.len() + employment.benefits_and_deductions.len() + employment.payroll_period_data.len()
            })
            .sum();
        assert_eq!(records(&after), expected_records, "{file}: no duplicates");
        run_in(&site, &["plan"]).assert().code(0);
    }
}

fn a_run_interrupted_between_the_two_writes_of_an_r6_r7_change_converges(db: Db) {
    let site = site_on(scenario_file("07-recurring-ends-open-historical-record.json"), "r6-r7", true, db);
    let expected = site.scenario.expect.loket.clone().unwrap();
    run_in(&site, &["sync", "--yes", "--crash-after-writes", "1"]).assert().code(137);
    let between = site.loket.dump();
    let ended = &between.employments[0].benefits_and_deductions;
    assert!(
        ended.iter().any(|record| record.end.map(|end| end.to_string()) == Some("2025-12-31".to_string())),
        "R6 done, R7 not yet"
    );
    run_in(&site, &["sync", "--yes"]).assert().code(0);
    assert!(compare_loket(&expected.employments, &site.loket.dump().employments).is_empty());
}

#[test]
fn bad_state_files_are_refused_without_losing_data_or_writing_to_loket() {
    let site = site("06-retroactive-correction-and-future-raise.json", "bad-state", true);
    let database = site.directory.join("loket-sync.db");
    // Not a database at all.
    std::fs::write(&database, b"these are someone's notes, not a database").unwrap();
    let refused = run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert!(stderr(&refused).contains("is not a loket-sync database"), "{}", stderr(&refused));
    assert_eq!(std::fs::read(&database).unwrap(), b"these are someone's notes, not a database");
    assert_eq!(site.loket.writes(), 0);
    std::fs::remove_file(&database).unwrap();
    // Someone else's SQLite database.
    site._runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", database.display())).await.unwrap();
        sqlx::query("CREATE TABLE invoices (id INTEGER)").execute(&pool).await.unwrap();
        pool.close().await;
    });
    let refused = run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert!(stderr(&refused).contains("it has a table `invoices`"), "{}", stderr(&refused));
    std::fs::remove_file(&database).unwrap();
    // A database from a newer loket-sync.
    fresh_store_edited(
        &site,
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (99, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)",
    );
    let refused = run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert!(stderr(&refused).contains("written by a newer loket-sync (schema 99"), "{}", stderr(&refused));
    assert_eq!(site.loket.writes(), 0);
    std::fs::remove_file(&database).unwrap();
    // A run row edited by hand into the wrong type: the history commands say so instead of crashing.
    fresh_store_edited(
        &site,
        "INSERT INTO runs (command, started_at, who, run_date, writes_planned) VALUES ('sync', 'yesterday', 'me', '2026-11-26', 'lots')",
    );
    let refused = run_in(&site, &["runs"]).assert().failure();
    let message = stderr(&refused);
    assert!(message.contains("the state database failed") && message.contains("writes_planned"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    // A state path whose directory does not exist, or that is a directory.
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(&site.config, format!("{text}\n[state]\npath = \"missing/dir/state.db\"\n")).unwrap();
    let refused = run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert!(stderr(&refused).contains("does not exist"), "{}", stderr(&refused));
    std::fs::write(&site.config, format!("{text}\n[state]\npath = \".\"\n")).unwrap();
    run_in(&site, &["sync", "--yes"]).assert().code(2);
    assert_eq!(site.loket.writes(), 0);
}

fn writes_are_read_back_and_a_lost_one_is_reported(db: Db) {
    let site = site_on(scenario_file("06-retroactive-correction-and-future-raise.json"), "read-back", true, db);
    site.loket.set_faults(emulator::Faults { lose_writes: true, ..Default::default() }).unwrap();
    let output = stdout(&run_in(&site, &["sync", "--yes"]).assert().code(0));
    assert!(output.contains("warning write_unconfirmed"), "{output}");
    assert!(output.contains("these changes are still to make: change basic wage from €5,000.00"), "{output}");
    site.loket.set_faults(emulator::Faults::default()).unwrap();
    run_in(&site, &["sync", "--yes"]).assert().code(0);
    run_in(&site, &["plan"]).assert().code(0);
}
