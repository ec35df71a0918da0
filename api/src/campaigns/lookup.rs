//! Finding an account's campaign. Another account's campaign is reported exactly like
//! a missing one.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use waplify_shared::db::entities::campaign;
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::status::CampaignStatus;

use super::error::CampaignError;

pub async fn campaign<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    id: &CampaignId,
) -> Result<campaign::Model, CampaignError> {
    campaign::Entity::find_by_id(id.clone())
        .filter(campaign::Column::AccountId.eq(account.clone()))
        .one(db)
        .await?
        .ok_or(CampaignError::NotFound)
}

/// The campaign, if it is still a draft. A scheduled one says when it will send.
pub fn ensure_draft(c: &campaign::Model) -> Result<(), CampaignError> {
    match (c.status, c.scheduled_at) {
        (CampaignStatus::Draft, _) => Ok(()),
        (CampaignStatus::Scheduled, Some(at)) => Err(CampaignError::Scheduled(at)),
        (other, _) => Err(CampaignError::NotDraft(other)),
    }
}
