//! The Personio API v2 client: a client-credentials token cached until shortly before it expires,
//! `X-Personio-App-ID` on every request, cursor paging, pacing by the rate-limit headers, backoff on 429,
//! retries of reads on connection errors and 5xx, timeouts everywhere.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use engine::errors::Cause;

use crate::wire;

#[derive(Clone, Debug)]
pub struct PersonioSettings {
    /// `https://api.personio.de`; paths below it start with `/v2`.
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// `X-Personio-App-ID`, UPPER_SNAKE_CASE.
    pub app_id: String,
    pub partner_id: Option<String>,
    pub concurrency: usize,
    /// Permits shared with other clients (a worker's budget over every Personio company it runs at once):
    /// a request takes one of these besides one of this client's `concurrency`.
    pub shared_permits: Option<std::sync::Arc<Semaphore>>,
    pub timeout: Duration,
    pub max_retries: u32,
    /// The first backoff after a 429 (Personio sends no `Retry-After`); it doubles, with jitter.
    pub backoff_base: Duration,
}

impl PersonioSettings {
    pub fn new(base_url: Url, client_id: &str, client_secret: SecretString) -> PersonioSettings {
        PersonioSettings {
            base_url,
            client_id: client_id.to_string(),
            client_secret,
            app_id: "LOKET_SYNC".to_string(),
            partner_id: None,
            concurrency: 8,
            shared_permits: None,
            timeout: Duration::from_secs(30),
            max_retries: 5,
            backoff_base: Duration::from_secs(1),
        }
    }
}

/// How the client waits. Injected so tests do not wait.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PersonioError {
    #[error("{endpoint}: Personio refused the request ({status}): {detail}")]
    Refused { endpoint: String, status: u16, detail: String },
    #[error(
        "Personio refused the credentials: {0}. Check the client id and secret (PERSONIO_CLIENT_ID, PERSONIO_CLIENT_SECRET)"
    )]
    Credentials(String),
    #[error(
        "{endpoint}: the credential lacks a scope (403): {detail}. Give the API credential the scopes personio:persons:read, personio:compensations:read and personio:legal-entities:read"
    )]
    Scope { endpoint: String, detail: String },
    #[error(
        "{endpoint}: Personio answered 401 Unauthorized with a fresh token: {detail}. The API credential most likely lacks a scope or the right to read this data: give it the scopes personio:persons:read, personio:compensations:read and personio:legal-entities:read and read access to the employees' data and custom attributes (Settings → Integrations → API credentials)"
    )]
    Unauthorized { endpoint: String, detail: String },
    #[error("{endpoint}: Personio answered {status} after {attempts} attempt(s)")]
    Status { endpoint: String, status: u16, attempts: u32 },
    #[error("{endpoint}: cannot reach Personio after {attempts} attempt(s)")]
    Transport {
        endpoint: String,
        #[source]
        source: Cause,
        attempts: u32,
    },
    #[error("{endpoint}: Personio's answer cannot be read")]
    Decode {
        endpoint: String,
        #[source]
        source: Cause,
    },
}

struct Token {
    value: SecretString,
    expires: Instant,
}

pub struct PersonioClient {
    http: reqwest::Client,
    settings: PersonioSettings,
    token: tokio::sync::Mutex<Option<Token>>,
    permits: Semaphore,
    sleeper: Arc<dyn Sleeper>,
    /// Do not start a request before this (the rate-limit headers said the bucket is empty).
    paused_until: Mutex<Option<Instant>>,
    requests: Mutex<BTreeMap<String, usize>>,
}

fn detail(text: &str, status: StatusCode) -> String {
    serde_json::from_str::<wire::ErrorBody>(text)
        .ok()
        .and_then(|body| body.errors.first().map(|error| format!("{}: {}", error.title, error.detail)))
        .or_else(|| {
            serde_json::from_str::<wire::OAuthError>(text).ok().map(|error| match error.error_description {
                Some(description) => format!("{} ({description})", error.error),
                None => error.error,
            })
        })
        .unwrap_or_else(|| format!("HTTP {status}"))
}

impl PersonioClient {
    pub fn new(settings: PersonioSettings) -> Result<PersonioClient, PersonioError> {
        PersonioClient::with_sleeper(settings, Arc::new(TokioSleeper))
    }

    pub fn with_sleeper(
        settings: PersonioSettings,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<PersonioClient, PersonioError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("loket-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| PersonioError::Transport {
                endpoint: "client".to_string(),
                source: error.into(),
                attempts: 0,
            })?;
        Ok(PersonioClient {
            http,
            permits: Semaphore::new(settings.concurrency.max(1)),
            settings,
            token: tokio::sync::Mutex::new(None),
            sleeper,
            paused_until: Mutex::new(None),
            requests: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// How long the next request will wait because the rate-limit headers said the bucket is empty.
    pub fn pause(&self) -> Option<Duration> {
        self.paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    pub fn total_requests(&self) -> usize {
        self.request_counts().values().sum()
    }

    fn count(&self, what: &str) {
        *self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(what.to_string()).or_default() +=
            1;
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.settings.base_url.clone();
        let full = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&full);
        url
    }

    /// The cached token, or a new one when it expires within a minute.
    async fn token(&self) -> Result<SecretString, PersonioError> {
        let mut guard = self.token.lock().await;
        if let Some(token) = guard.as_ref()
            && token.expires > Instant::now() + Duration::from_secs(60)
        {
            return Ok(token.value.clone());
        }
        let endpoint = self.url("/v2/auth/token");
        self.count("POST /v2/auth/token");
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose_secret()),
        ];
        let response = self.http.post(endpoint.clone()).form(&form).send().await.map_err(|error| {
            PersonioError::Transport { endpoint: endpoint.to_string(), source: error.into(), attempts: 1 }
        })?;
        let status = response.status();
        tracing::info!(target: "personio", route = "POST /v2/auth/token", status = status.as_u16(), "Personio token request");
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(PersonioError::Credentials(detail(&text, status)));
        }
        let answer: wire::TokenResponse = serde_json::from_str(&text)
            .map_err(|error| PersonioError::Decode { endpoint: endpoint.to_string(), source: error.into() })?;
        let value: SecretString = answer.access_token.into();
        *guard = Some(Token {
            value: value.clone(),
            expires: Instant::now() + Duration::from_secs(u64::try_from(answer.expires_in).unwrap_or(0)),
        });
        Ok(value)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.settings.backoff_base.as_secs_f64() * 2f64.powi(attempt.min(16) as i32);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0);
        Duration::from_secs_f64(base * (1.0 + f64::from(nanos % 1000) / 2000.0))
    }

    /// A GET of one URL (a first page, or a `next` link), with the retry rules.
    async fn get_text(&self, url: Url, what: &str) -> Result<String, PersonioError> {
        let closed = |_| PersonioError::Transport {
            endpoint: what.to_string(),
            source: "the client is shutting down".into(),
            attempts: 0,
        };
        let _permit = self.permits.acquire().await.map_err(closed)?;
        let _shared = match &self.settings.shared_permits {
            Some(shared) => Some(shared.acquire().await.map_err(closed)?),
            None => None,
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let pause = self
                .paused_until
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .and_then(|until| until.checked_duration_since(Instant::now()));
            if let Some(pause) = pause {
                self.sleeper.sleep(pause).await;
            }
            let token = self.token().await?;
            let mut request = self
                .http
                .get(url.clone())
                .bearer_auth(token.expose_secret())
                .header("Accept", "application/json")
                .header("X-Personio-App-ID", &self.settings.app_id);
            if let Some(partner) = &self.settings.partner_id {
                request = request.header("X-Personio-Partner-ID", partner);
            }
            self.count(&format!("GET {what}"));
            let retries_left = attempt <= self.settings.max_retries;
            let started = Instant::now();
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) if retries_left => {
                    tracing::info!(target: "personio", route = %what, attempt, reason = %error, "retrying: the request failed");
                    self.sleeper.sleep(self.backoff(attempt - 1)).await;
                    continue;
                }
                Err(error) => {
                    return Err(PersonioError::Transport {
                        endpoint: what.to_string(),
                        source: error.into(),
                        attempts: attempt,
                    });
                }
            };
            let status = response.status();
            self.pace(response.headers());
            let text = response.text().await.unwrap_or_default();
            tracing::info!(
                target: "personio",
                method = "GET", route = %what, status = status.as_u16(), attempt,
                elapsed_ms = started.elapsed().as_millis() as u64, "Personio request"
            );
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                tracing::info!(target: "personio", route = %what, status = status.as_u16(), "retrying after a backoff");
            }
            match status {
                status if status.is_success() => return Ok(text),
                StatusCode::TOO_MANY_REQUESTS
                | StatusCode::INTERNAL_SERVER_ERROR
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
                    if retries_left =>
                {
                    self.sleeper.sleep(self.backoff(attempt - 1)).await;
                    continue;
                }
                StatusCode::UNAUTHORIZED if attempt == 1 => {
                    // The token was revoked or expired early: get a new one once.
                    *self.token.lock().await = None;
                    continue;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(PersonioError::Unauthorized {
                        endpoint: what.to_string(),
                        detail: detail(&text, status),
                    });
                }
                StatusCode::FORBIDDEN => {
                    return Err(PersonioError::Scope { endpoint: what.to_string(), detail: detail(&text, status) });
                }
                status if status.is_client_error() => {
                    return Err(PersonioError::Refused {
                        endpoint: what.to_string(),
                        status: status.as_u16(),
                        detail: detail(&text, status),
                    });
                }
                status => {
                    return Err(PersonioError::Status {
                        endpoint: what.to_string(),
                        status: status.as_u16(),
                        attempts: attempt,
                    });
                }
            }
        }
    }

    /// Pace by the rate-limit headers: when the bucket is empty, wait one replenish interval.
    fn pace(&self, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| {
            headers.get(name).and_then(|value| value.to_str().ok()).and_then(|value| value.trim().parse::<f64>().ok())
        };
        if let Some(remaining) = number("x-ratelimit-remaining")
            && remaining < 1.0
        {
            let rate = number("x-ratelimit-replenish-rate").filter(|rate| *rate > 0.0).unwrap_or(1.0);
            let until = Instant::now() + Duration::from_secs_f64(1.0 / rate);
            *self.paused_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(until);
        }
    }

    /// Every page of a list: follows `_meta.links.next.href` until it is absent.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, PersonioError> {
        let mut url = self.url(path);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let text = self.get_text(url.clone(), path).await?;
            let page: wire::List<T> = serde_json::from_str(&text)
                .map_err(|error| PersonioError::Decode { endpoint: path.to_string(), source: error.into() })?;
            items.extend(page.data);
            let Some(next) = page.meta.links.next else { return Ok(items) };
            let next = url.join(&next.href).map_err(|error| PersonioError::Decode {
                endpoint: path.to_string(),
                source: format!("the next link `{}` is not a URL: {error}", next.href).into(),
            })?;
            if !seen.insert(next.to_string()) {
                return Err(PersonioError::Decode {
                    endpoint: path.to_string(),
                    source: "the next link repeats itself".into(),
                });
            }
            url = next;
        }
    }

    pub async fn persons(&self) -> Result<Vec<wire::Person>, PersonioError> {
        self.get_all("/v2/persons", &[("limit", "50".to_string())]).await
    }

    pub async fn employments(&self, person_id: &str) -> Result<Vec<wire::Employment>, PersonioError> {
        self.get_all(&format!("/v2/persons/{person_id}/employments"), &[("limit", "50".to_string())]).await
    }

    pub async fn legal_entities(&self) -> Result<Vec<wire::LegalEntity>, PersonioError> {
        self.get_all("/v2/legal-entities", &[("limit", "100".to_string())]).await
    }

    pub async fn compensation_types(&self) -> Result<Vec<wire::CompensationType>, PersonioError> {
        self.get_all("/v2/compensations/types", &[("limit", "100".to_string())]).await
    }

    /// The compensations of one window (at most one month) for a legal entity.
    pub async fn compensations(
        &self,
        start: jiff::civil::Date,
        end: jiff::civil::Date,
        legal_entity: &str,
    ) -> Result<Vec<wire::Compensation>, PersonioError> {
        let query = [
            ("start_date", start.to_string()),
            ("end_date", end.to_string()),
            ("legal_entity.id", legal_entity.to_string()),
            ("limit", "100".to_string()),
        ];
        self.get_all("/v2/compensations", &query).await
    }
}
