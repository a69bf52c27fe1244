//! `init`, `connect loket`, `check`.

use std::time::Duration;

use anyhow::Context as _;
use engine::errors::chain;

use super::{Context, ExitStatus, load_settings, print_config_errors};
use crate::connections;
use crate::report;
use crate::runner::{self, Connections};
use crate::settings::Settings;

const TEMPLATE: &str = include_str!("../template.toml");

pub fn init(context: &Context<'_>, force: bool, environment: &str) -> anyhow::Result<ExitStatus> {
    let path = context.config;
    if !["production", "acceptance"].contains(&environment) {
        anyhow::bail!("--environment must be production or acceptance, not {environment}");
    }
    if path.exists() && !force {
        anyhow::bail!("{} exists already; use --force to overwrite it", path.display());
    }
    let text = TEMPLATE.replace("environment = \"production\"", &format!("environment = \"{environment}\""));
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    context.printer.line(format!(
        "Wrote {}. Fill in the ids, mappings and start date, set the secrets as environment variables, then run `loket-sync connect loket` and `loket-sync check`.",
        path.display()
    ));
    Ok(ExitStatus::Success)
}

pub async fn connect_loket(context: &Context<'_>, timeout: u64) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let connections = connections::from_settings(&settings)?;
    let port = settings.loket.redirect_port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| {
        format!("cannot listen on 127.0.0.1:{port} for Loket's redirect; choose another loket.redirect_port")
    })?;
    let state = crate::oauth_redirect::new_state()?;
    let printer = context.printer;
    printer.line("Open this address in a browser, log in to Loket and approve loket-sync:");
    printer.line(connections.loket.authorize_url(&state));
    let code = crate::oauth_redirect::wait_for_code(listener, &state, Duration::from_secs(timeout)).await?;
    connections.loket.exchange_code(&code).await.context("Loket refused the login")?;
    printer.line(format!(
        "Connected to Loket. The tokens are in {} (readable by you only).",
        settings.loket.token_file.display()
    ));
    Ok(ExitStatus::Success)
}

fn on_off(switch: bool) -> &'static str {
    if switch { "on" } else { "off" }
}

pub fn check_offline(context: &Context<'_>) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let missing: Vec<String> = [
        settings
            .personio
            .client_secret
            .is_none()
            .then(|| format!("the Personio client secret ({})", settings.personio.secret_source)),
        settings
            .loket
            .client_secret
            .is_none()
            .then(|| format!("the Loket client secret ({})", settings.loket.secret_source)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let printer = context.printer;
    printer.value(&serde_json::json!({"ok": true, "missing_secrets": missing}));
    printer.text(format!(
        "{} is well-formed: {} mapping(s); salary {}, recurring {}, one-time {}.",
        settings.path.display(),
        settings.sync.mappings.len(),
        on_off(settings.sync.salary),
        on_off(settings.sync.recurring),
        on_off(settings.sync.one_time)
    ));
    for secret in &missing {
        printer.text(format!("  not set yet: {secret}"));
    }
    Ok(ExitStatus::Success)
}

pub async fn check(context: &Context<'_>) -> anyhow::Result<ExitStatus> {
    let Some(settings) = load_settings(context) else { return Ok(ExitStatus::Error) };
    let connections = connections::from_settings(&settings)?;
    check_connections(context, &connections, &settings.sync, Some(&settings)).await
}

/// The check of a configuration against both systems (the demo runs it on the local ones): validation,
/// the attribute survey, the component catalogue, and the mappings side by side.
pub(super) async fn check_connections(
    context: &Context<'_>,
    connections: &Connections,
    config: &engine::Config,
    settings: Option<&Settings>,
) -> anyhow::Result<ExitStatus> {
    let printer = context.printer;
    let company = runner::read_company(connections, config).await;
    let valid = company.validate(config, context.today);
    let survey = runner::survey(connections, config).await;
    let components: &[runner::CatalogueRow] = survey.as_ref().map(|survey| survey.components.as_slice()).unwrap_or(&[]);
    let mut rows = Vec::new();
    for kind in company.types().iter().filter(|kind| {
        matches!(kind.category, engine::state::TypeCategory::Recurring | engine::state::TypeCategory::OneTime)
    }) {
        let mapping = config
            .mappings
            .iter()
            .find(|mapping| mapping.personio_type == kind.name || mapping.personio_type == kind.id);
        let describe = |key: Option<engine::ComponentKey>| {
            key.map(|key| {
                let found = components.iter().find(|component| component.key == key.0);
                format!("{key} {}", found.map(|component| component.description.as_str()).unwrap_or("(not in Loket)"))
            })
            .unwrap_or_else(|| "-".to_string())
        };
        let category = match kind.category {
            engine::state::TypeCategory::Recurring => "recurring",
            _ => "one_time",
        };
        rows.push((
            format!(
                "{} ({category}{})",
                kind.name,
                kind.unit.as_ref().map(|unit| format!(", {unit}")).unwrap_or_default()
            ),
            mapping.map(|mapping| describe(mapping.benefit_component)).unwrap_or_else(|| "not mapped".to_string()),
            mapping.map(|mapping| describe(mapping.deduction_component)).unwrap_or_default(),
        ));
    }
    match &survey {
        Ok(survey) => printer.text(report::survey_text(survey, config)),
        Err(error) => printer.text(format!("The attributes and components cannot be shown: {}", chain(error))),
    }
    let survey_json = match &survey {
        Ok(survey) => serde_json::to_value(survey).unwrap_or_default(),
        Err(error) => serde_json::json!({"error": chain(error)}),
    };
    match valid {
        runner::Validity::Valid(valid) => {
            printer.value(&serde_json::json!({
                "ok": true,
                "warnings": valid.warnings,
                "mappings": rows.iter().map(|(kind, benefit, deduction)| serde_json::json!({"personio_type": kind, "benefit": benefit, "deduction": deduction})).collect::<Vec<_>>(),
                "survey": survey_json,
            }));
            printer.text("Personio type → Loket benefit component | deduction component");
            for (kind, benefit, deduction) in &rows {
                printer.text(format!("  {kind} → {benefit} | {deduction}"));
            }
            for warning in &valid.warnings {
                printer.text(report::issue_line(warning));
            }
            printer.text("The configuration is valid against both systems.");
            Ok(ExitStatus::Success)
        }
        runner::Validity::Invalid(errors) => {
            match settings {
                Some(settings) => print_config_errors(printer, settings, &errors),
                None => {
                    for error in &errors {
                        printer.note(format!("  {error}"));
                    }
                }
            }
            Ok(ExitStatus::Error)
        }
        runner::Validity::Unread(failed) => {
            // A read that failed is never called a configuration error (G5).
            printer.value(&serde_json::json!({"ok": false, "read_failed": failed, "survey": survey_json}));
            for read in &failed {
                printer.note(format!("error: {read}"));
            }
            printer.note("The configuration cannot be checked until these reads succeed; check the connection and the credentials' rights, then run `loket-sync check` again.");
            Ok(ExitStatus::Error)
        }
    }
}
