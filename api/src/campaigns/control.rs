//! Cancelling, pausing and resuming a campaign. Each is one transition (with its
//! history row and webhook event) in one transaction; what workers do about it they
//! learn when they next claim, since every claim checks the campaign's status in SQL
//! under a share lock of its row (`worker/src/send/claim.rs`). So once these answer,
//! no provider call starts for the campaign on any worker until it is resumed.

use chrono::{DateTime, Utc};
use sea_orm::ColumnTrait;
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::ExprTrait;

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::campaign;
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::jobs::DispatchCampaign;
use waplify_shared::queue::new_task_id;
use waplify_shared::sending::refund;
use waplify_shared::status::CampaignStatus;
use waplify_shared::transition::{self, CampaignMove};

use super::error::CampaignError;
use super::lookup;
use crate::state::AppState;

use CampaignStatus::*;

/// Cancels the campaign: its unsent recipients become `cancelled` and their credits
/// are refunded at once. Calls in flight finish and are recorded.
pub async fn cancel(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
) -> Result<campaign::Model, CampaignError> {
    lookup::campaign(&state.db, account, id).await?;
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let mv = CampaignMove::to(id, Cancelled)
        .set(campaign::Column::CancelledAt, Expr::value(now))
        // A retry still moving its recipients stops; they stay failed, refunded.
        .set(
            campaign::Column::RetryPick,
            Expr::value(Option::<String>::None),
        )
        .detail("cancelled by request");
    if transition::campaign(&txn, mv, now).await?.is_none() {
        txn.rollback().await?;
        return Err(refused(state, account, id, Cancelled.predecessors(), "cancelled").await);
    }
    refund::refund(&txn, id, now).await?;
    txn.commit().await?;
    lookup::campaign(&state.db, account, id).await
}

/// Pauses a queued or running campaign: nothing more is claimed; calls in flight
/// finish, retries that fall due wait. The reservation is kept.
pub async fn pause(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
) -> Result<campaign::Model, CampaignError> {
    lookup::campaign(&state.db, account, id).await?;
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let mv = CampaignMove::to(id, Paused)
        .set(campaign::Column::PausedAt, Expr::value(now))
        .detail("paused by request");
    if transition::campaign(&txn, mv, now).await?.is_none() {
        txn.rollback().await?;
        return Err(refused(state, account, id, Paused.predecessors(), "paused").await);
    }
    txn.commit().await?;
    lookup::campaign(&state.db, account, id).await
}

/// Resumes a paused campaign where it stopped: `running` again, or `queued` if it never
/// started or a retry of it was still moving its recipients (decided under the row
/// lock). A fresh dispatch job, whose id becomes
/// `task_id`, reopens its lanes; lanes of earlier dispatches end at their next claim.
pub async fn resume(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
) -> Result<campaign::Model, CampaignError> {
    lookup::campaign(&state.db, account, id).await?;
    let now = Utc::now();
    let task_id = new_task_id();
    let txn = begin_write(&state.db).await?;
    let mut resumed = false;
    for (to, started) in [(Running, true), (Queued, false)] {
        // A retry paused before its recipients were all moved back goes through
        // dispatch again, which moves the rest before it starts the campaign.
        let had_started = if started {
            campaign::Column::StartedAt
                .is_not_null()
                .and(campaign::Column::RetryPick.is_null())
        } else {
            campaign::Column::StartedAt
                .is_null()
                .or(campaign::Column::RetryPick.is_not_null())
        };
        let mut mv = CampaignMove::to(id, to)
            .from(&[Paused])
            .when(had_started)
            .set(
                campaign::Column::PausedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .set(campaign::Column::TaskId, Expr::value(task_id.to_string()))
            .detail("resumed by request");
        if to == Queued {
            mv = mv.set(campaign::Column::QueuedAt, Expr::value(now));
        }
        if transition::campaign(&txn, mv, now).await?.is_some() {
            resumed = true;
            break;
        }
    }
    if !resumed {
        txn.rollback().await?;
        return Err(refused(state, account, id, &[Paused], "resumed").await);
    }
    txn.commit().await?;
    let job = DispatchCampaign {
        campaign_id: id.clone(),
    };
    if let Err(e) = state.queues.push(job, task_id.clone(), None).await {
        // A queued campaign's job is pushed again by the reconciler; a running one's
        // lanes are reopened by it.
        tracing::warn!(campaign_id = %id, %task_id, "resume push failed, the reconciler will recover: {e}");
    }
    lookup::campaign(&state.db, account, id).await
}

/// The 409 for a campaign whose status (read again, after the failed move) does not
/// allow the operation.
async fn refused(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
    allowed: &'static [CampaignStatus],
    done: &'static str,
) -> CampaignError {
    match lookup::campaign(&state.db, account, id).await {
        Ok(c) => CampaignError::WrongStatus {
            status: c.status,
            allowed,
            done,
        },
        Err(e) => e,
    }
}
