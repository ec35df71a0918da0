//! Putting a campaign on its way: the prechecks, then one transaction that moves it
//! to `queued`, reserves its credits through the ledger and stores the dispatch task
//! id. `send_campaign` (a draft, by hand) and the worker's scheduler (a scheduled
//! campaign at its time) both come here, so both check and charge the same way.
//!
//! The dispatch job is pushed by the caller after the commit; if that push is lost,
//! the reconciler pushes it again under the stored task id. `retry` queues a finished
//! campaign again, for its failed recipients, the same way.

pub mod codes;
pub mod precheck;
pub mod refund;
pub mod retry;
pub mod retry_moves;
pub mod retry_pick;

use apalis::prelude::TaskId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::db::entities::{account, campaign};
use crate::db::{Db, begin_write};
use crate::ids::{AccountId, CampaignId};
use crate::ledger;
use crate::queue::new_task_id;
use crate::status::CampaignStatus;
use crate::transition::{self, CampaignMove};

/// Why a campaign was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// It is no longer in a status that may be queued (another caller got there first).
    Moved,
    /// A precheck failed; the reason follows `Campaign cannot be sent: `.
    Precheck(String),
}

/// Queues `c` if the prechecks pass. Returns the task id its dispatch job must be
/// pushed under.
pub async fn queue(
    db: &Db,
    c: &campaign::Model,
    credits_per_message: i64,
    now: DateTime<Utc>,
) -> Result<Result<TaskId, Refused>, DbErr> {
    if let Err(reason) = precheck::check(db, c, credits_per_message).await? {
        return Ok(Err(Refused::Precheck(reason)));
    }
    let task_id = new_task_id();
    let txn = begin_write(db).await?;
    // Only from the status the caller saw: a draft by hand, a scheduled campaign at the
    // time it was read with (not one made a draft, or moved later, meanwhile).
    let mut mv = CampaignMove::to(&c.id, CampaignStatus::Queued)
        .from(match c.status {
            CampaignStatus::Draft => &[CampaignStatus::Draft],
            CampaignStatus::Scheduled => &[CampaignStatus::Scheduled],
            _ => &[],
        })
        .set(campaign::Column::TaskId, Expr::value(task_id.to_string()))
        .set(campaign::Column::QueuedAt, Expr::value(now));
    if let (CampaignStatus::Scheduled, Some(at)) = (c.status, c.scheduled_at) {
        mv = mv.when(campaign::Column::ScheduledAt.eq(at));
    }
    if transition::campaign(&txn, mv, now).await?.is_none() {
        txn.rollback().await?;
        return Ok(Err(Refused::Moved));
    }
    if let Some(need) = reserve(&txn, &c.account_id, &c.id, credits_per_message, now).await? {
        txn.rollback().await?;
        let have = account::Entity::find_by_id(c.account_id.clone())
            .one(db)
            .await?
            .map(|a| a.balance)
            .unwrap_or(0);
        return Ok(Err(Refused::Precheck(precheck::insufficient(need, have))));
    }
    txn.commit().await?;
    Ok(Ok(task_id))
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
) -> Result<Option<i64>, DbErr> {
    let locked = campaign::Entity::find_by_id(id.clone())
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("campaign {id}")))?;
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
