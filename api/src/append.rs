//! Appending recipients to a draft, 10,000 per request, deduplicated against those
//! already in it. This is how a campaign grows to a million recipients.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::campaign;
use waplify_shared::ids::AccountId;
use waplify_shared::status::CampaignStatus;

use crate::errors::ApiError;
use crate::recipients;
use crate::send::ensure_draft;
use crate::state::AppState;
use crate::views::{AddContactsRequest, AddContactsResponse, Success};

pub async fn add_contacts(
    state: &AppState,
    account: &AccountId,
    raw_id: &str,
    req: AddContactsRequest,
) -> Result<AddContactsResponse, ApiError> {
    let found = crate::lookup::campaign(&state.db, account, raw_id).await?;
    ensure_draft(&found)?;
    let recipients = recipients::normalise(req.contacts);
    if recipients.valid.is_empty() {
        return Err(ApiError::bad_request(
            "No valid contacts could be resolved from the provided phone numbers",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    // Lock the row while it is still a draft; a concurrent send waits for this commit.
    let locked = campaign::Entity::update_many()
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(found.id.as_str()))
        .filter(campaign::Column::Status.eq(CampaignStatus::Draft.as_str()))
        .exec(&txn)
        .await?;
    if locked.rows_affected != 1 {
        txn.rollback().await?;
        let current = crate::lookup::campaign(&state.db, account, raw_id).await?;
        ensure_draft(&current)?;
        return Err(ApiError::internal("campaign changed while adding contacts"));
    }
    let added =
        recipients::attach(&txn, account.as_str(), &found.id, &recipients.valid, now).await? as i64;
    campaign::Entity::update_many()
        .col_expr(
            campaign::Column::TotalContacts,
            Expr::col(campaign::Column::TotalContacts).add(added),
        )
        .filter(campaign::Column::Id.eq(found.id.as_str()))
        .exec(&txn)
        .await?;
    let total = campaign::Entity::find_by_id(found.id.as_str())
        .one(&txn)
        .await?
        .map(|c| c.total_contacts)
        .unwrap_or_default();
    txn.commit().await?;
    let duplicates = recipients.valid.len() as i64 - added + recipients.repeated as i64;
    Ok(AddContactsResponse {
        status: Success::Success,
        message: format!("{added} contacts added"),
        campaign_id: found.id,
        added,
        duplicates,
        invalid_phones: recipients.invalid,
        total_contacts: total,
        timestamp: Utc::now(),
    })
}
