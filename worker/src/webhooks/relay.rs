//! The webhook outbox relay: deliveries are rows written in the transaction of the
//! transition they announce; this loop gives each waiting attempt a job. Claiming a
//! row (setting its `job_id`) happens before the push, so two relays never queue one
//! attempt twice; a push that fails releases the row again.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::TaskId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use waplify_shared::db::entities::webhook_delivery;
use waplify_shared::db::sql::case_by;
use waplify_shared::ids::DeliveryId;
use waplify_shared::jobs::{DeliverWebhook, QueueKind};
use waplify_shared::queue::new_task_id;
use waplify_shared::webhooks::DeliveryState;

use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// Rows queued per pass.
const BATCH: u64 = 500;
/// Queue no more while this many webhook jobs wait in Redis: the rows wait in SQL
/// instead, and Redis never holds a flood of due jobs.
const MAX_WAITING: u64 = 5_000;
const EVERY: Duration = Duration::from_millis(250);

pub async fn run(ctx: Arc<Ctx>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let full = match pass(&ctx).await {
            Ok(n) => n as u64 == BATCH,
            Err(e) => {
                tracing::warn!("webhook relay pass failed: {e}");
                false
            }
        };
        if full && !*stop.borrow() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = ctx.wake_relay.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Queues jobs for up to [`BATCH`] waiting attempts. Returns how many.
pub async fn pass(ctx: &Ctx) -> Result<usize, WorkError> {
    if ctx.queues.waiting(QueueKind::Webhook).await? >= MAX_WAITING {
        return Ok(0);
    }
    let waiting: Vec<(DeliveryId, DateTime<Utc>)> = webhook_delivery::Entity::find()
        .select_only()
        .columns([
            webhook_delivery::Column::Id,
            webhook_delivery::Column::NextAttemptAt,
        ])
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
        .filter(webhook_delivery::Column::JobId.is_null())
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(BATCH)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let tokens: Vec<(DeliveryId, TaskId)> = waiting
        .iter()
        .map(|(id, _)| (id.clone(), new_task_id()))
        .collect();
    let claimed = claim(
        &ctx.db,
        tokens
            .iter()
            .map(|(id, t)| (id.clone(), t.to_string()))
            .collect(),
    )
    .await?;
    let due: std::collections::HashMap<&DeliveryId, DateTime<Utc>> =
        waiting.iter().map(|(id, at)| (id, *at)).collect();
    let jobs: Vec<(DeliverWebhook, TaskId, Option<u64>)> = tokens
        .into_iter()
        .filter(|(id, _)| claimed.contains(id))
        .map(|(id, token)| {
            // Due at the start of its second; the handler waits out the rest.
            let at = due[&id].timestamp().max(0) as u64;
            let job = DeliverWebhook {
                delivery_id: id,
                job_id: token.to_string(),
            };
            (job, token, Some(at))
        })
        .collect();
    let n = jobs.len();
    let ids: Vec<(DeliveryId, String)> = jobs
        .iter()
        .map(|(j, _, _)| (j.delivery_id.clone(), j.job_id.clone()))
        .collect();
    if let Err(e) = ctx.queues.push_batch(jobs).await {
        release(&ctx.db, &ids).await?;
        return Err(e.into());
    }
    ctx.wake_webhooks.wake();
    Ok(n)
}

/// Sets each row's `job_id` if it has none; returns the rows this call claimed.
async fn claim<C: ConnectionTrait>(
    db: &C,
    tokens: Vec<(DeliveryId, String)>,
) -> Result<Vec<DeliveryId>, DbErr> {
    let ids: Vec<DeliveryId> = tokens.iter().map(|(id, _)| id.clone()).collect();
    let mut update = Query::update();
    update
        .table(webhook_delivery::Entity)
        .value(
            webhook_delivery::Column::JobId,
            case_by(webhook_delivery::Column::Id, tokens),
        )
        .and_where(webhook_delivery::Column::Id.is_in(ids))
        .and_where(webhook_delivery::Column::JobId.is_null())
        .and_where(webhook_delivery::Column::State.eq(DeliveryState::Pending))
        .returning(Query::returning().column(webhook_delivery::Column::Id));
    db.query_all(&update)
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<DeliveryId>(0))
        .collect()
}

/// Gives claimed rows back after a failed push.
async fn release<C: ConnectionTrait>(db: &C, ids: &[(DeliveryId, String)]) -> Result<(), DbErr> {
    for (id, token) in ids {
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::JobId,
                Expr::value(Option::<String>::None),
            )
            .filter(webhook_delivery::Column::Id.eq(id.clone()))
            .filter(webhook_delivery::Column::JobId.eq(token))
            .exec(db)
            .await?;
    }
    Ok(())
}
