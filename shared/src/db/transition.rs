//! Guarded status transitions. Each is one `UPDATE … WHERE status IN (allowed)`;
//! only the rows it actually changed count, and only those get a history row.
//! That is what makes retried jobs, duplicate deliveries and late callbacks harmless.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, CaseStatement, Expr, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value,
};

use super::entities::{campaign, message, message_event};
use crate::status::{CampaignStatus, MessageStatus};
use crate::webhooks::EventKind;
use crate::webhooks::fanout::{self, Change};

/// Moves one campaign to `to` from any of its allowed predecessors, setting `extra`
/// columns too. Returns whether this caller made the change.
pub async fn campaign<C: ConnectionTrait>(
    db: &C,
    id: &str,
    to: CampaignStatus,
    now: DateTime<Utc>,
    extra: Vec<(campaign::Column, SimpleExpr)>,
) -> Result<bool, DbErr> {
    let mut update = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(to.as_str()))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now));
    for (col, expr) in extra {
        update = update.col_expr(col, expr);
    }
    let result = update
        .filter(campaign::Column::Id.eq(id))
        .filter(campaign::Column::Status.is_in(crate::status::names(to.predecessors())))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Which messages a bulk move considers.
pub enum Target<'a> {
    /// These ids (one batch of a campaign).
    Ids(&'a [String]),
    /// Up to `limit` messages of a campaign in the `from` state.
    Campaign { campaign_id: &'a str, limit: u64 },
}

/// What the history rows of a move say.
pub enum Detail {
    Same(Option<String>),
    PerId(HashMap<String, String>),
}

/// One bulk message transition.
pub struct MessageMove<'a> {
    pub campaign_id: &'a str,
    pub target: Target<'a>,
    pub from: MessageStatus,
    pub to: MessageStatus,
    /// Only rows still held by this claim token move: a worker whose lease expired
    /// and whose messages were handed to someone else cannot overwrite them.
    pub claim: Option<&'a str>,
    pub sets: Vec<(message::Column, SimpleExpr)>,
    pub detail: Detail,
}

/// A message a move changed, as it is after the move.
#[derive(Debug, Clone)]
pub struct Moved {
    pub id: String,
    pub phone: String,
    pub attempts: i32,
}

/// Applies a move, writes one `message_events` row per message that moved, updates
/// the campaign's counts and creates the webhook deliveries the move announces.
/// Returns the messages that moved.
pub async fn messages<C: ConnectionTrait>(
    db: &C,
    mv: MessageMove<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Moved>, DbErr> {
    debug_assert!(
        mv.to.predecessors().contains(&mv.from),
        "{:?} -> {:?}",
        mv.from,
        mv.to
    );
    let table = Alias::new("messages");
    let mut update = Query::update();
    update
        .table(table.clone())
        .value(message::Column::Status, mv.to.as_str())
        .value(message::Column::UpdatedAt, now);
    for (col, expr) in mv.sets {
        update.value(col, expr);
    }
    // No campaign filter here: the ids are the campaign's already, and with one the
    // planner may scan the campaign's whole status range instead of the primary key.
    update.and_where(message::Column::Status.eq(mv.from.as_str()));
    if let Some(claim) = mv.claim {
        update.and_where(message::Column::Claim.eq(claim));
    }
    // Ids first, then the update by id: a LIMIT subquery inside the UPDATE may be
    // re-evaluated per row by PostgreSQL.
    let ids: Vec<String> = match mv.target {
        Target::Ids(ids) => ids.to_vec(),
        Target::Campaign { campaign_id, limit } => {
            let mut select = Query::select();
            select
                .column(message::Column::Id)
                .from(table.clone())
                .and_where(message::Column::CampaignId.eq(campaign_id))
                .and_where(message::Column::Status.eq(mv.from.as_str()))
                .limit(limit);
            db.query_all(&select)
                .await?
                .into_iter()
                .map(|row| row.try_get_by_index::<String>(0))
                .collect::<Result<_, _>>()?
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    update.and_where(message::Column::Id.is_in(ids));
    update.returning(Query::returning().columns([
        message::Column::Id,
        message::Column::Phone,
        message::Column::Attempts,
    ]));
    let moved: Vec<Moved> = db
        .query_all(&update)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Moved {
                id: row.try_get_by_index(0)?,
                phone: row.try_get_by_index(1)?,
                attempts: row.try_get_by_index(2)?,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    let ids: Vec<String> = moved.iter().map(|m| m.id.clone()).collect();
    record_events(
        db,
        mv.campaign_id,
        &ids,
        Some(mv.from),
        mv.to,
        &mv.detail,
        now,
    )
    .await?;
    super::counts::moved(db, mv.campaign_id, mv.from, mv.to, moved.len()).await?;
    if EventKind::for_status(mv.to).is_some() {
        let changes: Vec<Change> = moved
            .iter()
            .map(|m| Change {
                message_id: m.id.clone(),
                from: mv.from,
                to: mv.to,
                at: now,
            })
            .collect();
        fanout::message_events(db, mv.campaign_id, &changes, now).await?;
    }
    Ok(moved)
}

/// Appends history rows for messages that just changed state.
pub async fn record_events<C: ConnectionTrait>(
    db: &C,
    campaign_id: &str,
    ids: &[String],
    from: Option<MessageStatus>,
    to: MessageStatus,
    detail: &Detail,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(2000) {
        let rows = chunk.iter().map(|id| message_event::ActiveModel {
            id: NotSet,
            message_id: Set(id.clone()),
            campaign_id: Set(campaign_id.to_owned()),
            from_status: Set(from.map(|s| s.as_str().to_owned())),
            to_status: Set(to.as_str().to_owned()),
            at: Set(now),
            detail: Set(match detail {
                Detail::Same(d) => d.clone(),
                Detail::PerId(map) => map.get(id).cloned(),
            }),
        });
        message_event::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// `CASE id WHEN … THEN … END`: one value per row in a single bulk `UPDATE`.
pub fn case_by_id<V: Into<Value>>(pairs: impl IntoIterator<Item = (String, V)>) -> SimpleExpr {
    case_by(message::Column::Id, pairs)
}

/// `CASE key WHEN … THEN … END` over any table's key column.
pub fn case_by<K: ColumnTrait, V: Into<Value>>(
    key: K,
    pairs: impl IntoIterator<Item = (String, V)>,
) -> SimpleExpr {
    let mut case = CaseStatement::new();
    for (id, value) in pairs {
        case = case.case(key.eq(id), Expr::val(value.into()));
    }
    case.into()
}
