//! Scheduled campaigns sending themselves. Several times a second every worker looks
//! in SQL for `scheduled` campaigns whose `scheduled_at` has come, and queues each the
//! way `send_campaign` queues a draft (same prechecks, same reservation). The move to
//! `queued` is a guarded update, so with many workers one of them queues it and the
//! others find it moved. A campaign whose prechecks fail at its time becomes `failed`
//! with the reason. SQL is the only record of the schedule: a restart or a Redis wipe
//! loses nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use waplify_shared::db::entities::campaign;
use waplify_shared::jobs::DispatchCampaign;
use waplify_shared::sending::{self, Refused};
use waplify_shared::status::CampaignStatus;

use super::finalize;
use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// How often due campaigns are looked for: a campaign fires well within a second.
const EVERY: Duration = Duration::from_millis(250);
/// Campaigns fired per pass; the rest wait for the next pass.
const BATCH: u64 = 100;

pub async fn run(ctx: Arc<Ctx>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = pass(&ctx).await {
            tracing::warn!("scheduler pass failed: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Fires every scheduled campaign that is due. Returns how many this call queued.
pub async fn pass(ctx: &Ctx) -> Result<usize, WorkError> {
    let due = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Scheduled))
        .filter(campaign::Column::ScheduledAt.lte(ctx.cfg.common.clock.now()))
        .order_by_asc(campaign::Column::ScheduledAt)
        .limit(BATCH)
        .all(&ctx.db)
        .await?;
    let mut queued = 0;
    for c in due {
        if fire(ctx, &c).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues one due campaign, or fails it when its prechecks do not pass.
async fn fire(ctx: &Ctx, c: &campaign::Model) -> Result<bool, WorkError> {
    let outcome =
        sending::queue(&ctx.db, c, ctx.cfg.common.credits_per_message, Utc::now()).await?;
    match outcome {
        Ok(task_id) => {
            let job = DispatchCampaign {
                campaign_id: c.id.clone(),
            };
            if let Err(e) = ctx.queues.push(job, task_id, None).await {
                tracing::warn!(campaign_id = %c.id, "dispatch push failed, the reconciler will push it: {e}");
            }
            tracing::info!(campaign_id = %c.id, "scheduled campaign queued");
            Ok(true)
        }
        Err(Refused::Precheck(reason)) => {
            let message = format!("Campaign cannot be sent: {reason}");
            // Only as it was read: not one made a draft, or moved later, meanwhile.
            let due = c
                .scheduled_at
                .map(|at| campaign::Column::ScheduledAt.eq(at));
            finalize::fail_when(ctx, &c.id, None, &message, due).await?;
            Ok(false)
        }
        Err(Refused::Moved) => Ok(false),
    }
}
