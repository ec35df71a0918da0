//! Customer webhook endpoints and their deliveries, inbound WhatsApp callbacks, and
//! the reply and click marks on messages.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{foreign, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("webhook_endpoints")
                .col(string_len("id", 24).primary_key())
                .col(string_len("account_id", 24))
                .col(string_len("name", 255))
                .col(text("url"))
                .col(text_null("secret"))
                // Comma-separated event names.
                .col(text("events"))
                .col(integer("retry_count"))
                .col(integer("timeout_seconds"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("deleted_at"))
                .foreign_key(&mut foreign("webhook_endpoints", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_webhook_endpoints_account",
            "webhook_endpoints",
            &["account_id", "deleted_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(string_len("id", 24).primary_key())
                .col(string_len("endpoint_id", 24))
                .col(string_len("event", 32))
                // The exact body sent on every attempt.
                .col(text("payload"))
                .col(string_len("state", 16))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                // The job that owns the next attempt; NULL while none is queued.
                .col(string_len_null("job_id", 26))
                .col(timestamp_with_time_zone_null("lease_until"))
                .col(integer_null("last_http_status"))
                .col(text_null("last_error"))
                .col(string_len_null("message_id", 24))
                .col(string_len_null("campaign_id", 24))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .foreign_key(&mut foreign(
                    "webhook_deliveries",
                    "endpoint_id",
                    "webhook_endpoints",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_webhook_deliveries_endpoint",
            "webhook_deliveries",
            &["endpoint_id", "created_at"],
        ))
        .await?;
        // Serves the relay (`state = 'pending' AND job_id IS NULL`) and the sweep of
        // attempts whose job vanished.
        m.create_index(index(
            "idx_webhook_deliveries_state_job",
            "webhook_deliveries",
            &["state", "job_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_attempts")
                .col(big_integer("id").auto_increment().primary_key())
                .col(string_len("delivery_id", 24))
                .col(integer("attempt"))
                .col(timestamp_with_time_zone("at"))
                .col(integer_null("http_status"))
                .col(text_null("error"))
                .col(integer("duration_ms"))
                .col(text_null("response_excerpt"))
                .foreign_key(&mut foreign(
                    "webhook_attempts",
                    "delivery_id",
                    "webhook_deliveries",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_webhook_attempts_delivery",
            "webhook_attempts",
            &["delivery_id", "attempt"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("whatsapp_callbacks")
                .col(string_len("id", 24).primary_key())
                .col(timestamp_with_time_zone("received_at"))
                // The verified body exactly as it arrived.
                .col(text("body"))
                .col(timestamp_with_time_zone_null("processed_at"))
                .col(text_null("summary"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_whatsapp_callbacks_processed",
            "whatsapp_callbacks",
            &["processed_at", "received_at"],
        ))
        .await?;

        for col in ["replied_at", "clicked_at"] {
            m.alter_table(
                Table::alter()
                    .table("messages")
                    .add_column(timestamp_with_time_zone_null(col))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
