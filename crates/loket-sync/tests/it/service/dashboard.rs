//! The dashboard's pages over HTTP (the browser tests in `browser/` drive them in Chromium): every form
//! post refused without its CSRF token, the roles of every page, no secret on any page, the mapping's
//! errors at their fields, and both languages.

use loket_sync::service::web::{PAGES, i18n};

use super::*;

on_both_stores!(
    every_dashboard_form_post_without_its_csrf_token_is_refused,
    the_mapping_page_shows_every_error_at_its_field_and_saves_a_valid_mapping,
);

/// A page request with the session cookie; redirects are not followed (the status and `Location` tell).
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn page(served: &Served, method: &str, path: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Answer {
    let client = no_redirects();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("{}{path}", served.base)).header("accept", "text/html");
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("{SESSION_COOKIE}={cookie}"));
    }
    if let Some(form) = form {
        request = request.form(form);
    }
    served.runtime.block_on(async {
        let response = request.send().await.unwrap();
        let status = response.status();
        let location = response.headers().get("location").map(|value| value.to_str().unwrap().to_string());
        Answer { status, location, body: response.text().await.unwrap() }
    })
}

/// A pending plan of the served site's connection, made by `olga`; its id.
fn pending_plan(served: &Served) -> i64 {
    let token = served.token("olga");
    let connection = connection_id(served, &token);
    let (status, plan) =
        served.call("POST", &format!("/api/v1/connections/{connection}/plans"), Auth::Bearer(&token), None);
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert_eq!(plan["status"], "pending", "{plan}");
    plan["id"].as_i64().unwrap()
}

fn with_ids(path: &str, connection: i64, plan: i64, run: i64) -> String {
    if path.starts_with("/plans/") {
        path.replace("{id}", &plan.to_string())
    } else if path.starts_with("/runs/") {
        path.replace("{id}", &run.to_string())
    } else {
        path.replace("{id}", &connection.to_string())
    }
}

fn every_dashboard_form_post_without_its_csrf_token_is_refused(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "web-csrf", db);
    let plan = pending_plan(&served);
    let (alice, csrf) = served.log_in("alice");
    let posts: Vec<&str> = PAGES.iter().filter(|(method, ..)| *method == "POST").map(|(_, path, _)| *path).collect();
    assert!(posts.len() >= 9, "{posts:?}");
    for path in posts {
        let path = with_ids(path, 1, plan, 0);
        let fields =
            [("comment", "no token"), ("name", "mallory"), ("role", "admin"), ("password", "a-long-enough-password")];
        for sent in [None, Some("wrong-token"), Some("")] {
            let mut form: Vec<(&str, &str)> = fields.to_vec();
            if let Some(token) = sent {
                form.push(("csrf", token));
            }
            let cookie = (path != "/login").then_some(alice.as_str());
            let answer = page(&served, "POST", &path, cookie, Some(&form));
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "POST {path} with {sent:?}: {}", answer.body);
            assert!(answer.body.contains("reload the page"), "POST {path}: {}", answer.body);
        }
    }
    // Nothing happened: the plan still waits, no user was added, the session still works.
    let (status, view) =
        served.call("GET", &format!("/api/v1/plans/{plan}"), Auth::Session { cookie: &alice, csrf: None }, None);
    assert_eq!((status, view["status"].as_str()), (StatusCode::OK, Some("pending")), "{view}");
    let (_, users) = served.call("GET", "/api/v1/users", Auth::Session { cookie: &alice, csrf: None }, None);
    assert!(!users.to_string().contains("mallory"), "{users}");
    // With the token, the same form goes through.
    let answer = page(
        &served,
        "POST",
        &format!("/plans/{plan}/reject"),
        Some(&alice),
        Some(&[("csrf", &csrf), ("comment", "not this month")]),
    );
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some(format!("/plans/{plan}?notice=rejected").as_str()));
    let (_, view) =
        served.call("GET", &format!("/api/v1/plans/{plan}"), Auth::Session { cookie: &alice, csrf: None }, None);
    assert_eq!(view["status"], "rejected");
    assert_eq!(view["approvals"][0]["comment"], "not this month", "{view}");
}

#[test]
fn the_login_form_needs_its_token_and_a_page_needs_a_session_and_the_role() {
    let served = served("web-roles");
    let plan = pending_plan(&served);
    // No session: a page sends the browser to the login page, and back afterwards.
    let answer = page(&served, "GET", &format!("/plans/{plan}"), None, None);
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some(format!("/login?next=%2Fplans%2F{plan}").as_str()));
    // The login form without the token of its cookie is refused, and sets no session.
    let answer =
        page(&served, "POST", "/login", None, Some(&[("name", "vera"), ("password", PASSWORD), ("csrf", "guess")]));
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // A viewer sees the plan without an approve button, and is refused when posting anyway.
    let (vera, vera_csrf) = served.log_in("vera");
    let answer = page(&served, "GET", &format!("/plans/{plan}"), Some(&vera), None);
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.body.contains("/approve\""), "{}", answer.body);
    assert!(answer.body.contains("an operator approves it"), "{}", answer.body);
    let answer = page(&served, "POST", &format!("/plans/{plan}/approve"), Some(&vera), Some(&[("csrf", &vera_csrf)]));
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    for admin_page in ["/users", "/employers/1/connect"] {
        assert_eq!(page(&served, "GET", admin_page, Some(&vera), None).status, StatusCode::FORBIDDEN, "{admin_page}");
    }
    // An operator approves with a comment: applied, and the comment is kept.
    let (olga, olga_csrf) = served.log_in("otto");
    let answer = page(
        &served,
        "POST",
        &format!("/plans/{plan}/approve"),
        Some(&olga),
        Some(&[("csrf", &olga_csrf), ("comment", "checked with HR")]),
    );
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some(format!("/plans/{plan}?notice=applied").as_str()));
    let answer = page(&served, "GET", &format!("/plans/{plan}?notice=applied"), Some(&vera), None);
    assert!(
        answer.body.contains("The plan was applied.") && answer.body.contains("checked with HR"),
        "{}",
        answer.body
    );
    assert!(served.site.loket.writes() > 0);
    // A page that is not in the table is no page.
    let answer = page(&served, "GET", "/admin", Some(&olga), None);
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[test]
fn no_dashboard_page_shows_a_secret() {
    let served = served("web-secrets");
    let plan = pending_plan(&served);
    let (alice, csrf) = served.log_in("alice");
    let answer = page(&served, "POST", &format!("/plans/{plan}/approve"), Some(&alice), Some(&[("csrf", &csrf)]));
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let (_, run) = served.call("GET", "/api/v1/runs", Auth::Session { cookie: &alice, csrf: None }, None);
    let run_id = run[0]["id"].as_i64().unwrap();
    let tokens = std::fs::read_to_string(served.site.directory.join("loket-tokens.json")).unwrap();
    let tokens: Value = serde_json::from_str(&tokens).unwrap();
    let secrets = [
        "demo-secret".to_string(),
        PASSWORD.to_string(),
        KEY.to_string(),
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
    ];
    let mut seen = 0;
    for (method, path, _) in PAGES {
        if *method != "GET" || *path == "/lang" {
            continue;
        }
        let path = with_ids(path, 1, plan, run_id);
        let answer = page(&served, "GET", &path, Some(&alice), None);
        assert_eq!(answer.status, StatusCode::OK, "GET {path}: {}", answer.body);
        for secret in &secrets {
            assert!(!answer.body.contains(secret.as_str()), "GET {path} shows a secret");
        }
        seen += 1;
    }
    assert!(seen >= 12, "{seen} pages");
    // The session's own form token is on the pages (it is not a secret from the user it belongs to), the
    // session cookie is not.
    let answer = page(&served, "GET", "/", Some(&alice), None);
    assert!(answer.body.contains(&csrf) && !answer.body.contains(&alice));
}

fn the_mapping_page_shows_every_error_at_its_field_and_saves_a_valid_mapping(db: Db) {
    let served = served_on("06-retroactive-correction-and-future-raise.json", "web-mapping", db);
    let (alice, csrf) = served.log_in("alice");
    let form = page(&served, "GET", "/employers/1/mapping", Some(&alice), None);
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    // Only payment components are offered for benefits (K4).
    assert!(form.body.contains("name=\"mappings[0].benefit_component\""), "{}", form.body);
    let mapping = &served.site.scenario.config.mappings[0];
    let benefit = mapping.benefit_component.map(|key| key.to_string()).unwrap_or_default();
    let start = served.site.scenario.config.compensation_start_date.to_string();
    let fields = |component: &str, start: &str, horizon: &str| -> Vec<(String, String)> {
        let mut fields = vec![
            ("csrf".to_string(), csrf.clone()),
            ("compensation_start_date".to_string(), start.to_string()),
            ("salary".to_string(), "true".to_string()),
            ("recurring".to_string(), "true".to_string()),
            ("one_time".to_string(), "true".to_string()),
            ("horizon_months".to_string(), horizon.to_string()),
            ("employee_number_attribute".to_string(), served.site.scenario.engine_config().employee_number_attribute),
            ("income_number_attribute".to_string(), served.site.scenario.engine_config().income_number_attribute),
            ("mode".to_string(), "review".to_string()),
            ("approvals_required".to_string(), "1".to_string()),
            ("schedule".to_string(), "0 6 * * 1-5".to_string()),
        ];
        for (index, mapping) in served.site.scenario.config.mappings.iter().enumerate() {
            let benefit = if index == 0 {
                component.to_string()
            } else {
                mapping.benefit_component.map(|key| key.to_string()).unwrap_or_default()
            };
            fields.push((format!("mappings[{index}].personio_type"), mapping.personio_type.clone()));
            fields.push((format!("mappings[{index}].benefit_component"), benefit));
            fields.push((
                format!("mappings[{index}].deduction_component"),
                mapping.deduction_component.map(|key| key.to_string()).unwrap_or_default(),
            ));
        }
        fields
    };
    let post = |fields: Vec<(String, String)>| {
        let form: Vec<(&str, &str)> = fields.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        page(&served, "POST", "/employers/1/mapping", Some(&alice), Some(&form))
    };
    // A component Loket does not have, a start date that is no period start, a horizon that is no number:
    // each error at its field, nothing saved.
    let before = served.runtime.block_on(served.service.records.connection(1)).unwrap().unwrap();
    let refused = post(fields("999999", "2026-01-15", "twelve"));
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("id=\"horizon_months-error\""), "{}", refused.body);
    let refused = post(fields("999999", &start, "12"));
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("id=\"mappings[0].benefit_component-error\""), "{}", refused.body);
    assert!(refused.body.contains("999999"), "{}", refused.body);
    let refused = post(fields(&benefit, "2026-01-15", "12"));
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("id=\"compensation_start_date-error\""), "{}", refused.body);
    let mut cron = fields(&benefit, &start, "12");
    cron.retain(|(key, _)| key != "schedule");
    cron.push(("schedule".to_string(), "0 0 30 2 *".to_string()));
    let refused = post(cron);
    assert!(refused.body.contains("id=\"schedule-error\""), "{}", refused.body);
    let after = served.runtime.block_on(served.service.records.connection(1)).unwrap().unwrap();
    assert_eq!(
        (before.settings.as_str(), before.schedule.as_deref()),
        (after.settings.as_str(), after.schedule.as_deref())
    );
    // A valid one is saved, validated against both systems, and journaled.
    let saved = post(fields(&benefit, &start, "6"));
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some("/employers/1/mapping?notice=saved"));
    let after = served.runtime.block_on(served.service.records.connection(1)).unwrap().unwrap();
    assert!(after.settings.contains("horizon_months = 6"), "{}", after.settings);
    assert_eq!(after.schedule.as_deref(), Some("0 6 * * 1-5"));
    let (_, audit) = served.call("GET", "/api/v1/audit", Auth::Session { cookie: &alice, csrf: None }, None);
    let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|row| row["action"].as_str()).collect();
    assert!(actions.contains(&"connection changed") && actions.contains(&"connection policy changed"), "{actions:?}");
}

#[test]
fn pages_speak_dutch_and_english_and_every_text_has_its_dutch() {
    let served = served("web-lang");
    let (alice, _) = served.log_in("alice");
    let client = no_redirects();
    let get = |accept_language: &str| {
        served.runtime.block_on(async {
            let response = client
                .get(format!("{}/", served.base))
                .header("cookie", format!("{SESSION_COOKIE}={alice}"))
                .header("accept-language", accept_language)
                .send()
                .await
                .unwrap();
            response.text().await.unwrap()
        })
    };
    let dutch = get("nl-NL,nl;q=0.9,en;q=0.8");
    assert!(dutch.contains("<html lang=\"nl\">") && dutch.contains("<h1>Werkgevers</h1>"), "{dutch}");
    let english = get("en-GB");
    assert!(english.contains("<html lang=\"en\">") && english.contains("<h1>Employers</h1>"), "{english}");
    // Every text the pages ask for is in the table with its Dutch.
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service/web");
    let mut asked = 0;
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for piece in source.split(".t(\"").skip(1) {
            let key = &piece[..piece.find("\")").unwrap_or(0)];
            if key.is_empty() || key.contains('"') {
                continue;
            }
            asked += 1;
            assert!(i18n::TEXTS.iter().any(|(en, _)| *en == key), "{}: `{key}` has no Dutch text", path.display());
        }
    }
    assert!(asked > 100, "{asked} texts");
}

#[test]
fn a_plan_page_shows_drift_notes_filters_and_the_csv() {
    let served = served("web-drift");
    let plan = pending_plan(&served);
    let (alice, csrf) = served.log_in("alice");
    let answer = page(&served, "POST", &format!("/plans/{plan}/approve"), Some(&alice), Some(&[("csrf", &csrf)]));
    assert_eq!(answer.location.as_deref(), Some(format!("/plans/{plan}?notice=applied").as_str()), "{}", answer.body);
    // Someone changes in Loket what loket-sync wrote; the next plan points it out for that employee.
    let mut changed = served.site.loket.dump();
    let wage = changed.employments[0].wages.iter_mut().find(|wage| wage.start.to_string() == "2026-04-01").unwrap();
    wage.amount = "5150.00".parse().unwrap();
    served.site.loket.load(changed).unwrap();
    let answer = page(&served, "POST", "/employers/1/plan", Some(&alice), Some(&[("csrf", &csrf)]));
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let next = answer.location.unwrap();
    let shown = page(&served, "GET", &next, Some(&alice), None);
    assert!(shown.body.contains("Changed in Loket since the last sync"), "{}", shown.body);
    assert!(shown.body.contains("loket-sync wrote Periodic 5100.00"), "{}", shown.body);
    assert!(shown.body.contains("data-employee=\"1006\""), "{}", shown.body);
    assert!(shown.body.contains("href=\"/rules#S9\""), "the rule links to its text: {}", shown.body);
    // Only destructive changes: this plan deletes nothing.
    let id = next.trim_start_matches("/plans/").split('?').next().unwrap().to_string();
    let filtered = page(&served, "GET", &format!("/plans/{id}?only=destructive"), Some(&alice), None);
    assert!(
        filtered.body.contains("Nothing matches the filter.") && !filtered.body.contains("data-employee=\"1006\""),
        "{}",
        filtered.body
    );
    // The CSV, as `plan --csv` writes it.
    let csv = page(&served, "GET", &format!("/plans/{id}/csv"), Some(&alice), None);
    assert!(
        csv.body.starts_with(
            "employee_number,name,person,status,rule_or_code,change_or_message\n1006,Thijs Mulder,1006,change,S9,"
        ),
        "{}",
        csv.body
    );
    // The rules' text has the anchor.
    let rules = page(&served, "GET", "/rules", Some(&alice), None);
    assert!(rules.body.contains("id=\"S9\""), "{}", rules.body);
}
