//! An endpoint's deliveries, newest first, each with every attempt.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use waplify_shared::db::Db;
use waplify_shared::db::entities::{webhook_attempt, webhook_delivery};
use waplify_shared::ids::{AccountId, DeliveryId, WebhookId};
use waplify_shared::webhooks::DeliveryState as Stored;

use super::endpoints::find;
use super::error::WebhookError;
use super::views::{DeliveryAttempt, DeliveryState, ListDeliveriesResponse, WebhookDelivery};
use crate::http::envelope::Success;
use crate::http::paging::{Limit, Page, page_of};
use crate::http::time::Timestamp;

pub async fn list(
    db: &Db,
    account: &AccountId,
    id: &WebhookId,
    page: Page,
    limit: Limit,
    filter: Option<DeliveryState>,
) -> Result<ListDeliveriesResponse, WebhookError> {
    let endpoint = find(db, account, id).await?;
    let mut query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id.clone()));
    if let Some(s) = filter {
        query = query.filter(webhook_delivery::Column::State.eq(Stored::from(s)));
    }
    let query = query
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id);
    let (total, rows) = page_of(db, query, page, limit).await?;
    let ids: Vec<DeliveryId> = rows.iter().map(|d| d.id.clone()).collect();
    let mut attempts = attempts_of(db, ids).await?;
    let items = rows
        .into_iter()
        .map(|d| WebhookDelivery {
            attempt_log: attempts.remove(&d.id).unwrap_or_default(),
            delivery_id: d.id.into_string(),
            event: d.event.to_string(),
            state: d.state.into(),
            attempts: d.attempts,
            message_id: d.message_id.map(|m| m.into_string()),
            campaign_id: d.campaign_id.map(|c| c.into_string()),
            created_at: Timestamp(d.created_at),
            next_attempt_at: (d.state == Stored::Pending).then_some(Timestamp(d.next_attempt_at)),
            finished_at: d.finished_at.map(Timestamp),
            last_http_status: d.last_http_status,
            last_error: d.last_error,
        })
        .collect();
    Ok(ListDeliveriesResponse {
        status: Success::Success,
        webhook_id: endpoint.id.into_string(),
        items,
        total,
        page: page.0,
        limit: limit.0,
        timestamp: Timestamp::now(),
    })
}

/// Every attempt of these deliveries, first to last.
async fn attempts_of(
    db: &Db,
    ids: Vec<DeliveryId>,
) -> Result<HashMap<DeliveryId, Vec<DeliveryAttempt>>, WebhookError> {
    let mut out: HashMap<DeliveryId, Vec<DeliveryAttempt>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for a in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?
    {
        out.entry(a.delivery_id).or_default().push(DeliveryAttempt {
            attempt: a.attempt,
            at: Timestamp(a.at),
            http_status: a.http_status,
            error: a.error,
            duration_ms: a.duration_ms,
            response_excerpt: a.response_excerpt,
        });
    }
    Ok(out)
}
