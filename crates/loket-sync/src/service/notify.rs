//! Notifications: webhooks (JSON, signed with HMAC-SHA256 in `X-Loket-Sync-Signature`) and e-mail (SMTP)
//! on the events a payroll administrator must act on. An event is written to the outbox in the store for
//! every notification that asks for it, and delivered from there: a failed delivery is tried again with a
//! doubling backoff (30 s, 1 min, 2 min, …, eight attempts), so a receiver that is down loses nothing and a
//! restart of the service loses nothing either. `deliver(now)` runs with the scheduler's tick.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use ring::hmac;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Service;
use super::crypto::encode_hex;
use super::records::now;
use crate::store::StoreError;

/// The events.
pub const EVENTS: &[&str] = &["plan_pending", "run_failed", "new_errors", "login_needed", "guard_refused"];
/// Attempts before a delivery is given up (its last error stays in the outbox).
pub const MAX_ATTEMPTS: i64 = 8;

/// How long a delivery a worker claimed stays its own: a send takes seconds; a worker that stopped mid-send
/// leaves it to another after this.
const CLAIM_MINUTES: i64 = 5;
pub const SIGNATURE_HEADER: &str = "x-loket-sync-signature";

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("`{0}` is not an event; the events are {events}", events = EVENTS.join(", "))]
    Event(String),
    #[error("a webhook's target is an http or https URL, not `{0}`")]
    Url(String),
    #[error("an e-mail notification's target is an address, not `{0}`")]
    Address(String),
    #[error("`{0}` is not a kind of notification; use webhook or email")]
    Kind(String),
    #[error("there is no connection {0}")]
    NoConnection(i64),
    #[error("e-mail needs an SMTP server: start the service with --smtp-url and --smtp-from")]
    NoMailer,
    #[error(transparent)]
    Seal(#[from] super::crypto::SealError),
    #[error(transparent)]
    Service(#[from] super::ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where e-mail goes out: an SMTP server (`smtp://host:port` in the clear, for a local relay;
/// `smtps://` or `smtp://…?tls=required` as lettre reads them) and the sender.
#[derive(Clone)]
pub struct Mailer {
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
    pub from: Mailbox,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| format!("`{url}` is not an SMTP URL: {error}"))?
            .build();
        let from = from.parse().map_err(|_| format!("`{from}` is not an e-mail address"))?;
        Ok(Mailer { transport, from })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub connection_id: Option<i64>,
    pub kind: String,
    /// An e-mail address, or a webhook's URL masked to its scheme and host (the whole URL is sealed:
    /// Slack's and Teams' webhook URLs are secrets themselves).
    pub target: String,
    #[serde(skip)]
    pub target_sealed: Option<String>,
    pub events: String,
    #[serde(skip)]
    pub secret_sealed: Option<String>,
    pub created_at: String,
}

/// A new notification as the API takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotification {
    /// None: every connection.
    pub connection_id: Option<i64>,
    pub kind: String,
    pub target: String,
    pub events: Vec<String>,
    /// The webhook's HMAC key; made up when not given, and then returned once.
    pub secret: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct Due {
    id: i64,
    next_at: String,
    event: String,
    payload: String,
    attempts: i64,
    kind: String,
    target: String,
    target_sealed: Option<String>,
    notification_id: i64,
    secret_sealed: Option<String>,
}

fn target_purpose(notification_id: i64) -> String {
    format!("notification {notification_id} webhook address")
}

/// A webhook URL as shown: its scheme and host, the rest masked.
fn masked(url: &str) -> String {
    match url.parse::<url::Url>() {
        Ok(url) => format!("{}://{}/…", url.scheme(), url.host_str().unwrap_or("?")),
        Err(_) => "…".to_string(),
    }
}

fn purpose(notification_id: i64) -> String {
    format!("notification {notification_id} webhook secret")
}

/// `sha256=` and the hex HMAC-SHA256 of the body under the webhook's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    format!("sha256={}", encode_hex(hmac::sign(&key, body).as_ref()))
}

impl Service {
    /// Adds a notification; the answer holds the webhook secret once, when it was made up here.
    pub async fn add_notification(
        &self,
        new: NewNotification,
    ) -> Result<(NotificationRow, Option<String>), NotifyError> {
        if let Some(event) = new.events.iter().find(|event| !EVENTS.contains(&event.as_str())) {
            return Err(NotifyError::Event(event.clone()));
        }
        let made_up = match new.kind.as_str() {
            "webhook" => {
                let url: url::Url = new.target.parse().map_err(|_| NotifyError::Url(new.target.clone()))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(NotifyError::Url(new.target));
                }
                Some(match &new.secret {
                    Some(secret) => secret.clone(),
                    None => super::crypto::random_token(32)?,
                })
            }
            "email" => {
                new.target.parse::<Mailbox>().map_err(|_| NotifyError::Address(new.target.clone()))?;
                if self.mailer.is_none() {
                    return Err(NotifyError::NoMailer);
                }
                None
            }
            other => return Err(NotifyError::Kind(other.to_string())),
        };
        if let Some(connection_id) = new.connection_id
            && self.records.connection(connection_id).await?.is_none()
        {
            return Err(NotifyError::NoConnection(connection_id));
        }
        let key = match &made_up {
            Some(_) => Some(self.key()?),
            None => None,
        };
        let shown_target = match new.kind.as_str() {
            "webhook" => masked(&new.target),
            _ => new.target.clone(),
        };
        let events = if new.events.is_empty() { EVENTS.join(",") } else { new.events.join(",") };
        // The row and its sealed secret in one transaction: never a webhook without its secret.
        let mut transaction = self.records.pool.begin().await.map_err(StoreError::from)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO notifications (connection_id, kind, target, events, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.connection_id)
        .bind(&new.kind)
        .bind(&shown_target)
        .bind(&events)
        .bind(now())
        .fetch_all(&mut *transaction)
        .await
        .map_err(StoreError::from)?
        .first()
        .copied()
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        if let (Some(secret), Some(key)) = (&made_up, key) {
            let sealed = key.seal(&purpose(id), secret)?;
            let target = key.seal(&target_purpose(id), &new.target)?;
            sqlx::query("UPDATE notifications SET secret_sealed = $1, target_sealed = $2 WHERE id = $3")
                .bind(sealed)
                .bind(target)
                .bind(id)
                .execute(&mut *transaction)
                .await
                .map_err(StoreError::from)?;
        }
        transaction.commit().await.map_err(StoreError::from)?;
        let row = self.notifications().await?.into_iter().find(|row| row.id == id);
        let row = row.ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))?;
        let shown = if new.secret.is_some() { None } else { made_up };
        Ok((row, shown))
    }

    pub async fn notifications(&self) -> Result<Vec<NotificationRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM notifications ORDER BY id").fetch_all(&self.records.pool).await?)
    }

    /// Puts `event` in the outbox of every notification of the connection (or of all) that asks for it.
    pub async fn notify(&self, event: &str, connection_id: Option<i64>, message: &str, details: Value) {
        let payload = json!({
            "event": event,
            "connection_id": connection_id,
            "message": message,
            "details": details,
            "at": now(),
        })
        .to_string();
        let queued = sqlx::query(
            "INSERT INTO outbox (notification_id, event, payload, next_at)
             SELECT id, $1, $2, $3 FROM notifications
             WHERE (connection_id IS NULL OR connection_id = $4) AND (',' || events || ',') LIKE ('%,' || $5 || ',%')",
        )
        .bind(event)
        .bind(&payload)
        .bind(now())
        .bind(connection_id)
        .bind(event)
        .execute(&self.records.pool)
        .await;
        if let Err(error) = queued {
            tracing::error!(event, error = %error, "a notification could not be queued");
        }
    }

    /// Delivers what is due at `now`, each item claimed first (several workers deliver from one outbox);
    /// returns how many were delivered.
    pub async fn deliver(&self, now: jiff::Timestamp) -> usize {
        let due: Vec<Due> = match sqlx::query_as(
            "SELECT outbox.id, outbox.next_at, outbox.event, outbox.payload, outbox.attempts, notifications.kind, notifications.target, notifications.target_sealed,
                    notifications.id AS notification_id, notifications.secret_sealed
             FROM outbox JOIN notifications ON notifications.id = outbox.notification_id
             WHERE outbox.delivered_at IS NULL AND outbox.attempts < $1 AND outbox.next_at <= $2 ORDER BY outbox.id LIMIT 100",
        )
        .bind(MAX_ATTEMPTS)
        .bind(now.to_string())
        .fetch_all(&self.records.pool)
        .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(error = %error, "the outbox cannot be read");
                return 0;
            }
        };
        let mut delivered = 0;
        for item in due {
            // Claimed before it is sent: a worker delivering at the same moment finds it moved and leaves
            // it. A worker that stops mid-send leaves it for another after the claim's five minutes.
            let claimed =
                sqlx::query("UPDATE outbox SET next_at = $1 WHERE id = $2 AND delivered_at IS NULL AND next_at = $3")
                    .bind((now + jiff::SignedDuration::from_mins(CLAIM_MINUTES)).to_string())
                    .bind(item.id)
                    .bind(&item.next_at)
                    .execute(&self.records.pool)
                    .await;
            match claimed {
                Ok(done) if done.rows_affected() == 1 => {}
                Ok(_) => continue,
                Err(error) => {
                    tracing::error!(delivery = item.id, error = %error, "a delivery could not be claimed");
                    continue;
                }
            }
            let result = match item.kind.as_str() {
                "webhook" => self.send_webhook(&item).await,
                _ => self.send_mail(&item).await,
            };
            let update = match &result {
                Ok(()) => {
                    delivered += 1;
                    sqlx::query("UPDATE outbox SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2")
                        .bind(now.to_string())
                        .bind(item.id)
                }
                Err(reason) => {
                    let wait = jiff::SignedDuration::from_secs(30 * (1 << item.attempts.clamp(0, 16)));
                    tracing::warn!(delivery = item.id, attempt = item.attempts + 1, reason = %reason, "a notification was not delivered");
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, next_at = $1, last_error = $2 WHERE id = $3",
                    )
                    .bind((now + wait).to_string())
                    .bind(reason.clone())
                    .bind(item.id)
                }
            };
            if let Err(error) = update.execute(&self.records.pool).await {
                tracing::error!(error = %error, "a delivery could not be recorded");
            }
        }
        delivered
    }

    async fn send_webhook(&self, item: &Due) -> Result<(), String> {
        let secret = match (&item.secret_sealed, self.key()) {
            (Some(sealed), Ok(key)) => {
                key.open(&purpose(item.notification_id), sealed).map_err(|error| error.to_string())?
            }
            _ => return Err("the webhook's secret cannot be opened".to_string()),
        };
        let target = match (&item.target_sealed, self.key()) {
            (Some(sealed), Ok(key)) => {
                key.open(&target_purpose(item.notification_id), sealed).map_err(|error| error.to_string())?
            }
            _ => return Err("the webhook's address cannot be opened".to_string()),
        };
        let body = item.payload.as_bytes().to_vec();
        let response = self
            .http
            .post(target.expose_secret())
            .header("content-type", "application/json")
            .header("x-loket-sync-event", &item.event)
            .header("x-loket-sync-delivery", item.id.to_string())
            .header(SIGNATURE_HEADER, signature(secret.expose_secret(), &body))
            .body(body)
            .send()
            .await
            .map_err(|error| engine::errors::chain(&error.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {}", response.status()))
        }
    }

    async fn send_mail(&self, item: &Due) -> Result<(), String> {
        let mailer = self.mailer.as_ref().ok_or("no SMTP server is configured")?;
        let payload: Value = serde_json::from_str(&item.payload).unwrap_or_default();
        let to: Mailbox = item.target.parse().map_err(|_| format!("`{}` is not an address", item.target))?;
        let text = format!(
            "{}\n\nEvent: {}\nConnection: {}\n\n{}\n",
            payload["message"].as_str().unwrap_or(""),
            item.event,
            payload["connection_id"],
            serde_json::to_string_pretty(&payload["details"]).unwrap_or_default()
        );
        let message = Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject(format!("loket-sync: {}", payload["message"].as_str().unwrap_or(&item.event)))
            .body(text)
            .map_err(|error| error.to_string())?;
        mailer.transport.send(message).await.map(|_| ()).map_err(|error| engine::errors::chain(&error))
    }
}
