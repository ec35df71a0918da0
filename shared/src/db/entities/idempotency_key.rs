//! `idempotency_keys` rows: one per account and key; in progress while `completed_at`
//! is null, then holding the answer to replay (`idempotency`).

use sea_orm::entity::prelude::*;

use crate::ids::AccountId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: AccountId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idem_key: String,
    /// SHA-256 (hex) of the operation, its path parameters and its body.
    pub request_hash: String,
    /// Who holds the key now: a request takes a key over by replacing it.
    pub claim: String,
    /// When the current holder claimed it; the answer is replayed for 24 h from here.
    pub started_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub status_code: Option<i32>,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
