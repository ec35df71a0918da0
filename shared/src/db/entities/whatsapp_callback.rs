//! `whatsapp_callbacks` rows: verified callback bodies, kept until a worker applied them
//! (or gave them up: `dead_at`).

use sea_orm::entity::prelude::*;

use crate::ids::CallbackId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "whatsapp_callbacks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CallbackId,
    pub received_at: DateTimeUtc,
    pub body: String,
    pub processed_at: Option<DateTimeUtc>,
    pub summary: Option<String>,
    /// Runs that failed to apply it.
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Given up after too many failed runs: kept for operators, no longer retried.
    pub dead_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
