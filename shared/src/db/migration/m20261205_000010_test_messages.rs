//! Test messages (`send_test_message`): one campaign's template sent to one number on
//! demand, stored as a `messages` row marked `test` so its outcome and history read
//! like any recipient's, while the campaign's counts, recipients, lanes, completion
//! and refunds leave it out.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000010_test_messages"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        let columns = [
            boolean("test").default(false).to_owned(),
            // A test message's own body variables (the campaign's with the overrides
            // of the request), as JSON; null for recipients, who use the campaign's.
            text_null("body_data"),
            // What a test message was charged on its own; recipients are paid for by
            // their campaign's reservation.
            big_integer("credits_charged").default(0).to_owned(),
            timestamp_with_time_zone_null("refunded_at"),
        ];
        for col in columns {
            m.alter_table(Table::alter().table("messages").add_column(col).to_owned())
                .await?;
        }
        let db = m.get_connection();
        // A phone may be a campaign's recipient once, and be sent any number of tests.
        // Partial indexes work alike on both databases; queries name the predicate
        // literally (`messages.test`) so the planners can use them.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_messages_campaign_recipient \
             ON messages (campaign_id, contact_id) WHERE NOT test",
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("uq_messages_campaign_contact")
                .table("messages")
                .to_owned(),
        )
        .await?;
        // The per-campaign hourly limit.
        db.execute_unprepared(
            "CREATE INDEX idx_messages_tests_by_campaign \
             ON messages (campaign_id, created_at) WHERE test",
        )
        .await?;
        // The reconciler's look for test messages whose job or lease was lost.
        db.execute_unprepared(
            "CREATE INDEX idx_messages_tests_open \
             ON messages (status, next_attempt_at) WHERE test",
        )
        .await?;
        Ok(())
    }
}
