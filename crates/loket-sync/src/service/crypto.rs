//! Secrets at rest: AES-256-GCM (ring's AEAD, already built for rustls) with a 256-bit key from the
//! environment (`LOKET_SYNC_KEY`, 64 hex digits) or a file. Every sealed value carries a fresh random
//! nonce, and is bound to what it is (`purpose`, such as `connection 3 personio secret`) as associated
//! data, so a ciphertext copied into another row does not open there.

use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::{ExposeSecret, SecretString};

/// The prefix of a sealed value: the format's version, so that a later format can be told apart.
const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the key must be 64 hexadecimal digits (32 bytes); make one with `openssl rand -hex 32` (or `head -c 32 /dev/urandom | xxd -p -c 64`)"
    )]
    Malformed,
    #[error("the key file {path} cannot be read")]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
    #[error(
        "a stored secret ({0}) cannot be opened with this key: the key is not the one it was sealed with, or the row was altered"
    )]
    Open(String),
}

/// The key that seals and opens the secrets in the store.
pub struct SecretKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

impl SecretKey {
    /// A key from 64 hex digits (surrounding white space is ignored, so a file may end in a newline).
    pub fn from_hex(text: &SecretString) -> Result<SecretKey, KeyError> {
        let bytes = decode_hex(text.expose_secret().trim()).ok_or(KeyError::Malformed)?;
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KeyError::Malformed)?;
        Ok(SecretKey { key: LessSafeKey::new(unbound) })
    }

    /// A key from a file holding its 64 hex digits.
    pub fn from_file(path: &Path) -> Result<SecretKey, KeyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| KeyError::File { path: path.to_path_buf(), source })?;
        SecretKey::from_hex(&SecretString::from(text))
    }

    /// `v1:` and the hex of nonce, ciphertext and tag.
    pub fn seal(&self, purpose: &str, secret: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(SealError::Random)?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.as_bytes()), &mut data)
            .map_err(|_| SealError::Open(purpose.to_string()))?;
        Ok(format!("{PREFIX}{}{}", encode_hex(&nonce), encode_hex(&data)))
    }

    /// The secret a sealed value holds, if it was sealed with this key for this purpose.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<SecretString, SealError> {
        let refused = || SealError::Open(purpose.to_string());
        let bytes = sealed.strip_prefix(PREFIX).and_then(decode_hex).ok_or_else(refused)?;
        if bytes.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut data = data.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut data).map_err(|_| refused())?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| refused())?;
        Ok(SecretString::from(text))
    }
}

pub fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// `n` random bytes from the operating system, as hex: session ids, CSRF tokens, API tokens.
pub fn random_token(n: usize) -> Result<String, SealError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(SealError::Random)?;
    Ok(encode_hex(&bytes))
}

/// The SHA-256 of a token, as hex: what the store keeps of sessions and API tokens.
pub fn token_hash(token: &str) -> String {
    encode_hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}
