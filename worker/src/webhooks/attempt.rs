//! One webhook attempt: take the delivery's lease, POST the stored body with its
//! signatures (`post`), record the attempt, then finish the delivery or schedule its
//! retry.
//!
//! 2xx delivers; 429, 5xx, timeouts and connection errors retry after 1 s, 2 s, 4 s, …
//! up to the endpoint's `retry_count`; any other answer, or a refused target, fails
//! the delivery at once.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    UpdateMany,
};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use waplify_shared::jobs::DeliverWebhook;
use waplify_shared::secrets::Field;
use waplify_shared::webhooks::DeliveryState;

use super::post::{Answer, post};
use crate::backoff::Backoff;
use crate::error::WorkError;
use crate::runtime::context::Ctx;

/// Retry `n` (from 0) waits `1 s × 2^n`.
const RETRY_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    max: Duration::from_secs(1 << 20),
    jitter: 0.0,
};

pub async fn handle(job: DeliverWebhook, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    if let Err(e) = attempt(&ctx, &job).await {
        // The lease runs out and the reconciler hands the delivery to a new job.
        tracing::warn!(delivery_id = %job.delivery_id, "webhook attempt failed: {e}");
    }
    Ok(())
}

async fn attempt(ctx: &Ctx, job: &DeliverWebhook) -> Result<(), WorkError> {
    let Some(delivery) = webhook_delivery::Entity::find_by_id(job.delivery_id.clone())
        .one(&ctx.db)
        .await?
    else {
        return Ok(());
    };
    if delivery.state != DeliveryState::Pending || delivery.job_id.as_deref() != Some(&job.job_id) {
        // A stale or duplicated job: another one owns this delivery now, or it is done.
        return Ok(());
    }
    let endpoint = webhook_endpoint::Entity::find_by_id(delivery.endpoint_id.clone())
        .one(&ctx.db)
        .await?;
    let Some(endpoint) = endpoint.filter(|e| e.deleted_at.is_none()) else {
        cancel(ctx, job).await?;
        return Ok(());
    };
    // The job may arrive up to a second early (queue times are whole seconds).
    let early = (delivery.next_attempt_at - Utc::now())
        .to_std()
        .unwrap_or_default();
    if !early.is_zero() {
        tokio::time::sleep(early.min(Duration::from_secs(2))).await;
    }
    let timeout = Duration::from_secs(endpoint.timeout_seconds.clamp(1, 60) as u64);
    // An unreadable secret fails before the lease: nothing is sent unsigned or counted.
    let secret = endpoint
        .secret
        .as_deref()
        .map(|s| {
            let keys = &ctx.cfg.common.secrets;
            keys.open(Field::WebhookSecret, endpoint.id.as_str(), s)
        })
        .transpose()?;
    let started = Utc::now();
    if !take_lease(ctx, job, started, timeout).await? {
        return Ok(());
    }
    let number = delivery.attempts + 1;
    let answer = post(ctx, &endpoint, secret.as_ref(), &delivery, timeout).await;
    tracing::debug!(delivery_id = %delivery.id, attempt = number, status = ?answer.http_status, error = ?answer.error, "webhook attempt");
    let retry = !answer.delivered() && answer.retryable() && number - 1 < endpoint.retry_count;
    record(ctx, job, number, started, &answer, retry).await?;
    let outcome = if answer.delivered() {
        "delivered"
    } else if retry {
        "retry"
    } else {
        "failed"
    };
    ctx.metrics.webhook_attempt(outcome, answer.took);
    if retry {
        ctx.wake_relay.notify_one();
    }
    Ok(())
}

/// The delivery rows this job still owns: pending, and holding its token.
fn owned(
    update: UpdateMany<webhook_delivery::Entity>,
    job: &DeliverWebhook,
) -> UpdateMany<webhook_delivery::Entity> {
    update
        .filter(webhook_delivery::Column::Id.eq(job.delivery_id.clone()))
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
        .filter(webhook_delivery::Column::JobId.eq(&job.job_id))
}

/// Counts the attempt and leases the delivery for it. Returns whether this job won.
async fn take_lease(
    ctx: &Ctx,
    job: &DeliverWebhook,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Result<bool, WorkError> {
    let lease = now + chrono::Duration::from_std(timeout + Duration::from_secs(30)).expect("small");
    let update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::col(webhook_delivery::Column::Attempts).add(1),
        )
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(lease));
    let taken = owned(update, job)
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LeaseUntil.is_null())
                .add(webhook_delivery::Column::LeaseUntil.lt(now)),
        )
        .exec(&ctx.db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Stores the attempt and finishes the delivery, or hands it back for its retry.
async fn record(
    ctx: &Ctx,
    job: &DeliverWebhook,
    number: i32,
    started: DateTime<Utc>,
    answer: &Answer,
    retry: bool,
) -> Result<(), WorkError> {
    let at = Utc::now();
    let txn = begin_write(&ctx.db).await?;
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: NotSet,
        delivery_id: Set(job.delivery_id.clone()),
        attempt: Set(number),
        at: Set(started),
        http_status: Set(answer.http_status.map(i32::from)),
        error: Set(answer.error.clone()),
        duration_ms: Set(answer.took.as_millis().min(i32::MAX as u128) as i32),
        response_excerpt: Set(answer.excerpt.clone()),
    })
    .exec_without_returning(&txn)
    .await?;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LastHttpStatus,
            Expr::value(answer.http_status.map(i32::from)),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::value(answer.error.clone()),
        )
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    if retry {
        let delay = RETRY_BACKOFF.delay(u32::try_from(number - 1).unwrap_or(0));
        update = update
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(at + chrono::Duration::from_std(delay).expect("small")),
            )
            .col_expr(
                webhook_delivery::Column::JobId,
                Expr::value(Option::<String>::None),
            );
    } else {
        let end = if answer.delivered() {
            DeliveryState::Delivered
        } else {
            DeliveryState::Failed
        };
        update = update
            .col_expr(webhook_delivery::Column::State, Expr::value(end))
            .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(at));
    }
    owned(update, job).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Cancels a delivery this job owns whose endpoint was deleted meanwhile.
async fn cancel(ctx: &Ctx, job: &DeliverWebhook) -> Result<(), WorkError> {
    let update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(DeliveryState::Cancelled),
        )
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::value(Utc::now()),
        );
    owned(update, job).exec(&ctx.db).await?;
    Ok(())
}
