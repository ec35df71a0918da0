//! `campaigns` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{AccountId, CampaignId, NumberId, TemplateId};
use crate::status::CampaignStatus;
use crate::window::SendWindow;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CampaignId,
    pub account_id: AccountId,
    pub template_id: TemplateId,
    pub number_id: NumberId,
    pub name: String,
    pub description: Option<String>,
    /// JSON object of body variables (`{"1": "…"}`).
    pub body_data: String,
    /// JSON object of header variables.
    pub header_data: String,
    pub media_url: Option<String>,
    pub filename: Option<String>,
    pub status: CampaignStatus,
    pub scheduled_at: Option<DateTimeUtc>,
    pub scheduled_timezone: Option<String>,
    pub task_id: Option<String>,
    pub total_contacts: i64,
    pub credits_reserved: i64,
    pub credits_refunded: i64,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub queued_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub paused_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    /// When messages may go out; `None` at any hour.
    pub send_window: Option<SendWindow>,
    /// The generation of send lanes allowed to run: set anew whenever lanes are opened
    /// (dispatch, resume, reconciler); a lane of another generation ends.
    pub lane_epoch: Option<String>,
    /// Set once, when the reservation has been reconciled with what was sent.
    pub settled_at: Option<DateTimeUtc>,
    /// A requested retry's pick (`sending::retry_pick::Pick` as JSON) while its
    /// recipients are being moved back to `pending`; `None` otherwise.
    pub retry_pick: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
