//! One round for a claim: call the provider, judge each answer, record it, then
//! schedule the retries and stop the campaign on a fatal answer.

use std::sync::Arc;

use apalis::prelude::TaskId;
use chrono::{DateTime, Utc};

use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::jobs::RetryMessage;
use waplify_shared::queue::new_task_id;

use crate::claim::Claim;
use crate::context::{Ctx, Spec};
use crate::error::WorkError;
use crate::record::{Outcome, Recorded, record};
use crate::{finalize, send};

pub async fn deliver(ctx: &Ctx, spec: &Arc<Spec>, claim: Claim) -> Result<Recorded, WorkError> {
    let calls = send::all(ctx, spec, claim.messages).await;
    let outcomes: Vec<Outcome> = calls
        .into_iter()
        .map(|(message, call)| Outcome {
            verdict: ctx.policy.verdict(&call.answer, message.attempt),
            message,
            call,
        })
        .collect();
    let recorded = record(&ctx.db, &spec.campaign_id, &claim.token, outcomes).await?;
    schedule_retries(ctx, &spec.campaign_id, &recorded.retries).await;
    if let Some((code, message)) = &recorded.fatal {
        finalize::fail_campaign(ctx, &spec.campaign_id, *code, message).await?;
    }
    Ok(recorded)
}

/// Pushes one delayed job per retried message, each in a second that still has room
/// (see `Queues::retry_slot`). A push that fails is not lost: the message is
/// `pending` in SQL and the reconciler opens a lane for it once it is due.
async fn schedule_retries(ctx: &Ctx, campaign_id: &str, retries: &[(String, DateTime<Utc>)]) {
    for (message_id, at) in retries {
        // Round up: the job must not become due before the message is.
        let wanted = (at.timestamp_millis() as u64).div_ceil(1000);
        let result = async {
            let second = ctx.queues.retry_slot(wanted).await?;
            let job = RetryMessage {
                campaign_id: CampaignId::from_db(campaign_id.to_owned()),
                message_id: MessageId::from_db(message_id.clone()),
            };
            let id: TaskId = new_task_id();
            ctx.queues.push(job, id, Some(second)).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(%campaign_id, %message_id, "retry push failed, the reconciler will pick it up: {e}");
        }
    }
}
