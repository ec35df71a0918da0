//! One round for a claim: call the provider, judge each answer, record it, schedule the
//! retries, and stop the campaign on a fatal answer.
//!
//! Results are recorded as calls return, not once per batch: a crash between the
//! provider's acceptance and our SQL write is the one way a recipient can get a message
//! twice. Each flush takes every result that arrived meanwhile, so however the calls
//! bunch up, a result waits at most one transaction before it is on record.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::TaskId;
use chrono::{DateTime, Utc};

use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::jobs::RetryMessage;
use waplify_shared::queue::new_task_id;

use super::claim::{Claim, Claimed};
use super::provider::{Answer, Call};
use super::record::{Outcome, Recorded};
use super::record_retry::record_retrying;
use super::spec::Spec;
use super::verdict::Verdict;
use super::{calls, finalize};
use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// How long a result may wait for others to share its transaction.
const FLUSH_WAIT: Duration = Duration::from_millis(2);

/// The totals of one claim's round.
#[derive(Debug, Default)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    pub retried: usize,
    pub fatal: bool,
}

pub async fn deliver(ctx: &Ctx, spec: &Arc<Spec>, claim: Claim) -> Result<Delivered, WorkError> {
    let fence = (claim.token, claim.lease_until);
    let mut total = Delivered::default();
    let mut first_error = None;
    let (given_up, to_call): (Vec<_>, Vec<_>) = claim
        .messages
        .into_iter()
        .partition(|m| ctx.policy.exhausted(m.attempt));
    if !given_up.is_empty() {
        let outcomes = given_up.into_iter().map(given_up_outcome).collect();
        let fence = (fence.0.as_str(), fence.1);
        flush(ctx, spec, fence, outcomes, &mut total, &mut first_error).await;
    }
    let mut results = calls::start(ctx, spec, to_call);
    let mut open = true;
    while open {
        // Wait for one result, then gather whatever else arrives within FLUSH_WAIT (and
        // everything that queued up during the previous flush) into one transaction.
        let Some(first) = results.recv().await else {
            break;
        };
        let mut pending = vec![first];
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, results.recv()).await {
                Ok(Some(result)) => pending.push(result),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        let outcomes = pending
            .into_iter()
            .map(|(message, call)| Outcome {
                verdict: ctx.policy.verdict(&call.answer, message.attempt),
                message,
                call,
            })
            .collect();
        flush(
            ctx,
            spec,
            (&fence.0, fence.1),
            outcomes,
            &mut total,
            &mut first_error,
        )
        .await;
    }
    match first_error {
        // Unrecorded messages stay `sending` until their lease expires; the reconciler
        // then holds them and hands them back.
        Some(e) => Err(e),
        None => Ok(total),
    }
}

/// A message whose last allowed call ended without a known outcome, and which no
/// status callback settled during the hold: failed without another call.
pub(super) fn given_up_outcome(message: Claimed) -> Outcome {
    let text = format!(
        "attempt {}, the last allowed, has none and no status callback settled it",
        message.attempt - 1
    );
    Outcome {
        message,
        call: Call {
            answer: Answer::Unknown {
                http_status: None,
                message: text,
            },
            latency: Duration::ZERO,
        },
        verdict: Verdict::GaveUp,
    }
}

async fn flush(
    ctx: &Ctx,
    spec: &Spec,
    claim: (&str, DateTime<Utc>),
    outcomes: Vec<Outcome>,
    total: &mut Delivered,
    first_error: &mut Option<WorkError>,
) {
    let n = outcomes.len();
    let t = std::time::Instant::now();
    let result = record_retrying(
        &ctx.db,
        &spec.campaign_id,
        claim,
        ctx.cfg.unknown_hold,
        outcomes,
    )
    .await;
    tracing::debug!(n, ms = t.elapsed().as_millis() as u64, "flushed");
    let recorded: Recorded = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(campaign_id = %spec.campaign_id, "recording provider results failed: {e}");
            first_error.get_or_insert(e.into());
            return;
        }
    };
    total.sent += recorded.sent;
    total.failed += recorded.failed;
    total.retried += recorded.retries.len();
    schedule_retries(ctx, &spec.campaign_id, &recorded.retries).await;
    if let Some((code, message)) = &recorded.fatal
        && !total.fatal
    {
        total.fatal = true;
        if let Err(e) = finalize::fail_campaign(ctx, &spec.campaign_id, *code, message).await {
            first_error.get_or_insert(e);
        }
    }
}

/// Pushes one delayed job per retried message, each in a second that still has room
/// (see `Queues::retry_slot`). A push that fails is not lost: the message is
/// `pending` in SQL and the reconciler opens a lane for it once it is due.
async fn schedule_retries(
    ctx: &Ctx,
    campaign_id: &CampaignId,
    retries: &[(MessageId, DateTime<Utc>)],
) {
    for (message_id, at) in retries {
        // Round up: the job must not become due before the message is.
        let wanted = (at.timestamp_millis() as u64).div_ceil(1000);
        let result = async {
            let second = ctx.queues.retry_slot(wanted).await?;
            let job = RetryMessage {
                campaign_id: campaign_id.clone(),
                message_id: message_id.clone(),
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
