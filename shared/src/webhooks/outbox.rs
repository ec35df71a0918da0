//! The webhook outbox: delivery rows written inside the transaction of the transition
//! they announce (see `transition`), so each transition yields exactly one event per
//! subscribed endpoint. The worker's relay queues a `DeliverWebhook` job for each row.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;

use super::{DeliveryState, EventFilter, EventKind};
use crate::db::entities::{campaign, contact, message, webhook_delivery, webhook_endpoint};
use crate::ids::{CampaignId, DeliveryId, MessageId, WebhookId};
use crate::status::MessageStatus;

/// One step of one message, as an event reports it.
#[derive(Clone, Debug)]
pub struct Change {
    pub message_id: MessageId,
    pub from: MessageStatus,
    pub to: MessageStatus,
    /// When the status happened (WhatsApp's time for callbacks).
    pub at: DateTime<Utc>,
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Creates the deliveries for `changes` of one campaign's messages. Returns how many.
/// With no endpoint in the campaign's account this is one indexed query.
pub async fn message_events<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let changes: Vec<(&Change, EventKind)> = changes
        .iter()
        .filter_map(|c| EventKind::for_status(c.to).map(|e| (c, e)))
        .collect();
    if changes.is_empty() {
        return Ok(0);
    }
    let endpoints = subscribers(db, campaign_id).await?;
    let wanted = |event: EventKind| endpoints.iter().any(|(_, f)| f.contains(event));
    if !changes.iter().any(|(_, e)| wanted(*e)) {
        return Ok(0);
    }
    let campaign_name: String = campaign::Entity::find_by_id(campaign_id.clone())
        .select_only()
        .column(campaign::Column::Name)
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    let ids: Vec<MessageId> = changes.iter().map(|(c, _)| c.message_id.clone()).collect();
    let facts = message_facts(db, &ids).await?;

    let mut rows = Vec::new();
    for (change, event) in &changes {
        let Some(fact) = facts.get(&change.message_id) else {
            continue;
        };
        let body = event_body(*event, campaign_id, &campaign_name, change, fact, now);
        for (endpoint_id, filter) in &endpoints {
            if filter.contains(*event) {
                rows.push(new_delivery(
                    endpoint_id,
                    *event,
                    body.clone(),
                    About {
                        campaign: Some(campaign_id),
                        message: Some(&change.message_id),
                    },
                    now,
                ));
            }
        }
    }
    let n = rows.len();
    for chunk in rows.chunks(1000) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(n)
}

/// The live endpoints of the campaign's account, with their filters.
pub(super) async fn subscribers<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
) -> Result<Vec<(WebhookId, EventFilter)>, DbErr> {
    webhook_endpoint::Entity::find()
        .select_only()
        .columns([
            webhook_endpoint::Column::Id,
            webhook_endpoint::Column::Events,
        ])
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .filter(
            webhook_endpoint::Column::AccountId.in_subquery(
                Query::select()
                    .column(campaign::Column::AccountId)
                    .from(campaign::Entity)
                    .and_where(campaign::Column::Id.eq(campaign_id.clone()))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(db)
        .await
}

/// The JSON body of one message event.
fn event_body(
    event: EventKind,
    campaign_id: &CampaignId,
    campaign_name: &str,
    change: &Change,
    fact: &Fact,
    now: DateTime<Utc>,
) -> String {
    let mut msg = json!({
        "message_id": change.message_id,
        "contact_phone": fact.phone,
        "contact_name": fact.name,
        "status": change.to.as_str(),
        "previous_status": change.from.as_str(),
        "status_timestamp": rfc3339(change.at),
    });
    if change.to == MessageStatus::Failed {
        msg["error_message"] = json!(fact.error_message);
        msg["error_code"] = json!(fact.error_code);
    }
    json!({
        "event": event.as_str(),
        "timestamp": rfc3339(now),
        "campaign_id": campaign_id,
        "campaign_name": campaign_name,
        "message": msg,
    })
    .to_string()
}

/// What a delivery is about, for listing deliveries by campaign or message.
#[derive(Clone, Copy, Default)]
pub struct About<'a> {
    pub campaign: Option<&'a CampaignId>,
    pub message: Option<&'a MessageId>,
}

/// A pending delivery of `body` to one endpoint, due now.
pub fn new_delivery(
    endpoint_id: &WebhookId,
    event: EventKind,
    body: String,
    about: About<'_>,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(DeliveryId::generate()),
        endpoint_id: Set(endpoint_id.clone()),
        event: Set(event),
        payload: Set(body),
        state: Set(DeliveryState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        job_id: Set(None),
        lease_until: Set(None),
        last_http_status: Set(None),
        last_error: Set(None),
        message_id: Set(about.message.cloned()),
        campaign_id: Set(about.campaign.cloned()),
        created_at: Set(now),
        finished_at: Set(None),
    }
}

struct Fact {
    phone: String,
    name: Option<String>,
    error_code: Option<i32>,
    error_message: Option<String>,
}

async fn message_facts<C: ConnectionTrait>(
    db: &C,
    ids: &[MessageId],
) -> Result<HashMap<MessageId, Fact>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let mut q = Query::select();
        q.column((message::Entity, message::Column::Id))
            .column((message::Entity, message::Column::Phone))
            .column((contact::Entity, contact::Column::Name))
            .column((message::Entity, message::Column::ErrorCode))
            .column((message::Entity, message::Column::ErrorMessage))
            .from(message::Entity)
            .left_join(
                contact::Entity,
                Expr::col((contact::Entity, contact::Column::Id))
                    .equals((message::Entity, message::Column::ContactId)),
            )
            .and_where(Expr::col((message::Entity, message::Column::Id)).is_in(chunk.to_vec()));
        for row in db.query_all(&q).await? {
            out.insert(
                row.try_get_by_index(0)?,
                Fact {
                    phone: row.try_get_by_index(1)?,
                    name: row.try_get_by_index(2)?,
                    error_code: row.try_get_by_index(3)?,
                    error_message: row.try_get_by_index(4)?,
                },
            );
        }
    }
    Ok(out)
}
