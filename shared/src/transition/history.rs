//! The `message_events` rows: one per message per status it passed through.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DbErr, EntityTrait,
};

use crate::db::entities::message_event;
use crate::ids::{CampaignId, MessageId};
use crate::status::MessageStatus;

/// What the history rows of a move say.
pub enum Detail {
    Same(Option<String>),
    PerId(HashMap<MessageId, String>),
}

/// Appends history rows for messages that just changed state.
pub(super) async fn write<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    ids: &[MessageId],
    from: Option<MessageStatus>,
    to: MessageStatus,
    detail: &Detail,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(2000) {
        let rows = chunk.iter().map(|id| message_event::ActiveModel {
            id: NotSet,
            message_id: Set(id.clone()),
            campaign_id: Set(campaign_id.clone()),
            from_status: Set(from),
            to_status: Set(to),
            at: Set(now),
            detail: Set(match detail {
                Detail::Same(d) => d.clone(),
                Detail::PerId(map) => map.get(id).cloned(),
            }),
        });
        message_event::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
