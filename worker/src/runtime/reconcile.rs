//! The reconciler: SQL is the truth, Redis only holds work to do. Every few seconds it
//! finds work SQL says is owed but no job carries, and queues it again:
//! - `queued` campaigns get their dispatch job pushed again under the stored task id
//!   (a no-op if Redis still has it);
//! - `sending` messages whose lease ran out go back to `pending`;
//! - running campaigns with due messages and no recent lane activity get their lanes
//!   reopened (inside their sending window, which is how a window's opening restarts them);
//! - failed campaigns get their pending messages failed, cancelled ones cancelled (a
//!   call in flight at the cancel may hand its message back), and finished ones settled;
//! - paused campaigns only get their expired leases back;
//! - stored WhatsApp callbacks not applied after 10 s get their job pushed again (one
//!   job per callback per minute at most, under ids made from the callback's);
//! - webhook deliveries whose job vanished (or whose attempt died) are handed back to
//!   the relay;
//! - test messages get their expired leases back and lost jobs pushed (`test_sends`).
//!
//! Every action is a guarded update or an idempotent push, so any number of workers
//! may reconcile at once.

use std::sync::Arc;

use apalis::prelude::TaskId;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::{campaign, message, webhook_delivery, whatsapp_callback};
use waplify_shared::ids::{CallbackId, CampaignId, MessageId};
use waplify_shared::jobs::{ApplyCallback, DispatchCampaign, QueueKind};
use waplify_shared::status::{CampaignStatus, HistorySource, MessageStatus};
use waplify_shared::transition;
use waplify_shared::webhooks::DeliveryState;

use super::context::Ctx;
use super::{leases, test_sends};
use crate::error::WorkError;
use crate::send::dispatch::{new_epoch, open_probe};
use crate::send::finalize;

/// A queued campaign gets this long for its dispatch job to run before it is re-pushed.
const QUEUED_GRACE: chrono::Duration = chrono::Duration::seconds(3);

/// What one pass did, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub dispatches_pushed: usize,
    pub leases_expired: usize,
    pub lanes_reopened: usize,
    pub settled: usize,
    pub callbacks_pushed: usize,
    pub deliveries_released: usize,
    /// Test messages handed back after their lease, and their jobs pushed again.
    pub tests_requeued: usize,
}

pub async fn run(ctx: Arc<Ctx>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match pass(&ctx).await {
            Ok(p) if p != Pass::default() => tracing::info!(?p, "reconciled"),
            Ok(_) => {}
            Err(e) => tracing::warn!("reconcile pass failed: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.cfg.reconcile_every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One pass. Each part, and each campaign, stands alone: an error is logged and the
/// pass goes on, so one bad campaign never holds back the others' leases or
/// settlement. Fails only when the list of campaigns cannot be read.
pub async fn pass(ctx: &Ctx) -> Result<Pass, WorkError> {
    let logged = |what: &str, r: Result<usize, WorkError>| {
        r.unwrap_or_else(|e| {
            tracing::warn!("reconcile: {what} failed: {e}");
            0
        })
    };
    let mut out = Pass {
        dispatches_pushed: logged("queued dispatches", queued_dispatches(ctx).await),
        callbacks_pushed: logged("unapplied callbacks", unapplied_callbacks(ctx).await),
        deliveries_released: logged("orphaned deliveries", orphaned_deliveries(ctx).await),
        tests_requeued: logged(
            "test messages",
            test_sends::reconcile(ctx).await.map(|(a, b)| a + b),
        ),
        ..Pass::default()
    };
    let active = campaign::Entity::find()
        .filter(
            Condition::any()
                .add(
                    campaign::Column::Status
                        .is_in([CampaignStatus::Running, CampaignStatus::Paused]),
                )
                .add(
                    Condition::all()
                        .add(
                            campaign::Column::Status
                                .is_in([CampaignStatus::Failed, CampaignStatus::Cancelled]),
                        )
                        .add(campaign::Column::SettledAt.is_null()),
                ),
        )
        .all(&ctx.db)
        .await?;
    for c in active {
        if let Err(e) = one_campaign(ctx, &c, &mut out).await {
            tracing::warn!(campaign_id = %c.id, "reconcile: campaign failed: {e}");
        }
    }
    Ok(out)
}

/// What a pass does for one running, paused, failed or cancelled campaign.
async fn one_campaign(ctx: &Ctx, c: &campaign::Model, out: &mut Pass) -> Result<(), WorkError> {
    out.leases_expired += leases::expire(ctx, &c.id).await?;
    match c.status {
        CampaignStatus::Paused => return Ok(()),
        CampaignStatus::Failed => {
            let code = c.error_code;
            let reason = c
                .error_message
                .clone()
                .unwrap_or_else(|| "campaign failed".into());
            finalize::fail_pending(ctx, &c.id, code, &reason, HistorySource::Reconciler).await?;
        }
        CampaignStatus::Cancelled => {
            // What the cancel left past its own transaction's share, and messages
            // handed back by a call in flight at the cancel: a chunk per transaction,
            // at most as many per pass as the cancel did, so the pass goes on to
            // other campaigns; the next pass takes the rest.
            let mut left = transition::CANCEL_AT_ONCE;
            while left > 0 {
                let txn = begin_write(&ctx.db).await?;
                let moved = transition::cancel_unsent(
                    &txn,
                    &c.id,
                    HistorySource::Reconciler,
                    transition::CANCEL_CHUNK,
                    Utc::now(),
                )
                .await?;
                txn.commit().await?;
                if moved < transition::CANCEL_CHUNK {
                    break;
                }
                left -= moved;
            }
        }
        _ => {
            let open = c
                .send_window
                .as_ref()
                .is_none_or(|w| w.contains(ctx.cfg.common.clock.now()));
            if open && has_due(ctx, &c.id).await? && !ctx.queues.is_alive(&c.id).await? {
                // A new generation (lanes still queued or waiting for budget end, so
                // reopening never adds to them), through its probe: a campaign gone
                // fatal meanwhile costs one call, not a batch per lane.
                if let Some(epoch) = new_epoch(ctx, &c.id).await? {
                    open_probe(ctx, &c.id, epoch).await?;
                    out.lanes_reopened += 1;
                }
                return Ok(());
            }
        }
    }
    if finalize::try_finish(ctx, &c.id).await? {
        out.settled += 1;
    }
    Ok(())
}

/// Re-pushes the dispatch job of every campaign queued a while ago, under its stored
/// task id (a no-op while Redis still holds the job).
async fn queued_dispatches(ctx: &Ctx) -> Result<usize, WorkError> {
    let queued = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Queued))
        .filter(campaign::Column::QueuedAt.lt(Utc::now() - QUEUED_GRACE))
        .all(&ctx.db)
        .await?;
    let mut pushed = 0;
    for c in queued {
        let Some(task_id) = c.task_id.as_deref().and_then(|t| t.parse::<TaskId>().ok()) else {
            continue;
        };
        let job = DispatchCampaign { campaign_id: c.id };
        ctx.queues.push(job, task_id, None).await?;
        pushed += 1;
    }
    Ok(pushed)
}

/// A callback is normally applied within milliseconds of arriving.
const CALLBACK_GRACE: chrono::Duration = chrono::Duration::seconds(10);
/// How often an unapplied callback may get one more job.
const CALLBACK_ROUND: chrono::Duration = chrono::Duration::seconds(60);
/// A queued attempt waits at most this long for a worker before it is queued anew...
const DELIVERY_GRACE: chrono::Duration = chrono::Duration::seconds(120);
/// ...or this long when the webhook queue has no job waiting at all: its job is gone
/// (Redis lost it), not stuck behind a backlog.
const DELIVERY_GRACE_IDLE: chrono::Duration = chrono::Duration::seconds(10);

/// Queues unapplied callbacks again, each under a task id made from the callback id
/// and the round of `CALLBACK_ROUND` since its grace: within a round a push is a no-op
/// while Redis holds that job, so a backlog gets at most one more job per callback per
/// round, however many passes and workers look. A job Redis lost is pushed again at
/// once; one that ran and failed, in the next round; a callback given up
/// (`callbacks::dead_letter`), never.
async fn unapplied_callbacks(ctx: &Ctx) -> Result<usize, WorkError> {
    let now = Utc::now();
    let rows: Vec<(CallbackId, chrono::DateTime<Utc>)> = whatsapp_callback::Entity::find()
        .select_only()
        .column(whatsapp_callback::Column::Id)
        .column(whatsapp_callback::Column::ReceivedAt)
        .filter(whatsapp_callback::Column::ProcessedAt.is_null())
        .filter(whatsapp_callback::Column::DeadAt.is_null())
        .filter(whatsapp_callback::Column::ReceivedAt.lt(now - CALLBACK_GRACE))
        .order_by_asc(whatsapp_callback::Column::ReceivedAt)
        .limit(500)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let n = rows.len();
    if n > 0 {
        let jobs = rows
            .into_iter()
            .map(|(callback_id, received_at)| {
                let waited = now - received_at - CALLBACK_GRACE;
                let round = (waited.num_seconds() / CALLBACK_ROUND.num_seconds()).max(0);
                let id = callback_task_id(&callback_id, round as u32);
                (ApplyCallback { callback_id }, id, None)
            })
            .collect();
        ctx.queues.push_batch(jobs).await?;
    }
    Ok(n)
}

/// The 96 bits of the callback id, then the round.
fn callback_task_id(id: &CallbackId, round: u32) -> TaskId {
    let bits = u128::from_str_radix(id.as_str(), 16).unwrap_or_default();
    TaskId::from_ulid(ulid::Ulid::from((bits << 32) | u128::from(round)))
}

/// Pending deliveries whose attempt's lease ran out, or whose job never ran, lose
/// their job token; the relay queues a fresh job, and the old one, should it still
/// run, finds the token changed and does nothing.
async fn orphaned_deliveries(ctx: &Ctx) -> Result<usize, WorkError> {
    let now = Utc::now();
    let grace = match ctx.queues.waiting(QueueKind::Webhook).await? {
        0 => DELIVERY_GRACE_IDLE,
        _ => DELIVERY_GRACE,
    };
    let released = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::JobId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
        .filter(webhook_delivery::Column::JobId.is_not_null())
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LeaseUntil.lt(now))
                .add(
                    Condition::all()
                        .add(webhook_delivery::Column::LeaseUntil.is_null())
                        .add(webhook_delivery::Column::NextAttemptAt.lt(now - grace)),
                ),
        )
        .exec(&ctx.db)
        .await?;
    Ok(released.rows_affected as usize)
}

async fn has_due(ctx: &Ctx, campaign_id: &CampaignId) -> Result<bool, WorkError> {
    let mut due = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .filter(message::Column::Status.eq(MessageStatus::Pending))
        .filter(message::Column::NextAttemptAt.lte(Utc::now()))
        .filter(message::is_recipient());
    // Due as a claim sees it: held messages wait for the callback backlog.
    if let Some(held) = crate::send::claim::held_due(&ctx.db).await? {
        due = due.filter(held);
    }
    let due = due.limit(1).into_tuple::<MessageId>().one(&ctx.db).await?;
    Ok(due.is_some())
}
