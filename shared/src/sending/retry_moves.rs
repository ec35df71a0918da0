//! The worker's half of a retry (`retry_failed_messages`): before the dispatch job
//! starts a retried campaign, it moves the recipients the retry chose from `failed`
//! back to `pending`, due now and as if never tried, [`CHUNK`] per transaction, each
//! with its history rows, counts and events (`transition::messages`). A crash between
//! chunks loses nothing: the pick stays on the campaign until the campaign starts, and
//! the next dispatch goes on from the recipients still `failed`.
//!
//! Each chunk takes the campaign's row first, as cancel and pause do, then its
//! messages: a pause or cancel waits for the chunk, and a chunk after it finds the
//! campaign no longer `queued` and stops.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, QuerySelect};

use super::retry_pick::{self, Pick};
use crate::db::entities::{campaign, message};
use crate::db::{Db, begin_write};
use crate::ids::{CampaignId, MessageId};
use crate::status::{CampaignStatus, HistorySource, MessageStatus};
use crate::transition::{self, Detail, MessageMove, Target};

/// Messages moved per transaction.
pub const CHUNK: u64 = 5000;

/// What one call did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Moved this many recipients, up to `last`; call again after it.
    Moved { moved: usize, last: MessageId },
    /// No retry is being moved: none was asked for, or every chosen recipient is
    /// `pending` again. The campaign may start.
    Done,
    /// The campaign is no longer `queued` (paused or cancelled): leave it.
    Stopped,
}

/// Moves the next chunk of the campaign's retry, if it has one: the chosen recipients
/// after `after` (the last one the previous chunk moved), so failed recipients the pick
/// leaves alone are read once per retry, not once per chunk.
pub async fn next_chunk(
    db: &Db,
    id: &CampaignId,
    after: Option<&MessageId>,
    now: DateTime<Utc>,
) -> Result<Step, DbErr> {
    let txn = begin_write(db).await?;
    let mut find = campaign::Entity::find_by_id(id.clone());
    if db.get_database_backend() == DbBackend::Postgres {
        // The lock an UPDATE takes (as pause and cancel do): it serialises chunks with
        // them, and lets the foreign-key checks of count rows and history go by.
        find = find.lock(LockType::NoKeyUpdate);
    }
    let Some(c) = find.one(&txn).await? else {
        return Ok(Step::Stopped);
    };
    if c.status != CampaignStatus::Queued {
        return Ok(Step::Stopped);
    }
    let Some(pick) = c.retry_pick.as_deref() else {
        return Ok(Step::Done);
    };
    let Some(pick) = Pick::from_stored(pick) else {
        tracing::warn!(campaign_id = %id, pick, "a retry pick that cannot be read: the campaign starts without it");
        return Ok(Step::Done);
    };
    let ids = retry_pick::chosen(&txn, id, &pick, after, CHUNK).await?;
    let Some(last) = ids.last().cloned() else {
        return Ok(Step::Done);
    };
    let moved = back_to_pending(&txn, id, &ids, now).await?;
    txn.commit().await?;
    Ok(Step::Moved { moved, last })
}

/// Moves these failed messages to `pending`, due now, as if never tried: no attempts,
/// error, WhatsApp id or claim left, and one more send round, so callbacks for the
/// earlier send no longer apply to it. Returns how many moved.
async fn back_to_pending<C: ConnectionTrait>(
    txn: &C,
    campaign_id: &CampaignId,
    ids: &[MessageId],
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let no_time = || Expr::value(Option::<DateTime<Utc>>::None);
    let moved = transition::messages(
        txn,
        MessageMove {
            campaign_id,
            target: Target::Ids(ids),
            from: MessageStatus::Failed,
            to: MessageStatus::Pending,
            claim: None,
            sets: vec![
                (message::Column::Attempts, Expr::value(0)),
                (message::Column::NextAttemptAt, Expr::value(now)),
                (message::Column::Claim, Expr::value(Option::<String>::None)),
                (message::Column::LeaseUntil, no_time()),
                (message::Column::Wamid, Expr::value(Option::<String>::None)),
                (message::Column::SentAt, no_time()),
                (message::Column::FailedAt, no_time()),
                (message::Column::ErrorCode, Expr::value(Option::<i32>::None)),
                (
                    message::Column::ErrorMessage,
                    Expr::value(Option::<String>::None),
                ),
                (
                    message::Column::SendRound,
                    Expr::col(message::Column::SendRound).add(1),
                ),
            ],
            when: Vec::new(),
            detail: Detail::Same(Some("sent again by request".into())),
            source: HistorySource::Operator,
        },
        now,
    )
    .await?;
    Ok(moved.len())
}
