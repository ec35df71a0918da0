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
    /// A test message (`send_test_message`): sent on demand to one number, left out of
    /// the campaign's counts, recipients, lanes, completion and refunds.
    pub test: bool,
    /// A test message's body variables (JSON object), the campaign's with the
    /// request's overrides; `None` for recipients.
    pub body_data: Option<String>,
    /// Credits a test message was charged on its own (recipients: 0, their campaign
    /// reserved for them).
    pub credits_charged: i64,
    /// When a failed test message's charge was given back.
    pub refunded_at: Option<DateTimeUtc>,
    /// Times the message was sent again by request; callbacks naming it by our id must
    /// name this round (`biz_opaque_callback_data`).
    pub send_round: i32,
}

/// `messages.test` as a bare condition, not a bound parameter, so both databases can
/// use the partial indexes built on it (`WHERE test`, `WHERE NOT test`).
pub fn is_test() -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::Expr::col((Entity, Column::Test))
}

/// The campaign's own recipients: every message but test messages.
pub fn is_recipient() -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::ExprTrait;
    is_test().not()
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
