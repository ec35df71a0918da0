//! `provider_calls` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{CampaignId, MessageId};
use crate::status::ProviderOutcome;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_calls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub message_id: MessageId,
    pub campaign_id: CampaignId,
    pub attempt: i32,
    pub outcome: ProviderOutcome,
    pub http_status: Option<i32>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub latency_ms: i32,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
