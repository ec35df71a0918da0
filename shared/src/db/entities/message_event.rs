//! `message_events` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{CampaignId, MessageId};
use crate::status::{HistorySource, MessageStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub message_id: MessageId,
    pub campaign_id: CampaignId,
    pub from_status: Option<MessageStatus>,
    pub to_status: MessageStatus,
    pub at: DateTimeUtc,
    pub detail: Option<String>,
    /// Who made the step.
    pub source: HistorySource,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
