//! One webhook attempt: take the delivery's lease, POST the stored body with its
//! signatures, record the attempt, then finish the delivery or schedule its retry.
//!
//! 2xx delivers; 429, 5xx, timeouts and connection errors retry after 1 s, 2 s, 4 s, …
//! up to the endpoint's `retry_count`; any other answer, or a refused target, fails
//! the delivery at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use waplify_shared::jobs::DeliverWebhook;
use waplify_shared::signing::{body_signature, standard_signature};
use waplify_shared::webhooks::state;

use crate::context::Ctx;
use crate::error::WorkError;
use crate::guarded_dns::is_refusal;

/// Longest stored excerpt of an endpoint's answer.
const EXCERPT_BYTES: usize = 256;

pub async fn handle(job: DeliverWebhook, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    if let Err(e) = attempt(&ctx, &job).await {
        // The lease runs out and the reconciler hands the delivery to a new job.
        tracing::warn!(delivery_id = %job.delivery_id, "webhook attempt failed: {e}");
    }
    Ok(())
}

/// What one HTTP attempt came to.
struct Answer {
    http_status: Option<u16>,
    error: Option<String>,
    excerpt: Option<String>,
    took: Duration,
    /// A refused target is final; other transport errors are worth a retry.
    refused: bool,
}

impl Answer {
    fn delivered(&self) -> bool {
        self.http_status.is_some_and(|s| (200..300).contains(&s))
    }

    fn retryable(&self) -> bool {
        match self.http_status {
            Some(s) => s == 429 || s >= 500,
            None => !self.refused,
        }
    }
}

async fn attempt(ctx: &Ctx, job: &DeliverWebhook) -> Result<(), WorkError> {
    let Some(delivery) = webhook_delivery::Entity::find_by_id(job.delivery_id.clone())
        .one(&ctx.db)
        .await?
    else {
        return Ok(());
    };
    if delivery.state != state::PENDING || delivery.job_id.as_deref() != Some(&job.job_id) {
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
    let now = Utc::now();
    let lease = now + chrono::Duration::from_std(timeout + Duration::from_secs(30)).expect("small");
    let taken = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::col(webhook_delivery::Column::Attempts).add(1),
        )
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(lease))
        .filter(webhook_delivery::Column::Id.eq(&delivery.id))
        .filter(webhook_delivery::Column::State.eq(state::PENDING))
        .filter(webhook_delivery::Column::JobId.eq(&job.job_id))
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LeaseUntil.is_null())
                .add(webhook_delivery::Column::LeaseUntil.lt(now)),
        )
        .exec(&ctx.db)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(());
    }
    let number = delivery.attempts + 1;
    let answer = post(ctx, &endpoint, &delivery, timeout).await;
    tracing::debug!(delivery_id = %delivery.id, attempt = number, status = ?answer.http_status, error = ?answer.error, "webhook attempt");

    let at = Utc::now();
    let txn = begin_write(&ctx.db).await?;
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: NotSet,
        delivery_id: Set(delivery.id.clone()),
        attempt: Set(number),
        at: Set(now),
        http_status: Set(answer.http_status.map(i32::from)),
        error: Set(answer.error.clone()),
        duration_ms: Set(answer.took.as_millis().min(i32::MAX as u128) as i32),
        response_excerpt: Set(answer.excerpt.clone()),
    })
    .exec_without_returning(&txn)
    .await?;
    let summary = (answer.http_status.map(i32::from), answer.error.clone());
    let retries_used = number - 1;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LastHttpStatus,
            Expr::value(summary.0),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(summary.1))
        .col_expr(
            webhook_delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    let retry = !answer.delivered() && answer.retryable() && retries_used < endpoint.retry_count;
    if retry {
        let delay = Duration::from_secs(1u64 << retries_used.clamp(0, 20));
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
            state::DELIVERED
        } else {
            state::FAILED
        };
        update = update
            .col_expr(webhook_delivery::Column::State, Expr::value(end))
            .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(at));
    }
    update
        .filter(webhook_delivery::Column::Id.eq(&delivery.id))
        .filter(webhook_delivery::Column::State.eq(state::PENDING))
        .filter(webhook_delivery::Column::JobId.eq(&job.job_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
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

/// Cancels a delivery this job owns whose endpoint was deleted meanwhile.
async fn cancel(ctx: &Ctx, job: &DeliverWebhook) -> Result<(), WorkError> {
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(state::CANCELLED),
        )
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::value(Utc::now()),
        )
        .filter(webhook_delivery::Column::Id.eq(&job.delivery_id))
        .filter(webhook_delivery::Column::State.eq(state::PENDING))
        .filter(webhook_delivery::Column::JobId.eq(&job.job_id))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

async fn post(
    ctx: &Ctx,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
    timeout: Duration,
) -> Answer {
    let started = Instant::now();
    let refused = |why: String| Answer {
        http_status: None,
        error: Some(format!("refused target: {why}")),
        excerpt: None,
        took: started.elapsed(),
        refused: true,
    };
    let url = match url::Url::parse(&endpoint.url) {
        Ok(u) => u,
        Err(e) => return refused(format!("bad url: {e}")),
    };
    if let Err(why) = ctx.cfg.common.webhook_networks.check_url(&url) {
        return refused(why);
    }
    let timestamp = Utc::now().timestamp();
    let body = delivery.payload.as_bytes();
    let mut request = ctx
        .webhooks
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = &endpoint.secret {
        request = request
            .header("X-Webhook-Signature", body_signature(secret, body))
            .header(
                "webhook-signature",
                standard_signature(secret, &delivery.id, timestamp, body),
            );
    }
    match request.body(delivery.payload.clone()).send().await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let mut excerpt = Vec::new();
            while excerpt.len() < EXCERPT_BYTES {
                match tokio::time::timeout(timeout, resp.chunk()).await {
                    Ok(Ok(Some(chunk))) => excerpt.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            excerpt.truncate(EXCERPT_BYTES);
            Answer {
                http_status: Some(status),
                error: None,
                excerpt: (!excerpt.is_empty())
                    .then(|| String::from_utf8_lossy(&excerpt).into_owned()),
                took: started.elapsed(),
                refused: false,
            }
        }
        Err(e) => {
            if let Some(why) = is_refusal(&e) {
                return refused(why);
            }
            let error = if e.is_timeout() {
                format!("timed out after {} s", timeout.as_secs())
            } else if e.is_connect() {
                format!("connection failed: {}", root_cause(&e))
            } else {
                format!("request failed: {}", root_cause(&e))
            };
            Answer {
                http_status: None,
                error: Some(error),
                excerpt: None,
                took: started.elapsed(),
                refused: false,
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
