//! Provider access tokens and webhook secrets encrypted at rest (`crate::secrets`).
//! The columns keep their type: a value is plain text or `enc:v1:…`. With
//! `WAPLIFY_SECRET_KEY` set, the plain text rows are encrypted here; without it they
//! stay as they are, to be encrypted later by `waplify-admin secrets rotate`.

use sea_orm_migration::prelude::*;

use crate::secrets::{Field, Keyring, Reseal, reseal};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000007_secret_encryption"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let keys = Keyring::from_env().map_err(|e| DbErr::Custom(e.to_string()))?;
        encrypt_plaintext(m.get_connection(), &keys).await
    }
}

/// Encrypts every plain text secret under the current key; nothing without a key.
pub async fn encrypt_plaintext<C: ConnectionTrait>(db: &C, keys: &Keyring) -> Result<(), DbErr> {
    let Some(key) = keys.current() else {
        // The services warn at start while no key is set; nothing to say twice.
        tracing::debug!("WAPLIFY_SECRET_KEY is not set: stored secrets stay in plain text");
        return Ok(());
    };
    for field in Field::ALL {
        let done = reseal(db, keys, field, Reseal::PlaintextOnly)
            .await
            .map_err(|e| DbErr::Custom(format!("encrypting {field}: {e}")))?;
        tracing::info!(%field, key_id = %key.id(), encrypted = done.encrypted, "stored secrets encrypted");
    }
    Ok(())
}
