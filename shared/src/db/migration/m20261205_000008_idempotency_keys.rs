//! Idempotency keys: the first answer to a POST given an `Idempotency-Key`, per account,
//! replayed to retries for 24 hours (`idempotency`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{foreign, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000008_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The primary key is what decides a race between two first requests: both
        // insert, one wins.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(string_len("account_id", 24))
                .col(string_len("idem_key", 255))
                .col(string_len("request_hash", 64))
                .col(string_len("claim", 26))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(integer_null("status_code"))
                .col(string_len_null("content_type", 255))
                .col(text_null("body"))
                .primary_key(Index::create().col("account_id").col("idem_key"))
                .foreign_key(&mut foreign("idempotency_keys", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_idempotency_keys_started_at",
            "idempotency_keys",
            &["started_at"],
        ))
        .await
    }
}
