//! One lock order for every transaction that moves several messages: first the message
//! rows, in id order, then the campaigns' count shards, in campaign order. A record
//! (its sent, retried and failed moves) and a callback chunk (its statuses in wamid
//! order, over several campaigns) otherwise take the same rows in crossed order and
//! deadlock under load, and each deadlock costs a whole transaction. Every bulk move
//! (`messages()`) locks its rows this way before its update; a claim has already taken
//! them with `SKIP LOCKED` and never waits.
//! Rows are taken `FOR NO KEY UPDATE`, the lock the update itself takes, so the
//! foreign-key checks of history and call rows never wait on it.
//! After them: settled campaigns in id order (a late refund), then the account's balance
//! (ledger entries, a failed test message's refund). A campaign's own moves (cancel,
//! pause, a retry's chunks: `sending::retry_moves`) take the campaign's row first, then
//! its messages.
//! SQLite has one writer at a time and skips all of it.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Alias, Cond, LockType, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::report::Report;
use crate::db::counts;
use crate::db::entities::message;
use crate::ids::{CampaignId, MessageId};

/// Locks these messages, in id order, before a transaction moves them.
pub async fn messages<C: ConnectionTrait>(db: &C, ids: &[MessageId]) -> Result<(), DbErr> {
    if ids.is_empty() || db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut q = Query::select();
    q.column(message::Column::Id)
        .from(Alias::new("messages"))
        .and_where(message::Column::Id.is_in(ids.iter().cloned()))
        .order_by(message::Column::Id, Order::Asc)
        .lock(LockType::NoKeyUpdate);
    db.query_all(&q).await?;
    Ok(())
}

/// Locks these messages in id order, then their campaigns' count shards in campaign
/// order.
pub async fn messages_and_shards<C: ConnectionTrait>(
    db: &C,
    rows: &[&message::Model],
) -> Result<(), DbErr> {
    if rows.is_empty() || db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let ids: Vec<MessageId> = rows.iter().map(|m| m.id.clone()).collect();
    messages(db, &ids).await?;
    shards(db, rows.iter().map(|m| m.campaign_id.clone()).collect()).await
}

/// Locks the count shards of these campaigns, in campaign order.
async fn shards<C: ConnectionTrait>(db: &C, campaigns: BTreeSet<CampaignId>) -> Result<(), DbErr> {
    for campaign_id in &campaigns {
        counts::lock(db, campaign_id).await?;
    }
    Ok(())
}

/// The messages these reports name (by wamid or by our id), read for the walk; on
/// PostgreSQL locked in id order, then the count shards of their campaigns, in
/// campaign order.
pub(super) async fn named<C: ConnectionTrait>(
    db: &C,
    reports: &[Report],
) -> Result<Vec<message::Model>, DbErr> {
    let wamids: BTreeSet<&str> = reports.iter().map(|r| r.wamid.as_str()).collect();
    let ids: BTreeSet<MessageId> = reports
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    let mut named = Cond::any().add(message::Column::Wamid.is_in(wamids));
    if !ids.is_empty() {
        named = named.add(message::Column::Id.is_in(ids));
    }
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut find = message::Entity::find()
        .filter(named)
        .order_by_asc(message::Column::Id);
    if postgres {
        find = find.lock(LockType::NoKeyUpdate);
    }
    let rows = find.all(db).await?;
    if postgres {
        shards(db, rows.iter().map(|m| m.campaign_id.clone()).collect()).await?;
    }
    Ok(rows)
}
