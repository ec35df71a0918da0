//! Ending campaigns: completing them when no message is left to send, failing them on
//! a campaign-fatal answer, and settling their credits exactly once.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use waplify_shared::db::entities::{campaign, message};
use waplify_shared::db::transition::{self, Detail, MessageMove, Target};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ledger;
use waplify_shared::status::{CampaignStatus, MessageStatus};

use crate::context::Ctx;
use crate::error::WorkError;

/// Pending messages failed per transaction when a campaign stops.
const FAIL_CHUNK: u64 = 5000;

/// Whether any message of the campaign still waits for a send.
pub async fn has_open(db: &Db, campaign_id: &str) -> Result<bool, sea_orm::DbErr> {
    let open = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CampaignId.eq(campaign_id))
        .filter(message::Column::Status.is_in([
            MessageStatus::Pending.as_str(),
            MessageStatus::Sending.as_str(),
        ]))
        .limit(1)
        .into_tuple::<String>()
        .one(db)
        .await?;
    Ok(open.is_some())
}

/// Completes a running campaign with nothing left to send, and settles a completed or
/// failed one. Safe to call any number of times from anywhere. Returns whether the
/// campaign is settled.
pub async fn try_finish(ctx: &Ctx, campaign_id: &str) -> Result<bool, WorkError> {
    let db = &ctx.db;
    let Some(c) = campaign::Entity::find_by_id(campaign_id).one(db).await? else {
        return Ok(false);
    };
    if c.settled_at.is_some() {
        return Ok(true);
    }
    let status: CampaignStatus = c.status.parse().map_err(sea_orm::DbErr::Custom)?;
    if !matches!(status, CampaignStatus::Running | CampaignStatus::Failed) {
        return Ok(false);
    }
    if has_open(db, campaign_id).await? {
        return Ok(false);
    }
    let now = Utc::now();
    let txn = begin_write(db).await?;
    if status == CampaignStatus::Running {
        transition::campaign(
            &txn,
            campaign_id,
            CampaignStatus::Completed,
            now,
            vec![(campaign::Column::CompletedAt, Expr::value(now))],
        )
        .await?;
    }
    let failed = message::Entity::find()
        .filter(message::Column::CampaignId.eq(campaign_id))
        .filter(message::Column::Status.eq(MessageStatus::Failed.as_str()))
        .count(&txn)
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
        .and_where(campaign::Column::Id.eq(campaign_id))
        .and_where(campaign::Column::SettledAt.is_null());
    let won = txn.execute(&settle).await?.rows_affected() == 1;
    if won && refund > 0 {
        let entry = ledger::Entry {
            account_id: &c.account_id,
            campaign_id: Some(campaign_id),
            kind: ledger::Kind::Refund,
            amount: refund,
            note: Some(format!("{failed} undelivered recipients")),
        };
        ledger::apply(&txn, entry, now).await?;
    }
    txn.commit().await?;
    ctx.forget(campaign_id);
    if won {
        tracing::info!(%campaign_id, failed, refund, "campaign settled");
    }
    Ok(true)
}

/// Stops a campaign after a campaign-fatal provider answer: the campaign is `failed`
/// with that error and every message not yet sent fails with it.
pub async fn fail_campaign(
    ctx: &Ctx,
    campaign_id: &str,
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
    ctx.forget(campaign_id);
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
    campaign_id: &str,
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
                target: Target::Campaign {
                    campaign_id,
                    limit: FAIL_CHUNK,
                },
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
