//! Giving back what a campaign reserved and will not spend: one reserved share per
//! failed or cancelled recipient, through the ledger. A cancel refunds its cancelled
//! recipients at once; the campaign is settled once no message is left in flight. A
//! recipient WhatsApp reports failed after settlement (it accepted the message, then
//! could not deliver it) is refunded when that status arrives, so whatever the timing
//! a campaign's reserve is what its sent recipients cost plus what it gave back.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::db::counts::Funnel;
use crate::db::entities::campaign;
use crate::ids::CampaignId;
use crate::ledger;
use crate::status::CampaignStatus;

/// Refunds the failed and cancelled recipients not refunded yet and, when nothing is in
/// flight, marks the campaign settled. A settled campaign with nothing more owed, or a
/// refund a concurrent caller made first, gives `None`; otherwise the credits this call
/// refunded. Call it inside a transaction.
pub async fn refund<C: ConnectionTrait>(
    txn: &C,
    id: &CampaignId,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let mut find = campaign::Entity::find_by_id(id.clone());
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    let Some(c) = find.one(txn).await? else {
        return Ok(None);
    };
    let settled = c.settled_at.is_some();
    let counts = Funnel::read(txn, id).await?;
    let unit = if c.total_contacts > 0 {
        c.credits_reserved / c.total_contacts
    } else {
        0
    };
    let owed = Ord::min(
        (counts.failed + counts.cancelled) * unit,
        c.credits_reserved,
    );
    let amount = Ord::max(owed - c.credits_refunded, 0);
    // A settled campaign only owes for recipients WhatsApp reported failed after
    // accepting them, once settlement was done.
    let settles = !settled && counts.pending == 0;
    if amount == 0 && !settles {
        return Ok((!settled).then_some(0));
    }
    let mut update = Query::update();
    update
        .table(campaign::Entity)
        .value(
            campaign::Column::CreditsRefunded,
            c.credits_refunded + amount,
        )
        .and_where(campaign::Column::Id.eq(id.clone()))
        .and_where(campaign::Column::CreditsRefunded.eq(c.credits_refunded));
    if !settled {
        update.and_where(campaign::Column::SettledAt.is_null());
    }
    if settles {
        update.value(campaign::Column::SettledAt, now);
        if c.status != CampaignStatus::Cancelled {
            update.value(
                campaign::Column::CompletedAt,
                Expr::col(campaign::Column::CompletedAt).if_null(now),
            );
        }
    }
    if txn.execute(&update).await?.rows_affected() != 1 {
        return Ok(None);
    }
    if amount > 0 {
        let entry = ledger::Entry {
            account_id: &c.account_id,
            campaign_id: Some(id),
            kind: ledger::Kind::Refund,
            amount,
            note: Some(format!(
                "{} failed, {} cancelled recipients",
                counts.failed, counts.cancelled
            )),
        };
        ledger::apply(txn, entry, now).await?;
    }
    Ok(Some(amount))
}

/// Refunds a settled campaign's recipients reported failed after its settlement, in
/// the caller's transaction (the one that moved them), so a crash cannot keep the
/// move and lose the refund. An unsettled campaign is left to its settlement.
pub async fn refund_settled<C: ConnectionTrait>(
    txn: &C,
    id: &CampaignId,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let settled: Option<Option<DateTime<Utc>>> = campaign::Entity::find_by_id(id.clone())
        .select_only()
        .column(campaign::Column::SettledAt)
        .into_tuple()
        .one(txn)
        .await?;
    match settled {
        Some(Some(_)) => refund(txn, id, now).await,
        _ => Ok(None),
    }
}

/// [`refund_settled`] for several campaigns in one transaction. The settled ones are
/// locked first, in id order: each refund locks its campaign and then the account's
/// balance, so taking a second campaign after the first refund's balance update could
/// deadlock with another refund of the same account.
pub async fn refund_settled_all<C: ConnectionTrait>(
    txn: &C,
    ids: &BTreeSet<CampaignId>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut find = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .filter(campaign::Column::Id.is_in(ids.iter().cloned()))
        .filter(campaign::Column::SettledAt.is_not_null())
        .order_by_asc(campaign::Column::Id);
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    let settled: Vec<CampaignId> = find.into_tuple().all(txn).await?;
    for id in &settled {
        refund(txn, id, now).await?;
    }
    Ok(())
}
