//! Claiming: `pending -> sending` with a lease and a claim token, before any provider
//! call. Only the claimant calls the provider, so a job that runs twice, or two jobs
//! racing for one campaign, never send a message twice.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr};

use waplify_shared::db::entities::message;
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::{self, Detail, MessageMove, Target};

/// A message this worker now holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: MessageId,
    pub phone: String,
    /// The number of the provider call about to be made (1 for the first).
    pub attempt: i32,
}

/// A set of messages held under one token until `lease_until`.
#[derive(Debug)]
pub struct Claim {
    pub token: String,
    pub messages: Vec<Claimed>,
}

/// Claims up to `limit` due pending messages of a campaign, oldest due first.
pub async fn batch(
    db: &Db,
    worker: &str,
    campaign_id: &CampaignId,
    limit: u64,
    lease: std::time::Duration,
) -> Result<Claim, DbErr> {
    let now = Utc::now();
    let mut due = Query::select();
    due.column(message::Column::Id)
        .from(message::Entity)
        .and_where(message::Column::CampaignId.eq(campaign_id.clone()))
        .and_where(message::Column::Status.eq(MessageStatus::Pending))
        .and_where(message::Column::NextAttemptAt.lte(now))
        .order_by(message::Column::NextAttemptAt, Order::Asc)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        // Lanes of one campaign take disjoint batches instead of queueing on row locks.
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    take(db, worker, campaign_id, due, now, lease).await
}

/// Claims one message if it is pending and due (with a second of slack for clocks).
pub async fn one(
    db: &Db,
    worker: &str,
    campaign_id: &CampaignId,
    message_id: &MessageId,
    lease: std::time::Duration,
) -> Result<Claim, DbErr> {
    let now = Utc::now();
    let mut due = Query::select();
    due.column(message::Column::Id)
        .from(message::Entity)
        .and_where(message::Column::Id.eq(message_id.clone()))
        .and_where(message::Column::CampaignId.eq(campaign_id.clone()))
        .and_where(message::Column::Status.eq(MessageStatus::Pending))
        .and_where(message::Column::NextAttemptAt.lte(now + chrono::Duration::seconds(1)));
    take(db, worker, campaign_id, due, now, lease).await
}

/// Locks the due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write
/// transaction already excludes other writers), then moves exactly those. Selecting
/// first matters: as one `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`
/// PostgreSQL may re-run the subquery per row and claim far more than `n`.
async fn take(
    db: &Db,
    worker: &str,
    campaign_id: &CampaignId,
    due: SelectStatement,
    now: DateTime<Utc>,
    lease: std::time::Duration,
) -> Result<Claim, DbErr> {
    let token = format!("{worker}/{}", ulid::Ulid::generate());
    let lease_until =
        now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
    let txn = begin_write(db).await?;
    let ids: Vec<MessageId> = txn
        .query_all(&due)
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<MessageId>(0))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Claim {
            token,
            messages: Vec::new(),
        });
    }
    let moved = transition::messages(
        &txn,
        MessageMove {
            campaign_id,
            target: Target::Ids(&ids),
            from: MessageStatus::Pending,
            to: MessageStatus::Sending,
            claim: None,
            sets: vec![
                (
                    message::Column::Attempts,
                    Expr::col(message::Column::Attempts).add(1),
                ),
                (message::Column::Claim, Expr::value(token.as_str())),
                (message::Column::LeaseUntil, Expr::value(lease_until)),
            ],
            detail: Detail::Same(Some(format!("claimed by {worker}"))),
        },
        now,
    )
    .await?;
    let messages = moved
        .into_iter()
        .map(|m| Claimed {
            id: m.id,
            phone: m.phone,
            attempt: m.attempts,
        })
        .collect();
    txn.commit().await?;
    Ok(Claim { token, messages })
}
