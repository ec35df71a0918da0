//! `webhook_attempts` rows: every HTTP attempt of a delivery and what came back.

use sea_orm::entity::prelude::*;

use crate::ids::DeliveryId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: DeliveryId,
    pub attempt: i32,
    pub at: DateTimeUtc,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub response_excerpt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
