//! The Loket tokens of a login, sealed in the state store. Loket's refresh tokens rotate, so the client
//! saves new tokens before it uses them (loket/src/auth.rs); the client's token store is synchronous, so a
//! save runs the store's query to its end on a thread of its own before it returns.

use std::sync::{Arc, Mutex};

use loket::auth::TokenStoreError;
use loket::{TokenStore, Tokens};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

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
}
