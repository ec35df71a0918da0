//! Operator use cases behind `waplify-admin`: accounts and keys, numbers, templates,
//! credits, dead-lettered WhatsApp callbacks, the encryption of stored secrets, and the
//! demo account of `scripts/dev`. Each takes the operator's input as
//! typed on the command line, parses it here, and returns a typed answer the CLI
//! prints as JSON.

mod accounts;
mod callbacks;
mod demo;
mod keys;
mod numbers;
mod secrets;
mod templates;

pub use accounts::{
    AccountCreated, AccountShown, CreditsAdded, NumberInfo, TemplateInfo, account_create,
    account_show, credits_add,
};
pub use callbacks::{
    CallbacksRearmed, DeadCallback, DeadCallbacks, callbacks_dead, callbacks_retry,
};
pub use demo::{Demo, demo};
pub use keys::{
    KeyCreated, KeyInfo, KeyList, KeyRevoked, key_create, key_list, key_revoke, parse_duration,
};
pub use numbers::{NewNumber, NumberSet, number_add, number_set_status};
pub use secrets::{SecretsRotated, SecretsStatus, secrets_rotate, secrets_status};
pub use templates::{NewTemplate, TemplateSet, template_add, template_set_status};

use sea_orm::EntityTrait;

use crate::db::Db;
use crate::db::entities::account;
use crate::ids::AccountId;

/// A refused command: the message is printed as is.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdminError(pub String);

impl From<sea_orm::DbErr> for AdminError {
    fn from(e: sea_orm::DbErr) -> Self {
        AdminError(format!("database error: {}", crate::db::brief(&e)))
    }
}

fn refuse<T>(msg: impl Into<String>) -> Result<T, AdminError> {
    Err(AdminError(msg.into()))
}

fn parse_id<T: std::str::FromStr<Err = crate::ids::InvalidId>>(raw: &str) -> Result<T, AdminError> {
    raw.parse()
        .map_err(|e: crate::ids::InvalidId| AdminError(e.to_string()))
}

async fn existing_account(db: &Db, raw: &str) -> Result<account::Model, AdminError> {
    let id: AccountId = parse_id(raw)?;
    account::Entity::find_by_id(id.clone())
        .one(db)
        .await?
        .ok_or_else(|| AdminError(format!("account {id} not found")))
}
