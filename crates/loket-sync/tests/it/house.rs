//! The house: a failed company-wide read is `read_failed`, never a configuration error; `-v` logs every
//! request and no secret; the login redirect is refused when its `state` does not match; payroll data on
//! disk is owner-only; progress bars stay off when the output is not a terminal.

use std::os::unix::fs::PermissionsExt as _;

use crate::*;

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).to_string()
}

fn json_of(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&assert.get_output().stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// G5 revised: a catalogue that answers 500 is a failed read that names itself; nothing is written and the
/// mappings are not called wrong.
#[test]
fn a_500_on_a_catalogue_is_read_failed_not_a_configuration_error() {
    let site = site("06-retroactive-correction-and-future-raise.json", "catalogue-500", true);
    site.loket
        .set_faults(emulator::Faults {
            error_status: 500,
            fail_first: 1000,
            fail_route: Some(
                "GET /v2/providers/employers/payrolladministrations/{administration_id}/payrollcomponents/year/{year}"
                    .to_string(),
            ),
            ..Default::default()
        })
        .unwrap();
    let plan = run_in(&site, &["plan", "--json"]).assert().code(2);
    let value = json_of(&plan);
    assert!(value["config_errors"].as_array().is_none_or(|errors| errors.is_empty()), "{value}");
    let issues = value["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0]["code"], "read_failed");
    assert!(issues[0]["message"].as_str().unwrap().contains("Loket payroll components of 2025"), "{issues:#?}");
    assert_eq!(value["writes"], 0);
    // `check` says the same: a read failed, the configuration is not judged.
    let check = run_in(&site, &["check"]).assert().code(2);
    let stderr = stderr_of(&check);
    assert!(stderr.contains("error: Loket payroll components of 2025") && !stderr.contains("problem(s)"), "{stderr}");
    assert_eq!(site.loket.writes(), 0);
}

/// A types answer that cannot be read is a failed read too, not "Personio has no compensation type …".
#[test]
fn a_corrupted_types_answer_is_read_failed_not_a_configuration_error() {
    let site = site("06-retroactive-correction-and-future-raise.json", "types-corrupt", true);
    site.personio
        .set_faults(emulator::Faults {
            corrupt_route: Some("GET /v2/compensations/types".to_string()),
            ..Default::default()
        })
        .unwrap();
    let plan = run_in(&site, &["plan", "--json"]).assert().code(2);
    let value = json_of(&plan);
    assert!(value["config_errors"].as_array().is_none_or(|errors| errors.is_empty()), "{value}");
    let issue = &value["issues"][0];
    assert_eq!(issue["code"], "read_failed", "{value}");
    let message = issue["message"].as_str().unwrap();
    assert!(message.contains("Personio compensation types") && message.contains("cannot be read"), "{message}");
    assert!(!message.contains("Known types"), "{message}");
}

/// -v shows every HTTP request with method, route, status, attempt and time, and never a secret or token.
#[test]
fn a_verbose_sync_logs_every_request_and_no_secret() {
    let site = site("06-retroactive-correction-and-future-raise.json", "verbose", true);
    let tokens: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site.directory.join("loket-tokens.json")).unwrap()).unwrap();
    let sync = run_in(&site, &["-v", "sync", "--yes"]).assert().code(0);
    let stderr = stderr_of(&sync);
    let logged = |target: &str| stderr.lines().filter(|line| line.contains(target)).count();
    let loket_api = site.loket.request_log().iter().filter(|request| request.path.starts_with("/v2")).count();
    let personio_api = site.personio.request_log().iter().filter(|request| request.path != "/v2/auth/token").count();
    assert!(loket_api > 10 && personio_api > 5, "{loket_api} {personio_api}");
    assert_eq!(logged("Loket request "), loket_api, "{stderr}");
    assert_eq!(logged("Personio request "), personio_api, "{stderr}");
    let line = stderr.lines().find(|line| line.contains("Loket request ")).unwrap();
    for field in ["method=", "route=", "status=", "attempt=", "elapsed_ms="] {
        assert!(line.contains(field), "{line}");
    }
    assert!(stderr.contains("read the employees of both systems") && stderr.contains("applied the plan"), "{stderr}");
    for secret in
        ["demo-secret", tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap(), "papi-"]
    {
        assert!(!stderr.contains(secret), "the log holds `{secret}`:\n{stderr}");
    }
    // Without -v, no request is logged.
    let quiet = run_in(&site, &["plan"]).assert().code(0);
    assert!(!stderr_of(&quiet).contains("Loket request"), "{}", stderr_of(&quiet));
}

/// A redirect whose `state` is not the one sent is refused, and nothing is stored.
#[test]
fn connect_refuses_a_redirect_with_the_wrong_state() {
    let site = site("01-monthly-salary-first-sync.json", "connect-state", false);
    let (child, url) = start_connect(&site);
    let url: url::Url = url.parse().unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let state = &query["state"];
    assert_eq!(state.len(), 32, "128 bits as hex: {state}");
    assert!(state.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let forged = format!("{}?code=stolen&state=0123456789abcdef0123456789abcdef", query["redirect_uri"]);
    site._runtime.block_on(async {
        loket::client::install_crypto_provider();
        reqwest::get(&forged).await.unwrap();
    });
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("state mismatch"), "{stderr}");
    assert!(!site.directory.join("loket-tokens.json").exists());
    // Two logins get different states.
    let again = loket_sync::oauth_redirect::new_state().unwrap();
    assert_ne!(&again, state);
}

/// The state database (and its -wal/-shm), saved plans and CSV exports hold salaries: owner-only; an existing
/// database that others can read is pointed out.
#[test]
fn payroll_data_on_disk_is_private_and_an_open_database_is_pointed_out() {
    let site = site("06-retroactive-correction-and-future-raise.json", "private-files", true);
    let (plan, csv) = (site.directory.join("plan.json"), site.directory.join("plan.csv"));
    run_in(&site, &["plan", "--out"]).arg(&plan).arg("--csv").arg(&csv).assert().code(1);
    assert_eq!((mode(&plan), mode(&csv)), (0o600, 0o600));
    let sync = run_in(&site, &["sync", "--yes"]).assert().code(0);
    assert!(!stderr_of(&sync).contains("can be read or written by others"), "{}", stderr_of(&sync));
    let database = site.directory.join("loket-sync.db");
    for file in loket_sync::files::database_files(&database).iter().filter(|file| file.exists()) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = run_in(&site, &["sync", "--yes"]).assert().code(0);
    let stderr = stderr_of(&again);
    assert!(
        stderr.contains("loket-sync.db holds payroll data and can be read or written by others (mode 644)"),
        "{stderr}"
    );
}

/// Progress bars only on a terminal: a sync whose output is a pipe draws none.
#[test]
fn progress_bars_are_off_when_the_output_is_not_a_terminal() {
    let printer = loket_sync::printer::Printer::new(false);
    assert!(!printer.shows_progress(), "the test's output is not a terminal");
    assert!(printer.progress("writes sent", 10).is_hidden());
    let site = site("06-retroactive-correction-and-future-raise.json", "no-progress", true);
    let sync = run_in(&site, &["sync", "--yes"]).assert().code(0);
    let stderr = stderr_of(&sync);
    assert!(!stderr.contains("writes sent") && !stderr.contains('\r'), "{stderr}");
}

/// Point 4: an error keeps its causes and the top level prints every one: a token file that is not JSON
/// says which file, what to do, and (a line below) what the JSON parser found.
#[test]
fn an_error_is_printed_with_every_cause() {
    let site = site("06-retroactive-correction-and-future-raise.json", "error-chain", true);
    std::fs::write(site.directory.join("loket-tokens.json"), "not json").unwrap();
    let plan = run_in(&site, &["plan"]).assert().code(2);
    let stderr = stderr_of(&plan);
    let lines: Vec<&str> = stderr.lines().collect();
    let top = lines.iter().position(|line| line.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(lines[top..].iter().any(|line| line.contains("is not a loket-sync token file")), "{stderr}");
    assert!(lines[top..].iter().any(|line| line.contains("run `loket-sync connect loket` again")), "{stderr}");
    let causes: Vec<&&str> = lines[top..].iter().filter(|line| line.trim_start().starts_with("caused by: ")).collect();
    assert!(causes.len() >= 2, "every cause on its own line: {stderr}");
    assert!(causes.last().is_some_and(|cause| cause.contains("expected") && cause.contains("line 1")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
