//! WhatsApp statuses onto our messages, forward only. Each message's write is a
//! compare-and-set on the status it was read in; a write that lands brings the
//! history, the counts and the webhook events with it, and a jump fills the gap
//! (`sent` to `read` also announces `delivered`). A late, repeated or backward status
//! changes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, UpdateMany};

use super::bound::Senders;
use super::history;
use super::report::{Report, Settled};
use super::reported_walk::{self, Move};
use super::{locks, test_messages};
use crate::db::counts::{self, Tally};
use crate::db::entities::message;
use crate::ids::{CampaignId, MessageId};
use crate::status::{HistorySource, MessageStatus};
use crate::webhooks::outbox::{self, Change};

/// What a chunk of reports did.
#[derive(Debug)]
pub struct Reported {
    /// What each report did, in order.
    pub settled: Vec<Settled>,
    /// Test messages the chunk failed, whose charge the caller gives back
    /// ([`refund_failed_tests`]) once it has locked what comes before the account's
    /// balance in the lock order (`locks`): settled campaigns.
    pub failed_tests: Vec<MessageId>,
}

/// Gives back the charge of these failed test messages, if not given back yet.
pub async fn refund_failed_tests<C: ConnectionTrait>(
    db: &C,
    ids: &[MessageId],
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    test_messages::refund_failed(db, ids, now).await
}

/// Applies a chunk of reports, in order, each to the message it names (by wamid, else
/// by our id, for the send round it names) if the report is bound to it (see
/// `bound`).
///
/// The messages are read first, on PostgreSQL locked in id order with their
/// campaigns' count shards after them (`locks`), so two chunks, or a chunk and a
/// record, never wait on each other in crossed order; each moved message is then
/// written once, and its history, counts and events go in a few statements per
/// campaign instead of several per status.
pub async fn reported<C: ConnectionTrait>(
    db: &C,
    reports: &[Report],
    senders: &mut Senders,
    now: DateTime<Utc>,
) -> Result<Reported, DbErr> {
    if reports.is_empty() {
        return Ok(Reported {
            settled: Vec::new(),
            failed_tests: Vec::new(),
        });
    }
    let rows = locks::named(db, reports).await?;
    let walk = reported_walk::walk(db, rows, reports, senders).await?;
    let mut settled = walk.settled;
    let mut written = Vec::new();
    for (id, mv) in walk.moves {
        let moved = update(&mv, now)
            .filter(message::Column::Id.eq(id))
            .filter(message::Column::Status.eq(mv.row.status))
            .exec(db)
            .await?;
        if moved.rows_affected == 1 {
            written.push(mv);
        } else {
            // Changed since it was read, which the row lock (PostgreSQL) or the write
            // transaction (SQLite) rules out: as any lost compare-and-set, its
            // reports changed nothing.
            for i in mv.reports {
                settled[i] = Settled::Unchanged;
            }
        }
    }
    announce(db, &written, now).await?;
    let failed_tests = written
        .iter()
        .filter(|mv| mv.row.test && mv.to == MessageStatus::Failed)
        .map(|mv| mv.row.id.clone())
        .collect();
    Ok(Reported {
        settled,
        failed_tests,
    })
}

/// The update of one message: status, wamid, the time of every step, the error.
fn update(mv: &Move, now: DateTime<Utc>) -> UpdateMany<message::Entity> {
    let mut update = message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value(mv.to))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .col_expr(message::Column::Claim, Expr::value(Option::<String>::None))
        .col_expr(
            message::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    if let Some(wamid) = &mv.wamid {
        update = update.col_expr(
            message::Column::Wamid,
            coalesce(message::Column::Wamid, wamid.clone().into()),
        );
    }
    for (step, at) in &mv.times {
        let column = match step {
            MessageStatus::Sent => message::Column::SentAt,
            MessageStatus::Delivered => message::Column::DeliveredAt,
            MessageStatus::Read => message::Column::ReadAt,
            _ => message::Column::FailedAt,
        };
        update = update.col_expr(column, coalesce(column, (*at).into()));
    }
    if let Some((code, message)) = &mv.error {
        update = update
            .col_expr(message::Column::ErrorCode, Expr::value(*code))
            .col_expr(message::Column::ErrorMessage, Expr::value(message.clone()));
    }
    update
}

/// The history rows of every step, then per campaign (in id order, as the shards were
/// locked) the counts and the events.
async fn announce<C: ConnectionTrait>(
    db: &C,
    written: &[Move],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut rows = Vec::new();
    for mv in written {
        for s in &mv.steps {
            rows.push(history::Row {
                campaign_id: mv.row.campaign_id.clone(),
                message_id: mv.row.id.clone(),
                from: Some(s.from),
                to: s.to,
                detail: Some(s.detail.clone()),
                source: HistorySource::Callback,
            });
        }
    }
    history::write_rows(db, rows, now).await?;
    // A test message moves forward like any other, but counts and announces nothing.
    let mut campaigns: BTreeMap<CampaignId, (BTreeMap<Tally, i64>, Vec<Change>)> = BTreeMap::new();
    for mv in written.iter().filter(|mv| !mv.row.test) {
        let (deltas, changes) = campaigns.entry(mv.row.campaign_id.clone()).or_default();
        *deltas.entry(mv.row.status.into()).or_default() -= 1;
        *deltas.entry(mv.to.into()).or_default() += 1;
        changes.extend(mv.steps.iter().map(|s| Change {
            message_id: mv.row.id.clone(),
            from: s.from,
            to: s.to,
            at: s.at,
        }));
    }
    for (campaign_id, (deltas, changes)) in campaigns {
        let deltas: Vec<(Tally, i64)> = deltas.into_iter().collect();
        counts::adjust(db, &campaign_id, &deltas).await?;
        outbox::message_events(db, &campaign_id, &changes, now).await?;
    }
    Ok(())
}

fn coalesce(col: message::Column, value: sea_orm::Value) -> SimpleExpr {
    Func::coalesce([Expr::col(col), Expr::val(value)]).into()
}
