//! `secrets`: the encryption at rest of access tokens and webhook secrets.

use clap::Subcommand;
use serde_json::Value;

use waplify_shared::admin::{self, AdminError};
use waplify_shared::db;
use waplify_shared::secrets::Keyring;

use crate::answer::json;

#[derive(Subcommand)]
pub enum SecretsCmd {
    /// Re-encrypt every stored access token and webhook secret under
    /// WAPLIFY_SECRET_KEY (plain text ones too); the keys they are under now must be
    /// WAPLIFY_SECRET_KEY or in WAPLIFY_SECRET_KEYS_OLD. Prints counts; idempotent.
    Rotate,
    /// The configured key ids and how many stored secrets each key (or none) holds.
    Status,
}

pub async fn run_secrets(
    db: &db::Db,
    keys: &Keyring,
    cmd: SecretsCmd,
) -> Result<Value, AdminError> {
    match cmd {
        SecretsCmd::Rotate => json(admin::secrets_rotate(db, keys).await),
        SecretsCmd::Status => json(admin::secrets_status(db, keys).await),
    }
}
