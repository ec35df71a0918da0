//! Ending campaigns: completing them when no message is left to send, failing them on
//! a campaign-fatal answer, and settling their credits exactly once (`sending::refund`).

use chrono::Utc;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use waplify_shared::db::entities::{campaign, message};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::sending::refund;
use waplify_shared::status::{CampaignStatus, HistorySource, MessageStatus};
use waplify_shared::transition::{self, CampaignMove, Detail, MessageMove, Target};

use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// Pending messages failed per transaction when a campaign stops.
const FAIL_CHUNK: u64 = 5000;

/// Whether any message of the campaign still waits for a send.
pub async fn has_open(db: &Db, campaign_id: &CampaignId) -> Result<bool, DbErr> {
    let open = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .filter(message::Column::Status.is_in([MessageStatus::Pending, MessageStatus::Sending]))
        // A test message in flight does not keep its campaign open.
        .filter(message::is_recipient())
        .limit(1)
        .into_tuple::<MessageId>()
        .one(db)
        .await?;
    Ok(open.is_some())
}

/// Completes a running campaign with nothing left to send, and settles a completed,
/// failed or cancelled one (`sending::refund`). Safe to call any number of times from
/// anywhere. Returns whether the campaign is settled.
pub async fn try_finish(ctx: &Ctx, campaign_id: &CampaignId) -> Result<bool, WorkError> {
    let db = &ctx.db;
    let Some(c) = campaign::Entity::find_by_id(campaign_id.clone())
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    if c.settled_at.is_some() {
        return Ok(true);
    }
    use CampaignStatus::*;
    if !matches!(c.status, Running | Failed | Cancelled) {
        return Ok(false);
    }
    if has_open(db, campaign_id).await? {
        return Ok(false);
    }
    let now = Utc::now();
    let txn = begin_write(db).await?;
    if c.status == Running {
        let mv = CampaignMove::to(campaign_id, Completed)
            .set(campaign::Column::CompletedAt, Expr::value(now));
        if transition::campaign(&txn, mv, now).await?.is_none() {
            // Paused or cancelled a moment ago: that status decides what comes next.
            txn.rollback().await?;
            return Ok(false);
        }
    }
    let refunded = refund::refund(&txn, campaign_id, now).await?;
    txn.commit().await?;
    ctx.specs.forget(campaign_id);
    if let Some(amount) = refunded {
        tracing::info!(%campaign_id, refund = amount, "campaign settled");
    }
    Ok(true)
}

/// Stops a campaign after a campaign-fatal provider answer: the campaign is `failed`
/// with that error and every message not yet sent fails with it.
pub async fn fail_campaign(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    code: Option<i32>,
    message: &str,
) -> Result<(), WorkError> {
    fail_when(ctx, campaign_id, code, message, None).await
}

/// [`fail_campaign`], only while the campaign row also meets `when`.
pub async fn fail_when(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    code: Option<i32>,
    message: &str,
    when: Option<SimpleExpr>,
) -> Result<(), WorkError> {
    let now = Utc::now();
    let mut mv = CampaignMove::to(campaign_id, CampaignStatus::Failed)
        .set(campaign::Column::ErrorCode, Expr::value(code))
        .set(campaign::Column::ErrorMessage, Expr::value(message))
        .detail(message);
    if let Some(condition) = when {
        mv = mv.when(condition);
    }
    let txn = begin_write(&ctx.db).await?;
    let won = transition::campaign(&txn, mv, now).await?.is_some();
    txn.commit().await?;
    ctx.specs.forget(campaign_id);
    if won {
        tracing::warn!(%campaign_id, ?code, "campaign stopped: {message}");
    } else if !is_failed(ctx, campaign_id).await? {
        // Cancelled, or made a draft again, first: its messages are not this call's.
        return Ok(());
    }
    fail_pending(ctx, campaign_id, code, message, HistorySource::Worker).await?;
    try_finish(ctx, campaign_id).await?;
    Ok(())
}

async fn is_failed(ctx: &Ctx, campaign_id: &CampaignId) -> Result<bool, DbErr> {
    let status: Option<CampaignStatus> = campaign::Entity::find_by_id(campaign_id.clone())
        .select_only()
        .column(campaign::Column::Status)
        .into_tuple()
        .one(&ctx.db)
        .await?;
    Ok(status == Some(CampaignStatus::Failed))
}

/// Fails the pending messages of a stopped campaign, a chunk per transaction. `source`
/// is the worker that stopped it, or the reconciler finishing the job later.
pub async fn fail_pending(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    code: Option<i32>,
    message: &str,
    source: HistorySource,
) -> Result<u64, WorkError> {
    let reason = format!("campaign stopped: {message}");
    let mut total = 0;
    loop {
        let now = Utc::now();
        let txn = begin_write(&ctx.db).await?;
        let moved = transition::messages(
            &txn,
            MessageMove {
                campaign_id,
                target: Target::Campaign { limit: FAIL_CHUNK },
                from: MessageStatus::Pending,
                to: MessageStatus::Failed,
                claim: None,
                sets: vec![
                    (message::Column::FailedAt, Expr::value(now)),
                    (message::Column::ErrorCode, Expr::value(code)),
                    (message::Column::ErrorMessage, Expr::value(reason.as_str())),
                ],
                when: Vec::new(),
                detail: Detail::Same(Some(reason.clone())),
                source,
            },
            now,
        )
        .await?;
        txn.commit().await?;
        total += moved.len() as u64;
        if (moved.len() as u64) < FAIL_CHUNK {
            return Ok(total);
        }
    }
}

/// Refunds a settled campaign's failures not refunded yet. A failure reported after
/// settlement is refunded in its callback's transaction; this catches one whose
/// transaction raced the settlement itself. Only callbacks report such failures, so
/// only they call it, not every lane that ends.
pub async fn refund_late(ctx: &Ctx, campaign_id: &CampaignId) -> Result<(), WorkError> {
    let txn = begin_write(&ctx.db).await?;
    let refunded = refund::refund_settled(&txn, campaign_id, Utc::now()).await?;
    txn.commit().await?;
    if let Some(amount) = refunded.filter(|a| *a > 0) {
        tracing::info!(%campaign_id, refund = amount, "late failure refunded");
    }
    Ok(())
}
