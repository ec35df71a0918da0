//! Finding an account's campaign from a path parameter. Another account's campaign
//! is reported exactly like a missing one.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use waplify_shared::db::entities::campaign;
use waplify_shared::ids::{AccountId, CampaignId};

use crate::errors::ApiError;

pub fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    CampaignId::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub async fn campaign<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    raw_id: &str,
) -> Result<campaign::Model, ApiError> {
    let id = campaign_id(raw_id)?;
    campaign::Entity::find_by_id(id.as_str())
        .filter(campaign::Column::AccountId.eq(account.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("Campaign not found"))
}
