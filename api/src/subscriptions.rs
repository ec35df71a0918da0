//! Webhook endpoints of an account: register (with the target checks), read, delete,
//! and queue a test event.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use url::Url;

use waplify_shared::db::Db;
use waplify_shared::db::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use waplify_shared::ids::{AccountId, WebhookId, new_hex_id};
use waplify_shared::webhooks::fanout::{new_delivery, rfc3339};
use waplify_shared::webhooks::target::AllowedNetworks;
use waplify_shared::webhooks::{EventKind, TEST_EVENT, join_events, split_events, state};

use crate::errors::ApiError;
use crate::listing::page_of;
use crate::views::{Accepted, Success};
use crate::webhook_views::*;

const DEFAULT_RETRY_COUNT: i32 = 3;
const DEFAULT_TIMEOUT_SECONDS: i32 = 5;
/// How long registration waits for DNS before leaving the check to delivery time.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn create(
    db: &Db,
    networks: AllowedNetworks,
    account: &AccountId,
    req: CreateWebhookRequest,
) -> Result<CreateWebhookResponse, ApiError> {
    let url = target_url(networks, req.url.as_str()).await?;
    let events: Vec<EventKind> = match req.events {
        Some(list) => list.into_iter().map(EventKind::from).collect(),
        None => EventKind::ALL.to_vec(),
    };
    let now = Utc::now();
    let row = webhook_endpoint::ActiveModel {
        id: Set(new_hex_id()),
        account_id: Set(account.as_str().to_owned()),
        name: Set(req.name.into_string()),
        url: Set(url.to_string()),
        secret: Set(req.secret.map(|s| s.into_string())),
        events: Set(join_events(&events)),
        retry_count: Set(req.retry_count.unwrap_or(DEFAULT_RETRY_COUNT)),
        timeout_seconds: Set(req.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS)),
        created_at: Set(now),
        deleted_at: Set(None),
    };
    let saved = webhook_endpoint::Entity::insert(row)
        .exec_with_returning(db)
        .await?;
    Ok(CreateWebhookResponse {
        status: Success::Success,
        message: "Webhook created successfully".into(),
        webhook: view(saved),
        timestamp: now,
    })
}

/// Parses the URL (the spec's pattern admits only URLs that parse) and refuses
/// internal targets: by address when the host is one, and
/// by every address the name resolves to now. Delivery checks again on each attempt,
/// since DNS answers change.
async fn target_url(networks: AllowedNetworks, raw: &str) -> Result<Url, ApiError> {
    let url =
        Url::parse(raw).map_err(|e| ApiError::bad_request(format!("Invalid webhook url: {e}")))?;
    // A well-formed URL whose target the policy forbids: 403, not a malformed request.
    let refuse = |why: String| {
        ApiError::new(
            poem::http::StatusCode::FORBIDDEN,
            format!("Webhook url is refused: {why}"),
        )
    };
    networks.check_url(&url).map_err(refuse)?;
    if let Some(url::Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let lookup = tokio::net::lookup_host((name.to_owned(), port));
        if let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            for addr in addrs {
                networks
                    .check_ip(addr.ip())
                    .map_err(|why| refuse(format!("{name} resolves to {why}")))?;
            }
        }
    }
    Ok(url)
}

pub fn view(m: webhook_endpoint::Model) -> Webhook {
    Webhook {
        webhook_id: m.id,
        name: m.name,
        url: m.url,
        events: split_events(&m.events)
            .into_iter()
            .map(WebhookEvent::from)
            .collect(),
        retry_count: m.retry_count,
        timeout_seconds: m.timeout_seconds,
        has_secret: m.secret.is_some(),
        created_at: m.created_at,
    }
}

/// The account's live endpoint with this id; another account's, a deleted or a
/// malformed one is not found.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    raw_id: &str,
) -> Result<webhook_endpoint::Model, ApiError> {
    let id = WebhookId::parse(raw_id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    webhook_endpoint::Entity::find_by_id(id.as_str())
        .filter(webhook_endpoint::Column::AccountId.eq(account.as_str()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook not found"))
}

pub async fn list(
    db: &Db,
    account: &AccountId,
    page: u64,
    limit: u64,
) -> Result<ListWebhooksResponse, ApiError> {
    let query = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::AccountId.eq(account.as_str()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null());
    let query = query
        .order_by_desc(webhook_endpoint::Column::CreatedAt)
        .order_by_desc(webhook_endpoint::Column::Id);
    let (total, rows) = page_of(db, query, page, limit).await?;
    let items = rows.into_iter().map(view).collect();
    Ok(ListWebhooksResponse {
        status: Success::Success,
        items,
        total,
        page,
        limit,
        timestamp: Utc::now(),
    })
}

/// Marks the endpoint deleted and cancels its pending deliveries, in one transaction.
/// The rows stay, so deliveries keep their history.
pub async fn delete(
    db: &Db,
    account: &AccountId,
    raw_id: &str,
) -> Result<DeleteWebhookResponse, ApiError> {
    let txn = waplify_shared::db::begin_write(db).await?;
    let endpoint = find(&txn, account, raw_id).await?;
    let now = Utc::now();
    let gone = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::DeletedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(&endpoint.id))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if gone.rows_affected != 1 {
        return Err(ApiError::not_found("Webhook not found"));
    }
    let cancelled = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(state::CANCELLED),
        )
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
        .filter(webhook_delivery::Column::EndpointId.eq(&endpoint.id))
        .filter(webhook_delivery::Column::State.eq(state::PENDING))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(DeleteWebhookResponse {
        status: Success::Success,
        message: "Webhook deleted".into(),
        webhook_id: endpoint.id,
        cancelled_deliveries: cancelled.rows_affected,
        timestamp: now,
    })
}

/// Stores a signed `webhook.test` delivery; the worker sends it like any other.
pub async fn test(
    db: &Db,
    account: &AccountId,
    raw_id: &str,
) -> Result<TestWebhookResponse, ApiError> {
    let endpoint = find(db, account, raw_id).await?;
    let now = Utc::now();
    let body = json!({
        "event": TEST_EVENT,
        "timestamp": rfc3339(now),
        "webhook_id": endpoint.id,
        "message": "Test event from Waplify Send",
    })
    .to_string();
    let row = new_delivery(&endpoint.id, TEST_EVENT, body, None, now);
    let delivery_id = row.id.clone().unwrap();
    webhook_delivery::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(TestWebhookResponse {
        status: Accepted::Accepted,
        message: "Test event queued".into(),
        webhook_id: endpoint.id,
        delivery_id,
        timestamp: now,
    })
}

pub async fn deliveries(
    db: &Db,
    account: &AccountId,
    raw_id: &str,
    page: u64,
    limit: u64,
    filter: Option<DeliveryState>,
) -> Result<ListDeliveriesResponse, ApiError> {
    let endpoint = find(db, account, raw_id).await?;
    let mut query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(&endpoint.id));
    if let Some(s) = filter {
        query = query.filter(webhook_delivery::Column::State.eq(s.as_str()));
    }
    let query = query
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id);
    let (total, rows) = page_of(db, query, page, limit).await?;
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let mut attempts: HashMap<String, Vec<DeliveryAttempt>> = HashMap::new();
    if !ids.is_empty() {
        for a in webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
            .order_by_asc(webhook_attempt::Column::Attempt)
            .order_by_asc(webhook_attempt::Column::Id)
            .all(db)
            .await?
        {
            attempts
                .entry(a.delivery_id)
                .or_default()
                .push(DeliveryAttempt {
                    attempt: a.attempt,
                    at: a.at,
                    http_status: a.http_status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                    response_excerpt: a.response_excerpt,
                });
        }
    }
    let items = rows
        .into_iter()
        .map(|d| {
            let state = DeliveryState::parse(&d.state);
            WebhookDelivery {
                attempt_log: attempts.remove(&d.id).unwrap_or_default(),
                delivery_id: d.id,
                event: d.event,
                state,
                attempts: d.attempts,
                message_id: d.message_id,
                campaign_id: d.campaign_id,
                created_at: d.created_at,
                next_attempt_at: (state == DeliveryState::Pending).then_some(d.next_attempt_at),
                finished_at: d.finished_at,
                last_http_status: d.last_http_status,
                last_error: d.last_error,
            }
        })
        .collect();
    Ok(ListDeliveriesResponse {
        status: Success::Success,
        webhook_id: endpoint.id,
        items,
        total,
        page,
        limit,
        timestamp: Utc::now(),
    })
}
