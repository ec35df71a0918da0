//! Ending campaigns: completing them when no message is left to send, failing them on
//! a campaign-fatal answer, and settling their credits exactly once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use waplify_shared::db::entities::{campaign, message};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::ledger;
use waplify_shared::status::{CampaignStatus, MessageStatus};
use waplify_shared::transition::{self, Detail, MessageMove, Target};

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
        .limit(1)
        .into_tuple::<MessageId>()
        .one(db)
        .await?;
    Ok(open.is_some())
}

/// Completes a running campaign with nothing left to send, and settles a completed or
/// failed one. Safe to call any number of times from anywhere. Returns whether the
/// campaign is settled.
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
    if !matches!(c.status, CampaignStatus::Running | CampaignStatus::Failed) {
        return Ok(false);
    }
    if has_open(db, campaign_id).await? {
        return Ok(false);
    }
    let now = Utc::now();
    let txn = begin_write(db).await?;
    if c.status == CampaignStatus::Running {
        transition::campaign(
            &txn,
            campaign_id,
            CampaignStatus::Completed,
            now,
            vec![(campaign::Column::CompletedAt, Expr::value(now))],
        )
        .await?;
    }
    let settled = settle(&txn, &c, now).await?;
    txn.commit().await?;
    ctx.specs.forget(campaign_id);
    if let Some((failed, refund)) = settled {
        tracing::info!(%campaign_id, failed, refund, "campaign settled");
    }
    Ok(true)
}

/// Refunds the failed recipients' credits and marks the campaign settled, unless
/// another caller already did. Returns the failed count and refund when this call won.
async fn settle<C: ConnectionTrait>(
    txn: &C,
    c: &campaign::Model,
    now: DateTime<Utc>,
) -> Result<Option<(i64, i64)>, DbErr> {
    let failed = message::Entity::find()
        .filter(message::Column::CampaignId.eq(c.id.clone()))
        .filter(message::Column::Status.eq(MessageStatus::Failed))
        .count(txn)
        .await? as i64;
    let unit = if c.total_contacts > 0 {
        c.credits_reserved / c.total_contacts
    } else {
        0
    };
    let refund = Ord::min(failed * unit, c.credits_reserved);
    let mut settle = Query::update();
    settle
        .table(campaign::Entity)
        .value(campaign::Column::SettledAt, now)
        .value(campaign::Column::CreditsRefunded, refund)
        .value(
            campaign::Column::CompletedAt,
            Expr::col(campaign::Column::CompletedAt).if_null(now),
        )
        .and_where(campaign::Column::Id.eq(c.id.clone()))
        .and_where(campaign::Column::SettledAt.is_null());
    if txn.execute(&settle).await?.rows_affected() != 1 {
        return Ok(None);
    }
    if refund > 0 {
        let entry = ledger::Entry {
            account_id: &c.account_id,
            campaign_id: Some(&c.id),
            kind: ledger::Kind::Refund,
            amount: refund,
            note: Some(format!("{failed} undelivered recipients")),
        };
        ledger::apply(txn, entry, now).await?;
    }
    Ok(Some((failed, refund)))
}

/// Stops a campaign after a campaign-fatal provider answer: the campaign is `failed`
/// with that error and every message not yet sent fails with it.
pub async fn fail_campaign(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    code: Option<i32>,
    message: &str,
) -> Result<(), WorkError> {
    let now = Utc::now();
    let won = transition::campaign(
        &ctx.db,
        campaign_id,
        CampaignStatus::Failed,
        now,
        vec![
            (campaign::Column::ErrorCode, Expr::value(code)),
            (campaign::Column::ErrorMessage, Expr::value(message)),
        ],
    )
    .await?;
    ctx.specs.forget(campaign_id);
    if won {
        tracing::warn!(%campaign_id, ?code, "campaign stopped: {message}");
    }
    fail_pending(ctx, campaign_id, code, message).await?;
    try_finish(ctx, campaign_id).await?;
    Ok(())
}

/// Fails the pending messages of a stopped campaign, a chunk per transaction.
pub async fn fail_pending(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    code: Option<i32>,
    message: &str,
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
                detail: Detail::Same(Some(reason.clone())),
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
