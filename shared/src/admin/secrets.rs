//! The encryption of stored secrets: what it stands at, and the rotation that writes
//! every access token and webhook secret again under the current key.

use serde::Serialize;

use super::AdminError;
use crate::db::Db;
use crate::secrets::{self, Census, Field, KeyId, Keyring, Reseal, Resealed};

/// `secrets rotate`: what changed, per field.
#[derive(Debug, Serialize)]
pub struct SecretsRotated {
    /// The key everything is under now.
    pub key_id: KeyId,
    pub access_tokens: Resealed,
    pub webhook_secrets: Resealed,
}

/// `secrets status`: the configured keys and what the stored values are under.
#[derive(Debug, Serialize)]
pub struct SecretsStatus {
    pub key_id: Option<KeyId>,
    pub old_key_ids: Vec<KeyId>,
    pub stored: Census,
}

/// Re-encrypts every stored secret that is not under the current key (plain text
/// included). Idempotent: a second run finds everything unchanged.
pub async fn secrets_rotate(db: &Db, keys: &Keyring) -> Result<SecretsRotated, AdminError> {
    let key_id = keys.current().map(|k| k.id().clone()).ok_or_else(|| {
        AdminError("WAPLIFY_SECRET_KEY is not set: there is no key to rotate to".into())
    })?;
    let mut done = Vec::new();
    for field in Field::ALL {
        let resealed = secrets::reseal(db, keys, field, Reseal::All)
            .await
            .map_err(|e| AdminError(format!("{field}: {e}")))?;
        done.push(resealed);
    }
    let webhook_secrets = done.pop().expect("two fields");
    let access_tokens = done.pop().expect("two fields");
    Ok(SecretsRotated {
        key_id,
        access_tokens,
        webhook_secrets,
    })
}

pub async fn secrets_status(db: &Db, keys: &Keyring) -> Result<SecretsStatus, AdminError> {
    Ok(SecretsStatus {
        key_id: keys.current().map(|k| k.id().clone()),
        old_key_ids: keys.old().iter().map(|k| k.id().clone()).collect(),
        stored: secrets::census(db).await?,
    })
}
