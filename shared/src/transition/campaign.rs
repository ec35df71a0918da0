//! Campaign status changes: the guarded update, its `campaign_events` history row, the
//! campaign's webhook event, and for a cancel, its unsent messages.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use super::history::Detail;
use super::messages::{MessageMove, Target, messages};
use crate::db::entities::{campaign, campaign_event};
use crate::events::EventKind;
use crate::ids::CampaignId;
use crate::status::{CampaignStatus, HistorySource, MessageStatus};
use crate::webhooks::campaign_events::campaign_event;

/// Messages cancelled per statement when a campaign is cancelled.
pub const CANCEL_CHUNK: u64 = 5000;

/// Unsent messages a cancel moves in its own transaction (the request's). Past this,
/// the reconciler cancels the rest a chunk per transaction within seconds: claims
/// already refuse a cancelled campaign, and a million moves (about 90 s) would outlast
/// the request.
pub const CANCEL_AT_ONCE: u64 = 20_000;

/// One campaign transition.
pub struct CampaignMove<'a> {
    pub id: &'a CampaignId,
    /// The statuses it may leave; a subset of `to.predecessors()`.
    pub from: &'a [CampaignStatus],
    pub to: CampaignStatus,
    /// Columns set with the status.
    pub sets: Vec<(campaign::Column, SimpleExpr)>,
    /// Said in the history row.
    pub detail: Option<String>,
    /// More conditions the row must meet, checked under its lock (a scheduled campaign
    /// is queued only while its `scheduled_at` is the one that fell due).
    pub when: Vec<SimpleExpr>,
}

impl<'a> CampaignMove<'a> {
    /// A move to `to` from any status allowed to precede it.
    pub fn to(id: &'a CampaignId, to: CampaignStatus) -> CampaignMove<'a> {
        CampaignMove {
            id,
            from: to.predecessors(),
            to,
            sets: Vec::new(),
            detail: None,
            when: Vec::new(),
        }
    }

    pub fn when(mut self, condition: SimpleExpr) -> Self {
        self.when.push(condition);
        self
    }

    pub fn from(mut self, from: &'a [CampaignStatus]) -> Self {
        self.from = from;
        self
    }

    pub fn set(mut self, col: campaign::Column, value: SimpleExpr) -> Self {
        self.sets.push((col, value));
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Applies a move. Returns the status the campaign left, or `None` when it was not in
/// one of `from` (another caller got there first, or the move is not allowed now).
/// Run it in a transaction: the history row, the cancelled messages and the event
/// belong with the change.
pub async fn campaign<C: ConnectionTrait>(
    db: &C,
    mv: CampaignMove<'_>,
    now: DateTime<Utc>,
) -> Result<Option<CampaignStatus>, DbErr> {
    debug_assert!(
        mv.from.iter().all(|f| mv.to.predecessors().contains(f)),
        "{:?} -> {:?}",
        mv.from,
        mv.to
    );
    let mut current = campaign::Entity::find_by_id(mv.id.clone())
        .select_only()
        .column(campaign::Column::Status);
    for condition in &mv.when {
        current = current.filter(condition.clone());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        current = current.lock_exclusive();
    }
    let Some(from) = current.into_tuple::<CampaignStatus>().one(db).await? else {
        return Ok(None);
    };
    if !mv.from.contains(&from) {
        return Ok(None);
    }
    let mut update = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(mv.to))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now));
    for (col, expr) in mv.sets {
        update = update.col_expr(col, expr);
    }
    for condition in mv.when {
        update = update.filter(condition);
    }
    let moved = update
        .filter(campaign::Column::Id.eq(mv.id.clone()))
        .filter(campaign::Column::Status.eq(from))
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(None);
    }
    campaign_event::Entity::insert(campaign_event::ActiveModel {
        id: NotSet,
        campaign_id: Set(mv.id.clone()),
        from_status: Set(Some(from)),
        to_status: Set(mv.to),
        at: Set(now),
        detail: Set(mv.detail),
    })
    .exec_without_returning(db)
    .await?;
    if mv.to == CampaignStatus::Cancelled {
        cancel_unsent(db, mv.id, HistorySource::Operator, CANCEL_AT_ONCE, now).await?;
    }
    if let Some(event) = EventKind::for_campaign(from, mv.to) {
        campaign_event(db, mv.id, event, from, now).await?;
    }
    Ok(Some(from))
}

/// Cancels pending messages of the campaign, at most `max` (rounded up to a chunk).
/// Returns how many; fewer than `max` means none is left. `source` is the operator at
/// the cancel itself, the reconciler for the rest and for messages handed back after it.
pub async fn cancel_unsent<C: ConnectionTrait>(
    db: &C,
    id: &CampaignId,
    source: HistorySource,
    max: u64,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut total = 0;
    while total < max {
        let moved = messages(
            db,
            MessageMove {
                campaign_id: id,
                target: Target::Campaign {
                    limit: CANCEL_CHUNK,
                },
                from: MessageStatus::Pending,
                to: MessageStatus::Cancelled,
                claim: None,
                sets: Vec::new(),
                when: Vec::new(),
                detail: Detail::Same(Some("campaign cancelled".into())),
                source,
            },
            now,
        )
        .await?
        .len() as u64;
        total += moved;
        if moved < CANCEL_CHUNK {
            break;
        }
    }
    Ok(total)
}
