//! Webhook endpoints of an account: register (with the target checks), read, delete,
//! and queue a test event.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use waplify_shared::db::Db;
use waplify_shared::db::entities::{webhook_delivery, webhook_endpoint};
use waplify_shared::ids::{AccountId, WebhookId};
use waplify_shared::secrets::{self, Field, Keyring};
use waplify_shared::webhooks::outbox::{About, new_delivery, rfc3339};
use waplify_shared::webhooks::target::AllowedNetworks;
use waplify_shared::webhooks::{DeliveryState, EventFilter, EventKind};

use super::error::WebhookError;
use super::target::target_url;
use super::views::*;
use crate::http::envelope::{Accepted, Success};
use crate::http::paging::{Limit, Page, page_of};
use crate::http::time::Timestamp;

const DEFAULT_RETRY_COUNT: i32 = 3;
const DEFAULT_TIMEOUT_SECONDS: i32 = 5;

/// Registers an endpoint; its secret is stored encrypted under the current key
/// (`waplify_shared::secrets`), bound to the new row's id.
pub async fn create(
    db: &Db,
    keys: &Keyring,
    networks: AllowedNetworks,
    account: &AccountId,
    req: CreateWebhookRequest,
) -> Result<CreateWebhookResponse, WebhookError> {
    // A stored value with this prefix is read as ciphertext: taken as a secret while no
    // key is set, it would later stop the services from starting.
    if req
        .secret
        .as_ref()
        .is_some_and(|s| s.as_str().starts_with(secrets::PREFIX))
    {
        return Err(WebhookError::Invalid(format!(
            "Webhook secret must not start with `{}`",
            secrets::PREFIX
        )));
    }
    let url = target_url(networks, req.url.as_str()).await?;
    let events = match req.events {
        Some(list) => EventFilter(list.into_iter().map(EventKind::from).collect()),
        None => EventFilter::all(),
    };
    let now = Utc::now();
    let id = WebhookId::generate();
    let secret = req
        .secret
        .map(|s| keys.seal(Field::WebhookSecret, id.as_str(), s.as_str()));
    let row = webhook_endpoint::ActiveModel {
        id: Set(id),
        account_id: Set(account.clone()),
        name: Set(req.name.into_string()),
        url: Set(url.to_string()),
        secret: Set(secret),
        events: Set(events),
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
        timestamp: Timestamp(now),
    })
}

pub fn view(m: webhook_endpoint::Model) -> Webhook {
    Webhook {
        webhook_id: m.id.into_string(),
        name: m.name,
        url: m.url,
        events: m
            .events
            .0
            .into_iter()
            .filter_map(WebhookEvent::of)
            .collect(),
        retry_count: m.retry_count,
        timeout_seconds: m.timeout_seconds,
        has_secret: m.secret.is_some(),
        created_at: Timestamp(m.created_at),
    }
}

/// The account's live endpoint with this id; another account's, or a deleted one,
/// is not found.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    id: &WebhookId,
) -> Result<webhook_endpoint::Model, WebhookError> {
    webhook_endpoint::Entity::find_by_id(id.clone())
        .filter(webhook_endpoint::Column::AccountId.eq(account.clone()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(WebhookError::NotFound)
}

pub async fn list(
    db: &Db,
    account: &AccountId,
    page: Page,
    limit: Limit,
) -> Result<ListWebhooksResponse, WebhookError> {
    let query = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::AccountId.eq(account.clone()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .order_by_desc(webhook_endpoint::Column::CreatedAt)
        .order_by_desc(webhook_endpoint::Column::Id);
    let (total, rows) = page_of(db, query, page, limit).await?;
    Ok(ListWebhooksResponse {
        status: Success::Success,
        items: rows.into_iter().map(view).collect(),
        total,
        page: page.0,
        limit: limit.0,
        timestamp: Timestamp::now(),
    })
}

/// Marks the endpoint deleted and cancels its pending deliveries, in one transaction.
/// The rows stay, so deliveries keep their history.
pub async fn delete(
    db: &Db,
    account: &AccountId,
    id: &WebhookId,
) -> Result<DeleteWebhookResponse, WebhookError> {
    let txn = waplify_shared::db::begin_write(db).await?;
    let endpoint = find(&txn, account, id).await?;
    let now = Utc::now();
    let gone = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::DeletedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id.clone()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if gone.rows_affected != 1 {
        return Err(WebhookError::NotFound);
    }
    let cancelled = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(DeliveryState::Cancelled),
        )
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id.clone()))
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(DeleteWebhookResponse {
        status: Success::Success,
        message: "Webhook deleted".into(),
        webhook_id: endpoint.id.into_string(),
        cancelled_deliveries: cancelled.rows_affected,
        timestamp: Timestamp(now),
    })
}

/// Stores a signed `webhook.test` delivery; the worker sends it like any other.
pub async fn test(
    db: &Db,
    account: &AccountId,
    id: &WebhookId,
) -> Result<TestWebhookResponse, WebhookError> {
    let endpoint = find(db, account, id).await?;
    let now = Utc::now();
    let body = json!({
        "event": EventKind::WebhookTest.as_str(),
        "timestamp": rfc3339(now),
        "webhook_id": endpoint.id,
        "message": "Test event from Waplify Send",
    })
    .to_string();
    let row = new_delivery(
        &endpoint.id,
        EventKind::WebhookTest,
        body,
        About::default(),
        now,
    );
    let delivery_id = row.id.clone().unwrap();
    webhook_delivery::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(TestWebhookResponse {
        status: Accepted::Accepted,
        message: "Test event queued".into(),
        webhook_id: endpoint.id.into_string(),
        delivery_id: delivery_id.into_string(),
        timestamp: Timestamp(now),
    })
}
