//! Campaign lifecycle: sending windows, when a campaign was paused or cancelled, and
//! the history of its status changes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{foreign, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_lifecycle"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        m.alter_table(
            Table::alter()
                .table("campaigns")
                // JSON of the `SendWindow`; NULL sends at any hour.
                .add_column(text_null("send_window"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("campaigns")
                // The send lanes now allowed to run; older lanes end at their next step.
                .add_column(string_len_null("lane_epoch", 26))
                .to_owned(),
        )
        .await?;
        for col in ["paused_at", "cancelled_at"] {
            m.alter_table(
                Table::alter()
                    .table("campaigns")
                    .add_column(timestamp_with_time_zone_null(col))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table("campaign_events")
                .col(big_pk_auto("id"))
                .col(string_len("campaign_id", 24))
                .col(string_len_null("from_status", 16))
                .col(string_len("to_status", 16))
                .col(timestamp_with_time_zone("at"))
                .col(text_null("detail"))
                .foreign_key(&mut foreign("campaign_events", "campaign_id", "campaigns"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_campaign_events_campaign",
            "campaign_events",
            &["campaign_id", "id"],
        ))
        .await
    }
}
