//! A scheduled retry of one recipient.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};

use waplify_shared::jobs::RetryMessage;
use waplify_shared::queue::new_task_id;
use waplify_shared::status::CampaignStatus;

use super::{claim, deliver, finalize, throttle};
use crate::error::WorkError;
use crate::runtime::context::Ctx;

pub async fn handle(job: RetryMessage, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    if let Err(e) = step(&ctx, &job).await {
        tracing::warn!(campaign_id = %job.campaign_id, message_id = %job.message_id, "retry failed, again in 2s: {e}");
        let at = waplify_shared::queue::unix_now() + 2;
        if let Err(e) = ctx.queues.push(job.clone(), new_task_id(), Some(at)).await {
            tracing::warn!("retry re-push failed, the reconciler will pick it up: {e}");
        }
    }
    Ok(())
}

async fn step(ctx: &Ctx, job: &RetryMessage) -> Result<(), WorkError> {
    let campaign_id = &job.campaign_id;
    let Some(spec) = ctx
        .specs
        .running(&ctx.db, &ctx.cfg.common.secrets, campaign_id)
        .await?
    else {
        return Ok(());
    };
    if spec.status != CampaignStatus::Running {
        finalize::try_finish(ctx, campaign_id).await?;
        return Ok(());
    }
    if throttle::take(ctx, &spec, 1, Duration::from_secs(30)).await? == 0 {
        return Err(WorkError::Busy);
    }
    let claim = claim::one(
        &ctx.db,
        &ctx.cfg.common.clock,
        &ctx.cfg.name,
        campaign_id,
        &job.message_id,
        ctx.cfg.lease,
    )
    .await?;
    if claim.messages.is_empty() {
        // Already handled: a duplicate delivery of this job, or a lane got there first.
        return Ok(());
    }
    ctx.queues.mark_alive(campaign_id, ctx.cfg.stall).await?;
    deliver::deliver(ctx, &spec, claim).await?;
    finalize::try_finish(ctx, campaign_id).await?;
    Ok(())
}
