//! The `message_events` rows: one per message per status it passed through.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DbErr, EntityTrait,
};

use crate::db::entities::message_event;
use crate::ids::{CampaignId, MessageId};
use crate::status::{HistorySource, MessageStatus};

/// What the history rows of a move say.
pub enum Detail {
    Same(Option<String>),
    PerId(HashMap<MessageId, String>),
}

/// The one step many messages just made together.
pub(super) struct Step<'a> {
    pub from: Option<MessageStatus>,
    pub to: MessageStatus,
    pub detail: &'a Detail,
    pub source: HistorySource,
}

/// Appends history rows for messages that just changed state.
pub(super) async fn write<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    ids: &[MessageId],
    step: Step<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows = ids
        .iter()
        .map(|id| Row {
            campaign_id: campaign_id.clone(),
            message_id: id.clone(),
            from: step.from,
            to: step.to,
            detail: match step.detail {
                Detail::Same(d) => d.clone(),
                Detail::PerId(map) => map.get(id).cloned(),
            },
            source: step.source,
        })
        .collect();
    write_rows(db, rows, now).await
}

/// One history row of a step of one message.
pub(super) struct Row {
    pub campaign_id: CampaignId,
    pub message_id: MessageId,
    pub from: Option<MessageStatus>,
    pub to: MessageStatus,
    pub detail: Option<String>,
    pub source: HistorySource,
}

/// Appends history rows of steps of any messages and statuses.
pub(super) async fn write_rows<C: ConnectionTrait>(
    db: &C,
    rows: Vec<Row>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows: Vec<message_event::ActiveModel> = rows
        .into_iter()
        .map(|r| message_event::ActiveModel {
            id: NotSet,
            message_id: Set(r.message_id),
            campaign_id: Set(r.campaign_id),
            from_status: Set(r.from),
            to_status: Set(r.to),
            at: Set(now),
            detail: Set(r.detail),
            source: Set(r.source),
        })
        .collect();
    for chunk in rows.chunks(2000) {
        message_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
