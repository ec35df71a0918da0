//! Sending a draft: prechecks, then one transaction that moves it to `queued`,
//! reserves its credits and stores the dispatch task id; then the push to Redis.
//!
//! The push comes after the commit. If Redis is unreachable the request still
//! succeeds: the campaign is `queued` with its task id in SQL, and the worker's
//! reconciler pushes the job under that same id.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use waplify_shared::db::entities::campaign;
use waplify_shared::db::{begin_write, transition};
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::jobs::DispatchCampaign;
use waplify_shared::ledger;
use waplify_shared::queue::new_task_id;
use waplify_shared::status::CampaignStatus;

use crate::errors::ApiError;
use crate::state::AppState;
use crate::views::{Accepted, SendAcceptedResponse};
use crate::{lookup, precheck};

pub async fn send(
    state: &AppState,
    account: &AccountId,
    raw_id: &str,
) -> Result<SendAcceptedResponse, ApiError> {
    let found = lookup::campaign(&state.db, account, raw_id).await?;
    ensure_draft(&found)?;
    precheck::check(&state.db, &found, state.credits_per_message).await?;

    let task_id = new_task_id();
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let won = transition::campaign(
        &txn,
        &found.id,
        CampaignStatus::Queued,
        now,
        vec![
            (campaign::Column::TaskId, Expr::value(task_id.to_string())),
            (campaign::Column::QueuedAt, Expr::value(now)),
        ],
    )
    .await?;
    if !won {
        txn.rollback().await?;
        let current = lookup::campaign(&state.db, account, raw_id).await?;
        return Err(not_a_draft(&current.status));
    }
    // Read the recipient count under the row lock the transition took, so contacts
    // appended a moment ago are paid for too.
    let locked = campaign::Entity::find_by_id(&found.id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal("campaign vanished inside its transaction"))?;
    let need = precheck::cost(locked.total_contacts, state.credits_per_message);
    let entry = ledger::Entry {
        account_id: account.as_str(),
        campaign_id: Some(&found.id),
        kind: ledger::Kind::Reserve,
        amount: -need,
        note: Some(format!("{} recipients", locked.total_contacts)),
    };
    if ledger::apply(&txn, entry, now).await?.is_none() {
        txn.rollback().await?;
        let have = waplify_shared::db::entities::account::Entity::find_by_id(account.as_str())
            .one(&state.db)
            .await?
            .map(|a| a.balance)
            .unwrap_or(0);
        return Err(precheck::insufficient(need, have));
    }
    campaign::Entity::update_many()
        .col_expr(campaign::Column::CreditsReserved, Expr::value(need))
        .filter(campaign::Column::Id.eq(found.id.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;

    let campaign_id = CampaignId::from_db(found.id);
    let job = DispatchCampaign {
        campaign_id: campaign_id.clone(),
    };
    if let Err(e) = state.queues.push(job, task_id.clone(), None).await {
        tracing::warn!(%campaign_id, %task_id, "dispatch push failed, the reconciler will push it: {e}");
    }
    Ok(SendAcceptedResponse {
        status: Accepted::Accepted,
        message: "Campaign send queued and will run in background".into(),
        campaign_id: campaign_id.into_string(),
        task_id: task_id.to_string(),
        timestamp: Utc::now(),
    })
}

pub fn ensure_draft(c: &campaign::Model) -> Result<(), ApiError> {
    if c.status == CampaignStatus::Draft.as_str() {
        Ok(())
    } else {
        Err(not_a_draft(&c.status))
    }
}

fn not_a_draft(status: &str) -> ApiError {
    ApiError::conflict(format!(
        "Campaign is {status}; only a draft campaign can be changed or sent"
    ))
}
