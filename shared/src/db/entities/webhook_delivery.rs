//! `webhook_deliveries` rows: one event for one endpoint, with its delivery state.

use sea_orm::entity::prelude::*;

use crate::events::EventKind;
use crate::ids::{CampaignId, DeliveryId, MessageId, WebhookId};
use crate::status::DeliveryState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    pub event: EventKind,
    /// The exact body of every attempt.
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// The job that owns the next attempt; `None` while no job is queued for it.
    pub job_id: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    pub message_id: Option<MessageId>,
    pub campaign_id: Option<CampaignId>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
