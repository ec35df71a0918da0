//! Per-campaign message counts by status, so stats never count a million rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_message_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("message_counts")
                .col(string_len("campaign_id", 24))
                .col(integer("shard"))
                .col(string_len("status", 16))
                .col(big_integer("n").default(0))
                .primary_key(
                    Index::create()
                        .col("campaign_id")
                        .col("shard")
                        .col("status"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_message_counts_campaign_id")
                        .from("message_counts", "campaign_id")
                        .to("campaigns", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Counts for messages written before this table existed.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO message_counts (campaign_id, shard, status, n) \
                 SELECT campaign_id, 0, status, COUNT(*) FROM messages GROUP BY campaign_id, status",
            )
            .await?;
        Ok(())
    }
}
