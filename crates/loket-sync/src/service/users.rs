//! Users, their roles, passwords (argon2id), sessions (a random id in an HttpOnly cookie, with its own CSRF
//! token) and API tokens for scripts (shown once, stored as their SHA-256). Failed logins are counted per
//! user name, in the database every worker shares: after `MAX_FAILURES` in a window the name is refused
//! until the window has passed.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use super::crypto::{SealError, random_token, token_hash};
use super::records::{Records, UserRow};
use crate::store::StoreError;

/// What a user may do. Each role may do everything the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees connections, plans, runs and issues.
    Viewer,
    /// Plans, approves, rejects and syncs.
    Operator,
    /// Changes connections, credentials and users.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A signed-in user.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

impl TryFrom<UserRow> for User {
    type Error = UserError;
    fn try_from(row: UserRow) -> Result<User, UserError> {
        let role = Role::parse(&row.role).ok_or_else(|| UserError::BadRole(row.role.clone()))?;
        Ok(User { id: row.id, name: row.name, role })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user name is 1 to 64 letters, digits, dots, dashes, underscores or @, not `{0}`")]
    BadName(String),
    #[error("a password has at least 12 characters")]
    ShortPassword,
    #[error("there is already a user `{0}`")]
    Exists(String),
    #[error("`{0}` is not a role; use viewer, operator or admin")]
    BadRole(String),
    #[error("the password cannot be hashed")]
    Hash(String),
    #[error(transparent)]
    Random(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const MIN_PASSWORD: usize = 12;
/// An argon2id hash of a password nobody has (made once, at the cost of real ones), to check unknown names
/// against.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        hash_password("no user has this password: it only takes the time a check takes").unwrap_or_default()
    })
    .clone()
}
/// Failed logins of one name allowed in a window before the name is refused for the rest of it.
pub const MAX_FAILURES: u32 = 5;
/// How long a failure counts, in seconds.
pub const FAILURE_WINDOW: i64 = 15 * 60;
/// How long a session lasts, in seconds.
pub const SESSION_SECONDS: i64 = 8 * 3600;

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

pub fn hash_password(password: &str) -> Result<String, UserError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| UserError::Random(SealError::Random(error)))?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| UserError::Hash(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| UserError::Hash(error.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A new user; the name must be free and the password long enough.
pub async fn add_user(records: &Records, name: &str, role: Role, password: &str) -> Result<User, UserError> {
    if !valid_name(name) {
        return Err(UserError::BadName(name.to_string()));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(UserError::ShortPassword);
    }
    if records.user_named(name).await?.is_some() {
        return Err(UserError::Exists(name.to_string()));
    }
    let hash = hash_password(password)?;
    let id = records.insert_user(name, role.as_str(), &hash).await?;
    Ok(User { id, name: name.to_string(), role })
}

/// Why a login was refused. Wrong name and wrong password are one answer, so names cannot be probed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the user name or the password is wrong")]
    Wrong,
    #[error("too many failed logins for this user; try again in {0} seconds")]
    Throttled(i64),
    #[error(transparent)]
    User(#[from] UserError),
}

/// A new session: the cookie's value and the token a form must send back (CSRF).
pub struct NewSession {
    pub user: User,
    pub cookie: String,
    pub csrf: String,
}

/// Checks a name and password and opens a session. `now` is seconds since the epoch.
pub async fn log_in(
    records: &Records,
    name: &str,
    password: &str,
    now: jiff::Timestamp,
) -> Result<NewSession, LoginError> {
    if !valid_name(name) || password.len() > 1024 {
        return Err(LoginError::Wrong);
    }
    // Counted before the password is checked, in the database every worker shares.
    records
        .count_login_attempt(name, now.as_second(), FAILURE_WINDOW, i64::from(MAX_FAILURES))
        .await
        .map_err(UserError::from)?
        .map_err(LoginError::Throttled)?;
    let row = records.user_named(name).await.map_err(UserError::from)?;
    // An unknown name is checked against a hash too, so that the answer takes as long and names cannot be
    // told apart by timing; argon2 runs off the async workers.
    let hash = row.as_ref().map(|row| row.password_hash.clone());
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash.unwrap_or_else(dummy_hash)))
        .await
        .unwrap_or(false);
    let Some(row) = row.filter(|_| matches) else {
        return Err(LoginError::Wrong);
    };
    records.clear_login_attempts(name).await.map_err(UserError::from)?;
    let user = User::try_from(row)?;
    let cookie = random_token(32).map_err(UserError::from)?;
    let csrf = random_token(32).map_err(UserError::from)?;
    let expires = (now + jiff::SignedDuration::from_secs(SESSION_SECONDS)).to_string();
    records.insert_session(&token_hash(&cookie), user.id, &csrf, &expires).await.map_err(UserError::from)?;
    Ok(NewSession { user, cookie, csrf })
}

/// The user of a session cookie and the session's CSRF token, if the session is live.
pub async fn session(
    records: &Records,
    cookie: &str,
    now: jiff::Timestamp,
) -> Result<Option<(User, String)>, UserError> {
    match records.session_user(&token_hash(cookie), &now.to_string()).await? {
        Some((row, csrf)) => Ok(Some((User::try_from(row)?, csrf))),
        None => Ok(None),
    }
}

/// A new API token for `user`: the token itself, shown once; the store keeps its hash.
pub async fn new_api_token(records: &Records, user: &User, name: &str) -> Result<String, UserError> {
    let token = format!("lst_{}", random_token(32)?);
    records.insert_api_token(&token_hash(&token), user.id, name).await?;
    Ok(token)
}

pub async fn token_user(records: &Records, token: &str) -> Result<Option<User>, UserError> {
    records.token_user(&token_hash(token)).await?.map(User::try_from).transpose()
}
