//! Sending a finished campaign's failed recipients again (`retry_failed_messages`):
//! the prechecks, then one transaction that moves the campaign back to `queued` with a
//! new dispatch task id and the pick stored on it, counts the recipients
//! [`retry_pick`](super::retry_pick) chooses, and charges them through the ledger. The
//! dispatch job is pushed by the caller after the commit, as for a send; it moves the
//! chosen recipients back to `pending` a chunk at a time ([`retry_moves`](super::retry_moves))
//! before it starts the campaign, so a retry of a million recipients costs the request
//! one count, not a million moves.
//!
//! Nothing else moves a `failed` recipient while the campaign is queued (no call of it
//! is in flight once it settled, and callbacks never leave `failed`). A `failed`
//! status callback may still fail a sent recipient meanwhile; picked by its code, it
//! is moved too, although not counted: its share was never refunded, so it is paid
//! for. Whatever the moves, credits balance: settlement refunds every recipient still
//! failed.
//!
//! Credits: the settlement refunded each failed recipient's share. A retry takes those
//! shares back (a `reserve` ledger entry) and lowers `credits_refunded` by as much, so
//! the campaign's reserve is again what its sent recipients cost plus what it gave
//! back; when it settles again, `sending::refund` refunds only the recipients that
//! fail this time. Only a settled campaign is retried: its refunds are done and no
//! call of it is in flight.

use apalis::prelude::TaskId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::precheck;
use super::retry_pick::{self, Pick};
use crate::db::entities::{account, campaign};
use crate::db::{Db, begin_write};
use crate::ledger;
use crate::queue::new_task_id;
use crate::status::CampaignStatus;
use crate::transition::{self, CampaignMove};

/// The campaign statuses a retry starts from.
pub const FROM: &[CampaignStatus] = &[CampaignStatus::Completed, CampaignStatus::Failed];

/// A retry that was queued.
#[derive(Debug)]
pub struct Requeued {
    /// Recipients chosen, charged for, and to be moved back to `pending`.
    pub count: u64,
    /// The id the dispatch job must be pushed under.
    pub task_id: TaskId,
}

/// Why nothing was retried. Nothing changed.
#[derive(Debug, PartialEq, Eq)]
pub enum RetryRefused {
    /// Not (or no longer) a settled completed or failed campaign.
    Moved,
    /// No failed recipient matches the pick.
    NoneChosen,
    /// A precheck failed; the reason follows `Campaign cannot be sent: `.
    Precheck(String),
}

/// Retries the failed recipients of `c` that `pick` chooses. `price` is what one
/// recipient costs now (`CREDITS_PER_MESSAGE`), used only for a campaign that never
/// reserved anything (it failed its prechecks when its schedule came).
pub async fn retry(
    db: &Db,
    c: &campaign::Model,
    pick: &Pick,
    price: i64,
    now: DateTime<Utc>,
) -> Result<Result<Requeued, RetryRefused>, DbErr> {
    // Credits are checked by the ledger in the transaction, once the count is known.
    if let Err(reason) = precheck::check_need(db, c, 0).await? {
        return Ok(Err(RetryRefused::Precheck(reason)));
    }
    let task_id = new_task_id();
    let txn = begin_write(db).await?;
    // The campaign first, under its row lock: of two concurrent retries the second
    // waits here and then finds it queued.
    let none: Option<DateTime<Utc>> = None;
    let mv = CampaignMove::to(&c.id, CampaignStatus::Queued)
        .from(FROM)
        .when(campaign::Column::SettledAt.is_not_null())
        .set(campaign::Column::TaskId, Expr::value(task_id.to_string()))
        .set(campaign::Column::QueuedAt, Expr::value(now))
        .set(campaign::Column::CompletedAt, Expr::value(none))
        .set(campaign::Column::SettledAt, Expr::value(none))
        .set(
            campaign::Column::ErrorCode,
            Expr::value(Option::<i32>::None),
        )
        .set(
            campaign::Column::ErrorMessage,
            Expr::value(Option::<String>::None),
        )
        .set(campaign::Column::RetryPick, Expr::value(pick.to_stored()))
        .detail("failed recipients sent again by request");
    if transition::campaign(&txn, mv, now).await?.is_none() {
        txn.rollback().await?;
        return Ok(Err(RetryRefused::Moved));
    }
    let count = retry_pick::count(&txn, &c.id, pick).await?;
    if count == 0 {
        txn.rollback().await?;
        return Ok(Err(RetryRefused::NoneChosen));
    }
    let (unit, never_reserved) = match unit(c) {
        0 if c.credits_reserved == 0 => (price, true),
        u => (u, false),
    };
    let need = (count as i64).saturating_mul(unit);
    let entry = ledger::Entry {
        account_id: &c.account_id,
        campaign_id: Some(&c.id),
        kind: ledger::Kind::Reserve,
        amount: -need,
        note: Some(format!("{count} failed recipients sent again")),
    };
    if ledger::apply(&txn, entry, now).await?.is_none() {
        txn.rollback().await?;
        let have = account::Entity::find_by_id(c.account_id.clone())
            .one(db)
            .await?
            .map(|a| a.balance)
            .unwrap_or(0);
        return Ok(Err(RetryRefused::Precheck(precheck::insufficient(
            need, have,
        ))));
    }
    book_reserve(&txn, c, unit, need, never_reserved).await?;
    txn.commit().await?;
    Ok(Ok(Requeued { count, task_id }))
}

/// The campaign's side of the charge. Reserved minus refunded is what its sent and
/// sending recipients cost: the retried ones come off the refunded side. A campaign
/// that never reserved gets its reserve at today's price, the recipients not retried
/// counted as refunded, so the settlement's per-recipient share (reserve / recipients)
/// is that price.
async fn book_reserve<C: sea_orm::ConnectionTrait>(
    txn: &C,
    c: &campaign::Model,
    unit: i64,
    need: i64,
    never_reserved: bool,
) -> Result<(), DbErr> {
    let mut update = campaign::Entity::update_many();
    if never_reserved {
        let reserve = c.total_contacts.saturating_mul(unit);
        update = update
            .col_expr(campaign::Column::CreditsReserved, Expr::value(reserve))
            .col_expr(
                campaign::Column::CreditsRefunded,
                Expr::value(reserve - need),
            );
    } else {
        update = update.col_expr(
            campaign::Column::CreditsRefunded,
            Expr::col(campaign::Column::CreditsRefunded).sub(need),
        );
    }
    update
        .filter(campaign::Column::Id.eq(c.id.clone()))
        .exec(txn)
        .await?;
    Ok(())
}

/// What one recipient of the campaign costs: its reserve shared by its recipients (a
/// retry costs what the first send did, whatever the price is now).
fn unit(c: &campaign::Model) -> i64 {
    if c.total_contacts > 0 {
        c.credits_reserved / c.total_contacts
    } else {
        0
    }
}
