//! `webhook_endpoints` rows: where an account wants its message events.

use sea_orm::entity::prelude::*;

use crate::events::EventFilter;
use crate::ids::{AccountId, WebhookId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: WebhookId,
    pub account_id: AccountId,
    pub name: String,
    pub url: String,
    pub secret: Option<String>,
    /// Stored as the event names joined by commas.
    pub events: EventFilter,
    pub retry_count: i32,
    pub timeout_seconds: i32,
    pub created_at: DateTimeUtc,
    /// Set by `delete_webhook`; the row stays so its deliveries keep their history.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
