//! Connections: what one `loket-sync.toml` holds (a Personio legal entity ↔ a Loket employer and payroll
//! administration, with its rules and mappings), kept in the store as TOML without its secrets. The
//! Personio secret is sealed with the connection; the Loket client secret and tokens with the Loket login,
//! which several connections (a bureau's employers) share.
//!
//! A connection is validated as `check` validates a file: the file's own errors refuse it; then, when both
//! systems can be read, the configuration against them (K1–K7) refuses it too. When they cannot be read
//! yet (no Loket login, a read failing), it is kept, with the check's result saying why it is not judged.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use toml::{Table, Value};

use super::records::{AuditEntry, ConnectionRow, LoginRow, now};
use super::tokens::{self, StoredTokens};
use super::{Service, ServiceError};
use crate::connections::{ConnectError, Endpoints};
use crate::runner::{self, Connections, Validity};
use crate::settings::{self, Environment, FieldError, Settings};

/// The keys that name where a secret comes from: they mean nothing in the store, which holds the secrets.
const SECRET_SOURCES: &[&str] = &["client_secret", "client_secret_env", "client_secret_file", "client_id_env"];

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("a connection name is 1 to 64 letters, digits, dots, dashes or underscores, not `{0}`")]
    BadName(String),
    #[error("the configuration has {} problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("the configuration does not fit the data in Personio and Loket: {} problem(s)", .0.len())]
    Refused(Vec<String>),
    #[error("the {0} is missing")]
    MissingSecret(&'static str),
    #[error("there is no connection {0}")]
    NotFound(String),
    #[error("the stored secrets of connection {0} cannot be used")]
    Sealed(String, #[source] super::crypto::SealError),
    #[error("the clients of the connection cannot be built")]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The secrets of a connection, given once; the store keeps them sealed.
pub struct Secrets {
    pub personio_client_secret: Option<SecretString>,
    pub loket_client_secret: Option<SecretString>,
    /// Tokens of an earlier `connect loket` (the token file of a CLI user who moves to the service).
    pub loket_tokens: Option<loket::Tokens>,
}

/// What `check` found when the connection was saved.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckResult {
    /// The configuration is valid against both systems; its warnings.
    Valid { warnings: Vec<String> },
    /// Not judged: the reads that failed, or that there is no Loket login yet.
    NotChecked { reasons: Vec<String> },
}

#[derive(Clone, Debug, Serialize)]
pub struct Saved {
    pub connection: ConnectionRow,
    pub check: CheckResult,
}

/// The environment a stored configuration is read with: its secrets under the default variable names.
struct Stored(HashMap<&'static str, String>);

impl Environment for Stored {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The TOML as stored: without the keys that say where secrets come from, with the Personio client id
/// itself (it is no secret), without the CLI's state file and token file.
fn without_secrets(text: &str, personio_client_id: &str) -> String {
    let Ok(mut table) = text.parse::<Table>() else { return text.to_string() };
    for section in ["personio", "loket"] {
        if let Some(Value::Table(inner)) = table.get_mut(section) {
            for key in SECRET_SOURCES.iter().chain(["token_file"].iter()) {
                inner.remove(*key);
            }
            if section == "personio" {
                inner.insert("client_id".to_string(), Value::String(personio_client_id.to_string()));
            }
        }
    }
    table.remove("state");
    toml::to_string(&table).unwrap_or_else(|_| text.to_string())
}

fn virtual_path(name: &str) -> std::path::PathBuf {
    Path::new("connection").join(name)
}

/// The settings of a stored connection, with its secrets opened.
fn stored_settings(
    name: &str,
    text: &str,
    personio: SecretString,
    loket: SecretString,
) -> Result<Settings, ConnectionError> {
    let environment = Stored(HashMap::from([
        (crate::env::PERSONIO_CLIENT_SECRET, personio.expose_secret().to_string()),
        (crate::env::LOKET_CLIENT_SECRET, loket.expose_secret().to_string()),
    ]));
    settings::parse(&virtual_path(name), text, &environment).map_err(ConnectionError::Invalid)
}

impl Service {
    /// Saves a connection from a configuration file's text (an import, or the API), validated as `check`
    /// validates. `parsed` are the settings the text was read into, with the secrets it names resolved.
    pub async fn save_connection(
        &self,
        who: &str,
        name: &str,
        parsed: &Settings,
        text: &str,
        secrets: Secrets,
    ) -> Result<Saved, ConnectionError> {
        if !valid_name(name) {
            return Err(ConnectionError::BadName(name.to_string()));
        }
        let key = self.key()?;
        let personio_secret = secrets
            .personio_client_secret
            .or_else(|| parsed.personio.client_secret.clone())
            .ok_or(ConnectionError::MissingSecret("Personio client secret"))?;
        let loket_secret = secrets
            .loket_client_secret
            .or_else(|| parsed.loket.client_secret.clone())
            .ok_or(ConnectionError::MissingSecret("Loket client secret"))?;
        let stored_text = without_secrets(text, &parsed.personio.client_id);
        // The stored text must read back to the same settings: it is what every later run reads.
        let settings = stored_settings(name, &stored_text, personio_secret.clone(), loket_secret.clone())?;

        let sealed = |purpose: String, secret: &str| {
            key.seal(&purpose, secret).map_err(|error| ConnectionError::Sealed(name.to_string(), error))
        };
        let oauth_url = settings.loket.oauth_url.to_string();
        let base_url = settings.loket.base_url.to_string();
        let mut created_login = false;
        let login_id = match self.records.login_by_client(&base_url, &oauth_url, &settings.loket.client_id).await? {
            Some(login) => {
                // The secret given is the login's from now on (a rotated secret), never ignored.
                let secret = sealed(login_secret_purpose(login.id), loket_secret.expose_secret())?;
                sqlx::query("UPDATE loket_logins SET client_secret_sealed = $1 WHERE id = $2")
                    .bind(secret)
                    .bind(login.id)
                    .execute(&self.records.pool)
                    .await
                    .map_err(crate::store::StoreError::from)?;
                login.id
            }
            None => {
                created_login = true;
                let row = LoginRow {
                    id: 0,
                    base_url: base_url.clone(),
                    oauth_url: oauth_url.clone(),
                    client_id: settings.loket.client_id.clone(),
                    // Sealed for the login once its id is known.
                    client_secret_sealed: String::new(),
                    tokens_sealed: None,
                    needs_login: crate::store::Flag(true),
                };
                let id = self.records.insert_login(&row).await?;
                let secret = sealed(login_secret_purpose(id), loket_secret.expose_secret())?;
                sqlx::query("UPDATE loket_logins SET client_secret_sealed = $1 WHERE id = $2")
                    .bind(secret)
                    .bind(id)
                    .execute(&self.records.pool)
                    .await
                    .map_err(crate::store::StoreError::from)?;
                id
            }
        };
        self.forget_client(login_id);
        if let Some(tokens) = &secrets.loket_tokens {
            let sealed_tokens = tokens::seal(key, login_id, tokens)
                .map_err(|error| ConnectionError::Sealed(name.to_string(), error))?;
            self.records.set_login_tokens(login_id, Some(&sealed_tokens)).await?;
        }

        let check = match self.check_settings(&settings, login_id).await {
            Ok(check) => check,
            Err(error) => {
                // A login made for this refused connection alone is not kept.
                if created_login {
                    self.forget_client(login_id);
                    sqlx::query("DELETE FROM loket_logins WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM connections WHERE loket_login_id = $2)")
                        .bind(login_id)
                        .bind(login_id)
                        .execute(&self.records.pool)
                        .await
                        .map_err(crate::store::StoreError::from)?;
                }
                return Err(error);
            }
        };
        let before = self.records.connection_named(name).await?;
        let stamp = now();
        let mut row = ConnectionRow {
            id: 0,
            name: name.to_string(),
            settings: stored_text,
            personio_secret_sealed: String::new(),
            loket_login_id: login_id,
            mode: before.as_ref().map_or_else(|| "review".to_string(), |row| row.mode.clone()),
            schedule: before.as_ref().and_then(|row| row.schedule.clone()),
            last_scheduled_at: before.as_ref().and_then(|row| row.last_scheduled_at.clone()),
            approvals_required: before.as_ref().map_or(1, |row| row.approvals_required),
            created_at: stamp.clone(),
            updated_at: stamp,
            retry_at: before.as_ref().and_then(|row| row.retry_at.clone()),
            attempts: before.as_ref().map_or(0, |row| row.attempts),
        };
        // The sealed secret is bound to the connection's name: the id is not known before the insert.
        row.personio_secret_sealed = sealed(personio_secret_purpose(name), personio_secret.expose_secret())?;
        row.id = self.records.upsert_connection(&row).await?;
        self.records
            .audit(AuditEntry {
                who,
                action: if before.is_some() { "connection changed" } else { "connection created" },
                subject: format!("connection {name}"),
                before: before.map(|row| row.settings),
                after: Some(row.settings.clone()),
            })
            .await?;
        Ok(Saved { connection: row, check })
    }

    /// `check` against both systems: refused when the configuration is wrong for them; not judged when
    /// they cannot be read.
    async fn check_settings(&self, settings: &Settings, login_id: i64) -> Result<CheckResult, ConnectionError> {
        let connections = self.clients(settings, login_id).await?;
        match connections.loket.is_connected().await {
            Ok(true) => {}
            Ok(false) => {
                return Ok(CheckResult::NotChecked {
                    reasons: vec!["the Loket login has no tokens yet: log in to Loket for this connection".to_string()],
                });
            }
            Err(error) => return Ok(CheckResult::NotChecked { reasons: vec![engine::errors::chain(&error)] }),
        }
        let company = runner::read_company(&connections, &settings.sync).await;
        match company.validate(&settings.sync, self.clock.today()) {
            Validity::Valid(valid) => {
                Ok(CheckResult::Valid { warnings: valid.warnings.iter().map(|issue| issue.message.clone()).collect() })
            }
            Validity::Invalid(errors) => {
                Err(ConnectionError::Refused(errors.iter().map(ToString::to_string).collect()))
            }
            Validity::Unread(reads) => Ok(CheckResult::NotChecked { reasons: reads }),
        }
    }

    /// Both clients of a configuration, the Loket one with the login's tokens from the store.
    pub(crate) async fn clients(&self, settings: &Settings, login_id: i64) -> Result<Connections, ConnectionError> {
        let key = Arc::clone(self.key()?);
        let login = self
            .records
            .login(login_id)
            .await?
            .ok_or_else(|| ConnectionError::NotFound(format!("login {login_id}")))?;
        let current = login.tokens_sealed.as_deref().and_then(|sealed| tokens::open(&key, login_id, sealed));
        let store = StoredTokens::new(self.records.clone(), key, login_id, current);
        let mut connections = crate::connections::connect(Endpoints {
            personio_url: settings.personio.base_url.clone(),
            personio_client_id: settings.personio.client_id.clone(),
            personio_secret: settings
                .personio
                .client_secret
                .clone()
                .ok_or(ConnectionError::MissingSecret("Personio client secret"))?,
            personio_app_id: Some(settings.personio.app_id.clone()),
            personio_concurrency: settings.personio.concurrency,
            personio_shared_permits: Some(Arc::clone(&self.personio_permits)),
            loket_url: settings.loket.base_url.clone(),
            loket_oauth_url: settings.loket.oauth_url.clone(),
            loket_client_id: settings.loket.client_id.clone(),
            loket_secret: settings
                .loket
                .client_secret
                .clone()
                .ok_or(ConnectionError::MissingSecret("Loket client secret"))?,
            loket_requests_per_second: settings.loket.requests_per_second,
            loket_concurrency: settings.loket.concurrency,
            loket_redirect_uri: None,
            loket_backoff: None,
            token_store: Arc::new(store),
            employer_id: settings.loket.employer_id.clone(),
            administration_id: settings.loket.administration_id.clone(),
        })?;
        // One client per login: Loket's refresh tokens rotate, so two clients refreshing the same tokens
        // would lose the login; the one client serialises its refreshes.
        let mut cached = self.loket_clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match cached.get(&login_id) {
            Some(client) => connections.loket = Arc::clone(client),
            None => {
                cached.insert(login_id, Arc::clone(&connections.loket));
            }
        }
        drop(cached);
        Ok(connections)
    }

    /// Forgets the Loket client of a login (its tokens or secret changed): the next use builds a new one.
    pub(crate) fn forget_client(&self, login_id: i64) {
        self.loket_clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&login_id);
    }

    /// A stored connection's settings (its secrets opened) and clients.
    pub async fn open_connection(&self, id: i64) -> Result<(ConnectionRow, Settings, Connections), ConnectionError> {
        let row = self.records.connection(id).await?.ok_or_else(|| ConnectionError::NotFound(id.to_string()))?;
        let (personio, loket) = self.stored_secrets(&row).await?;
        let settings = stored_settings(&row.name, &row.settings, personio, loket)?;
        let connections = self.clients(&settings, row.loket_login_id).await?;
        Ok((row, settings, connections))
    }

    /// Replaces a stored connection's configuration (the dashboard's mapping page) with `text`, keeping its
    /// secrets; validated as an import is (the file's errors by field, then against both systems).
    pub async fn change_settings(&self, who: &str, id: i64, text: &str) -> Result<Saved, ConnectionError> {
        let row = self.records.connection(id).await?.ok_or_else(|| ConnectionError::NotFound(id.to_string()))?;
        let (personio, loket) = self.stored_secrets(&row).await?;
        let settings = stored_settings(&row.name, text, personio.clone(), loket.clone())?;
        let secrets =
            Secrets { personio_client_secret: Some(personio), loket_client_secret: Some(loket), loket_tokens: None };
        self.save_connection(who, &row.name, &settings, text, secrets).await
    }

    /// The Personio secret of a connection and the client secret of its Loket login, opened.
    async fn stored_secrets(&self, row: &ConnectionRow) -> Result<(SecretString, SecretString), ConnectionError> {
        let key = self.key()?;
        let login = self
            .records
            .login(row.loket_login_id)
            .await?
            .ok_or_else(|| ConnectionError::NotFound(format!("login {}", row.loket_login_id)))?;
        let opened = |purpose: String, sealed: &str| {
            key.open(&purpose, sealed).map_err(|error| ConnectionError::Sealed(row.name.clone(), error))
        };
        let personio = opened(personio_secret_purpose(&row.name), &row.personio_secret_sealed)?;
        let loket = opened(login_secret_purpose(login.id), &login.client_secret_sealed)?;
        Ok((personio, loket))
    }

    /// Replaces a connection's Personio secret or its Loket login's client secret; says which changed.
    pub async fn change_credentials(
        &self,
        who: &str,
        id: i64,
        personio: Option<SecretString>,
        loket: Option<SecretString>,
    ) -> Result<Vec<&'static str>, ConnectionError> {
        let row = self.records.connection(id).await?.ok_or_else(|| ConnectionError::NotFound(id.to_string()))?;
        let key = self.key()?;
        let sealed = |purpose: String, secret: &SecretString| {
            key.seal(&purpose, secret.expose_secret()).map_err(|error| ConnectionError::Sealed(row.name.clone(), error))
        };
        let mut changed = Vec::new();
        if let Some(secret) = &personio {
            sqlx::query("UPDATE connections SET personio_secret_sealed = $1, updated_at = $2 WHERE id = $3")
                .bind(sealed(personio_secret_purpose(&row.name), secret)?)
                .bind(now())
                .bind(id)
                .execute(&self.records.pool)
                .await
                .map_err(crate::store::StoreError::from)?;
            changed.push("personio_client_secret");
        }
        if let Some(secret) = &loket {
            sqlx::query("UPDATE loket_logins SET client_secret_sealed = $1 WHERE id = $2")
                .bind(sealed(login_secret_purpose(row.loket_login_id), secret)?)
                .bind(row.loket_login_id)
                .execute(&self.records.pool)
                .await
                .map_err(crate::store::StoreError::from)?;
            changed.push("loket_client_secret");
            self.forget_client(row.loket_login_id);
        }
        self.records
            .note(who, "credentials changed", format!("connection {}", row.name), Some(changed.join(", ")))
            .await?;
        Ok(changed)
    }

    /// `check` of a stored connection: the configuration against both systems (valid with its warnings,
    /// every error, or the reads that failed), the Personio attributes with the one to suggest for
    /// `employee_number_attribute`, and Loket's payroll components.
    pub async fn check_connection(&self, id: i64) -> Result<serde_json::Value, ConnectionError> {
        let (_, settings, connections) = self.open_connection(id).await?;
        let config = &settings.sync;
        let validity = match connections.loket.is_connected().await {
            Ok(false) | Err(_) => {
                serde_json::json!({"status": "not_checked", "reasons": ["the Loket login has no tokens: log in to Loket"]})
            }
            Ok(true) => match runner::read_company(&connections, config).await.validate(config, self.clock.today()) {
                Validity::Valid(valid) => serde_json::json!({"status": "valid", "warnings": valid.warnings}),
                Validity::Invalid(errors) => serde_json::json!({
                    "status": "invalid",
                    "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }),
                Validity::Unread(reads) => serde_json::json!({"status": "not_checked", "reasons": reads}),
            },
        };
        let survey = match runner::survey(&connections, config).await {
            Ok(survey) => serde_json::to_value(survey).unwrap_or_default(),
            Err(error) => serde_json::json!({"error": engine::errors::chain(&error)}),
        };
        Ok(serde_json::json!({"validity": validity, "survey": survey}))
    }

    /// Removes a connection; its runs stay in the history.
    pub async fn delete_connection(&self, who: &str, id: i64) -> Result<(), ConnectionError> {
        let row = self.records.connection(id).await?.ok_or_else(|| ConnectionError::NotFound(id.to_string()))?;
        self.records.delete_connection(id).await?;
        self.records
            .audit(AuditEntry {
                who,
                action: "connection removed",
                subject: format!("connection {}", row.name),
                before: Some(row.settings),
                after: None,
            })
            .await?;
        Ok(())
    }
}

fn personio_secret_purpose(name: &str) -> String {
    format!("connection {name} personio client secret")
}

fn login_secret_purpose(login_id: i64) -> String {
    format!("loket login {login_id} client secret")
}

/// Reads a configuration file for an import, with the process's environment for the secrets it names, and
/// the Loket tokens of its token file if it has one.
pub fn read_for_import(
    path: &Path,
    environment: &dyn Environment,
) -> Result<(Settings, String, Secrets), ConnectionError> {
    let settings = settings::load(path, environment).map_err(ConnectionError::Invalid)?;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let tokens = loket::FileTokenStore::new(settings.loket.token_file.clone());
    let loket_tokens = loket::TokenStore::load(&tokens).ok().flatten();
    Ok((settings, text, Secrets { personio_client_secret: None, loket_client_secret: None, loket_tokens }))
}

/// Reads a configuration's text given through the API, with the secrets the request gives.
pub fn read_for_api(name: &str, text: &str, secrets: &Secrets) -> Result<Settings, ConnectionError> {
    let mut values = HashMap::new();
    if let Some(secret) = &secrets.personio_client_secret {
        values.insert(crate::env::PERSONIO_CLIENT_SECRET, secret.expose_secret().to_string());
    }
    if let Some(secret) = &secrets.loket_client_secret {
        values.insert(crate::env::LOKET_CLIENT_SECRET, secret.expose_secret().to_string());
    }
    // The text's own secret sources are ignored: an API request gives the secrets, the server's
    // environment and files are not the caller's to read.
    let stripped = without_secrets(text, "");
    let mut table: Table = stripped.parse().unwrap_or_default();
    if let (Some(Value::Table(personio)), Ok(original)) = (table.get_mut("personio"), text.parse::<Table>()) {
        match original.get("personio").and_then(|section| section.get("client_id")) {
            Some(id) => personio.insert("client_id".to_string(), id.clone()),
            None => personio.remove("client_id"),
        };
    }
    let text =
        if text.parse::<Table>().is_ok() { toml::to_string(&table).unwrap_or_default() } else { text.to_string() };
    settings::parse(&virtual_path(name), &text, &Stored(values)).map_err(ConnectionError::Invalid)
}
