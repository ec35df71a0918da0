//! A test message (`send_test_message`): one campaign's template, with the message's
//! own body variables, sent to one number through the same provider client, verdicts
//! and records as a recipient's. It has no lane: each attempt is one `SendTest` job.
//!
//! The differences from a recipient, and why: the campaign may be a draft, scheduled
//! or paused, so nothing here looks at its status or window; a campaign-fatal answer
//! fails the test message alone (the campaign has not started, and the test is how
//! its owner finds out); a transient answer pushes the next attempt as a new delayed
//! job, on the same schedule and attempt limit as recipients. The message's moves go
//! through `transition` like any other, which counts nothing for a test message and
//! gives its charge back if it fails.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::message;
use waplify_shared::ids::MessageId;
use waplify_shared::jobs::SendTest;
use waplify_shared::queue::new_task_id;
use waplify_shared::status::MessageStatus;

use super::claim::{Claimed, fresh_token, held_due, lease_end, to_sending};
use super::deliver::given_up_outcome;
use super::record::Outcome;
use super::record_retry::record_retrying;
use super::{spec, throttle};
use crate::error::WorkError;
use crate::runtime::context::Ctx;

pub async fn handle(job: SendTest, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    if let Err(e) = step(&ctx, &job).await {
        tracing::warn!(campaign_id = %job.campaign_id, message_id = %job.message_id, "test send failed, again in 2s: {e}");
        let at = waplify_shared::queue::unix_now() + 2;
        if let Err(e) = ctx.queues.push(job.clone(), new_task_id(), Some(at)).await {
            tracing::warn!("test send re-push failed, the reconciler will pick it up: {e}");
        }
    }
    Ok(())
}

async fn step(ctx: &Ctx, job: &SendTest) -> Result<(), WorkError> {
    let Some(row) = message::Entity::find_by_id(job.message_id.clone())
        .filter(message::is_test())
        .one(&ctx.db)
        .await?
    else {
        return Ok(());
    };
    if row.status != MessageStatus::Pending {
        // Already handled: a duplicate delivery of this job.
        return Ok(());
    }
    let body = row.body_data.as_deref().unwrap_or("{}");
    let keys = &ctx.cfg.common.secrets;
    let Some(spec) = spec::for_test(&ctx.db, keys, &row.campaign_id, body).await? else {
        return Ok(());
    };
    if throttle::take(ctx, &spec, 1, Duration::from_secs(30)).await? == 0 {
        return Err(WorkError::Busy);
    }
    let Some((token, lease_until, claimed)) = claim(ctx, &row.campaign_id, &row.id).await? else {
        return Ok(());
    };
    let outcome = if ctx.policy.exhausted(claimed.attempt) {
        given_up_outcome(claimed)
    } else {
        let call = ctx
            .provider
            .send(
                &spec.sender,
                spec.template.body(&claimed.phone, &claimed.send),
            )
            .await;
        Outcome {
            verdict: ctx.policy.verdict(&call.answer, claimed.attempt),
            message: claimed,
            call,
        }
    };
    // A campaign-fatal answer fails this message only; the record says why.
    let recorded = record_retrying(
        &ctx.db,
        &row.campaign_id,
        (&token, lease_until),
        ctx.cfg.unknown_hold,
        vec![outcome],
    )
    .await?;
    for (message_id, at) in recorded.retries {
        let second = (at.timestamp_millis() as u64).div_ceil(1000);
        let again = SendTest {
            campaign_id: row.campaign_id.clone(),
            message_id,
        };
        if let Err(e) = ctx.queues.push(again, new_task_id(), Some(second)).await {
            tracing::warn!(message_id = %row.id, "test retry push failed, the reconciler will push it: {e}");
        }
    }
    Ok(())
}

/// `pending -> sending` under a fresh claim token, if the message is due (held ones
/// wait for the callback backlog, as a recipient's claim does).
async fn claim(
    ctx: &Ctx,
    campaign_id: &waplify_shared::ids::CampaignId,
    id: &MessageId,
) -> Result<Option<(String, DateTime<Utc>, Claimed)>, WorkError> {
    let now = Utc::now();
    let token = fresh_token(&ctx.cfg.name);
    let lease_until = lease_end(now, ctx.cfg.lease);
    let mut when = vec![message::Column::NextAttemptAt.lte(now + chrono::Duration::seconds(1))];
    if let Some(held) = held_due(&ctx.db).await? {
        when.push(held);
    }
    let txn = begin_write(&ctx.db).await?;
    let detail = format!("test message claimed by {}", ctx.cfg.name);
    let ids = std::slice::from_ref(id);
    let claimed = to_sending(
        &txn,
        campaign_id,
        ids,
        (&token, lease_until),
        when,
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(claimed
        .into_iter()
        .next()
        .map(|claimed| (token, lease_until, claimed)))
}
