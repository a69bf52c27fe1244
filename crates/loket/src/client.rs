//! The Loket REST API v2 client: versioned `Accept` headers, every page of every list, OAuth with rotating
//! refresh tokens, retries that are safe, a request-rate limit and a concurrency bound.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use engine::errors::Cause;

use crate::auth::{TokenStore, TokenStoreError, Tokens, now_seconds};
use crate::wire::{self, Envelope, ListEnvelope, Message};

/// Where and how to reach one Loket.
#[derive(Clone, Debug)]
pub struct LoketSettings {
    /// The API base, ending in `/v2` (`https://api.loket.nl/v2`).
    pub base_url: Url,
    /// The OAuth server (`https://oauth.loket.nl`): `…/authorize` and `…/token` below it.
    pub oauth_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_uri: String,
    /// At most this many requests per second to this Loket (none: no limit).
    pub requests_per_second: Option<u32>,
    /// At most this many requests under way at once.
    pub concurrency: usize,
    pub timeout: Duration,
    /// Retries after the first attempt, for the failures that are safe to retry.
    pub max_retries: u32,
    /// The first backoff; it doubles with each retry, with jitter.
    pub backoff_base: Duration,
    /// The longest wait a `Retry-After` may ask for before the client gives up.
    pub max_retry_after: Duration,
    pub page_size: u32,
}

impl LoketSettings {
    pub fn new(base_url: Url, oauth_url: Url, client_id: &str, client_secret: SecretString) -> LoketSettings {
        LoketSettings {
            base_url,
            oauth_url,
            client_id: client_id.to_string(),
            client_secret,
            redirect_uri: "http://127.0.0.1:8765/callback".to_string(),
            requests_per_second: None,
            concurrency: 8,
            timeout: Duration::from_secs(30),
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(120),
            page_size: 250,
        }
    }
}

/// How the client waits (backoff, `Retry-After`, rate limit). Injected so tests do not wait.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Waits for real, on tokio's clock.
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoketError {
    #[error("{endpoint}: Loket refused the request: {}", describe(.messages))]
    BrokenBusinessRule { endpoint: String, messages: Vec<Message> },
    #[error("{endpoint}: not found (404)")]
    NotFound { endpoint: String },
    #[error("{endpoint}: Loket does not accept the credentials (401); run `loket-sync connect loket` to log in again")]
    Unauthorized { endpoint: String },
    #[error("{endpoint}: the Loket user lacks the rights for this (403): {message}")]
    Forbidden { endpoint: String, message: String },
    #[error("{endpoint}: the record changed in Loket meanwhile (409)")]
    Conflict { endpoint: String },
    #[error("{endpoint}: Loket answered {status} after {attempts} attempt(s)")]
    Status { endpoint: String, status: u16, attempts: u32 },
    #[error("{endpoint}: the answer was lost, so the write may or may not have happened; it is re-read, not resent")]
    UnknownOutcome {
        endpoint: String,
        #[source]
        source: Cause,
    },
    #[error("{endpoint}: cannot reach Loket after {attempts} attempt(s)")]
    Transport {
        endpoint: String,
        #[source]
        source: Cause,
        attempts: u32,
    },
    #[error("{endpoint}: Loket's answer cannot be read")]
    Decode {
        endpoint: String,
        #[source]
        source: Cause,
    },
    #[error("Loket's login server refused: {0}")]
    OAuth(String),
    #[error("not connected to Loket: run `loket-sync connect loket` first")]
    NotConnected,
    #[error(transparent)]
    TokenStore(#[from] TokenStoreError),
}

impl LoketError {
    /// Whether a write failed so that it may or may not have happened: the runner re-reads and re-plans.
    pub fn is_unknown_outcome(&self) -> bool {
        matches!(self, LoketError::UnknownOutcome { .. })
    }
}

fn describe(messages: &[Message]) -> String {
    if messages.is_empty() {
        return "no reason given".to_string();
    }
    messages.iter().map(|message| message.description.as_str()).collect::<Vec<_>>().join("; ")
}

/// A request-rate limit: requests start at least `1 / rate` seconds apart.
struct Limiter {
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    fn delay(&self) -> Duration {
        let Some(interval) = self.interval else { return Duration::ZERO };
        let mut next = self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let start = next.map_or(now, |next| next.max(now));
        *next = Some(start + interval);
        start - now
    }
}

/// What a request is, for the retry rules of LOKET-API.md ("Retries that are safe").
#[derive(Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// GET, PUT, DELETE, PATCH upsert: may be sent again after any failure.
    Idempotent,
    /// POST: sent again only after a 429 or a failure to connect (nothing was sent).
    NotIdempotent,
}

/// A client for one Loket.
pub struct LoketClient {
    http: reqwest::Client,
    settings: LoketSettings,
    store: Arc<dyn TokenStore>,
    tokens: tokio::sync::Mutex<Option<Tokens>>,
    limiter: Limiter,
    permits: Semaphore,
    sleeper: Arc<dyn Sleeper>,
    requests: Mutex<BTreeMap<String, usize>>,
}

/// Installs ring as rustls' crypto provider, once per process (reqwest is built without one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl LoketClient {
    pub fn new(settings: LoketSettings, store: Arc<dyn TokenStore>) -> Result<LoketClient, LoketError> {
        LoketClient::with_sleeper(settings, store, Arc::new(TokioSleeper))
    }

    pub fn with_sleeper(
        settings: LoketSettings,
        store: Arc<dyn TokenStore>,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<LoketClient, LoketError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("loket-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| LoketError::Transport {
                endpoint: "client".to_string(),
                source: error.into(),
                attempts: 0,
            })?;
        let interval = settings
            .requests_per_second
            .filter(|rate| *rate > 0)
            .map(|rate| Duration::from_secs_f64(1.0 / f64::from(rate)));
        Ok(LoketClient {
            http,
            permits: Semaphore::new(settings.concurrency.max(1)),
            limiter: Limiter { interval, next: Mutex::new(None) },
            settings,
            store,
            tokens: tokio::sync::Mutex::new(None),
            sleeper,
            requests: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn settings(&self) -> &LoketSettings {
        &self.settings
    }

    /// How many requests were sent, by method and resource (retries included).
    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    // -----------------------------------------------------------------------------------------------------
    // OAuth

    /// The URL where the user logs in and approves loket-sync.
    pub fn authorize_url(&self, state: &str) -> Url {
        let mut url = self.oauth_endpoint("authorize");
        url.query_pairs_mut()
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "all")
            .append_pair("state", state);
        url
    }

    fn oauth_endpoint(&self, name: &str) -> Url {
        let mut url = self.settings.oauth_url.clone();
        let path = format!("{}/{name}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// Exchanges an authorization code for tokens and stores them.
    pub async fn exchange_code(&self, code: &str) -> Result<(), LoketError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.settings.redirect_uri.as_str()),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose_secret()),
        ];
        let (access_token, refresh_token, expires_at) = self.token_request(&form).await?;
        let refresh_token =
            refresh_token.ok_or_else(|| LoketError::OAuth("the token answer carries no refresh token".to_string()))?;
        let tokens = Tokens { access_token, refresh_token, expires_at };
        self.store.save_async(&tokens).await?;
        *self.tokens.lock().await = Some(tokens);
        Ok(())
    }

    /// A token request: the access token, the refresh token if the answer carries one, and the expiry.
    async fn token_request(
        &self,
        form: &[(&str, &str)],
    ) -> Result<(SecretString, Option<SecretString>, i64), LoketError> {
        let endpoint = self.oauth_endpoint("token");
        let response = self.http.post(endpoint.clone()).form(form).send().await.map_err(|error| {
            LoketError::Transport { endpoint: endpoint.to_string(), source: error.into(), attempts: 1 }
        })?;
        let status = response.status();
        tracing::info!(target: "loket", route = "POST /oauth/token", status = status.as_u16(), "Loket token request");

        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let reason = serde_json::from_str::<wire::OAuthError>(&text)
                .map(|error| match error.error_description {
                    Some(description) => format!("{} ({description})", error.error),
                    None => error.error,
                })
                .unwrap_or_else(|_| format!("HTTP {status}"));
            return Err(LoketError::OAuth(format!(
                "{reason}; run `loket-sync connect loket` to log in again if this persists"
            )));
        }
        let answer: wire::TokenResponse = serde_json::from_str(&text)
            .map_err(|error| LoketError::Decode { endpoint: endpoint.to_string(), source: error.into() })?;
        Ok((
            answer.access_token.into(),
            answer.refresh_token.filter(|token| !token.is_empty()).map(SecretString::from),
            now_seconds() + answer.expires_in,
        ))
    }

    /// The access token to use, refreshed when it expires within a minute.
    async fn access_token(&self) -> Result<SecretString, LoketError> {
        let mut guard = self.tokens.lock().await;
        if guard.is_none() {
            *guard = self.store.load()?;
        }
        let tokens = guard.as_ref().ok_or(LoketError::NotConnected)?;
        if tokens.expires_at - 60 > now_seconds() {
            return Ok(tokens.access_token.clone());
        }
        let fresh = self.refresh_locked(&mut guard).await?;
        Ok(fresh)
    }

    /// Refreshes now, unless another request already replaced the access token `used` (refreshes are
    /// serialised by the token mutex, so a burst of 401s refreshes once).
    async fn refresh_after_401(&self, used: &SecretString) -> Result<(), LoketError> {
        let mut guard = self.tokens.lock().await;
        let replaced = guard.as_ref().is_some_and(|tokens| tokens.access_token.expose_secret() != used.expose_secret());
        if !replaced {
            self.refresh_locked(&mut guard).await?;
        }
        Ok(())
    }

    /// Whether there are tokens to use (a login happened); reads the token store once.
    pub async fn is_connected(&self) -> Result<bool, LoketError> {
        let mut guard = self.tokens.lock().await;
        if guard.is_none() {
            *guard = self.store.load()?;
        }
        Ok(guard.is_some())
    }

    /// Makes sure there is an access token to use: refreshes one that expires within a minute. A refused
    /// refresh (`OAuth`) means the login is needed again.
    pub async fn ensure_token(&self) -> Result<(), LoketError> {
        self.access_token().await.map(|_| ())
    }

    /// Forces a refresh (for `loket-sync check`, and tests of rotation).
    pub async fn refresh_now(&self) -> Result<(), LoketError> {
        let mut guard = self.tokens.lock().await;
        if guard.is_none() {
            *guard = self.store.load()?;
        }
        self.refresh_locked(&mut guard).await.map(|_| ())
    }

    async fn refresh_locked(&self, guard: &mut Option<Tokens>) -> Result<SecretString, LoketError> {
        // No other process that shares the store refreshes until `lock` is dropped. If one did while this
        // process held its tokens, the refresh token here is dead: the stored tokens are the live ones.
        let lock = self.store.lock_for_refresh().await?;
        if let Some(stored) = lock.stored.as_ref() {
            let same = |held: &Tokens| {
                held.refresh_token.expose_secret() == stored.refresh_token.expose_secret()
                    && held.access_token.expose_secret() == stored.access_token.expose_secret()
            };
            if !guard.as_ref().is_some_and(same) {
                *guard = Some(stored.clone());
                if stored.expires_at - 60 > now_seconds() {
                    return Ok(stored.access_token.clone());
                }
            }
        }
        let current = guard.as_ref().ok_or(LoketError::NotConnected)?;
        let refresh_token = current.refresh_token.expose_secret().to_string();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose_secret()),
        ];
        let (access_token, new_refresh_token, expires_at) = self.token_request(&form).await?;
        // Loket rotates refresh tokens: the old one is dead from now on, so the new one is stored before
        // anything uses it. An answer without one (some integrations see this) keeps the current one.
        let refresh_token = new_refresh_token.unwrap_or_else(|| current.refresh_token.clone());
        let fresh = Tokens { access_token, refresh_token, expires_at };
        self.store.save_async(&fresh).await?;
        drop(lock);
        let access = fresh.access_token.clone();
        *guard = Some(fresh);
        Ok(access)
    }

    // -----------------------------------------------------------------------------------------------------
    // Requests

    fn count(&self, method: &Method, path: &str) {
        let key = format!("{method} {}", route(path));
        *self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(key).or_default() += 1;
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.settings.base_url.clone();
        let full = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&full);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.settings.backoff_base.as_secs_f64() * 2f64.powi(attempt.min(16) as i32);
        // Full jitter from the clock's nanoseconds: retries of many requests do not line up.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0);
        let jitter = 0.5 + f64::from(nanos % 1000) / 2000.0;
        Duration::from_secs_f64(base * jitter)
    }

    /// Sends one request with the retry rules, and returns the body of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        version: &str,
        body: Option<&serde_json::Value>,
        safety: Safety,
    ) -> Result<String, LoketError> {
        let _permit = self.permits.acquire().await.map_err(|_| LoketError::Transport {
            endpoint: path.to_string(),
            source: "the client is shutting down".into(),
            attempts: 0,
        })?;
        let endpoint = format!("{method} {path}");
        let url = self.url(path, query);
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let delay = self.limiter.delay();
            if !delay.is_zero() {
                self.sleeper.sleep(delay).await;
            }
            let token = self.access_token().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header("Accept", format!("application/json;version={version}"))
                .bearer_auth(token.expose_secret());
            if let Some(body) = body {
                request = request.json(body);
            }
            self.count(&method, path);
            let started = std::time::Instant::now();
            let result = request.send().await;
            let retries_left = attempt <= self.settings.max_retries;
            let response = match result {
                Ok(response) => response,
                Err(error) => {
                    // A connection that was never made sent nothing: safe to retry for any method.
                    let nothing_sent = error.is_connect();
                    tracing::info!(
                        target: "loket",
                        %method, route = %route(path), attempt, elapsed_ms = started.elapsed().as_millis() as u64,
                        reason = %error, "Loket request failed"
                    );
                    if retries_left && (nothing_sent || safety == Safety::Idempotent) {
                        tracing::info!(target: "loket", %method, route = %route(path), attempt, "retrying: the connection failed");
                        self.sleeper.sleep(self.backoff(attempt - 1)).await;
                        continue;
                    }
                    if safety == Safety::NotIdempotent && !nothing_sent {
                        return Err(LoketError::UnknownOutcome { endpoint, source: error.into() });
                    }
                    return Err(LoketError::Transport { endpoint, source: error.into(), attempts: attempt });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response.text().await.unwrap_or_default();
            tracing::info!(
                target: "loket",
                %method, route = %route(path), status = status.as_u16(), attempt,
                elapsed_ms = started.elapsed().as_millis() as u64, "Loket request"
            );
            if !status.is_success() && retries_left {
                tracing::debug!(target: "loket", status = status.as_u16(), "Loket answered an error status");
            }
            match status {
                status if status.is_success() => return Ok(text),
                StatusCode::UNAUTHORIZED if !refreshed => {
                    tracing::info!(target: "loket", route = %route(path), "retrying: 401, refreshing the access token once");
                    refreshed = true;
                    attempt -= 1;
                    self.refresh_after_401(&token).await?;
                    continue;
                }
                StatusCode::UNAUTHORIZED => return Err(LoketError::Unauthorized { endpoint }),
                StatusCode::TOO_MANY_REQUESTS if retries_left => {
                    let wait = retry_after.unwrap_or_else(|| self.backoff(attempt - 1));
                    if wait > self.settings.max_retry_after {
                        return Err(LoketError::Status { endpoint, status: 429, attempts: attempt });
                    }
                    tracing::info!(target: "loket", route = %route(path), wait_ms = wait.as_millis() as u64, "retrying: 429, rate limited");
                    self.sleeper.sleep(wait).await;
                    continue;
                }
                StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                    if retries_left && safety == Safety::Idempotent =>
                {
                    let wait =
                        retry_after.unwrap_or_else(|| self.backoff(attempt - 1)).min(self.settings.max_retry_after);
                    tracing::info!(
                        target: "loket",
                        route = %route(path), status = status.as_u16(), wait_ms = wait.as_millis() as u64,
                        "retrying: Loket is unavailable"
                    );
                    self.sleeper.sleep(wait).await;
                    continue;
                }
                StatusCode::BAD_REQUEST => {
                    let messages = parse_messages(&text);
                    return Err(LoketError::BrokenBusinessRule { endpoint, messages });
                }
                StatusCode::NOT_FOUND if method == Method::DELETE && attempt > 1 => {
                    // An earlier attempt deleted it and its answer was lost: gone is what was asked.
                    return Ok(String::new());
                }
                StatusCode::NOT_FOUND => return Err(LoketError::NotFound { endpoint }),
                StatusCode::FORBIDDEN => {
                    let message = serde_json::from_str::<wire::ErrorMessage>(&text)
                        .map(|error| error.message)
                        .unwrap_or_else(|_| text.clone());
                    return Err(LoketError::Forbidden { endpoint, message });
                }
                StatusCode::CONFLICT => return Err(LoketError::Conflict { endpoint }),
                status if status.is_server_error() && method != Method::GET => {
                    return Err(LoketError::UnknownOutcome {
                        endpoint,
                        source: format!("Loket answered {status}").into(),
                    });
                }
                status => return Err(LoketError::Status { endpoint, status: status.as_u16(), attempts: attempt }),
            }
        }
    }

    /// One resource that Loket may send bare or in a `content` envelope (the defaults of a PATCH).
    async fn get_bare_or_enveloped<T: DeserializeOwned>(&self, path: &str, version: &str) -> Result<T, LoketError> {
        let endpoint = format!("GET {path}");
        let text = self.send(Method::GET, path, &[], version, None, Safety::Idempotent).await?;
        let value: serde_json::Value = decode(&endpoint, &text)?;
        let inner = match value {
            serde_json::Value::Object(mut object) if object.get("content").is_some_and(|c| c.is_object()) => {
                object.remove("content").unwrap_or_default()
            }
            other => other,
        };
        serde_json::from_value(inner).map_err(|error| LoketError::Decode { endpoint, source: error.into() })
    }

    async fn get_one<T: DeserializeOwned>(&self, path: &str, version: &str) -> Result<T, LoketError> {
        let text = self.send(Method::GET, path, &[], version, None, Safety::Idempotent).await?;
        decode::<Envelope<T>>(&format!("GET {path}"), &text).map(|envelope| envelope.content)
    }

    /// Every page of a list.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str, version: &str) -> Result<Vec<T>, LoketError> {
        self.get_all_with(path, version, &[]).await
    }

    /// A list that Loket's document declares without paging parameters (payroll periods, the component
    /// catalogue): one request without `pageNumber` and `pageSize`. An answer that says it has more pages is
    /// an error, never a partial list.
    pub async fn get_unpaged<T: DeserializeOwned>(&self, path: &str, version: &str) -> Result<Vec<T>, LoketError> {
        let endpoint = format!("GET {path}");
        let text = self.send(Method::GET, path, &[], version, None, Safety::Idempotent).await?;
        let envelope: ListEnvelope<T> = decode(&endpoint, &text)?;
        if envelope.total_pages > 1 {
            return Err(LoketError::Decode {
                endpoint,
                source: format!(
                    "the answer has {} pages, but this list takes no page parameters; only the first was sent",
                    envelope.total_pages
                )
                .into(),
            });
        }
        Ok(envelope.embedded)
    }

    /// Every page of a list, with further query parameters.
    pub async fn get_all_with<T: DeserializeOwned>(
        &self,
        path: &str,
        version: &str,
        parameters: &[(&str, String)],
    ) -> Result<Vec<T>, LoketError> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let mut query: Vec<(&str, String)> = parameters.to_vec();
            query.push(("pageNumber", page.to_string()));
            query.push(("pageSize", self.settings.page_size.to_string()));
            let text = self.send(Method::GET, path, &query, version, None, Safety::Idempotent).await?;
            let envelope: ListEnvelope<T> = decode(&format!("GET {path}"), &text)?;
            let got = envelope.embedded.len();
            items.extend(envelope.embedded);
            if i64::from(page) >= envelope.total_pages || got == 0 {
                return Ok(items);
            }
            page += 1;
        }
    }

    async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        safety: Safety,
    ) -> Result<T, LoketError> {
        let endpoint = format!("{method} {path}");
        let value = serde_json::to_value(body)
            .map_err(|error| LoketError::Decode { endpoint: endpoint.clone(), source: error.into() })?;
        let text = self.send(method, path, &[], wire::VERSION_2018, Some(&value), safety).await?;
        decode::<Envelope<T>>(&endpoint, &text).map(|envelope| envelope.content)
    }

    // -----------------------------------------------------------------------------------------------------
    // Resources

    pub async fn employers(&self) -> Result<Vec<wire::Employer>, LoketError> {
        self.get_all("/providers/employers", wire::VERSION_2018).await
    }

    pub async fn payroll_administrations(
        &self,
        employer_id: &str,
    ) -> Result<Vec<wire::PayrollAdministration>, LoketError> {
        self.get_all(&format!("/providers/employers/{employer_id}/payrolladministrations"), wire::VERSION_2018).await
    }

    pub async fn employments(&self, employer_id: &str) -> Result<Vec<wire::Employment>, LoketError> {
        self.get_all(&format!("/providers/employers/{employer_id}/employees/employments"), wire::VERSION_EMPLOYMENTS)
            .await
    }

    pub async fn employment(&self, employment_id: &str) -> Result<wire::Employment, LoketError> {
        self.get_one(&format!("/providers/employers/employees/employments/{employment_id}"), wire::VERSION_EMPLOYMENTS)
            .await
    }

    pub async fn wages(&self, employment_id: &str) -> Result<Vec<wire::Wage>, LoketError> {
        self.get_all(&format!("/providers/employers/employees/employments/{employment_id}/wages"), wire::VERSION_2018)
            .await
    }

    pub async fn wage(&self, wage_id: &str) -> Result<wire::Wage, LoketError> {
        self.get_one(&format!("/providers/employers/employees/employments/wages/{wage_id}"), wire::VERSION_2018).await
    }

    pub async fn post_wage(&self, employment_id: &str, wage: &wire::Wage) -> Result<wire::Wage, LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/wages");
        self.write(Method::POST, &path, wage, Safety::NotIdempotent).await
    }

    /// Replaces a wage: send the record as read, with only the synced fields changed.
    pub async fn put_wage(&self, wage_id: &str, wage: &wire::Wage) -> Result<wire::Wage, LoketError> {
        let path = format!("/providers/employers/employees/employments/wages/{wage_id}");
        self.write(Method::PUT, &path, wage, Safety::Idempotent).await
    }

    pub async fn delete_wage(&self, wage_id: &str) -> Result<(), LoketError> {
        let path = format!("/providers/employers/employees/employments/wages/{wage_id}");
        self.send(Method::DELETE, &path, &[], wire::VERSION_2018, None, Safety::Idempotent).await.map(|_| ())
    }

    pub async fn benefits_and_deductions(
        &self,
        employment_id: &str,
    ) -> Result<Vec<wire::BenefitOrDeduction>, LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/benefitsanddeductions");
        self.get_all(&path, wire::VERSION_2018).await
    }

    pub async fn benefit_or_deduction(&self, id: &str) -> Result<wire::BenefitOrDeduction, LoketError> {
        self.get_one(
            &format!("/providers/employers/employees/employments/benefitsAndDeductions/{id}"),
            wire::VERSION_2018,
        )
        .await
    }

    pub async fn post_benefit_or_deduction(
        &self,
        employment_id: &str,
        record: &wire::BenefitOrDeduction,
    ) -> Result<wire::BenefitOrDeduction, LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/benefitsanddeductions");
        self.write(Method::POST, &path, record, Safety::NotIdempotent).await
    }

    pub async fn put_benefit_or_deduction(
        &self,
        id: &str,
        record: &wire::BenefitOrDeduction,
    ) -> Result<wire::BenefitOrDeduction, LoketError> {
        let path = format!("/providers/employers/employees/employments/benefitsAndDeductions/{id}");
        self.write(Method::PUT, &path, record, Safety::Idempotent).await
    }

    pub async fn delete_benefit_or_deduction(&self, id: &str) -> Result<(), LoketError> {
        let path = format!("/providers/employers/employees/employments/benefitsAndDeductions/{id}");
        self.send(Method::DELETE, &path, &[], wire::VERSION_2018, None, Safety::Idempotent).await.map(|_| ())
    }

    /// Creates benefits and deductions for many employments at once. Returns the counts and the messages
    /// of the items that failed (their `id` names the employment).
    pub async fn post_benefits_collective(
        &self,
        employer_id: &str,
        items: &[wire::CollectiveBenefit],
    ) -> Result<(wire::CollectiveResult, Vec<Message>), LoketError> {
        self.collective(Method::POST, employer_id, items, Safety::NotIdempotent).await
    }

    /// Sets end dates of many benefits and deductions at once (the collective PUT changes end dates only).
    pub async fn put_benefits_collective(
        &self,
        employer_id: &str,
        items: &[wire::CollectiveEnd],
    ) -> Result<(wire::CollectiveResult, Vec<Message>), LoketError> {
        self.collective(Method::PUT, employer_id, items, Safety::Idempotent).await
    }

    async fn collective<B: Serialize>(
        &self,
        method: Method,
        employer_id: &str,
        items: &[B],
        safety: Safety,
    ) -> Result<(wire::CollectiveResult, Vec<Message>), LoketError> {
        let path = format!("/providers/employers/{employer_id}/employees/employments/benefitsanddeductions");
        let endpoint = format!("{method} {path}");
        let value = serde_json::to_value(items)
            .map_err(|error| LoketError::Decode { endpoint: endpoint.clone(), source: error.into() })?;
        let text = self.send(method, &path, &[], wire::VERSION_2018, Some(&value), safety).await?;
        let envelope: Envelope<wire::CollectiveResult> = decode(&endpoint, &text)?;
        Ok((envelope.content, envelope.messages))
    }

    /// Ends an employment (an administrative act; the sync itself never terminates anyone). Loket answers
    /// with an empty content: read the employment again to see it.
    pub async fn terminate(&self, employment_id: &str, body: &wire::Terminate) -> Result<(), LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/terminate");
        let endpoint = format!("PATCH {path}");
        let value = serde_json::to_value(body)
            .map_err(|error| LoketError::Decode { endpoint: endpoint.clone(), source: error.into() })?;
        self.send(Method::PATCH, &path, &[], wire::VERSION_EMPLOYMENTS, Some(&value), Safety::Idempotent)
            .await
            .map(|_| ())
    }

    pub async fn payroll_period_data(&self, employment_id: &str) -> Result<Vec<wire::PayrollPeriodData>, LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/payrollperioddata");
        self.get_all(&path, wire::VERSION_2018).await
    }

    /// The record Loket advises reading before a PATCH: the defaults for shift, payslip type, distribution
    /// unit, cost centre and cost unit (`payrollPeriod` and every field without a default are null). Loket
    /// documents it only in prose; the answer is accepted bare or in a `content` envelope.
    pub async fn payroll_period_data_defaults(
        &self,
        employment_id: &str,
    ) -> Result<wire::PeriodDataDefaults, LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/payrollperioddata/defaults");
        self.get_bare_or_enveloped(&path, wire::VERSION_2018).await
    }

    /// Upserts one payroll-period-data record: supplied components overwrite, `value: null` deletes,
    /// components not supplied stay.
    pub async fn patch_payroll_period_data(
        &self,
        employment_id: &str,
        record: &wire::PayrollPeriodData,
    ) -> Result<(), LoketError> {
        let path = format!("/providers/employers/employees/employments/{employment_id}/payrollperioddata");
        let value = serde_json::to_value(record)
            .map_err(|error| LoketError::Decode { endpoint: path.clone(), source: error.into() })?;
        self.send(Method::PATCH, &path, &[], wire::VERSION_2018, Some(&value), Safety::Idempotent).await.map(|_| ())
    }

    /// The employer-wide PATCH: returns the messages of the items that failed (their `id` names the
    /// employment); the others succeeded.
    pub async fn patch_payroll_period_data_collective(
        &self,
        employer_id: &str,
        records: &[wire::PayrollPeriodData],
    ) -> Result<Vec<Message>, LoketError> {
        let path = format!("/providers/employers/{employer_id}/payrollperioddata");
        let value = serde_json::to_value(records)
            .map_err(|error| LoketError::Decode { endpoint: path.clone(), source: error.into() })?;
        let text = self.send(Method::PATCH, &path, &[], wire::VERSION_2018, Some(&value), Safety::Idempotent).await?;
        Ok(parse_messages(&text))
    }

    pub async fn payroll_components(
        &self,
        administration_id: &str,
        year: i16,
    ) -> Result<Vec<wire::PayrollComponent>, LoketError> {
        let path =
            format!("/providers/employers/payrolladministrations/{administration_id}/payrollcomponents/year/{year}");
        self.get_unpaged(&path, wire::VERSION_2018).await
    }

    pub async fn payroll_periods(&self, administration_id: &str) -> Result<Vec<wire::PayrollPeriod>, LoketError> {
        let path = format!("/providers/employers/payrolladministrations/{administration_id}/payrollperiods");
        self.get_unpaged(&path, wire::VERSION_2018).await
    }

    /// The period data of one payroll period, as Loket serves it: one payslip type and one component set or
    /// category per call, and only active employments within the Loket user's filter settings. The sync
    /// reads each employment's own list instead (it sees every employment it manages); this read is here
    /// for completeness and for the conformance tests.
    pub async fn payroll_period_data_of_period(
        &self,
        administration_id: &str,
        period_id: i64,
        payslip_type: i64,
        components: &wire::ComponentSelection,
    ) -> Result<Vec<wire::PeriodDataOfPeriod>, LoketError> {
        let path = format!(
            "/providers/employers/payrolladministrations/{administration_id}/payrollPeriods/{period_id}/payrollperioddata"
        );
        let selection = match components {
            wire::ComponentSelection::Set(set) => ("payrollComponentSet", set.clone()),
            wire::ComponentSelection::Category(category) => ("payrollComponentCategory", category.to_string()),
        };
        self.get_all_with(&path, wire::VERSION_2018, &[("payslipType", payslip_type.to_string()), selection]).await
    }

    /// One employer (`GET /providers/employers/{employerId}`).
    pub async fn employer(&self, employer_id: &str) -> Result<wire::Employer, LoketError> {
        self.get_one(&format!("/providers/employers/{employer_id}"), wire::VERSION_2018).await
    }
}

/// A path with its ids (GUIDs, numbers) replaced by `{id}`, so that counts and logs group by resource and
/// carry no ids.
fn route(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.len() >= 32 && part.contains('-') || (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            {
                "{id}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn decode<T: DeserializeOwned>(endpoint: &str, text: &str) -> Result<T, LoketError> {
    serde_json::from_str(text)
        .map_err(|error| LoketError::Decode { endpoint: endpoint.to_string(), source: error.into() })
}

/// The `messages` of an envelope, whatever else it carries.
pub fn parse_messages(text: &str) -> Vec<Message> {
    #[derive(serde::Deserialize)]
    struct Messages {
        #[serde(default)]
        messages: Vec<Message>,
    }
    serde_json::from_str::<Messages>(text).map(|parsed| parsed.messages).unwrap_or_default()
}
