//! Retrying failed recipients at any size, and telling a retried send's callbacks from
//! an earlier one's.
//!
//! `campaigns.retry_pick`: which failed recipients a requested retry sends again (JSON,
//! `sending::retry_pick::Pick`), set while the dispatch job moves them back to
//! `pending` a chunk at a time, cleared when it starts the campaign. A retry of a
//! million recipients is then charged in the request and moved by the worker, instead
//! of in one transaction the request waits for.
//!
//! `messages.send_round`: how many times the message was sent again by request. It
//! goes out in `biz_opaque_callback_data` beside our id, so a late callback for an
//! earlier round, which names our id but a WhatsApp id we no longer keep, settles
//! nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000011_retry_rounds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("campaigns")
                .add_column(text_null("retry_pick"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("messages")
                .add_column(integer("send_round").default(0).to_owned())
                .to_owned(),
        )
        .await
    }
}
