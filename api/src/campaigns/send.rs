//! Sending a draft: prechecks, then one transaction that moves it to `queued`,
//! reserves its credits and stores the dispatch task id; then the push to Redis.
//!
//! The push comes after the commit. If Redis is unreachable the request still
//! succeeds: the campaign is `queued` with its task id in SQL, and the worker's
//! reconciler pushes the job under that same id.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::{account, campaign};
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::jobs::DispatchCampaign;
use waplify_shared::ledger;
use waplify_shared::queue::new_task_id;
use waplify_shared::status::CampaignStatus;
use waplify_shared::transition;

use super::error::CampaignError;
use super::lookup::{self, ensure_draft};
use super::precheck;
use super::views::SendAcceptedResponse;
use crate::http::envelope::Accepted;
use crate::state::AppState;

pub async fn send(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
) -> Result<SendAcceptedResponse, CampaignError> {
    let found = lookup::campaign(&state.db, account, id).await?;
    ensure_draft(&found)?;
    precheck::check(&state.db, &found, state.credits_per_message).await?;

    let task_id = new_task_id();
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let won = transition::campaign(
        &txn,
        id,
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
        let current = lookup::campaign(&state.db, account, id).await?;
        return Err(CampaignError::NotDraft(current.status));
    }
    if let Some(need) = reserve(&txn, account, id, state.credits_per_message, now).await? {
        txn.rollback().await?;
        let have = account::Entity::find_by_id(account.clone())
            .one(&state.db)
            .await?
            .map(|a| a.balance)
            .unwrap_or(0);
        return Err(precheck::insufficient(need, have));
    }
    txn.commit().await?;

    let job = DispatchCampaign {
        campaign_id: id.clone(),
    };
    if let Err(e) = state.queues.push(job, task_id.clone(), None).await {
        tracing::warn!(campaign_id = %id, %task_id, "dispatch push failed, the reconciler will push it: {e}");
    }
    Ok(SendAcceptedResponse {
        status: Accepted::Accepted,
        message: "Campaign send queued and will run in background".into(),
        campaign_id: id.to_string(),
        task_id: task_id.to_string(),
        timestamp: Utc::now(),
    })
}

/// Reserves the campaign's credits through the ledger. The recipient count is read
/// under the row lock the transition took, so contacts appended a moment ago are paid
/// for too. Returns the credits needed when the balance is short of them.
async fn reserve<C: ConnectionTrait>(
    txn: &C,
    account: &AccountId,
    id: &CampaignId,
    credits_per_message: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>, CampaignError> {
    let locked = campaign::Entity::find_by_id(id.clone())
        .one(txn)
        .await?
        .ok_or_else(|| {
            CampaignError::Unexpected("campaign vanished inside its transaction".into())
        })?;
    let need = precheck::cost(locked.total_contacts, credits_per_message);
    let entry = ledger::Entry {
        account_id: account,
        campaign_id: Some(id),
        kind: ledger::Kind::Reserve,
        amount: -need,
        note: Some(format!("{} recipients", locked.total_contacts)),
    };
    if ledger::apply(txn, entry, now).await?.is_none() {
        return Ok(Some(need));
    }
    campaign::Entity::update_many()
        .col_expr(campaign::Column::CreditsReserved, Expr::value(need))
        .filter(campaign::Column::Id.eq(id.clone()))
        .exec(txn)
        .await?;
    Ok(None)
}
