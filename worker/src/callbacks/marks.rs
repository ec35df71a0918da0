//! Replies and button taps: first-time marks on the message they quote, counted
//! beside the statuses. Not a status change: a replied message keeps its status.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use waplify_shared::db::counts::{self, Tally};
use waplify_shared::db::entities::message;

/// A first-time mark and the count it feeds.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    Replied,
    Clicked,
}

impl Mark {
    fn column(self) -> message::Column {
        match self {
            Mark::Replied => message::Column::RepliedAt,
            Mark::Clicked => message::Column::ClickedAt,
        }
    }

    fn tally(self) -> Tally {
        match self {
            Mark::Replied => Tally::Replied,
            Mark::Clicked => Tally::Clicked,
        }
    }
}

/// The message of ours a reply quotes, by wamid.
pub async fn quoted<C: ConnectionTrait>(
    db: &C,
    wamid: &str,
) -> Result<Option<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::Wamid.eq(wamid))
        .one(db)
        .await
}

/// Sets `mark` on the message `m`, unless set already, and counts it. Returns whether
/// this call set it.
pub async fn set<C: ConnectionTrait>(
    db: &C,
    m: &message::Model,
    mark: Mark,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let set = message::Entity::update_many()
        .col_expr(mark.column(), Expr::value(at))
        .filter(message::Column::Id.eq(m.id.clone()))
        .filter(mark.column().is_null())
        .exec(db)
        .await?;
    if set.rows_affected != 1 {
        return Ok(false);
    }
    if m.test {
        // Marked for its own history, not counted: a test message is no recipient.
        return Ok(true);
    }
    counts::adjust(db, &m.campaign_id, &[(mark.tally(), 1)]).await?;
    Ok(true)
}
