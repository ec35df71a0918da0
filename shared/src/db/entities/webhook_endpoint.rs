//! `webhook_endpoints` rows: where an account wants its message events.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub url: String,
    pub secret: Option<String>,
    /// Comma-separated event names.
    pub events: String,
    pub retry_count: i32,
    pub timeout_seconds: i32,
    pub created_at: DateTimeUtc,
    /// Set by `delete_webhook`; the row stays so its deliveries keep their history.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
