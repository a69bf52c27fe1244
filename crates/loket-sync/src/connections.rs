//! Client construction, in one place for a user's configuration and for the local emulators (the demo,
//! `scenario run`, the benchmark): both clients with their settings, and the ids the runner needs.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::runner::Connections;
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the Personio client secret is missing: set the {0}")]
    PersonioSecretMissing(String),
    #[error("the Personio client id is missing: set personio.client_id or {}", crate::env::PERSONIO_CLIENT_ID)]
    PersonioIdMissing,
    #[error("the Loket client secret is missing: set the {0}")]
    LoketSecretMissing(String),
    #[error("the Personio client cannot be built")]
    Personio(#[source] personio::PersonioError),
    #[error("the Loket client cannot be built")]
    Loket(#[source] loket::LoketError),
    #[error("`{url}` is not a URL")]
    Url {
        url: String,
        #[source]
        source: url::ParseError,
    },
}

/// Everything both clients are built from.
pub struct Endpoints {
    pub personio_url: Url,
    pub personio_client_id: String,
    pub personio_secret: SecretString,
    pub personio_app_id: Option<String>,
    pub personio_concurrency: usize,
    /// A worker's Personio budget, shared by the clients of every employer it runs at once.
    pub personio_shared_permits: Option<Arc<tokio::sync::Semaphore>>,
    pub loket_url: Url,
    pub loket_oauth_url: Url,
    pub loket_client_id: String,
    pub loket_secret: SecretString,
    pub loket_requests_per_second: Option<u32>,
    pub loket_concurrency: usize,
    pub loket_redirect_uri: Option<String>,
    pub loket_backoff: Option<Duration>,
    pub token_store: Arc<dyn loket::TokenStore>,
    pub employer_id: String,
    pub administration_id: String,
}

/// Both clients.
pub fn connect(endpoints: Endpoints) -> Result<Connections, ConnectError> {
    let mut personio_settings = personio::PersonioSettings::new(
        endpoints.personio_url,
        &endpoints.personio_client_id,
        endpoints.personio_secret,
    );
    if let Some(app_id) = endpoints.personio_app_id {
        personio_settings.app_id = app_id;
    }
    personio_settings.concurrency = endpoints.personio_concurrency;
    personio_settings.shared_permits = endpoints.personio_shared_permits;
    let mut loket_settings = loket::LoketSettings::new(
        endpoints.loket_url,
        endpoints.loket_oauth_url,
        &endpoints.loket_client_id,
        endpoints.loket_secret,
    );
    loket_settings.requests_per_second = endpoints.loket_requests_per_second;
    loket_settings.concurrency = endpoints.loket_concurrency;
    if let Some(redirect_uri) = endpoints.loket_redirect_uri {
        loket_settings.redirect_uri = redirect_uri;
    }
    if let Some(backoff) = endpoints.loket_backoff {
        loket_settings.backoff_base = backoff;
    }
    Ok(Connections {
        personio: Arc::new(personio::PersonioClient::new(personio_settings).map_err(ConnectError::Personio)?),
        loket: Arc::new(loket::LoketClient::new(loket_settings, endpoints.token_store).map_err(ConnectError::Loket)?),
        employer_id: endpoints.employer_id,
        administration_id: endpoints.administration_id,
    })
}

/// The clients of a user's configuration; the Loket tokens live in the token file.
pub fn from_settings(settings: &Settings) -> Result<Connections, ConnectError> {
    let personio_secret = settings
        .personio
        .client_secret
        .clone()
        .ok_or_else(|| ConnectError::PersonioSecretMissing(settings.personio.secret_source.clone()))?;
    if settings.personio.client_id.is_empty() {
        return Err(ConnectError::PersonioIdMissing);
    }
    let loket_secret = settings
        .loket
        .client_secret
        .clone()
        .ok_or_else(|| ConnectError::LoketSecretMissing(settings.loket.secret_source.clone()))?;
    connect(Endpoints {
        personio_url: settings.personio.base_url.clone(),
        personio_client_id: settings.personio.client_id.clone(),
        personio_secret,
        personio_app_id: Some(settings.personio.app_id.clone()),
        personio_concurrency: settings.personio.concurrency,
        personio_shared_permits: None,
        loket_url: settings.loket.base_url.clone(),
        loket_oauth_url: settings.loket.oauth_url.clone(),
        loket_client_id: settings.loket.client_id.clone(),
        loket_secret,
        loket_requests_per_second: settings.loket.requests_per_second,
        loket_concurrency: settings.loket.concurrency,
        loket_redirect_uri: Some(format!("http://127.0.0.1:{}/callback", settings.loket.redirect_port)),
        loket_backoff: None,
        token_store: Arc::new(loket::FileTokenStore::new(settings.loket.token_file.clone())),
        employer_id: settings.loket.employer_id.clone(),
        administration_id: settings.loket.administration_id.clone(),
    })
}

/// A URL of a local emulator.
pub fn parse_url(text: &str) -> Result<Url, ConnectError> {
    text.parse().map_err(|source| ConnectError::Url { url: text.to_string(), source })
}
