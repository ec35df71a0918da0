//! Appending recipients to a draft, 10,000 per request, deduplicated against those
//! already in it. This is how a campaign grows to a million recipients.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::campaign;
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::status::CampaignStatus;

use super::error::CampaignError;
use super::lookup::{self, ensure_draft};
use super::recipients;
use super::views::{AddContactsRequest, AddContactsResponse};
use crate::http::envelope::Success;
use crate::http::time::Timestamp;
use crate::state::AppState;

pub async fn add_contacts(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
    req: AddContactsRequest,
) -> Result<AddContactsResponse, CampaignError> {
    let found = lookup::campaign(&state.db, account, id).await?;
    ensure_draft(&found)?;
    let recipients = recipients::normalise(req.contacts);
    if recipients.valid.is_empty() {
        return Err(CampaignError::Invalid(
            "No valid contacts could be resolved from the provided phone numbers".into(),
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    // Lock the row while it is still a draft; a concurrent send waits for this commit.
    let locked = campaign::Entity::update_many()
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(id.clone()))
        .filter(campaign::Column::Status.eq(CampaignStatus::Draft))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        txn.rollback().await?;
        let current = lookup::campaign(&state.db, account, id).await?;
        ensure_draft(&current)?;
        return Err(CampaignError::Unexpected(
            "campaign changed while adding contacts".into(),
        ));
    }
    let added = recipients::attach(&txn, account, id, &recipients.valid, now).await? as i64;
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::TotalContacts,
            Expr::col(campaign::Column::TotalContacts).add(added),
        )
        .filter(campaign::Column::Id.eq(id.clone()))
        .exec(&txn)
        .await?;
    let total = campaign::Entity::find_by_id(id.clone())
        .one(&txn)
        .await?
        .map(|c| c.total_contacts)
        .unwrap_or_default();
    txn.commit().await?;
    let duplicates = recipients.valid.len() as i64 - added + recipients.repeated as i64;
    Ok(AddContactsResponse {
        status: Success::Success,
        message: format!("{added} contacts added"),
        campaign_id: id.to_string(),
        added,
        duplicates,
        invalid_phones: recipients.invalid,
        total_contacts: total,
        timestamp: Timestamp::now(),
    })
}
