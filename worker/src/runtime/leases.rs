//! Claims whose lease ran out go back to `pending`, so another claim sends them.
//!
//! Their outcome is unknown: the worker may have died mid-call, or may still hold
//! WhatsApp's answers while the database is slow or away. So they are held for
//! `UNKNOWN_OUTCOME_HOLD_SECS` before anyone sends them again, and keep their claim
//! token meanwhile: the worker's late results still land (`send::record`), and a
//! status callback settles them too. Only then is a message sent a second time.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::message;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::status::{HistorySource, MessageStatus};
use waplify_shared::transition::{self, Detail, MessageMove, Target};

use super::context::Ctx;
use crate::error::WorkError;

/// Hands messages whose claim expired back for sending, after the hold.
pub async fn expire(ctx: &Ctx, campaign_id: &CampaignId) -> Result<usize, WorkError> {
    let now = Utc::now();
    let expired: Vec<MessageId> = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .filter(message::Column::Status.eq(MessageStatus::Sending))
        .filter(message::Column::LeaseUntil.lt(now))
        // Test messages' leases are the test pass's (`test_sends`).
        .filter(message::is_recipient())
        .limit(5000)
        .into_tuple::<MessageId>()
        .all(&ctx.db)
        .await?;
    hand_back(ctx, campaign_id, &expired).await
}

/// Moves these messages of one campaign, if their lease is still expired, from
/// `sending` back to `pending`, held for `UNKNOWN_OUTCOME_HOLD_SECS`.
pub async fn hand_back(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    expired: &[MessageId],
) -> Result<usize, WorkError> {
    if expired.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let hold = chrono::Duration::from_std(ctx.cfg.unknown_hold).unwrap_or_default();
    let txn = begin_write(&ctx.db).await?;
    let moved = transition::messages(
        &txn,
        MessageMove {
            campaign_id,
            target: Target::Ids(expired),
            from: MessageStatus::Sending,
            to: MessageStatus::Pending,
            claim: None,
            sets: vec![
                (message::Column::NextAttemptAt, Expr::value(now + hold)),
                (
                    message::Column::LeaseUntil,
                    Expr::value(Option::<chrono::DateTime<Utc>>::None),
                ),
            ],
            // Read again at the update: a lane may have claimed one of them since.
            when: vec![message::Column::LeaseUntil.lt(now)],
            detail: Detail::Same(Some(
                "lease expired; held for the worker's result or a status callback".into(),
            )),
            source: HistorySource::Reconciler,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    if !moved.is_empty() {
        tracing::warn!(%campaign_id, count = moved.len(), "expired claims handed back");
    }
    Ok(moved.len())
}
