//! Listing a campaign's recipients, and who made each history step.
//!
//! `list_campaign_messages` walks a campaign's messages in id order from a cursor: with
//! `(campaign_id, id)` every page is one index range scan, and with
//! `(campaign_id, status, id)` so is every page of one status (several statuses are
//! one range each, merged). `message_events.source` says which part of the system made
//! a step (`HistorySource`); rows written before it existed are classified by the
//! detail text their writers always used.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000009_message_listing"
    }
}

/// Older rows by their writer's detail text: callbacks say `callback…`, the reconciler
/// `lease expired…`, a cancel `campaign cancelled`; everything else (claims, provider
/// answers, a stopped campaign's leftovers) is the worker's.
const BACKFILL: &str = "UPDATE message_events SET source = CASE \
     WHEN detail LIKE 'callback%' THEN 'callback' \
     WHEN detail LIKE 'lease expired%' THEN 'reconciler' \
     WHEN detail = 'campaign cancelled' THEN 'operator' \
     ELSE 'worker' END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "idx_messages_campaign_id",
            "messages",
            &["campaign_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "idx_messages_campaign_status_id",
            "messages",
            &["campaign_id", "status", "id"],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table("message_events")
                .add_column(string_len("source", 16).default("worker"))
                .to_owned(),
        )
        .await?;
        m.get_connection().execute_unprepared(BACKFILL).await?;
        Ok(())
    }
}
