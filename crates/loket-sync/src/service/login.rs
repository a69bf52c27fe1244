//! A Loket login through the browser into the service: an admin asks for the authorize address (with a
//! fresh `state` from the CSPRNG, good for ten minutes), logs in at Loket, and Loket redirects the browser
//! to the service's callback, which checks the `state`, exchanges the code and seals the tokens. A login
//! whose refresh Loket refuses is marked "needs login", and its connections plan nothing until it is done.

use std::sync::Arc;

use super::Service;
use super::connection::ConnectionError;
use super::records::LoginRow;
use super::tokens::StoredTokens;

/// How long an authorize address stays good.
const LOGIN_SECONDS: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum LoginFlowError {
    #[error("there is no Loket login {0}")]
    NotFound(i64),
    #[error(
        "the redirect does not belong to a login started here, or it is older than ten minutes; start the login again"
    )]
    UnknownState,
    #[error("Loket refused the login")]
    Refused(#[source] loket::LoketError),
    #[error("the login's secret cannot be opened")]
    Sealed(#[source] super::crypto::SealError),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl Service {
    fn login_client(&self, login: &LoginRow, redirect_uri: &str) -> Result<loket::LoketClient, LoginFlowError> {
        let key = Arc::clone(self.key().map_err(ConnectionError::from)?);
        let secret = key
            .open(&format!("loket login {} client secret", login.id), &login.client_secret_sealed)
            .map_err(LoginFlowError::Sealed)?;
        let parse = |text: &str| crate::connections::parse_url(text).map_err(ConnectionError::from);
        let mut settings =
            loket::LoketSettings::new(parse(&login.base_url)?, parse(&login.oauth_url)?, &login.client_id, secret);
        settings.redirect_uri = redirect_uri.to_string();
        let store = StoredTokens::new(self.records.clone(), key, login.id, None);
        loket::LoketClient::new(settings, Arc::new(store)).map_err(LoginFlowError::Refused)
    }

    /// The address where an admin logs in to Loket for `login_id`; Loket sends the browser back to
    /// `redirect_uri` (the service's callback).
    pub async fn start_loket_login(
        &self,
        who: &str,
        login_id: i64,
        redirect_uri: &str,
    ) -> Result<String, LoginFlowError> {
        let login = self.records.login(login_id).await?.ok_or(LoginFlowError::NotFound(login_id))?;
        let client = self.login_client(&login, redirect_uri)?;
        let state = super::crypto::random_token(24).map_err(LoginFlowError::Sealed)?;
        let now = self.clock.now().as_second();
        // Kept in the database, hashed: the browser may come back to another worker.
        self.records
            .insert_pending_login(&super::crypto::token_hash(&state), login_id, now, now + LOGIN_SECONDS)
            .await?;
        self.records.note(who, "loket login started", format!("loket login {login_id}"), None).await?;
        Ok(client.authorize_url(&state).to_string())
    }

    /// The callback: the `state` must be one this service handed out, unexpired; then the code is
    /// exchanged and the tokens sealed in the store.
    pub async fn finish_loket_login(&self, state: &str, code: &str, redirect_uri: &str) -> Result<i64, LoginFlowError> {
        let now = self.clock.now().as_second();
        let found = self.records.take_pending_login(&super::crypto::token_hash(state)).await?;
        let login_id = match found {
            Some((login_id, until)) if until > now => login_id,
            _ => return Err(LoginFlowError::UnknownState),
        };
        let login = self.records.login(login_id).await?.ok_or(LoginFlowError::NotFound(login_id))?;
        let client = self.login_client(&login, redirect_uri)?;
        client.exchange_code(code).await.map_err(LoginFlowError::Refused)?;
        self.forget_client(login_id);
        self.records.note("loket", "loket login done", format!("loket login {login_id}"), None).await?;
        Ok(login_id)
    }

    /// Marks a login as needed again (its refresh was refused), once.
    pub(super) async fn login_lost(&self, login_id: i64, reason: &str) -> Result<(), crate::store::StoreError> {
        let already = self.records.login(login_id).await?.is_some_and(|login| login.needs_login.0);
        self.records.set_login_tokens(login_id, None).await?;
        if !already {
            self.records
                .note("loket", "loket login needed", format!("loket login {login_id}"), Some(reason.to_string()))
                .await?;
            let connections: Vec<i64> = sqlx::query_scalar("SELECT id FROM connections WHERE loket_login_id = $1")
                .bind(login_id)
                .fetch_all(&self.records.pool)
                .await?;
            for connection in connections {
                let message = format!("Loket login {login_id} is needed again: an admin logs in to Loket for it");
                self.notify("login_needed", Some(connection), &message, serde_json::json!({"reason": reason})).await;
            }
        }
        Ok(())
    }
}
