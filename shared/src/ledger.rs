//! The credit wallet. The balance lives on `accounts`; every change to it is one
//! `wallet_ledger` row in the same transaction, so the ledger always sums to it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
};

use crate::db::entities::{account, ledger_entry};
use crate::ids::{AccountId, CampaignId};

pub use crate::db::entities::ledger_entry::Kind;

/// One balance change.
pub struct Entry<'a> {
    pub account_id: &'a AccountId,
    pub campaign_id: Option<&'a CampaignId>,
    pub kind: Kind,
    /// Signed: negative takes credits away.
    pub amount: i64,
    pub note: Option<String>,
}

/// Applies `entry` unless it would take the balance below zero. Returns the new
/// balance, or `None` when the account lacks the credits (or does not exist).
/// Call it inside the transaction that owns the reason for the change.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let mut update = Query::update();
    update
        .table(account::Entity)
        .value(
            account::Column::Balance,
            Expr::col(account::Column::Balance).add(entry.amount),
        )
        .and_where(account::Column::Id.eq(entry.account_id.clone()))
        .and_where(Expr::col(account::Column::Balance).add(entry.amount).gte(0))
        .returning_col(account::Column::Balance);
    let Some(row) = db.query_one(&update).await? else {
        return Ok(None);
    };
    let balance_after: i64 = row.try_get_by_index(0)?;
    ledger_entry::Entity::insert(ledger_entry::ActiveModel {
        id: NotSet,
        account_id: Set(entry.account_id.clone()),
        campaign_id: Set(entry.campaign_id.cloned()),
        kind: Set(entry.kind),
        amount: Set(entry.amount),
        balance_after: Set(balance_after),
        note: Set(entry.note),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(Some(balance_after))
}
