//! OAuth 2.0 authorization code with rotating refresh tokens.
//!
//! Loket's refresh tokens rotate: every refresh returns a new one and the old one stops working. So
//! refreshes are serialised (one at a time, behind a mutex), and the new tokens are saved to the token store
//! before the new access token is used: a crash after a refresh can never leave only a dead refresh token.
//! A store that several processes share (the service's database, several workers) also serialises the
//! refreshes between them ([`TokenStore::lock_for_refresh`]): a process that finds the tokens rotated by
//! another while it waited uses those, instead of refreshing with a refresh token that is dead.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The tokens of one Loket connection. `expires_at` is seconds since the Unix epoch.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenStoreError {
    #[error("cannot read the Loket token file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Loket token file {path} is not a loket-sync token file; run `loket-sync connect loket` again")]
    NotATokenFile {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write the Loket token file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: engine::errors::Cause,
    },
}

/// A future a token store returns (boxed: the trait is used as `dyn TokenStore`).
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, TokenStoreError>> + Send + 'a>>;

/// A refresh under way: the tokens as the store holds them now, and whatever keeps other processes from
/// refreshing until this is dropped (after the new tokens are saved).
pub struct RefreshLock {
    pub stored: Option<Tokens>,
    pub held: Option<Box<dyn Send>>,
}

/// Where the tokens live between runs. The binary keeps them in a 0600 file beside its configuration.
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError>;
    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError>;

    /// Saves on the caller's runtime; the client saves through this. By default the synchronous save.
    fn save_async<'a>(&'a self, tokens: &'a Tokens) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.save(tokens) })
    }

    /// Before a refresh: waits until no other process that shares this store refreshes, keeps them from
    /// starting one until the answer is dropped, and says what the store holds now. By default (a store
    /// of one process) nothing to wait for and nothing new.
    fn lock_for_refresh(&self) -> StoreFuture<'_, RefreshLock> {
        Box::pin(async { Ok(RefreshLock { stored: None, held: None }) })
    }
}

/// Tokens in memory only (tests, and a run that was handed tokens).
#[derive(Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<Tokens>>,
}

impl MemoryTokenStore {
    pub fn new(tokens: Option<Tokens>) -> MemoryTokenStore {
        MemoryTokenStore { tokens: Mutex::new(tokens) }
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError> {
        Ok(self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone())
    }

    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError> {
        *self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tokens.clone());
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct TokenFile {
    access_token: String,
    refresh_token: String,
    expires_at: i64,
}

/// Tokens in a JSON file readable by its owner only (mode 0600), written atomically (a temporary file
/// renamed over the old one), so a crash mid-write never loses the refresh token.
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    pub fn new(path: impl Into<PathBuf>) -> FileTokenStore {
        FileTokenStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TokenStoreError::Read { path: self.path.clone(), source }),
        };
        let file: TokenFile = serde_json::from_str(&text)
            .map_err(|source| TokenStoreError::NotATokenFile { path: self.path.clone(), source })?;
        Ok(Some(Tokens {
            access_token: file.access_token.into(),
            refresh_token: file.refresh_token.into(),
            expires_at: file.expires_at,
        }))
    }

    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError> {
        let write_error = |source: engine::errors::Cause| TokenStoreError::Write { path: self.path.clone(), source };
        let file = TokenFile {
            access_token: tokens.access_token.expose_secret().to_string(),
            refresh_token: tokens.refresh_token.expose_secret().to_string(),
            expires_at: tokens.expires_at,
        };
        let text = serde_json::to_string(&file).map_err(|error| write_error(error.into()))?;
        let temporary = self.path.with_extension("tmp");
        {
            use std::io::Write as _;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut handle = options.open(&temporary).map_err(|error| write_error(error.into()))?;
            handle.write_all(text.as_bytes()).map_err(|error| write_error(error.into()))?;
            handle.sync_all().map_err(|error| write_error(error.into()))?;
        }
        std::fs::rename(&temporary, &self.path).map_err(|error| write_error(error.into()))?;
        Ok(())
    }
}

/// The seconds since the Unix epoch now.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}
