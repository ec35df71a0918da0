//! A send lane: claim the next batch of a running campaign, deliver it, and hand the
//! lane on to a fresh job. The number of lanes, not of recipients, bounds the jobs in
//! Redis, so a million-recipient campaign never floods the queue.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};

use waplify_shared::jobs::SendBatch;
use waplify_shared::queue::new_task_id;
use waplify_shared::status::CampaignStatus;

use super::claim::Halt;
use super::{claim, deliver, dispatch, finalize, throttle};
use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// How long a lane waits for its number's rate budget before re-queueing itself.
const BUDGET_PATIENCE: Duration = Duration::from_secs(5);

pub async fn handle(job: SendBatch, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    let campaign_id = job.campaign_id.clone();
    match step(&ctx, &job).await {
        Ok(Next::Continue) => continue_lane(&ctx, job, None).await,
        Ok(Next::Done) => {}
        Err(e) => {
            tracing::warn!(%campaign_id, "send lane step failed, retrying in 2s: {e}");
            continue_lane(&ctx, job, Some(2)).await;
        }
    }
    Ok(())
}

enum Next {
    Continue,
    Done,
}

async fn step(ctx: &Ctx, job: &SendBatch) -> Result<Next, WorkError> {
    let (campaign_id, probe) = (&job.campaign_id, job.probe);
    let Some(spec) = ctx
        .specs
        .running(&ctx.db, &ctx.cfg.common.secrets, campaign_id)
        .await?
    else {
        return Ok(Next::Done);
    };
    if spec.status != CampaignStatus::Running {
        finalize::try_finish(ctx, campaign_id).await?;
        return Ok(Next::Done);
    }
    if !spec.number_active {
        finalize::fail_campaign(
            ctx,
            campaign_id,
            None,
            "the WhatsApp number was deactivated",
        )
        .await?;
        return Ok(Next::Done);
    }
    ctx.queues.mark_alive(campaign_id, ctx.cfg.stall).await?;
    let want = if probe { 1 } else { ctx.cfg.batch_size };
    let budget = throttle::take(ctx, &spec, want, BUDGET_PATIENCE).await?;
    if budget == 0 {
        // Waiting for budget can go on for long: a lane replaced meanwhile ends here.
        if dispatch::superseded(ctx, campaign_id, job.generation.as_deref()).await? {
            return Ok(Next::Done);
        }
        return Ok(Next::Continue);
    }
    let claim = claim::batch(
        &ctx.db,
        &ctx.cfg.common.clock,
        &ctx.cfg.name,
        campaign_id,
        job.generation.as_deref(),
        budget,
        ctx.cfg.lease,
    )
    .await?;
    let claimed = claim.messages.len() as u64;
    tracing::debug!(%campaign_id, probe, budget, claimed, "claimed");
    if claimed == 0 {
        // Outside its window the lane ends, and the reconciler reopens lanes once it
        // opens; a lane of an earlier dispatch just ends.
        if claim.halted.is_none() || claim.halted == Some(Halt::NotRunning) {
            finalize::try_finish(ctx, campaign_id).await?;
        }
        return Ok(Next::Done);
    }
    let recorded = deliver::deliver(ctx, &spec, claim).await?;
    if recorded.fatal {
        return Ok(Next::Done);
    }
    if probe {
        dispatch::open_lanes(
            ctx,
            campaign_id,
            spec.recipients - 1,
            job.generation.clone(),
        )
        .await?;
        return Ok(Next::Done);
    }
    if claimed < budget {
        finalize::try_finish(ctx, campaign_id).await?;
        return Ok(Next::Done);
    }
    Ok(Next::Continue)
}

/// Pushes the lane's next job (now, or after `delay_secs`) and wakes a local worker.
async fn continue_lane(ctx: &Ctx, job: SendBatch, delay_secs: Option<u64>) {
    let run_at = delay_secs.map(|d| waplify_shared::queue::unix_now() + d);
    match ctx.queues.push(job.clone(), new_task_id(), run_at).await {
        Ok(()) => {
            if run_at.is_none() {
                ctx.wake_send.wake();
            }
        }
        Err(e) => {
            tracing::warn!(campaign_id = %job.campaign_id, "lane push failed, the reconciler will reopen it: {e}")
        }
    }
}
