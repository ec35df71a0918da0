//! Reading campaigns back: one, or a page of them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use waplify_shared::db::Db;
use waplify_shared::db::entities::{campaign, template};
use waplify_shared::ids::{AccountId, TemplateId};
use waplify_shared::status::CampaignStatus;

use super::error::CampaignError;
use super::lifecycle_views::SendWindowView;
use super::views::{Campaign, CampaignState, ListCampaignsResponse};
use crate::http::envelope::Success;
use crate::http::paging::{Limit, Page, page_of};
use crate::http::time::Timestamp;

/// One campaign as `get_campaign` shows it at `now` (the clock windows are read on).
pub async fn view(
    db: &Db,
    now: DateTime<Utc>,
    c: campaign::Model,
) -> Result<Campaign, CampaignError> {
    let names = template_names(db, std::slice::from_ref(&c.template_id)).await?;
    to_view(c, &names, now)
}

pub async fn list(
    db: &Db,
    now: DateTime<Utc>,
    account: &AccountId,
    page: Page,
    limit: Limit,
    status: Option<CampaignState>,
) -> Result<ListCampaignsResponse, CampaignError> {
    let mut query =
        campaign::Entity::find().filter(campaign::Column::AccountId.eq(account.clone()));
    if let Some(s) = status {
        query = query.filter(campaign::Column::Status.eq(CampaignStatus::from(s)));
    }
    let query = query
        .order_by_desc(campaign::Column::CreatedAt)
        .order_by_desc(campaign::Column::Id);
    let (total, rows) = page_of(db, query, page, limit).await?;
    let ids: Vec<TemplateId> = rows.iter().map(|c| c.template_id.clone()).collect();
    let names = template_names(db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|c| to_view(c, &names, now))
        .collect::<Result<_, _>>()?;
    Ok(ListCampaignsResponse {
        status: Success::Success,
        items,
        total,
        page: page.0,
        limit: limit.0,
        timestamp: Timestamp::now(),
    })
}

async fn template_names(db: &Db, ids: &[TemplateId]) -> Result<HashMap<TemplateId, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(template::Entity::find()
        .filter(template::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect())
}

/// What a failed campaign says about why; nothing for any other status.
pub fn failure_reason(c: &campaign::Model) -> Option<String> {
    (c.status == CampaignStatus::Failed)
        .then(|| c.error_message.clone())
        .flatten()
}

/// When a queued or running campaign outside its sending window may send again;
/// `None` when it may send now (or is not sending at all).
pub fn window_wait(c: &campaign::Model, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !matches!(c.status, CampaignStatus::Queued | CampaignStatus::Running) {
        return None;
    }
    let window = c.send_window.as_ref()?;
    if window.contains(now) {
        return None;
    }
    window.next_open(now)
}

fn to_view(
    c: campaign::Model,
    names: &HashMap<TemplateId, String>,
    now: DateTime<Utc>,
) -> Result<Campaign, CampaignError> {
    let failure_reason = failure_reason(&c);
    let next_window_at = window_wait(&c, now);
    let corrupt =
        |e: serde_json::Error| CampaignError::Unexpected(format!("stored variables: {e}"));
    Ok(Campaign {
        template_name: names.get(&c.template_id).cloned().unwrap_or_default(),
        campaign_id: c.id.into_string(),
        name: c.name,
        description: c.description,
        campaign_status: c.status.into(),
        template_id: c.template_id.into_string(),
        waba_phone_id: c.number_id.into_string(),
        body_data: serde_json::from_str(&c.body_data).map_err(corrupt)?,
        header_data: serde_json::from_str(&c.header_data).map_err(corrupt)?,
        media_url: c.media_url,
        filename: c.filename,
        scheduled_at: c.scheduled_at.map(Timestamp),
        scheduled_timezone: c.scheduled_timezone,
        send_window: c.send_window.as_ref().map(SendWindowView::from),
        waiting_for_window: next_window_at.is_some(),
        next_window_at: next_window_at.map(Timestamp),
        task_id: c.task_id,
        total_contacts: c.total_contacts,
        credits_reserved: c.credits_reserved,
        credits_refunded: c.credits_refunded,
        error_code: c.error_code,
        failure_reason,
        error_message: c.error_message,
        created_at: Timestamp(c.created_at),
        queued_at: c.queued_at.map(Timestamp),
        started_at: c.started_at.map(Timestamp),
        completed_at: c.completed_at.map(Timestamp),
        paused_at: c.paused_at.map(Timestamp),
        cancelled_at: c.cancelled_at.map(Timestamp),
    })
}
