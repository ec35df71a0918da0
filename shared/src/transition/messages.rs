//! Bulk message moves: many messages of one campaign from one status to another.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr};

use super::history::{self, Detail};
use super::{locks, test_messages};
use crate::db::counts;
use crate::db::entities::message;
use crate::ids::{CampaignId, MessageId};
use crate::status::{HistorySource, MessageStatus};
use crate::webhooks::EventKind;
use crate::webhooks::outbox::{self, Change};

/// Which messages a bulk move considers.
pub enum Target<'a> {
    /// These ids (one batch of a campaign).
    Ids(&'a [MessageId]),
    /// Up to `limit` messages of the campaign in the `from` state.
    Campaign { limit: u64 },
}

/// One bulk message transition.
pub struct MessageMove<'a> {
    pub campaign_id: &'a CampaignId,
    pub target: Target<'a>,
    pub from: MessageStatus,
    pub to: MessageStatus,
    /// Only rows still held by this claim token move: a worker whose lease expired
    /// and whose messages were handed to someone else cannot overwrite them.
    pub claim: Option<&'a str>,
    pub sets: Vec<(message::Column, SimpleExpr)>,
    /// More conditions a row must still meet when it is updated (a lease that is still
    /// expired: a claim made since the ids were read keeps its message).
    pub when: Vec<SimpleExpr>,
    pub detail: Detail,
    /// Who makes the move, said in its history rows.
    pub source: HistorySource,
}

/// A message a move changed, as it is after the move.
#[derive(Debug, Clone)]
pub struct Moved {
    pub id: MessageId,
    pub phone: String,
    pub attempts: i32,
    /// A test message: its move is not counted and announces nothing.
    pub test: bool,
    pub send_round: i32,
}

/// Applies a move, writes one `message_events` row per message that moved, updates
/// the campaign's counts and creates the webhook deliveries the move announces.
/// Returns the messages that moved.
pub async fn messages<C: ConnectionTrait>(
    db: &C,
    mut mv: MessageMove<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Moved>, DbErr> {
    debug_assert!(
        mv.to.predecessors().contains(&mv.from),
        "{:?} -> {:?}",
        mv.from,
        mv.to
    );
    // Ids first, then the update by id: a LIMIT subquery inside the UPDATE may be
    // re-evaluated per row by PostgreSQL.
    let ids: Vec<MessageId> = match mv.target {
        Target::Ids(ids) => ids.to_vec(),
        Target::Campaign { limit } => {
            let mut select = Query::select();
            select
                .column(message::Column::Id)
                .from(Alias::new("messages"))
                .and_where(message::Column::CampaignId.eq(mv.campaign_id.clone()))
                .and_where(message::Column::Status.eq(mv.from))
                // A campaign's sweeps (cancel, a fatal stop) leave its tests alone.
                .and_where(message::is_recipient())
                .limit(limit);
            db.query_all(&select)
                .await?
                .into_iter()
                .map(|row| row.try_get_by_index::<MessageId>(0))
                .collect::<Result<_, _>>()?
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // In id order before the update, whose own order is the plan's (`locks`).
    locks::messages(db, &ids).await?;
    let sets = std::mem::take(&mut mv.sets);
    let moved = update(db, &mv, sets, ids, now).await?;
    let ids: Vec<MessageId> = moved.iter().map(|m| m.id.clone()).collect();
    let step = history::Step {
        from: Some(mv.from),
        to: mv.to,
        detail: &mv.detail,
        source: mv.source,
    };
    history::write(db, mv.campaign_id, &ids, step, now).await?;
    // Test messages have a history but are no recipients: no count, no event.
    let (tests, counted): (Vec<&Moved>, Vec<&Moved>) = moved.iter().partition(|m| m.test);
    counts::moved(db, mv.campaign_id, mv.from, mv.to, counted.len()).await?;
    if mv.to == MessageStatus::Failed && !tests.is_empty() {
        let failed: Vec<MessageId> = tests.iter().map(|m| m.id.clone()).collect();
        test_messages::refund_failed(db, &failed, now).await?;
    }
    if EventKind::for_status(mv.to).is_some() {
        let changes: Vec<Change> = counted
            .into_iter()
            .map(|m| m.id.clone())
            .map(|message_id| Change {
                message_id,
                from: mv.from,
                to: mv.to,
                at: now,
            })
            .collect();
        outbox::message_events(db, mv.campaign_id, &changes, now).await?;
    }
    Ok(moved)
}

/// The guarded update itself: by id, from `from` (and the claim token, if any).
async fn update<C: ConnectionTrait>(
    db: &C,
    mv: &MessageMove<'_>,
    sets: Vec<(message::Column, SimpleExpr)>,
    ids: Vec<MessageId>,
    now: DateTime<Utc>,
) -> Result<Vec<Moved>, DbErr> {
    let mut update = Query::update();
    update
        .table(Alias::new("messages"))
        .value(message::Column::Status, mv.to)
        .value(message::Column::UpdatedAt, now);
    for (col, expr) in sets {
        update.value(col, expr);
    }
    // No campaign filter here: the ids are the campaign's already, and with one the
    // planner may scan the campaign's whole status range instead of the primary key.
    update.and_where(message::Column::Status.eq(mv.from));
    if let Some(claim) = mv.claim {
        update.and_where(message::Column::Claim.eq(claim));
    }
    for condition in &mv.when {
        update.and_where(condition.clone());
    }
    update.and_where(message::Column::Id.is_in(ids));
    update.returning(Query::returning().columns([
        message::Column::Id,
        message::Column::Phone,
        message::Column::Attempts,
        message::Column::Test,
        message::Column::SendRound,
    ]));
    db.query_all(&update)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Moved {
                id: row.try_get_by_index(0)?,
                phone: row.try_get_by_index(1)?,
                attempts: row.try_get_by_index(2)?,
                test: row.try_get_by_index(3)?,
                send_round: row.try_get_by_index(4)?,
            })
        })
        .collect()
}
