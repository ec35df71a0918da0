//! Outbox rows for a campaign's own transitions (`campaign.started`, `.paused`, …),
//! written in the transaction of the transition, like message events.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde_json::json;

use super::EventKind;
use super::outbox::{About, new_delivery, rfc3339, subscribers};
use crate::db::counts::Funnel;
use crate::db::entities::{campaign, webhook_delivery};
use crate::ids::CampaignId;
use crate::status::CampaignStatus;

/// Creates one delivery of `event` per endpoint that chose it. Returns how many.
pub async fn campaign_event<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    event: EventKind,
    from: CampaignStatus,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let endpoints: Vec<_> = subscribers(db, campaign_id)
        .await?
        .into_iter()
        .filter(|(_, filter)| filter.contains(event))
        .collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let Some(c) = campaign::Entity::find_by_id(campaign_id.clone())
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let counts = Funnel::read(db, campaign_id).await?;
    let body = body(event, &c, from, counts, now);
    let rows: Vec<_> = endpoints
        .iter()
        .map(|(endpoint_id, _)| {
            let about = About {
                campaign: Some(campaign_id),
                message: None,
            };
            new_delivery(endpoint_id, event, body.clone(), about, now)
        })
        .collect();
    let n = rows.len();
    webhook_delivery::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(n)
}

fn body(
    event: EventKind,
    c: &campaign::Model,
    from: CampaignStatus,
    counts: Funnel,
    now: DateTime<Utc>,
) -> String {
    let mut campaign = json!({
        "campaign_id": c.id,
        "name": c.name,
        "status": c.status.as_str(),
        "previous_status": from.as_str(),
        "total_contacts": c.total_contacts,
        "counts": counts,
    });
    if c.status == CampaignStatus::Failed {
        campaign["failure_reason"] = json!(c.error_message);
    }
    json!({
        "event": event.as_str(),
        "timestamp": rfc3339(now),
        "campaign_id": c.id,
        "campaign_name": c.name,
        "campaign": campaign,
    })
    .to_string()
}
