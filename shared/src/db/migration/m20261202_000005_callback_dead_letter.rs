//! Stored WhatsApp callbacks that keep failing to apply: how often they failed, why,
//! and when they were given up (a dead letter for operators, no longer retried).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000005_callback_dead_letter"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        m.alter_table(
            Table::alter()
                .table("whatsapp_callbacks")
                .add_column(integer("attempts").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("whatsapp_callbacks")
                .add_column(text_null("last_error"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("whatsapp_callbacks")
                .add_column(timestamp_with_time_zone_null("dead_at"))
                .to_owned(),
        )
        .await
    }
}
