//! Starting a queued campaign: a requested retry's recipients moved back to `pending`
//! (`sending::retry_moves`), `queued -> running`, then its probe (one message alone),
//! whose success opens the send lanes.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::campaign;
use waplify_shared::ids::CampaignId;
use waplify_shared::jobs::{DispatchCampaign, SendBatch};
use waplify_shared::queue::new_task_id;
use waplify_shared::sending::retry_moves::{self, Step};
use waplify_shared::status::CampaignStatus;
use waplify_shared::transition::{self, CampaignMove};

use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// Seconds before a failed dispatch runs again.
const AGAIN_SECS: u64 = 2;

pub async fn handle(job: DispatchCampaign, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    if let Err(e) = start(&ctx, &job).await {
        // This job ends as done, and Redis keeps a done job's id: pushed again under
        // the stored task id it would be a no-op, leaving the campaign `queued` with
        // its credits reserved. So it goes again under a new id, as lanes do; the run
        // is idempotent (a guarded move, then lanes of the current dispatch).
        tracing::warn!(campaign_id = %job.campaign_id, "dispatch failed, again in {AGAIN_SECS}s: {e}");
        let at = waplify_shared::queue::unix_now() + AGAIN_SECS;
        if let Err(e) = ctx.queues.push(job.clone(), new_task_id(), Some(at)).await {
            tracing::warn!(campaign_id = %job.campaign_id, "dispatch re-push failed, the reconciler will push it: {e}");
        }
    }
    Ok(())
}

async fn start(ctx: &Ctx, job: &DispatchCampaign) -> Result<(), WorkError> {
    let id = &job.campaign_id;
    let Some(c) = campaign::Entity::find_by_id(id.clone())
        .one(&ctx.db)
        .await?
    else {
        tracing::warn!(campaign_id = %id, "dispatch for an unknown campaign");
        return Ok(());
    };
    // Alive before running: the reconciler must not take a campaign that is being
    // started for one whose lanes died.
    ctx.queues.mark_alive(id, ctx.cfg.stall).await?;
    let epoch = match c.status {
        CampaignStatus::Queued => {
            if !retry_moved(ctx, id).await? {
                return Ok(()); // paused or cancelled meanwhile
            }
            let now = Utc::now();
            let epoch = ulid::Ulid::generate().to_string();
            let txn = begin_write(&ctx.db).await?;
            let mv = CampaignMove::to(id, CampaignStatus::Running)
                .from(&[CampaignStatus::Queued])
                // The first start is kept: a retry of failed recipients starts again.
                .set(
                    campaign::Column::StartedAt,
                    sea_orm::sea_query::ExprTrait::if_null(
                        Expr::col(campaign::Column::StartedAt),
                        now,
                    ),
                )
                .set(campaign::Column::LaneEpoch, Expr::value(epoch.clone()))
                .set(
                    campaign::Column::RetryPick,
                    Expr::value(Option::<String>::None),
                );
            let won = transition::campaign(&txn, mv, now).await?.is_some();
            txn.commit().await?;
            if !won {
                // Paused or cancelled before it started.
                return Ok(());
            }
            epoch
        }
        // A repeated dispatch (after a crash) or a resume reopens lanes; claims keep
        // sends single.
        CampaignStatus::Running => match new_epoch(ctx, id).await? {
            Some(epoch) => epoch,
            None => return Ok(()), // paused or cancelled meanwhile
        },
        _ => return Ok(()),
    };
    ctx.specs.forget(id);
    open_probe(ctx, id, epoch).await?;
    tracing::info!(campaign_id = %id, recipients = c.total_contacts, "campaign running");
    Ok(())
}

/// Moves a requested retry's recipients back to `pending`, a chunk per transaction.
/// `false` when the campaign stopped being `queued` meanwhile.
async fn retry_moved(ctx: &Ctx, id: &CampaignId) -> Result<bool, WorkError> {
    let (mut moved, mut after) = (0, None);
    loop {
        match retry_moves::next_chunk(&ctx.db, id, after.as_ref(), Utc::now()).await? {
            Step::Moved { moved: n, last } => {
                moved += n;
                after = Some(last);
            }
            Step::Done => break,
            Step::Stopped => return Ok(false),
        }
    }
    if moved > 0 {
        tracing::info!(campaign_id = %id, moved, "failed recipients back to pending for a retry");
    }
    Ok(true)
}

/// Pushes the probe of a lane generation: one message alone, whose success opens the
/// lanes. Used by dispatch and by the reconciler, so a campaign never gets full lanes
/// before one message of this generation went through.
pub async fn open_probe(ctx: &Ctx, id: &CampaignId, epoch: String) -> Result<(), WorkError> {
    ctx.queues.mark_alive(id, ctx.cfg.stall).await?;
    let probe = SendBatch {
        campaign_id: id.clone(),
        probe: true,
        generation: Some(epoch),
    };
    ctx.queues.push(probe, new_task_id(), None).await?;
    ctx.wake_send.wake();
    Ok(())
}

/// Starts a new generation of send lanes for a running campaign and returns its id:
/// lanes of earlier generations end at their next step, so however often lanes are
/// opened (dispatch, resume, the reconciler in any process), at most one set runs.
/// `None` when the campaign is not running.
pub async fn new_epoch(ctx: &Ctx, id: &CampaignId) -> Result<Option<String>, WorkError> {
    let epoch = ulid::Ulid::generate().to_string();
    let set = campaign::Entity::update_many()
        .col_expr(campaign::Column::LaneEpoch, Expr::value(epoch.clone()))
        .filter(campaign::Column::Id.eq(id.clone()))
        .filter(campaign::Column::Status.eq(CampaignStatus::Running))
        .exec(&ctx.db)
        .await?;
    Ok((set.rows_affected == 1).then_some(epoch))
}

/// Whether a lane of `generation` has been replaced by a newer set.
pub async fn superseded(
    ctx: &Ctx,
    id: &CampaignId,
    generation: Option<&str>,
) -> Result<bool, WorkError> {
    let Some(generation) = generation else {
        return Ok(false);
    };
    let epoch: Option<Option<String>> = campaign::Entity::find_by_id(id.clone())
        .select_only()
        .column(campaign::Column::LaneEpoch)
        .into_tuple()
        .one(&ctx.db)
        .await?;
    Ok(epoch.flatten().as_deref() != Some(generation))
}

/// Pushes the campaign's send lanes: as many as configured, no more than its batches.
pub async fn open_lanes(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    recipients: i64,
    generation: Option<String>,
) -> Result<(), WorkError> {
    let batches = (recipients.max(1) as u64).div_ceil(ctx.cfg.batch_size);
    let lanes = batches.min(ctx.cfg.lanes as u64).max(1) as usize;
    ctx.queues.mark_alive(campaign_id, ctx.cfg.stall).await?;
    let lane = SendBatch {
        campaign_id: campaign_id.clone(),
        probe: false,
        generation,
    };
    ctx.queues.push_many(vec![lane; lanes]).await?;
    ctx.wake_send.wake();
    Ok(())
}
