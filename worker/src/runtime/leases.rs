//! Claims whose lease ran out (their worker died or hung) go back to `pending`, so
//! another claim sends them.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::message;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::{self, Detail, MessageMove, Target};

use super::context::Ctx;
use crate::error::WorkError;

/// Hands messages whose claim expired (their worker died or hung) back for sending.
pub async fn expire(ctx: &Ctx, campaign_id: &CampaignId) -> Result<usize, WorkError> {
    let now = Utc::now();
    let expired: Vec<MessageId> = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .filter(message::Column::Status.eq(MessageStatus::Sending))
        .filter(message::Column::LeaseUntil.lt(now))
        .limit(5000)
        .into_tuple::<MessageId>()
        .all(&ctx.db)
        .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let hold = chrono::Duration::from_std(ctx.cfg.unknown_hold).unwrap_or_default();
    let txn = begin_write(&ctx.db).await?;
    let moved = transition::messages(
        &txn,
        MessageMove {
            campaign_id,
            target: Target::Ids(&expired),
            from: MessageStatus::Sending,
            to: MessageStatus::Pending,
            claim: None,
            sets: vec![
                // A call cut short on the last allowed attempt may still be settled by
                // its status callback: it waits the hold before it is given up.
                (
                    message::Column::NextAttemptAt,
                    Expr::case(
                        message::Column::Attempts.gte(ctx.cfg.max_attempts),
                        Expr::value(now + hold),
                    )
                    .finally(Expr::value(now))
                    .into(),
                ),
                (message::Column::Claim, Expr::value(Option::<String>::None)),
                (
                    message::Column::LeaseUntil,
                    Expr::value(Option::<chrono::DateTime<Utc>>::None),
                ),
            ],
            // Read again at the update: a lane may have claimed one of them since.
            when: vec![message::Column::LeaseUntil.lt(now)],
            detail: Detail::Same(Some("lease expired; the claiming worker stopped".into())),
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
