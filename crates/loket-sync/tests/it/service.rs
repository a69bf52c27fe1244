//! `loket-sync serve` over HTTP against the emulators: connections imported from a TOML file with
//! `connections import`, users from `users add`, then the API on an OS-chosen port: plans that wait,
//! approvals (fresh, stale, four eyes), rejection, every route's 401 and 403, CSRF refusal, bad input, the
//! login throttle, and secrets that are not readable in the database file.

use std::sync::Arc;

use loket_sync::service::api::{self, Access, ApiOptions, CSRF_HEADER, ROUTES, SESSION_COOKIE};
use loket_sync::service::{FixedDate, KeySource, Service, ServiceError};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::*;

mod dashboard;
mod workers;

on_both_stores!(
    an_imported_connection_is_planned_approved_and_applied_over_http,
    bad_input_gets_a_clear_4xx_and_failed_logins_are_throttled,
    a_lost_loket_login_is_marked_and_a_browser_login_into_the_service_restores_it,
    two_employers_under_one_loket_login_are_two_connections,
    notifications_reach_a_webhook_signed_and_retried_and_an_smtp_server,
    four_eyes_a_stale_plan_and_a_rejection,
    scheduled_runs_plan_once_for_missed_slots_wait_in_review_and_apply_in_auto,
    auto_mode_keeps_a_destructive_plan_for_a_human,
    a_scheduled_run_that_fails_is_tried_again_after_a_doubling_wait,
);

const KEY: &str = "8f1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0";
const PASSWORD: &str = "correct horse battery staple";

/// Logs in to the service at `base`: the `Cookie` pair of the session (HttpOnly, SameSite=Strict) and its
/// CSRF token.
async fn log_in_at(http: &reqwest::Client, base: &str, name: &str, password: &str) -> (String, String) {
    let response = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login of {name}");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

/// How a request authenticates.
enum Auth<'a> {
    Nobody,
    Bearer(&'a str),
    /// A session cookie, with or without the session's CSRF token.
    Session {
        cookie: &'a str,
        csrf: Option<&'a str>,
    },
}

/// The service on a loopback port beside a site's emulators.
struct Served {
    site: Site,
    state: PathBuf,
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    /// The service behind the API, for the scheduler's ticks at times the test chooses.
    service: Arc<Service>,
}

impl Served {
    fn call(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> (StatusCode, Value) {
        self.call_raw(method, path, auth, body.map(|body| body.to_string()))
    }

    fn call_raw(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<String>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::Nobody => {}
            Auth::Bearer(token) => request = request.bearer_auth(token),
            Auth::Session { cookie, csrf } => {
                request = request.header("cookie", format!("{SESSION_COOKIE}={cookie}"));
                if let Some(csrf) = csrf {
                    request = request.header(CSRF_HEADER, csrf);
                }
            }
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        })
    }

    /// Logs in: the session cookie's value and its CSRF token.
    fn log_in(&self, name: &str) -> (String, String) {
        let (cookie, csrf) = self.runtime.block_on(log_in_at(&self.http, &self.base, name, PASSWORD));
        (cookie.split_once('=').unwrap().1.to_string(), csrf)
    }

    /// An API token of `name`'s.
    fn token(&self, name: &str) -> String {
        let (cookie, csrf) = self.log_in(name);
        let (status, body) = self.call(
            "POST",
            "/api/v1/tokens",
            Auth::Session { cookie: &cookie, csrf: Some(&csrf) },
            Some(json!({"name": "test"})),
        );
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }
}

fn service_command(site: &Site, state: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut command = run_in(site, args);
    command.arg("--state").arg(state).env("LOKET_SYNC_KEY", KEY).env("LOKET_SYNC_PASSWORD", PASSWORD);
    // On PostgreSQL the service's records are in the site's database, beside its runs.
    match &site.database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    command
}

/// A site with its configuration imported, four users (admin alice, operators olga and otto, viewer vera),
/// and the service listening.
fn served(name: &str) -> Served {
    served_with("06-retroactive-correction-and-future-raise.json", name)
}

fn served_with(file: &str, name: &str) -> Served {
    served_full(file, name, None)
}

/// `served_with`, and e-mail notifications through the SMTP server at `smtp` (an `smtp://` URL).
/// A site with its configuration imported and the four users, in a service store beside it.
fn prepared(file: &str, name: &str) -> (Site, PathBuf) {
    prepared_on(file, name, Db::Sqlite)
}

fn prepared_on(file: &str, name: &str, db: Db) -> (Site, PathBuf) {
    let site = site_on(scenario_file(file), name, true, db);
    let state = site.directory.join("service.db");
    let config = site.config.to_str().unwrap().to_string();
    let import = service_command(&site, &state, &["connections", "import", &config]).assert().success();
    let stdout = String::from_utf8_lossy(&import.get_output().stdout).to_string();
    assert!(stdout.contains("valid against both systems"), "{stdout}");
    for (user, role) in [("alice", "admin"), ("olga", "operator"), ("otto", "operator"), ("vera", "viewer")] {
        service_command(&site, &state, &["users", "add", user, "--role", role]).assert().success();
    }
    (site, state)
}

fn served_full(file: &str, name: &str, smtp: Option<String>) -> Served {
    served_full_on(file, name, smtp, Db::Sqlite)
}

/// `served_with` on the store `db` says.
fn served_on(file: &str, name: &str, db: Db) -> Served {
    served_full_on(file, name, None, db)
}

fn served_full_on(file: &str, name: &str, smtp: Option<String>, db: Db) -> Served {
    let (site, state) = prepared_on(file, name, db);
    let location = match &site.database_url {
        Some(url) => loket_sync::store::Location::Postgres(SecretString::from(url.clone())),
        None => loket_sync::store::Location::File(state.clone()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let today = site.scenario.today;
    let base = runtime.block_on(async {
        let clock = Arc::new(FixedDate(today));
        let mut service = Service::open_at(&location, KeySource::Hex(SecretString::from(KEY)), clock).await.unwrap();
        if let Some(url) = smtp {
            service =
                service.with_mailer(loket_sync::service::notify::Mailer::new(&url, "loket-sync@example.nl").unwrap());
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let service = Arc::new(service);
        tokio::spawn(api::serve(listener, Arc::clone(&service), ApiOptions::default(), std::future::pending()));
        (format!("http://{address}"), service)
    });
    let (base, service) = base;
    loket::client::install_crypto_provider();
    Served { site, state, base, http: reqwest::Client::new(), runtime, service }
}

fn connection_id(served: &Served, token: &str) -> i64 {
    let (status, list) = served.call("GET", "/api/v1/connections", Auth::Bearer(token), None);
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    list[0]["id"].as_i64().unwrap()
}

fn an_imported_connection_is_planned_approved_and_applied_over_http(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "svc-flow", db);
    let olga = served.token("olga");
    let id = connection_id(&served, &olga);
    let (status, plan) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["status"], "pending", "{plan}");
    let writes = plan["writes"].as_i64().unwrap();
    assert!(writes > 0, "{plan}");
    assert_eq!(plan["plan"]["writes"].as_i64(), Some(writes), "the plan itself is shown: {plan}");
    assert_eq!(served.site.loket.writes(), 0, "nothing is written before an approval");
    let plan_id = plan["id"].as_i64().unwrap();
    let (status, listed) = served.call("GET", "/api/v1/plans?status=pending", Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    let (status, decision) =
        served.call("POST", &format!("/api/v1/plans/{plan_id}/approve"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::OK, "{decision}");
    assert_eq!(decision["outcome"], "applied", "{decision}");
    assert_eq!(decision["sent"].as_i64(), Some(writes), "{decision}");
    assert_eq!(decision["errors"], 0, "{decision}");
    assert!(served.site.loket.writes() >= writes as usize);
    // Approving again is a conflict, not a second apply.
    let (status, again) = served.call("POST", &format!("/api/v1/plans/{plan_id}/approve"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    // The metrics count the run, its writes and the plans waiting, and the last success of the connection.
    let metrics = served.runtime.block_on(async {
        let answer = served.http.get(format!("{}/metrics", served.base)).bearer_auth(&olga).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        answer.text().await.unwrap()
    });
    assert!(metrics.contains("loket_sync_pending_approvals 0\n"), "{metrics}");
    assert!(metrics.contains(&format!("loket_sync_writes_total {writes}\n")), "{metrics}");
    assert!(metrics.contains("loket_sync_runs_total 1\n"), "{metrics}");
    assert!(metrics.contains("loket_sync_last_success_timestamp_seconds{connection=\"loket-sync\"}"), "{metrics}");
    // The next plan is in sync: the run converged.
    let (status, next) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::CREATED, "{next}");
    assert_eq!(next["status"], "in_sync", "{next}");
    assert_eq!(next["writes"], 0);
    // The run is in the history, the decisions in the audit journal.
    let (_, runs) = served.call("GET", "/api/v1/runs", Auth::Bearer(&olga), None);
    assert_eq!(runs[0]["writes_sent"].as_i64(), Some(writes), "{runs}");
    let alice = served.token("alice");
    let (status, audit) = served.call("GET", "/api/v1/audit", Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    for action in ["connection created", "plan made", "plan approved", "user added"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // Secrets are sealed: neither the client secrets nor the Loket tokens are in the database file, nor in
    // any answer.
    let issued = served.site.loket.issue_tokens();
    let text = stored_text(&served);
    assert!(!text.contains("demo-secret"), "a client secret is readable in the database");
    let tokens: Value =
        serde_json::from_str(&std::fs::read_to_string(served.site.directory.join("loket-tokens.json")).unwrap())
            .unwrap();
    for token in [tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap()] {
        assert!(!text.contains(token), "a Loket token is readable in the database");
    }
    assert!(!text.contains(&issued.access_token));
    assert!(
        !text.contains(PASSWORD) && !text.contains(&olga),
        "a password or an API token is readable in the database"
    );
    let (_, connections) = served.call("GET", "/api/v1/connections", Auth::Bearer(&olga), None);
    assert!(
        !connections.to_string().contains("demo-secret") && !connections.to_string().contains("sealed"),
        "{connections}"
    );

    // The journal of the connection's writes, of all and of one employee; the run's issues.
    let run_id = decision["run_id"].as_i64().unwrap();
    let (status, log) = served.call("GET", &format!("/api/v1/connections/{id}/log"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap().clone();
    assert_eq!(log.iter().filter(|entry| entry["phase"] == "result").count() as i64, writes, "{log:?}");
    assert!(log.iter().all(|entry| entry["run_id"] == run_id));
    let employee = log[0]["employee_number"].as_str().unwrap().to_string();
    let (_, one) =
        served.call("GET", &format!("/api/v1/connections/{id}/log?employee={employee}"), Auth::Bearer(&olga), None);
    let one = one.as_array().unwrap();
    assert!(
        !one.is_empty()
            && one.len() <= log.len()
            && one.iter().all(|entry| entry["employee_number"] == employee.as_str())
    );
    let (status, issues) = served.call("GET", &format!("/api/v1/runs/{run_id}/issues"), Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::OK, "{issues}");
    assert!(issues.is_array());
    let (status, _) = served.call("GET", "/api/v1/runs/999/issues", Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Credentials are write-only; a change is journaled without the secret.
    let (status, changed) = served.call(
        "PUT",
        &format!("/api/v1/connections/{id}/credentials"),
        Auth::Bearer(&alice),
        Some(json!({"personio_client_secret": "demo-secret"})),
    );
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["changed"], json!(["personio_client_secret"]));
    // A plan that overrides the guard is journaled with its user.
    let (status, overridden) = served.call(
        "POST",
        &format!("/api/v1/connections/{id}/plans"),
        Auth::Bearer(&olga),
        Some(json!({"allow_mass_changes": true})),
    );
    assert_eq!(status, StatusCode::CREATED, "{overridden}");
    assert_eq!(overridden["allow_mass_changes"], true);
    let (status, _) =
        served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&olga), Some(json!({"allow": 1})));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, audit) = served.call("GET", "/api/v1/audit", Auth::Bearer(&alice), None);
    let entries = audit.as_array().unwrap();
    let guard = entries.iter().find(|entry| entry["action"] == "mass-change guard overridden").unwrap();
    assert_eq!(guard["who"], "olga");
    assert!(entries.iter().any(|entry| entry["action"] == "credentials changed"));
    assert!(!audit.to_string().contains("demo-secret"), "{audit}");
}

fn four_eyes_a_stale_plan_and_a_rejection(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "svc-approvals", db);
    let (alice_cookie, alice_csrf) = served.log_in("alice");
    let alice = Auth::Session { cookie: &alice_cookie, csrf: Some(&alice_csrf) };
    let id = connection_id(&served, &served.token("vera"));
    let (status, changed) =
        served.call("PATCH", &format!("/api/v1/connections/{id}"), alice, Some(json!({"approvals_required": 2})));
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["approvals_required"], 2);
    let (olga, otto) = (served.token("olga"), served.token("otto"));
    let (_, plan) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&olga), None);
    let plan_id = plan["id"].as_i64().unwrap();
    let approve = format!("/api/v1/plans/{plan_id}/approve");
    // The one who asked for the plan is not one of the two approvers.
    let (status, refused) = served.call("POST", &approve, Auth::Bearer(&olga), None);
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, waiting) = served.call("POST", &approve, Auth::Bearer(&otto), None);
    assert_eq!(status, StatusCode::OK, "{waiting}");
    assert_eq!(waiting["outcome"], "waiting", "{waiting}");
    assert_eq!(waiting["approvals"], 1);
    // The same approver twice does not make two.
    let (status, _) = served.call("POST", &approve, Auth::Bearer(&otto), None);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(served.site.loket.writes(), 0);

    // Personio changes before the second approval: the plan is stale, nothing is written, a new one waits.
    let mut personio = served.site.personio.dump();
    let person = personio.persons.iter_mut().find(|person| !person.salaries.is_empty()).unwrap();
    let last = person.salaries.last_mut().unwrap();
    last.value += rust_decimal::Decimal::ONE;
    served.site.personio.load(personio).unwrap();
    let alice_token = served.token("alice");
    let (status, stale) = served.call("POST", &approve, Auth::Bearer(&alice_token), None);
    assert_eq!(status, StatusCode::OK, "{stale}");
    assert_eq!(stale["outcome"], "stale", "{stale}");
    assert_eq!(served.site.loket.writes(), 0, "a stale plan writes nothing");
    let (_, old) = served.call("GET", &format!("/api/v1/plans/{plan_id}"), Auth::Bearer(&olga), None);
    assert_eq!(old["status"], "stale");
    let new_id = stale["new_plan_id"].as_i64().unwrap();
    let (_, new) = served.call("GET", &format!("/api/v1/plans/{new_id}"), Auth::Bearer(&olga), None);
    assert_eq!(new["status"], "pending", "{new}");

    // Rejected: nothing is written, and it can no longer be approved.
    let (status, rejected) = served.call("POST", &format!("/api/v1/plans/{new_id}/reject"), Auth::Bearer(&otto), None);
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["outcome"], "rejected");
    let (status, _) = served.call("POST", &format!("/api/v1/plans/{new_id}/approve"), Auth::Bearer(&alice_token), None);
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(served.site.loket.writes(), 0);
}

#[test]
fn every_route_refuses_the_unauthenticated_and_the_roles_below_it() {
    let served = served("svc-access");
    let tokens: Vec<(Role, String)> = [("vera", Role::Viewer), ("olga", Role::Operator), ("alice", Role::Admin)]
        .into_iter()
        .map(|(name, role)| (role, served.token(name)))
        .collect();
    for (method, path, access, _) in ROUTES {
        let path = path.replace("{id}", "1");
        let Access::Role(needed) = access else { continue };
        let (status, body) = served.call(method, &path, Auth::Nobody, None);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without credentials: {body}");
        let (status, _) = served.call(method, &path, Auth::Bearer("lst_not-a-token"), None);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with a wrong token");
        for (role, token) in &tokens {
            if role < needed {
                let (status, body) = served.call(method, &path, Auth::Bearer(token), None);
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role:?}: {body}");
            }
        }
    }
    // A route that is not in the table is nobody's.
    let (status, _) = served.call("PUT", "/api/v1/connections", Auth::Bearer(&tokens[2].1), None);
    assert!(status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::FORBIDDEN, "{status}");

    // A session cookie without the CSRF token changes nothing.
    let (cookie, csrf) = served.log_in("alice");
    let new_user = json!({"name": "mallory", "role": "admin", "password": "a long enough password"});
    let (status, body) =
        served.call("POST", "/api/v1/users", Auth::Session { cookie: &cookie, csrf: None }, Some(new_user.clone()));
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("CSRF"), "{body}");
    let (status, _) = served.call(
        "POST",
        "/api/v1/users",
        Auth::Session { cookie: &cookie, csrf: Some("0000") },
        Some(new_user.clone()),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = served.call("GET", "/api/v1/users", Auth::Session { cookie: &cookie, csrf: None }, None);
    assert_eq!(status, StatusCode::OK, "reading needs no CSRF token");
    let (status, created) =
        served.call("POST", "/api/v1/users", Auth::Session { cookie: &cookie, csrf: Some(&csrf) }, Some(new_user));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Logged out, the cookie is worth nothing.
    let (status, _) =
        served.call("DELETE", "/api/v1/session", Auth::Session { cookie: &cookie, csrf: Some(&csrf) }, None);
    assert_eq!(status, StatusCode::OK);
    let (status, _) = served.call("GET", "/api/v1/me", Auth::Session { cookie: &cookie, csrf: None }, None);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Public: health.
    let (status, health) = served.call("GET", "/healthz", Auth::Nobody, None);
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("ok")));
}

use loket_sync::service::users::Role;

fn bad_input_gets_a_clear_4xx_and_failed_logins_are_throttled(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "svc-input", db);
    let alice = served.token("alice");
    let admin = || Auth::Bearer(&alice);
    let cases: Vec<(&str, String, Option<String>, StatusCode)> = vec![
        ("POST", "/api/v1/users".into(), Some("{not json".into()), StatusCode::BAD_REQUEST),
        ("POST", "/api/v1/users".into(), Some(r#"{"name": 7, "role": "admin", "password": "x"}"#.into()), StatusCode::BAD_REQUEST),
        ("POST", "/api/v1/users".into(), Some(r#"{"name": "bob", "role": "boss", "password": "long enough password"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/v1/users".into(), Some(r#"{"name": "bob", "role": "viewer", "password": "short"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/v1/users".into(), Some(r#"{"name": "alice", "role": "viewer", "password": "long enough password"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        ("GET", "/api/v1/connections/abc".into(), None, StatusCode::NOT_FOUND),
        ("GET", "/api/v1/connections/999".into(), None, StatusCode::NOT_FOUND),
        ("GET", "/api/v1/plans/999".into(), None, StatusCode::NOT_FOUND),
        ("POST", "/api/v1/plans/999/approve".into(), None, StatusCode::NOT_FOUND),
        ("POST", "/api/v1/connections/999/plans".into(), None, StatusCode::NOT_FOUND),
        ("PATCH", "/api/v1/connections/1".into(), Some(r#"{"approvals_required": 3}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        ("PATCH", "/api/v1/connections/1".into(), Some(r#"{"mode": "yolo"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY),
        ("PATCH", "/api/v1/connections/1".into(), Some(r#"{"colour": "red"}"#.into()), StatusCode::BAD_REQUEST),
        ("POST", "/api/v1/users".into(), Some(format!(r#"{{"name": "{}"}}"#, "x".repeat(api::MAX_BODY + 1))), StatusCode::PAYLOAD_TOO_LARGE),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(json!({"name": "broken", "settings": "[personio]\nlegal_entity = 5\n", "personio_client_secret": "s", "loket_client_secret": "s"}).to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(json!({"name": "no good/name", "settings": std::fs::read_to_string(&served.site.config).unwrap(), "personio_client_secret": "demo-secret", "loket_client_secret": "demo-secret"}).to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = served.call_raw(method, &path, admin(), body);
        assert_eq!(status, expected, "{method} {path}: {answer}");
        if status != StatusCode::PAYLOAD_TOO_LARGE {
            assert!(answer["error"].as_str().is_some_and(|message| !message.is_empty()), "{method} {path}: {answer}");
        }
    }
    // A configuration with problems lists every one of them.
    let (_, answer) = served.call(
        "POST",
        "/api/v1/connections",
        admin(),
        Some(json!({"name": "broken", "settings": "[personio]\nlegal_entity = 5\n", "personio_client_secret": "s", "loket_client_secret": "s"})),
    );
    assert!(answer["details"].as_array().unwrap().len() >= 2, "{answer}");

    // Five wrong passwords, then even the right one is refused for a while.
    for _ in 0..5 {
        let (status, _) = served.call(
            "POST",
            "/api/v1/session",
            Auth::Nobody,
            Some(json!({"name": "vera", "password": "wrong password"})),
        );
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) =
        served.call("POST", "/api/v1/session", Auth::Nobody, Some(json!({"name": "vera", "password": PASSWORD})));
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Another user is not held up by it.
    served.log_in("otto");
}

#[test]
fn the_service_refuses_to_start_without_its_key_once_it_holds_secrets() {
    let served = served("svc-key");
    let opened = served.runtime.block_on(Service::open(
        &served.state,
        KeySource::None,
        Arc::new(FixedDate(served.site.scenario.today)),
    ));
    assert!(matches!(opened, Err(ServiceError::NoKey)), "started without the key");
    // The binary says so, and how to give the key.
    let state = served.state.to_str().unwrap().to_string();
    let refused = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--state", &state])
        .env_remove("LOKET_SYNC_KEY")
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(stderr.contains("LOKET_SYNC_KEY"), "{stderr}");
    // Another key opens the store but not its secrets: planning says so instead of using garbage.
    let other = "11".repeat(32);
    let error = served.runtime.block_on(async {
        let service = Service::open(
            &served.state,
            KeySource::Hex(SecretString::from(other)),
            Arc::new(FixedDate(served.site.scenario.today)),
        )
        .await
        .unwrap();
        service.make_plan(1, Some("alice")).await.unwrap_err()
    });
    assert!(
        engine::errors::chain(&error).contains("cannot be opened with this key"),
        "{}",
        engine::errors::chain(&error)
    );
}

#[test]
fn a_schedule_is_read_in_amsterdam_and_one_that_never_matches_is_refused() {
    use loket_sync::service::schedule::{Cron, CronError};
    let working_days = Cron::parse("0 6 * * 1-5").unwrap();
    // Friday 27 March 2026, noon UTC: the next slot is Monday 30 March at 06:00 in Amsterdam, which is
    // summer time by then (04:00 UTC); the one before was Friday at 06:00 winter time (05:00 UTC).
    let friday: jiff::Timestamp = "2026-03-27T12:00:00Z".parse().unwrap();
    assert_eq!(working_days.next(friday).unwrap().to_string(), "2026-03-30T04:00:00Z");
    assert_eq!(working_days.previous(friday).unwrap().to_string(), "2026-03-27T05:00:00Z");
    let quarter = Cron::parse("*/15 9-10 1,15 * *").unwrap();
    assert_eq!(quarter.next("2026-05-01T08:50:00Z".parse().unwrap()).unwrap().to_string(), "2026-05-15T07:00:00Z");
    // `*/2` in the day of the month with working days: odd days that are working days (both must match).
    let odd_working_days = Cron::parse("0 6 */2 * 1-5").unwrap();
    assert_eq!(odd_working_days.next(friday).unwrap().to_string(), "2026-03-31T04:00:00Z");
    // Both restricted: the 1st or a Monday, whichever comes first.
    let first_or_monday = Cron::parse("0 6 1 * 1").unwrap();
    assert_eq!(first_or_monday.next(friday).unwrap().to_string(), "2026-03-30T04:00:00Z");
    assert!(matches!(Cron::parse("0 0 30 2 *"), Err(CronError::Never(_))));
    assert!(matches!(Cron::parse("61 * * * *"), Err(CronError::Field { field: "minute", .. })));
    assert!(matches!(Cron::parse("0 6 * *"), Err(CronError::Fields(_, 4))));
    assert!(matches!(Cron::parse("0 6 * * mon"), Err(CronError::Field { field: "day-of-week", .. })));
}

/// A schedule through the API, then ticks at chosen times (no sleeping): slots missed make one plan, in
/// `review` it waits, in `auto` a plan without destructive changes is applied.
fn scheduled_runs_plan_once_for_missed_slots_wait_in_review_and_apply_in_auto(db: Db) {
    let served = served_on("01-monthly-salary-first-sync.json", "svc-schedule", db);
    let alice = served.token("alice");
    let id = connection_id(&served, &alice);
    let path = format!("/api/v1/connections/{id}");
    let (status, body) = served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"schedule": "0 30 2 30 2"})));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"schedule": "0 0 30 2 *"})));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("never matches"), "{body}");
    let (status, body) = served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"schedule": 6})));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"mode": "auto", "approvals_required": 2})));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "auto mode and four eyes do not go together: {body}");
    let (status, body) = served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"schedule": "0 6 * * *"})));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["schedule"], "0 6 * * *");
    let now = jiff::Timestamp::now();
    // Before the first slot after the schedule was set: nothing.
    let tick = |at: jiff::Timestamp| served.runtime.block_on(served.service.tick(at));
    let personio_requests = || served.site.personio.request_counts().values().sum::<usize>();
    assert!(tick(now).is_empty());
    // Three days on, three slots were missed: one plan.
    let later = now + jiff::SignedDuration::from_hours(72);
    let before = personio_requests();
    let done = tick(later);
    let one_plan = personio_requests() - before;
    assert!(one_plan > 0);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].outcome, "pending", "review mode waits: {done:?}");
    assert!(tick(later).is_empty(), "the same slot does not plan twice");
    assert_eq!(served.site.loket.writes(), 0);
    let (_, pending) = served.call("GET", "/api/v1/plans?status=pending", Auth::Bearer(&alice), None);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert!(pending[0]["requested_by"].is_null(), "a scheduled plan is nobody's: {pending}");

    // Auto: the next slot applies the plan (it adds a wage and deletes nothing).
    let (status, _) = served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"mode": "auto"})));
    assert_eq!(status, StatusCode::OK);
    let before = personio_requests();
    let done = tick(later + jiff::SignedDuration::from_hours(24));
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].outcome, "applied", "{done:?}");
    assert!(served.site.loket.writes() > 0);
    // Planned and applied under one hold of the run lock: both systems are read once, not again to check.
    assert_eq!(personio_requests() - before, one_plan, "auto mode reads Personio once for its plan and apply");
    let done = tick(later + jiff::SignedDuration::from_hours(48));
    assert_eq!(done[0].outcome, "in_sync", "{done:?}");
}

/// A scheduled run that fails (here: another run holds the legal entity's lock) keeps its slot: it is
/// tried again 5 minutes later, then 10, and runs once the cause is gone; then the slot is done.
fn a_scheduled_run_that_fails_is_tried_again_after_a_doubling_wait(db: Db) {
    use loket_sync::store::Store as _;
    let served = served_on("01-monthly-salary-first-sync.json", "svc-retry", db);
    let alice = served.token("alice");
    let id = connection_id(&served, &alice);
    let path = format!("/api/v1/connections/{id}");
    let (status, body) =
        served.call("PATCH", &path, Auth::Bearer(&alice), Some(json!({"schedule": "0 6 * * *", "mode": "auto"})));
    assert_eq!(status, StatusCode::OK, "{body}");
    let tick = |at: jiff::Timestamp| served.runtime.block_on(served.service.tick(at));
    let retry_of = || {
        let (_, connection) = served.call("GET", &path, Auth::Bearer(&alice), None);
        let retry_at = connection["retry_at"].as_str().map(|at| at.parse::<jiff::Timestamp>().unwrap());
        (retry_at, connection["attempts"].as_i64().unwrap())
    };
    let minutes = |n: i64| jiff::SignedDuration::from_mins(n);
    // Another run (an approval being applied, say) holds the legal entity's lock.
    let key = served.site.scenario.personio.legal_entity.id.clone();
    let location = match &served.site.database_url {
        Some(url) => loket_sync::store::Location::Postgres(SecretString::from(url.clone())),
        None => loket_sync::store::Location::File(served.state.clone()),
    };
    let other = served.runtime.block_on(loket_sync::store::StateStore::open_at(&location)).unwrap();
    served.runtime.block_on(other.acquire_lock(&key, "an approval being applied", 30)).unwrap();

    let slot = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let done = tick(slot);
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].outcome.contains("holds the lock"), "{done:?}");
    let (retry_at, attempts) = retry_of();
    let retry_at = retry_at.expect("a retry is set");
    assert!(retry_at >= slot + minutes(5) && retry_at < slot + minutes(6), "{retry_at}");
    assert_eq!(attempts, 1);
    let (cookie, _) = served.log_in("alice");
    let (status, page) = served.call("GET", "/", Auth::Session { cookie: &cookie, csrf: None }, None);
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("tried again after a failure"), "the dashboard says so: {page}");
    assert!(tick(slot + minutes(4)).is_empty(), "not before its retry");
    let done = tick(slot + minutes(6));
    assert!(done[0].outcome.contains("holds the lock"), "tried again, and failed again: {done:?}");
    let (retry_at, attempts) = retry_of();
    let retry_at = retry_at.expect("another retry");
    assert!(retry_at >= slot + minutes(16) && retry_at < slot + minutes(17), "then 10 minutes: {retry_at}");
    assert_eq!(attempts, 2);
    assert_eq!(served.site.loket.writes(), 0);

    // The other run ends: the next retry runs and applies the plan, and the slot is done.
    served.runtime.block_on(other.release_lock(&key, "an approval being applied")).unwrap();
    let done = tick(slot + minutes(17));
    assert_eq!(done[0].outcome, "applied", "{done:?}");
    assert!(served.site.loket.writes() > 0);
    assert_eq!(retry_of(), (None, 0), "the slot is done");
    assert!(tick(slot + minutes(30)).is_empty(), "and not run again before the next slot");
    served.runtime.block_on(other.close());
}

/// Auto mode keeps a plan that deletes for a human.
fn auto_mode_keeps_a_destructive_plan_for_a_human(db: Db) {
    let served = served_on("09-missing-recurring-is-removed.json", "svc-auto-destructive", db);
    let alice = served.token("alice");
    let id = connection_id(&served, &alice);
    let (status, body) = served.call(
        "PATCH",
        &format!("/api/v1/connections/{id}"),
        Auth::Bearer(&alice),
        Some(json!({"schedule": "0 * * * *", "mode": "auto"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let done =
        served.runtime.block_on(served.service.tick(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2)));
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].outcome, "pending", "{done:?}");
    assert_eq!(served.site.loket.writes(), 0);
    let (_, audit) = served.call("GET", "/api/v1/audit", Auth::Bearer(&alice), None);
    let held = audit.as_array().unwrap().iter().find(|entry| entry["action"] == "auto apply held back").unwrap();
    assert!(held["after_value"].as_str().unwrap().contains("deletes or ends"), "{held}");
}

/// The OpenAPI document is served, names every route of the table with its method, and every route of the
/// table is served by the router (none falls through to "no such route").
#[test]
fn the_openapi_document_describes_every_route() {
    let served = served("svc-openapi");
    let (status, document) = served.call("GET", "/api/v1/openapi.json", Auth::Nobody, None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let admin = served.token("alice");
    for (method, path, _, summary) in ROUTES {
        let operation = &document["paths"][path][method.to_ascii_lowercase()];
        assert_eq!(operation["summary"], *summary, "{method} {path} in the document");
        let (_, answer) = served.call(method, &path.replace("{id}", "999"), Auth::Bearer(&admin), None);
        assert!(!answer.to_string().contains("no such route"), "{method} {path} is not served: {answer}");
    }
    let described: usize =
        document["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(described, ROUTES.len());
}

/// Everything the store holds, as text: the SQLite file with its write-ahead log, or every row of every
/// table of the PostgreSQL database.
fn stored_text(served: &Served) -> String {
    if served.site.database_url.is_none() {
        let mut bytes = std::fs::read(&served.state).unwrap();
        if let Ok(wal) = std::fs::read(served.state.with_extension("db-wal")) {
            bytes.extend(wal);
        }
        return String::from_utf8_lossy(&bytes).to_string();
    }
    served.runtime.block_on(async {
        let store = loket_sync::store::StateStore::open_at(&served.site.state_location()).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(tables.len() > 10, "{tables:?}");
        let mut text = String::new();
        for table in tables {
            let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM \"{table}\" t"))
                .fetch_all(store.pool())
                .await
                .unwrap();
            text.push_str(&rows.join("\n"));
        }
        store.close().await;
        text
    })
}

/// Loket refuses the login's refresh: the login is marked as needed, plans say so; an admin logs in again
/// through the browser into the service's callback (a wrong or replayed `state` is refused), and planning
/// works again.
fn a_lost_loket_login_is_marked_and_a_browser_login_into_the_service_restores_it(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "svc-login", db);
    let alice = served.token("alice");
    let receiver = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (hook, received) = receiver.block_on(webhook_receiver());
    let (status, body) = served.call(
        "POST",
        "/api/v1/notifications",
        Auth::Bearer(&alice),
        Some(json!({"kind": "webhook", "target": hook, "events": ["login_needed"]})),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The tokens expire and their refresh token is one Loket no longer knows.
    let expired = json!({"access_token": "at-expired", "refresh_token": "rt-revoked", "expires_at": 0});
    std::fs::write(served.site.directory.join("loket-tokens.json"), expired.to_string()).unwrap();
    let config = served.site.config.to_str().unwrap().to_string();
    service_command(&served.site, &served.state, &["connections", "import", &config]).assert().success();
    let id = connection_id(&served, &alice);
    let (status, body) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("needed again"), "{body}");
    let (_, logins) = served.call("GET", "/api/v1/loket-logins", Auth::Bearer(&alice), None);
    assert_eq!(logins[0]["needs_login"], true, "{logins}");
    assert!(!logins.to_string().contains("sealed"), "{logins}");
    let (_, audit) = served.call("GET", "/api/v1/audit", Auth::Bearer(&alice), None);
    assert!(audit.as_array().unwrap().iter().any(|entry| entry["action"] == "loket login needed"), "{audit}");
    // `login_needed` is notified (the receiver answers 500 to its first request, so twice).
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    served.runtime.block_on(served.service.deliver(later));
    served.runtime.block_on(served.service.deliver(later + jiff::SignedDuration::from_secs(31)));
    let events: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, _)| headers["x-loket-sync-event"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["login_needed", "login_needed"], "{events:?}");

    let login = logins[0]["id"].as_i64().unwrap();
    let (status, started) =
        served.call("POST", &format!("/api/v1/loket-logins/{login}/authorize"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::OK, "{started}");
    let authorize = started["authorize_url"].as_str().unwrap().to_string();
    assert!(started["redirect_uri"].as_str().unwrap().starts_with(&served.base), "{started}");
    // The browser at Loket: the local Loket approves at once and redirects to the service's callback.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = served.runtime.block_on(async {
        let answer = browser.get(&authorize).send().await.unwrap();
        assert!(answer.status().is_redirection(), "{}", answer.status());
        answer.headers().get("location").unwrap().to_str().unwrap().to_string()
    });
    let path = location.strip_prefix(&served.base).unwrap_or_else(|| panic!("{location}")).to_string();
    assert!(path.starts_with("/api/v1/loket-logins/callback?"), "{path}");
    let forged = path.replace("state=", "state=forged");
    let (status, body) = served.call("GET", &forged, Auth::Nobody, None);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = served.call("GET", &path, Auth::Nobody, None);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["logged_in"], true);
    let (status, _) = served.call("GET", &path, Auth::Nobody, None);
    assert_eq!(status, StatusCode::BAD_REQUEST, "a state is good once");
    let (_, logins) = served.call("GET", "/api/v1/loket-logins", Auth::Bearer(&alice), None);
    assert_eq!(logins[0]["needs_login"], false, "{logins}");
    let (status, plan) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["status"], "pending");
}

/// A webhook receiver on a loopback port: it keeps every request (headers and body) and answers 500 to the
/// first, 200 to the rest.
async fn webhook_receiver() -> (String, Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let received: Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let kept = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = Arc::clone(&kept);
            async move {
                let mut list = kept.lock().unwrap();
                list.push((headers, body));
                if list.len() == 1 { axum::http::StatusCode::INTERNAL_SERVER_ERROR } else { axum::http::StatusCode::OK }
            }
        }),
    );
    let running = emulator::start(router).await.unwrap();
    let url = format!("{}/hook", running.url());
    std::mem::forget(running);
    (url, received)
}

/// A minimal SMTP server on a loopback port that keeps every message's DATA.
async fn smtp_receiver() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let mails: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let kept = Arc::clone(&mails);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = Arc::clone(&kept);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 localhost ESMTP test\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(text) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(data.take().unwrap_or_default());
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 localhost\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (url, mails)
}

/// Webhooks are signed and retried with backoff; e-mail goes out through SMTP; both on the events they ask
/// for, delivered from the outbox at times the test chooses.
fn notifications_reach_a_webhook_signed_and_retried_and_an_smtp_server(db: Db) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let ((hook, received), (smtp, mails)) =
        runtime.block_on(async { (webhook_receiver().await, smtp_receiver().await) });
    let served = served_full_on("06-retroactive-correction-and-future-raise.json", "svc-notify", Some(smtp), db);
    let alice = served.token("alice");
    let id = connection_id(&served, &alice);
    let (status, body) = served.call(
        "POST",
        "/api/v1/notifications",
        Auth::Bearer(&alice),
        Some(json!({"kind": "webhook", "target": hook, "events": ["plan_pending", "login_needed"]})),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    let (status, body) = served.call(
        "POST",
        "/api/v1/notifications",
        Auth::Bearer(&alice),
        Some(json!({"connection_id": id, "kind": "email", "target": "payroll@example.nl", "events": ["plan_pending"]})),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for bad in [
        json!({"kind": "webhook", "target": "ftp://example.nl", "events": []}),
        json!({"kind": "email", "target": "not an address", "events": []}),
        json!({"kind": "pigeon", "target": "x", "events": []}),
        json!({"kind": "webhook", "target": "http://example.nl", "events": ["payday"]}),
        json!({"connection_id": 999, "kind": "webhook", "target": "http://example.nl", "events": []}),
    ] {
        let (status, answer) = served.call("POST", "/api/v1/notifications", Auth::Bearer(&alice), Some(bad.clone()));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    let (_, listed) = served.call("GET", "/api/v1/notifications", Auth::Bearer(&alice), None);
    assert!(!listed.to_string().contains(&secret), "the secret is shown once: {listed}");
    assert!(!listed.to_string().contains("/hook"), "a webhook's URL is masked: {listed}");

    let (status, plan) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    let now = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    let deliver = |at: jiff::Timestamp| served.runtime.block_on(served.service.deliver(at));
    // The webhook answers 500 the first time; the mail goes out.
    assert_eq!(deliver(now), 1);
    assert_eq!(received.lock().unwrap().len(), 1);
    assert_eq!(deliver(now), 0, "not again before the backoff");
    assert_eq!(deliver(now + jiff::SignedDuration::from_secs(31)), 1, "tried again after the backoff");
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let (headers, body) = &received[1];
    assert_eq!(headers["x-loket-sync-event"], "plan_pending");
    let expected = loket_sync::service::notify::signature(&secret, body.as_bytes());
    assert_eq!(headers[loket_sync::service::notify::SIGNATURE_HEADER].to_str().unwrap(), expected);
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["event"], "plan_pending");
    assert_eq!(payload["connection_id"], id);
    assert!(payload["message"].as_str().unwrap().contains("waits for approval"), "{payload}");
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("payroll@example.nl") && mails[0].contains("waits for approval"), "{}", mails[0]);
    drop(runtime);
}

/// The binary's `serve` with `-vv`: SIGTERM while an approval is applying lets the apply finish and be
/// recorded, the process exits 0, the next plan is in sync (nothing doubled), and the log of it all holds
/// no secret, token, password or session.
#[test]
fn serve_finishes_an_apply_on_sigterm_and_logs_no_secret() {
    use std::io::BufRead as _;
    let (site, state) = prepared("06-retroactive-correction-and-future-raise.json", "svc-sigterm");
    let today = site.scenario.today.to_string();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loket-sync"))
        .args(["--today", &today, "-vv", "serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .env("LOKET_SYNC_KEY", KEY)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_in, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_in.send(line);
        }
    });
    let mut log = Vec::new();
    let base = loop {
        let line = lines.recv_timeout(std::time::Duration::from_secs(60)).expect("serve printed its address");
        log.push(line.clone());
        if let Some(at) = line.find("serves on http://") {
            let rest = &line[at + "serves on ".len()..];
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    loket::client::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let (token, writes, plan_id, cookie) = runtime.block_on(async {
        let (cookie, csrf) = log_in_at(&http, &base, "olga", PASSWORD).await;
        let made: Value = http
            .post(format!("{base}/api/v1/tokens"))
            .header("cookie", &cookie)
            .header(CSRF_HEADER, &csrf)
            .json(&json!({"name": "script"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = made["token"].as_str().unwrap().to_string();
        let plan: Value = http
            .post(format!("{base}/api/v1/connections/1/plans"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (token, plan["writes"].as_i64().unwrap(), plan["id"].as_i64().unwrap(), cookie)
    });
    assert!(writes > 1);
    // Each Loket request takes a while, so the apply is under way when the signal comes.
    site.loket.set_faults(emulator::Faults { latency_ms: 100, ..Default::default() }).unwrap();
    let approval = runtime.spawn({
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let answer =
                http.post(format!("{base}/api/v1/plans/{plan_id}/approve")).bearer_auth(&token).send().await.unwrap();
            (answer.status(), answer.json::<Value>().await.unwrap())
        }
    });
    let started = std::time::Instant::now();
    while site.loket.writes() == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the apply never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let (status, decision) = runtime.block_on(approval).unwrap();
    assert_eq!(status, StatusCode::OK, "{decision}");
    assert_eq!(decision["outcome"], "applied", "{decision}");
    assert_eq!(decision["sent"].as_i64(), Some(writes), "the apply under way finished: {decision}");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    reader.join().unwrap();
    log.extend(lines.try_iter());
    let log = log.join("\n");
    assert!(log.contains("loket-sync stopped"), "{log}");
    assert!(log.contains("/payrollperioddata") || log.contains("wages"), "-vv logs the Loket requests: {log}");
    let tokens: Value =
        serde_json::from_str(&std::fs::read_to_string(site.directory.join("loket-tokens.json")).unwrap()).unwrap();
    let session = cookie.split_once('=').unwrap().1;
    let (access, refresh) = (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
    for secret in ["demo-secret", PASSWORD, KEY, &token, session, access, refresh] {
        assert!(!log.contains(secret), "the log holds a secret: {secret}");
    }
    // Nothing doubled: the next plan, by a service on the same store, writes nothing.
    site.loket.set_faults(emulator::Faults::default()).unwrap();
    let next = runtime.block_on(async {
        let service =
            Service::open(&state, KeySource::Hex(SecretString::from(KEY)), Arc::new(FixedDate(site.scenario.today)))
                .await
                .unwrap();
        service.make_plan(1, Some("olga")).await.unwrap()
    });
    assert_eq!(next.row.status, "in_sync", "{:?}", next.row);
}

/// A payroll bureau: one local Loket holds two employers under one provider login; two configuration
/// files import as two connections that share one Loket login; each is planned and applied on its own.
fn two_employers_under_one_loket_login_are_two_connections(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "svc-bureau", db);
    // The second employer in the same Loket, with its own Personio.
    let mut second = served.site.scenario.loket.clone();
    second.employer.name = format!("{} (tweede)", second.employer.name);
    served.site.loket.add_employer(second.clone()).unwrap();
    assert_eq!(served.site.loket.employers().len(), 2);
    assert!(served.site.loket.add_employer(second.clone()).is_err(), "the same employer twice is refused");
    // The provider login sees both employers.
    let config = std::fs::read_to_string(&served.site.config).unwrap();
    let loket_api = config.lines().find(|line| line.contains("/v2\"")).unwrap().split('"').nth(1).unwrap().to_string();
    let access = served.site.loket.issue_tokens().access_token;
    let listed: Value = served.runtime.block_on(async {
        served
            .http
            .get(format!("{loket_api}/providers/employers"))
            .bearer_auth(&access)
            .header("accept", "application/json;version=2018-01-01")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(listed["_embedded"].as_array().map(Vec::len), Some(2), "{listed}");
    // Its Personio is another company in the same local Personio, reached with credentials of its own.
    served.site.personio.add_company("tweede-client", "tweede-secret", served.site.scenario.personio.clone()).unwrap();
    assert!(served.site.personio.add_company("tweede-client", "x", served.site.scenario.personio.clone()).is_err());
    let text = std::fs::read_to_string(&served.site.config).unwrap();
    let first_loket = &served.site.loket.employers()[0];
    let mut text =
        text.replace(&first_loket.0, &second.employer_id()).replace(&first_loket.1, &second.administration_id());
    // The first `client_id` is Personio's.
    text = text.replacen("client_id = \"loket-sync-demo\"", "client_id = \"tweede-client\"", 1);
    let second_file = served.site.directory.join("tweede.toml");
    std::fs::write(&second_file, text).unwrap();
    let file = second_file.to_str().unwrap().to_string();
    let import = service_command(&served.site, &served.state, &["connections", "import", &file])
        .env("PERSONIO_CLIENT_SECRET", "tweede-secret")
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&import.get_output().stdout).contains("valid against both systems"));

    let alice = served.token("alice");
    let (_, connections) = served.call("GET", "/api/v1/connections", Auth::Bearer(&alice), None);
    let connections = connections.as_array().unwrap().clone();
    assert_eq!(connections.len(), 2, "{connections:?}");
    assert_eq!(connections[0]["loket_login_id"], connections[1]["loket_login_id"], "one Loket login for both");
    let (_, logins) = served.call("GET", "/api/v1/loket-logins", Auth::Bearer(&alice), None);
    assert_eq!(logins.as_array().unwrap().len(), 1, "{logins}");
    let mut sent = 0;
    for connection in &connections {
        let id = connection["id"].as_i64().unwrap();
        let (status, plan) =
            served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
        assert_eq!(status, StatusCode::CREATED, "{plan}");
        assert_eq!(plan["status"], "pending", "{plan}");
        let plan_id = plan["id"].as_i64().unwrap();
        let (_, decision) =
            served.call("POST", &format!("/api/v1/plans/{plan_id}/approve"), Auth::Bearer(&alice), None);
        assert_eq!(decision["outcome"], "applied", "{decision}");
        assert_eq!(decision["errors"], 0, "{decision}");
        sent += decision["sent"].as_i64().unwrap();
    }
    // Both employers now hold what their Personio says, each in its own records.
    assert!(served.site.loket.writes() >= sent as usize);
    for connection in &connections {
        let id = connection["id"].as_i64().unwrap();
        let (_, next) = served.call("POST", &format!("/api/v1/connections/{id}/plans"), Auth::Bearer(&alice), None);
        assert_eq!(next["status"], "in_sync", "{next}");
    }
    // The second company's credentials with another secret are refused.
    let personio_url = std::fs::read_to_string(&served.site.config)
        .unwrap()
        .lines()
        .find(|line| line.starts_with("base_url = \"http") && !line.contains("/v2"))
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();
    let refused = served.runtime.block_on(async {
        served
            .http
            .post(format!("{personio_url}/v2/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "tweede-client"),
                ("client_secret", "demo-secret"),
            ])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(refused, StatusCode::BAD_REQUEST);
}

/// `serve --demo`: three demo employers as connections with schedules, an admin whose password it prints;
/// a newcomer logs in, sees them, and plans one.
#[test]
fn serve_demo_starts_three_connections_and_an_admin() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loket-sync"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env_remove("LOKET_SYNC_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut password = None;
    let base = loop {
        let line = lines.next().expect("serve --demo printed its address");
        if let Some(rest) = line.split("the password ").nth(1) {
            password = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.split("serves on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let password = password.expect("the admin's password is printed");
    loket::client::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (connections, plan) = runtime.block_on(async {
        let http = reqwest::Client::new();
        let (cookie, csrf) = log_in_at(&http, &base, "admin", &password).await;
        let connections: Value = http
            .get(format!("{base}/api/v1/connections"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let plan: Value = http
            .post(format!("{base}/api/v1/connections/1/plans"))
            .header("cookie", &cookie)
            .header(CSRF_HEADER, &csrf)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (connections, plan)
    });
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    let connections = connections.as_array().unwrap();
    assert_eq!(connections.len(), 3, "{connections:?}");
    assert!(connections.iter().all(|connection| connection["schedule"].is_string()), "{connections:?}");
    assert!(connections.iter().any(|connection| connection["mode"] == "auto"));
    assert!(connections.iter().any(|connection| connection["approvals_required"] == 2));
    assert_eq!(connections[0]["loket_login_id"], connections[2]["loket_login_id"], "one Loket login for all");
    assert_eq!(plan["status"], "pending", "{plan}");
    assert!(plan["writes"].as_i64().unwrap() > 0, "{plan}");
}

/// A connection made through the API (the TOML's text and its secrets), then checked as `check` checks:
/// valid, with Personio's attributes (and the suggestion) and Loket's components.
#[test]
fn a_connection_made_through_the_api_is_checked_against_both_systems() {
    let served = served("svc-api-create");
    let alice = served.token("alice");
    let settings = std::fs::read_to_string(&served.site.config).unwrap();
    let body = json!({"name": "via-api", "settings": settings, "personio_client_secret": "demo-secret", "loket_client_secret": "demo-secret"});
    let (status, saved) = served.call("POST", "/api/v1/connections", Auth::Bearer(&alice), Some(body.clone()));
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["check"]["status"], "valid", "{saved}");
    assert!(!saved.to_string().contains("demo-secret"), "{saved}");
    let id = saved["connection"]["id"].as_i64().unwrap();
    // A wrong secret is refused by Personio, so the configuration is not judged; it is not stored as checked.
    let wrong = json!({"name": "wrong-secret", "settings": settings, "personio_client_secret": "nope", "loket_client_secret": "demo-secret"});
    let (status, answer) = served.call("POST", "/api/v1/connections", Auth::Bearer(&alice), Some(wrong));
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["check"]["status"], "not_checked", "{answer}");
    let (status, check) = served.call("GET", &format!("/api/v1/connections/{id}/check"), Auth::Bearer(&alice), None);
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["validity"]["status"], "valid", "{check}");
    assert!(check["survey"]["components"].as_array().is_some_and(|components| !components.is_empty()), "{check}");
    assert!(check["survey"]["attributes"].is_object() || check["survey"]["attributes"].is_array(), "{check}");
    // The same OAuth client with another API host is another login, without the first one's tokens: a
    // configuration cannot send a login's tokens to a host of its choosing.
    let api_line = settings.lines().find(|line| line.contains("/v2\"")).unwrap().to_string();
    let elsewhere = settings.replace(&api_line, "base_url = \"http://127.0.0.1:9/v2\"");
    let body = json!({"name": "elsewhere", "settings": elsewhere, "personio_client_secret": "demo-secret", "loket_client_secret": "demo-secret"});
    let (status, answer) = served.call("POST", "/api/v1/connections", Auth::Bearer(&alice), Some(body));
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["check"]["status"], "not_checked", "{answer}");
    assert!(answer["check"]["reasons"].to_string().contains("no tokens"), "{answer}");
    let (_, logins) = served.call("GET", "/api/v1/loket-logins", Auth::Bearer(&alice), None);
    assert_eq!(logins.as_array().unwrap().len(), 2, "{logins}");
    // A mapping of a type Personio does not have is refused, with the reason.
    let broken = format!("{settings}\n[[mappings]]\npersonio_type = \"No such type\"\nbenefit_component = 7010\n");
    let body = json!({"name": "broken-mapping", "settings": broken, "personio_client_secret": "demo-secret", "loket_client_secret": "demo-secret"});
    let (status, answer) = served.call("POST", "/api/v1/connections", Auth::Bearer(&alice), Some(body));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["details"].to_string().contains("No such type"), "{answer}");
    let (_, listed) = served.call("GET", "/api/v1/connections", Auth::Bearer(&alice), None);
    assert!(!listed.to_string().contains("broken-mapping"), "a refused connection is not stored: {listed}");
}
