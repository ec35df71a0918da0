//! Message counts per campaign and status, changed in the same transaction as the
//! messages themselves. Stats read a few dozen rows instead of counting a campaign's
//! messages, which took half a second on a million-recipient campaign being sent.
//!
//! Concurrent writers are spread over [`SHARDS`] rows per status so they rarely wait
//! on each other. On PostgreSQL a transaction keeps to one shard (its connection's),
//! and every adjustment first locks all of that shard's rows in status order: a
//! transaction making several moves (a record: sent, retried, failed) then never holds
//! one row of a shard while waiting for another, so two writers cannot deadlock on
//! counts. SQLite has one writer at a time and needs neither.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, OnConflict, Order, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use crate::ids::CampaignId;
use crate::status::MessageStatus;
use crate::string_enum::string_enum;

pub const SHARDS: i32 = 16;

fn table() -> Alias {
    Alias::new("message_counts")
}

string_enum!(
    /// What a `message_counts` row counts: messages in a status, and beside them the
    /// messages replied to and those whose button was tapped.
    Tally {
        Pending => "pending",
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        Cancelled => "cancelled",
        Replied => "replied",
        Clicked => "clicked",
    }
);

impl From<MessageStatus> for Tally {
    fn from(s: MessageStatus) -> Tally {
        match s {
            MessageStatus::Pending => Tally::Pending,
            MessageStatus::Sending => Tally::Sending,
            MessageStatus::Sent => Tally::Sent,
            MessageStatus::Delivered => Tally::Delivered,
            MessageStatus::Read => Tally::Read,
            MessageStatus::Failed => Tally::Failed,
            MessageStatus::Cancelled => Tally::Cancelled,
        }
    }
}

/// Adds `delta` to each count of the campaign.
pub async fn adjust<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    changes: &[(Tally, i64)],
) -> Result<(), DbErr> {
    let mut changes: Vec<(Tally, i64)> = changes.iter().copied().filter(|(_, d)| *d != 0).collect();
    if changes.is_empty() {
        return Ok(());
    }
    changes.sort_by_key(|(t, _)| t.as_str());
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let shard: SimpleExpr = if postgres {
        Expr::cust(format!("(pg_backend_pid() % {SHARDS})"))
    } else {
        rand::random_range(0..SHARDS).into()
    };
    if postgres {
        lock_shard(db, campaign_id, shard.clone()).await?;
    }
    let mut insert = Query::insert();
    insert
        .into_table(table())
        .columns([
            Alias::new("campaign_id"),
            Alias::new("shard"),
            Alias::new("status"),
            Alias::new("n"),
        ])
        .on_conflict(
            OnConflict::columns([
                Alias::new("campaign_id"),
                Alias::new("shard"),
                Alias::new("status"),
            ])
            .value(Alias::new("n"), Expr::cust("message_counts.n + excluded.n"))
            .to_owned(),
        );
    for (status, delta) in changes {
        insert.values_panic([
            campaign_id.clone().into(),
            shard.clone(),
            status.into(),
            delta.into(),
        ]);
    }
    db.execute(&insert).await?;
    Ok(())
}

/// Locks the campaign's rows in this connection's shard (PostgreSQL), as `adjust` will:
/// for a transaction that must take its locks in a fixed order (`transition::locks`).
pub async fn lock<C: ConnectionTrait>(db: &C, campaign_id: &CampaignId) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    lock_shard(
        db,
        campaign_id,
        Expr::cust(format!("(pg_backend_pid() % {SHARDS})")),
    )
    .await
}

/// Locks every existing row of the campaign's shard, in status order.
async fn lock_shard<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    shard: SimpleExpr,
) -> Result<(), DbErr> {
    let mut q = Query::select();
    q.expr(Expr::val(1))
        .from(table())
        .and_where(Expr::col(Alias::new("campaign_id")).eq(campaign_id.clone()))
        .and_where(Expr::col(Alias::new("shard")).eq(shard))
        .order_by(Alias::new("status"), Order::Asc)
        .lock(LockType::Update);
    db.query_all(&q).await?;
    Ok(())
}

/// Moves `n` messages from one status to another in the counts.
pub async fn moved<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    from: MessageStatus,
    to: MessageStatus,
    n: usize,
) -> Result<(), DbErr> {
    let n = n as i64;
    adjust(db, campaign_id, &[(from.into(), -n), (to.into(), n)]).await
}

/// Every count of the campaign. A stored name that is no [`Tally`] fails the read.
pub async fn of_campaign<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
) -> Result<Vec<(Tally, i64)>, DbErr> {
    let mut q = Query::select();
    q.column(Alias::new("status"))
        .expr(Expr::cust("CAST(SUM(n) AS BIGINT)"))
        .from(table())
        .and_where(Expr::col(Alias::new("campaign_id")).eq(campaign_id.clone()))
        .group_by_col(Alias::new("status"));
    let mut out = Vec::new();
    for row in db.query_all(&q).await? {
        out.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
    }
    Ok(out)
}

/// A campaign's counts as stats and events show them: funnel counts, where a read
/// message also counts as delivered and sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Funnel {
    /// Not sent yet: waiting, or being sent right now.
    pub pending: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub replied: i64,
    pub clicked: i64,
}

impl Funnel {
    pub fn of(counts: &[(Tally, i64)]) -> Funnel {
        let count = |wanted: &[Tally]| -> i64 {
            counts
                .iter()
                .filter(|(t, _)| wanted.contains(t))
                .map(|(_, n)| n)
                .sum()
        };
        use Tally::*;
        Funnel {
            pending: count(&[Pending, Sending]),
            sent: count(&[Sent, Delivered, Read]),
            delivered: count(&[Delivered, Read]),
            read: count(&[Read]),
            failed: count(&[Failed]),
            cancelled: count(&[Cancelled]),
            replied: count(&[Replied]),
            clicked: count(&[Clicked]),
        }
    }

    /// The campaign's funnel as of now.
    pub async fn read<C: ConnectionTrait>(
        db: &C,
        campaign_id: &CampaignId,
    ) -> Result<Funnel, DbErr> {
        Ok(Funnel::of(&of_campaign(db, campaign_id).await?))
    }
}
