//! The Loket tokens of a login, sealed in the state store. Loket's refresh tokens rotate, so the client
//! saves new tokens before it uses them (loket/src/auth.rs). Every worker on one database has its own
//! client for a login, so a refresh is serialised between them: under a PostgreSQL advisory lock of the
//! login, the tokens are read again first, and a worker that finds them rotated by another uses those.

use std::sync::{Arc, Mutex};

use loket::auth::{RefreshLock, StoreFuture, TokenStoreError};
use loket::{TokenStore, Tokens};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::{Executor as _, Row as _};

use super::crypto::SecretKey;
use super::records::Records;

#[derive(Serialize, Deserialize)]
struct SealedTokens {
    access_token: String,
    refresh_token: String,
    expires_at: i64,
}

pub fn purpose(login_id: i64) -> String {
    format!("loket login {login_id} tokens")
}

/// Seals tokens for the store.
pub fn seal(key: &SecretKey, login_id: i64, tokens: &Tokens) -> Result<String, super::crypto::SealError> {
    let text = serde_json::to_string(&SealedTokens {
        access_token: tokens.access_token.expose_secret().to_string(),
        refresh_token: tokens.refresh_token.expose_secret().to_string(),
        expires_at: tokens.expires_at,
    })
    .unwrap_or_default();
    key.seal(&purpose(login_id), &text)
}

/// Opens sealed tokens.
pub fn open(key: &SecretKey, login_id: i64, sealed: &str) -> Option<Tokens> {
    let text = key.open(&purpose(login_id), sealed).ok()?;
    let tokens: SealedTokens = serde_json::from_str(text.expose_secret()).ok()?;
    Some(Tokens {
        access_token: SecretString::from(tokens.access_token),
        refresh_token: SecretString::from(tokens.refresh_token),
        expires_at: tokens.expires_at,
    })
}

/// One login's tokens: read from the store when the service builds the client, saved back on every refresh.
pub struct StoredTokens {
    records: Records,
    key: Arc<SecretKey>,
    login_id: i64,
    current: Mutex<Option<Tokens>>,
}

impl StoredTokens {
    pub fn new(records: Records, key: Arc<SecretKey>, login_id: i64, current: Option<Tokens>) -> StoredTokens {
        StoredTokens { records, key, login_id, current: Mutex::new(current) }
    }
}

impl StoredTokens {
    fn failed(&self, source: engine::errors::Cause) -> TokenStoreError {
        TokenStoreError::Write { path: format!("state store, Loket login {}", self.login_id).into(), source }
    }

    /// The login's refresh lock (PostgreSQL: a session advisory lock on a connection of its own, which is
    /// closed, so unlocked, when the lock is dropped) and the tokens stored now.
    async fn lock_and_read(&self) -> Result<RefreshLock, TokenStoreError> {
        let failed = |error: sqlx::Error| self.failed(error.into());
        let mut connection = self.records.pool.acquire().await.map_err(failed)?;
        let shared = connection.backend_name() == "PostgreSQL";
        if shared {
            // Closed when dropped: the session ends and its lock with it, also if anything below fails.
            connection.close_on_drop();
            // A refresh is one token request; a wait of a minute means something else is wrong.
            connection.execute("SET lock_timeout = '60s'").await.map_err(failed)?;
            sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
                .bind(format!("loket-sync: refresh of Loket login {}", self.login_id))
                .execute(&mut *connection)
                .await
                .map_err(failed)?;
        }
        let row = sqlx::query("SELECT tokens_sealed FROM loket_logins WHERE id = $1")
            .bind(self.login_id)
            .fetch_optional(&mut *connection)
            .await
            .map_err(failed)?;
        let sealed: Option<String> = match row {
            Some(row) => row.try_get("tokens_sealed").map_err(failed)?,
            None => None,
        };
        let stored = sealed.and_then(|sealed| open(&self.key, self.login_id, &sealed));
        // SQLite: one process, nothing to hold.
        let held: Option<Box<dyn Send>> = if shared { Some(Box::new(connection)) } else { None };
        Ok(RefreshLock { stored, held })
    }
}

impl TokenStore for StoredTokens {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError> {
        Ok(self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone())
    }

    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError> {
        let failed = |source: engine::errors::Cause| TokenStoreError::Write {
            path: format!("state store, Loket login {}", self.login_id).into(),
            source,
        };
        let sealed = seal(&self.key, self.login_id, tokens).map_err(|error| failed(error.into()))?;
        let records = self.records.clone();
        let login_id = self.login_id;
        // A runtime of its own on a thread of its own: the caller may be on any runtime, or on none.
        let saved = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    runtime
                        .block_on(records.set_login_tokens(login_id, Some(&sealed)))
                        .map_err(|error| std::io::Error::other(engine::errors::chain(&error)))
                })
                .join()
        });
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(failed(error.into())),
            Err(_) => return Err(failed("the thread that saves the tokens stopped".into())),
        }
        *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tokens.clone());
        Ok(())
    }

    fn save_async<'a>(&'a self, tokens: &'a Tokens) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let sealed = seal(&self.key, self.login_id, tokens).map_err(|error| self.failed(error.into()))?;
            self.records
                .set_login_tokens(self.login_id, Some(&sealed))
                .await
                .map_err(|error| self.failed(engine::errors::chain(&error).into()))?;
            *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tokens.clone());
            Ok(())
        })
    }

    fn lock_for_refresh(&self) -> StoreFuture<'_, RefreshLock> {
        Box::pin(self.lock_and_read())
    }
}
