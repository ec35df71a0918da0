//! Reading campaigns back: one, or a page of them.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use waplify_shared::db::Db;
use waplify_shared::db::entities::{campaign, template};
use waplify_shared::ids::AccountId;
use waplify_shared::status::CampaignStatus;

use crate::errors::ApiError;
use crate::views::{Campaign, CampaignState, ListCampaignsResponse, Success};

pub async fn view(db: &Db, c: campaign::Model) -> Result<Campaign, ApiError> {
    let names = template_names(db, std::slice::from_ref(&c.template_id)).await?;
    to_view(c, &names)
}

pub async fn list(
    db: &Db,
    account: &AccountId,
    page: u64,
    limit: u64,
    status: Option<CampaignState>,
) -> Result<ListCampaignsResponse, ApiError> {
    let mut query =
        campaign::Entity::find().filter(campaign::Column::AccountId.eq(account.as_str()));
    if let Some(s) = status {
        query = query.filter(campaign::Column::Status.eq(CampaignStatus::from(s).as_str()));
    }
    let query = query
        .order_by_desc(campaign::Column::CreatedAt)
        .order_by_desc(campaign::Column::Id);
    let (total, rows) = page_of(db, query, page, limit).await?;
    let ids: Vec<String> = rows.iter().map(|c| c.template_id.clone()).collect();
    let names = template_names(db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|c| to_view(c, &names))
        .collect::<Result<_, _>>()?;
    Ok(ListCampaignsResponse {
        status: Success::Success,
        items,
        total,
        page,
        limit,
        timestamp: Utc::now(),
    })
}

/// Page `page` (from 1) of an ordered query, and how many rows match over all pages.
pub async fn page_of<E>(
    db: &Db,
    query: Select<E>,
    page: u64,
    limit: u64,
) -> Result<(u64, Vec<E::Model>), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let total = query.clone().count(db).await?;
    let rows = query
        .offset((page - 1).saturating_mul(limit))
        .limit(limit)
        .all(db)
        .await?;
    Ok((total, rows))
}

async fn template_names(db: &Db, ids: &[String]) -> Result<HashMap<String, String>, ApiError> {
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

fn to_view(c: campaign::Model, names: &HashMap<String, String>) -> Result<Campaign, ApiError> {
    let status: CampaignStatus = c.status.parse().map_err(ApiError::internal)?;
    Ok(Campaign {
        template_name: names.get(&c.template_id).cloned().unwrap_or_default(),
        campaign_id: c.id,
        name: c.name,
        description: c.description,
        campaign_status: status.into(),
        template_id: c.template_id,
        waba_phone_id: c.number_id,
        body_data: serde_json::from_str(&c.body_data).map_err(ApiError::internal)?,
        header_data: serde_json::from_str(&c.header_data).map_err(ApiError::internal)?,
        media_url: c.media_url,
        filename: c.filename,
        scheduled_at: c.scheduled_at,
        scheduled_timezone: c.scheduled_timezone,
        task_id: c.task_id,
        total_contacts: c.total_contacts,
        credits_reserved: c.credits_reserved,
        credits_refunded: c.credits_refunded,
        error_code: c.error_code,
        error_message: c.error_message,
        created_at: c.created_at,
        queued_at: c.queued_at,
        started_at: c.started_at,
        completed_at: c.completed_at,
    })
}
