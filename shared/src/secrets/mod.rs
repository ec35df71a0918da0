//! Encryption at rest of the secrets the service keeps for others: the provider access
//! token of each WhatsApp number and the signing secret of each webhook endpoint.
//!
//! A value is stored as `enc:v1:<key id>:<base64 of nonce || ciphertext>`: XChaCha20-
//! Poly1305 under a 32-byte key from `WAPLIFY_SECRET_KEY`, a random 24-byte nonce per
//! value, and the table, column and row id as associated data, so a value copied to
//! another row or column does not decrypt. The key id (8 hex characters of a SHA-256 of
//! the key) says which key sealed it, so keys rotate: the old ones stay readable through
//! `WAPLIFY_SECRET_KEYS_OLD` until `waplify-admin secrets rotate` re-encrypted all.
//!
//! A value without the `enc:` prefix is plain text, as every value was before: it is
//! read as it is, and written so while no key is configured.

mod census;
mod keyring;
mod reseal;
mod revealed;

pub use census::{Census, census, check_at_startup};
pub use keyring::{KeyId, Keyring, SecretKey};
pub use reseal::{Reseal, ResealError, Resealed, reseal};
pub use revealed::Revealed;

/// Where a secret lives: the associated data binds each value to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `whatsapp_numbers.access_token`.
    NumberAccessToken,
    /// `webhook_endpoints.secret`.
    WebhookSecret,
}

impl Field {
    pub const ALL: [Field; 2] = [Field::NumberAccessToken, Field::WebhookSecret];

    pub fn table(self) -> &'static str {
        match self {
            Field::NumberAccessToken => "whatsapp_numbers",
            Field::WebhookSecret => "webhook_endpoints",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Field::NumberAccessToken => "access_token",
            Field::WebhookSecret => "secret",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.table(), self.column())
    }
}

/// A stored value that cannot be read. Names the row and the key id, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{field} of row {row} is encrypted under key id {key_id}, but WAPLIFY_SECRET_KEY is not set"
    )]
    NoKey {
        field: Field,
        row: String,
        key_id: String,
    },
    #[error(
        "{field} of row {row} is encrypted under key id {key_id}, which neither WAPLIFY_SECRET_KEY nor WAPLIFY_SECRET_KEYS_OLD holds"
    )]
    UnknownKey {
        field: Field,
        row: String,
        key_id: String,
    },
    #[error(
        "{field} of row {row} does not decrypt under key id {key_id}: it was altered or belongs to another row"
    )]
    Undecryptable {
        field: Field,
        row: String,
        key_id: String,
    },
    #[error("{field} of row {row} is not a valid encrypted value")]
    Malformed { field: Field, row: String },
}

/// The start of every encrypted value.
pub const PREFIX: &str = "enc:";
const VERSION_PREFIX: &str = "enc:v1:";

/// Whether a stored value is encrypted (as opposed to plain text left from before).
pub fn is_encrypted(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The key id of an encrypted value in the current format, `None` for plain text.
pub fn key_id_of(stored: &str) -> Option<&str> {
    stored
        .strip_prefix(VERSION_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .map(|(kid, _)| kid)
}

/// The associated data of a value: version, table, column and row.
fn associated_data(field: Field, row: &str) -> Vec<u8> {
    format!(
        "waplify-secret/v1/{}/{}/{row}",
        field.table(),
        field.column()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
