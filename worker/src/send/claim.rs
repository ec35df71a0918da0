//! Claiming: `pending -> sending` with a lease and a claim token, before any provider
//! call. Only the claimant calls the provider, so a job that runs twice, or two jobs
//! racing for one campaign, never send a message twice.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Expr, ExprTrait, LockBehavior, LockType, Order, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use waplify_shared::clock::Clock;
use waplify_shared::db::entities::{campaign, message, whatsapp_callback};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::send_ref::SendRef;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::status::{CampaignStatus, HistorySource, MessageStatus};
use waplify_shared::transition::{self, Detail, MessageMove, Target};
use waplify_shared::window::SendWindow;

/// A message this worker now holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: MessageId,
    pub phone: String,
    /// The number of the provider call about to be made (1 for the first).
    pub attempt: i32,
    /// What the call names the message by (`biz_opaque_callback_data`).
    pub send: SendRef,
}

/// A set of messages held under one token until `lease_until`.
#[derive(Debug)]
pub struct Claim {
    pub token: String,
    /// Until when the messages are this claim's in `sending`; after it they are held
    /// in `pending` under the same token (see `runtime::leases`), where results may
    /// still land until the hold ends.
    pub lease_until: DateTime<Utc>,
    pub messages: Vec<Claimed>,
    /// Why nothing was claimed although messages may be due.
    pub halted: Option<Halt>,
}

/// Why a campaign may not claim right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// Paused, cancelled, failed or finished.
    NotRunning,
    /// Outside its sending window.
    OutsideWindow,
    /// The lane belongs to an earlier generation (`campaigns.lane_epoch`).
    Superseded,
}

/// Claims up to `limit` due pending messages of a campaign, oldest due first.
pub async fn batch(
    db: &Db,
    clock: &Clock,
    worker: &str,
    campaign_id: &CampaignId,
    generation: Option<&str>,
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
        // Test messages have their own job (`test_send`), never a lane.
        .and_where(message::is_recipient())
        .order_by(message::Column::NextAttemptAt, Order::Asc)
        .limit(limit);
    if let Some(held) = held_due(db).await? {
        due.and_where(held);
    }
    if db.get_database_backend() == DbBackend::Postgres {
        // Lanes of one campaign take disjoint batches instead of queueing on row locks.
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    take(db, clock, worker, (campaign_id, generation), due, lease).await
}

/// Claims one message if it is pending and due (with a second of slack for clocks).
pub async fn one(
    db: &Db,
    clock: &Clock,
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
        .and_where(message::Column::NextAttemptAt.lte(now + chrono::Duration::seconds(1)))
        .and_where(message::is_recipient());
    if let Some(held) = held_due(db).await? {
        due.and_where(held);
    }
    take(db, clock, worker, (campaign_id, None), due, lease).await
}

/// A message held for its status callback (`pending` under a claim token: its lease
/// expired, or its outcome was unknown) is due only once every callback received
/// before its hold ended has been applied: WhatsApp's `sent` status for it may be in
/// that backlog, and sending before reading it would send the recipient twice. The
/// wait ends five minutes after the hold anyway, so a backlog that does not drain
/// delays held messages but cannot stop a campaign. `None` when no callback waits.
pub async fn held_due(db: &Db) -> Result<Option<SimpleExpr>, DbErr> {
    let oldest: Option<DateTime<Utc>> = whatsapp_callback::Entity::find()
        .select_only()
        .column(whatsapp_callback::Column::ReceivedAt)
        .filter(whatsapp_callback::Column::ProcessedAt.is_null())
        .filter(whatsapp_callback::Column::DeadAt.is_null())
        .order_by_asc(whatsapp_callback::Column::ReceivedAt)
        .into_tuple()
        .one(db)
        .await?;
    // The wait is bounded: a backlog that does not drain must not hold a message for
    // ever.
    let longest = Utc::now() - chrono::Duration::minutes(5);
    Ok(oldest.map(|cutoff| {
        message::Column::Claim
            .is_null()
            .or(message::Column::NextAttemptAt.lte(cutoff))
            .or(message::Column::NextAttemptAt.lte(longest))
    }))
}

/// First checks, in the claim's transaction, that the campaign is running and inside
/// its window; on PostgreSQL under a share lock of the campaign row, so a pause or
/// cancel waits for claims in progress and every claim after it sees it: no provider
/// call starts after a pause or cancel has been answered. Then locks the due rows
/// (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write transaction already
/// excludes other writers) and moves exactly those. Selecting first matters: as one
/// `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` PostgreSQL may
/// re-run the subquery per row and claim far more than `n`.
async fn take(
    db: &Db,
    clock: &Clock,
    worker: &str,
    (campaign_id, generation): (&CampaignId, Option<&str>),
    due: SelectStatement,
    lease: std::time::Duration,
) -> Result<Claim, DbErr> {
    let token = fresh_token(worker);
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let lease_until = lease_end(now, lease);
    if let Some(halt) = gate(&txn, clock, campaign_id, generation).await? {
        txn.commit().await?;
        return Ok(Claim {
            token,
            lease_until,
            messages: Vec::new(),
            halted: Some(halt),
        });
    }
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
            lease_until,
            messages: Vec::new(),
            halted: None,
        });
    }
    let detail = format!("claimed by {worker}");
    let messages = to_sending(
        &txn,
        campaign_id,
        &ids,
        (&token, lease_until),
        Vec::new(),
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Claim {
        token,
        lease_until,
        messages,
        halted: None,
    })
}

/// A claim token of this worker: every claim gets its own.
pub fn fresh_token(worker: &str) -> String {
    format!("{worker}/{}", ulid::Ulid::generate())
}

/// When a claim made at `now` for `lease` ends.
pub fn lease_end(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

/// Moves these pending messages to `sending` under `token` until `lease_until`, each
/// with one more attempt; `when` are more conditions a row must still meet. Returns
/// the messages that moved.
pub async fn to_sending<C: ConnectionTrait>(
    txn: &C,
    campaign_id: &CampaignId,
    ids: &[MessageId],
    (token, lease_until): (&str, DateTime<Utc>),
    when: Vec<SimpleExpr>,
    detail: String,
    now: DateTime<Utc>,
) -> Result<Vec<Claimed>, DbErr> {
    let moved = transition::messages(
        txn,
        MessageMove {
            campaign_id,
            target: Target::Ids(ids),
            from: MessageStatus::Pending,
            to: MessageStatus::Sending,
            claim: None,
            sets: vec![
                (
                    message::Column::Attempts,
                    Expr::col(message::Column::Attempts).add(1),
                ),
                (message::Column::Claim, Expr::value(token)),
                (message::Column::LeaseUntil, Expr::value(lease_until)),
            ],
            when,
            detail: Detail::Same(Some(detail)),
            source: HistorySource::Worker,
        },
        now,
    )
    .await?;
    Ok(moved
        .into_iter()
        .map(|m| Claimed {
            send: SendRef {
                id: m.id.clone(),
                round: m.send_round,
            },
            id: m.id,
            phone: m.phone,
            attempt: m.attempts,
        })
        .collect())
}

/// Whether the campaign may claim now.
async fn gate<C: ConnectionTrait>(
    txn: &C,
    clock: &Clock,
    campaign_id: &CampaignId,
    generation: Option<&str>,
) -> Result<Option<Halt>, DbErr> {
    let mut find = campaign::Entity::find_by_id(campaign_id.clone())
        .select_only()
        .columns([
            campaign::Column::Status,
            campaign::Column::SendWindow,
            campaign::Column::LaneEpoch,
        ]);
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_shared();
    }
    let row: Option<(CampaignStatus, Option<SendWindow>, Option<String>)> =
        find.into_tuple().one(txn).await?;
    let Some((CampaignStatus::Running, window, epoch)) = row else {
        return Ok(Some(Halt::NotRunning));
    };
    if generation.is_some_and(|g| epoch.as_deref() != Some(g)) {
        return Ok(Some(Halt::Superseded));
    }
    Ok(window
        .filter(|w| !w.contains(clock.now()))
        .map(|_| Halt::OutsideWindow))
}
