//! The keys: the current one (`WAPLIFY_SECRET_KEY`) seals, it and the old ones
//! (`WAPLIFY_SECRET_KEYS_OLD`) open. Key material never reaches `Debug` or a message.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Field, Revealed, SecretError, VERSION_PREFIX, associated_data, key_id_of};
use crate::config::{self, ConfigError};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Which key sealed a value: 8 hex characters of a SHA-256 of the key. Tells keys apart
/// without telling anything of them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One 32-byte key, ready to seal and open.
#[derive(Clone)]
pub struct SecretKey {
    id: KeyId,
    cipher: Arc<XChaCha20Poly1305>,
    /// A key of its own for keyed hashes (idempotency fingerprints), derived from this
    /// one so one setting serves both.
    mac: Arc<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> SecretKey {
        let mut hash = Sha256::new();
        hash.update(b"waplify-secret-key-id\0");
        hash.update(bytes);
        let id = KeyId(hex::encode(hash.finalize())[..8].to_owned());
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).expect("a 32-byte key");
        let mut mac = Sha256::new();
        mac.update(b"waplify-fingerprint-key\0");
        mac.update(bytes);
        SecretKey {
            id,
            cipher: Arc::new(cipher),
            mac: Arc::new(Zeroizing::new(mac.finalize().into())),
        }
    }

    /// A key from its base64 text. The error never repeats the text.
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| "is not base64 (make one with `openssl rand -base64 32`)")?,
        );
        let key: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "decodes to {} bytes, a key is 32 (make one with `openssl rand -base64 32`)",
                bytes.len()
            )
        })?;
        Ok(SecretKey::from_bytes(key))
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key of keyed hashes of request bodies, which may hold secrets.
    pub fn mac_key(&self) -> &[u8; 32] {
        &self.mac
    }

    /// `enc:v1:<key id>:<base64 of nonce || ciphertext>`, under a fresh random nonce.
    pub fn seal(&self, field: Field, row: &str, plaintext: &str) -> String {
        let nonce = XNonce::generate();
        let aad = associated_data(field, row);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: &aad,
        };
        let sealed = self.cipher.encrypt(&nonce, payload).expect("a short value");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{VERSION_PREFIX}{}:{}", self.id, STANDARD.encode(out))
    }

    fn open(&self, field: Field, row: &str, body: &str) -> Result<Revealed, SecretError> {
        let malformed = || SecretError::Malformed {
            field,
            row: row.to_owned(),
        };
        let bytes = STANDARD.decode(body).map_err(|_| malformed())?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(malformed());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = associated_data(field, row);
        let payload = Payload {
            msg: sealed,
            aad: &aad,
        };
        let nonce = XNonce::try_from(nonce).map_err(|_| malformed())?;
        let plain =
            self.cipher
                .decrypt(&nonce, payload)
                .map_err(|_| SecretError::Undecryptable {
                    field,
                    row: row.to_owned(),
                    key_id: self.id.0.clone(),
                })?;
        String::from_utf8(plain)
            .map(Revealed::new)
            .map_err(|_| malformed())
    }
}

/// The configured keys: `current` seals new values, every key opens.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    current: Option<SecretKey>,
    old: Vec<SecretKey>,
}

impl Keyring {
    /// Keys as given; an old key equal to the current one is dropped.
    pub fn new(current: Option<SecretKey>, old: Vec<SecretKey>) -> Keyring {
        let mut kept: Vec<SecretKey> = Vec::new();
        for k in old {
            let seen = current.iter().chain(kept.iter()).any(|c| c.id == k.id);
            if !seen {
                kept.push(k);
            }
        }
        Keyring { current, old: kept }
    }

    /// `WAPLIFY_SECRET_KEY` and `WAPLIFY_SECRET_KEYS_OLD`.
    pub fn from_env() -> Result<Keyring, ConfigError> {
        Keyring::parse(
            config::optional("WAPLIFY_SECRET_KEY").as_deref(),
            config::optional("WAPLIFY_SECRET_KEYS_OLD").as_deref(),
        )
    }

    /// The current key and the comma-separated old ones, as base64 text.
    pub fn parse(current: Option<&str>, old: Option<&str>) -> Result<Keyring, ConfigError> {
        let current = current
            .map(|c| SecretKey::parse(c).map_err(|e| ConfigError::new("WAPLIFY_SECRET_KEY", e)))
            .transpose()?;
        let mut olds = Vec::new();
        let entries = old.unwrap_or_default().split(',').map(str::trim);
        for (i, entry) in entries.filter(|e| !e.is_empty()).enumerate() {
            let key = SecretKey::parse(entry).map_err(|e| {
                ConfigError::new("WAPLIFY_SECRET_KEYS_OLD", format!("key {}: {e}", i + 1))
            })?;
            olds.push(key);
        }
        if current.is_none() && !olds.is_empty() {
            return Err(ConfigError::new(
                "WAPLIFY_SECRET_KEYS_OLD",
                "old keys are set but WAPLIFY_SECRET_KEY is not: set the current key too",
            ));
        }
        Ok(Keyring::new(current, olds))
    }

    /// The key new values are sealed with; `None` stores them in plain text.
    pub fn current(&self) -> Option<&SecretKey> {
        self.current.as_ref()
    }

    /// The keys that only open.
    pub fn old(&self) -> &[SecretKey] {
        &self.old
    }

    /// Every key, the current one first.
    pub fn all(&self) -> impl Iterator<Item = &SecretKey> {
        self.current.iter().chain(self.old.iter())
    }

    /// The key with this id, current or old.
    pub fn find(&self, key_id: &str) -> Option<&SecretKey> {
        self.all().find(|k| k.id.0 == key_id)
    }

    /// The stored form of `plaintext` for this field of this row: sealed under the
    /// current key, or the plain text itself while no key is configured.
    pub fn seal(&self, field: Field, row: &str, plaintext: &str) -> String {
        match &self.current {
            Some(key) => key.seal(field, row, plaintext),
            None => plaintext.to_owned(),
        }
    }

    /// The plain text of a stored value of this field of this row; plain text stored
    /// before encryption comes back as it is.
    pub fn open(&self, field: Field, row: &str, stored: &str) -> Result<Revealed, SecretError> {
        if !super::is_encrypted(stored) {
            return Ok(Revealed::new(stored.to_owned()));
        }
        let (Some(key_id), Some(body)) = (key_id_of(stored), stored.rsplit_once(':')) else {
            return Err(SecretError::Malformed {
                field,
                row: row.to_owned(),
            });
        };
        let Some(key) = self.find(key_id) else {
            let (row, key_id) = (row.to_owned(), key_id.to_owned());
            return Err(match self.current {
                None => SecretError::NoKey { field, row, key_id },
                Some(_) => SecretError::UnknownKey { field, row, key_id },
            });
        };
        key.open(field, row, body.1)
    }
}
