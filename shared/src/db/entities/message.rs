//! `messages` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{CampaignId, ContactId, MessageId};
use crate::status::MessageStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: MessageId,
    pub campaign_id: CampaignId,
    pub contact_id: ContactId,
    pub phone: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// Token of the claim that moved the message to `sending`; fences late writers.
    pub claim: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub wamid: Option<String>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub read_at: Option<DateTimeUtc>,
    pub failed_at: Option<DateTimeUtc>,
    /// First reply that quoted this message.
    pub replied_at: Option<DateTimeUtc>,
    /// First button tap on this message.
    pub clicked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
