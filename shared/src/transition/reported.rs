//! One WhatsApp status onto one message, forward only. The move is a compare-and-set
//! on the status the message was read in; whoever wins writes the history, the counts
//! and the webhook events, and a jump fills the gap (`sent` to `read` also announces
//! `delivered`). A late, repeated or backward status changes nothing.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, UpdateMany};

use super::bound::{Senders, same_recipient};
use super::history::{self, Detail};
use crate::db::counts;
use crate::db::entities::message;
use crate::ids::{CampaignId, MessageId};
use crate::status::MessageStatus;
use crate::webhooks::outbox::{self, Change};

/// A status callback, parsed.
#[derive(Clone, Debug)]
pub struct Report {
    pub wamid: String,
    pub to: MessageStatus,
    pub at: DateTime<Utc>,
    /// Our message id, from `biz_opaque_callback_data`.
    pub message_id: Option<MessageId>,
    /// The number the notification is for (`metadata.phone_number_id`).
    pub number: Option<String>,
    /// Who the message went to (`recipient_id`).
    pub recipient: Option<String>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
}

/// What applying a report did.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// Moved `from -> to`; `campaign_id` may now be complete.
    Moved {
        campaign_id: CampaignId,
        from: MessageStatus,
    },
    /// Already there or past it.
    Unchanged,
    /// No message of ours has this wamid or id.
    Unknown,
    /// It names a message of ours, but came for another number (or, by our id, for
    /// another recipient): ignored.
    Foreign,
}

/// Rounds of compare-and-set before giving up to a writer that keeps winning.
const ROUNDS: usize = 5;

/// Applies `report` to the message it names (by wamid, else by our id), if the
/// report is bound to it (see `bound`).
pub async fn reported<C: ConnectionTrait>(
    db: &C,
    report: &Report,
    senders: &mut Senders,
    now: DateTime<Utc>,
) -> Result<Settled, DbErr> {
    for round in 0..ROUNDS {
        let Some((row, by_wamid)) = find(db, report).await? else {
            return Ok(Settled::Unknown);
        };
        if round == 0 && !bound(db, &row, by_wamid, report, senders).await? {
            return Ok(Settled::Foreign);
        }
        let from = row.status;
        let Some(chain) = steps(from, report.to) else {
            return Ok(Settled::Unchanged);
        };
        let moved = update(report, &chain, now)
            .filter(message::Column::Id.eq(row.id.clone()))
            .filter(message::Column::Status.eq(from))
            .exec(db)
            .await?;
        if moved.rows_affected != 1 {
            continue;
        }
        announce(db, &row, report, from, chain, now).await?;
        return Ok(Settled::Moved {
            campaign_id: row.campaign_id,
            from,
        });
    }
    Ok(Settled::Unchanged)
}

/// The update of a report, without its guard: status, wamid, the time of every step.
fn update(
    report: &Report,
    chain: &[MessageStatus],
    now: DateTime<Utc>,
) -> UpdateMany<message::Entity> {
    let mut update = message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value(report.to))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .col_expr(message::Column::Claim, Expr::value(Option::<String>::None))
        .col_expr(
            message::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            message::Column::Wamid,
            coalesce(message::Column::Wamid, report.wamid.clone().into()),
        );
    for step in chain {
        let column = match step {
            MessageStatus::Sent => message::Column::SentAt,
            MessageStatus::Delivered => message::Column::DeliveredAt,
            MessageStatus::Read => message::Column::ReadAt,
            _ => message::Column::FailedAt,
        };
        update = update.col_expr(column, coalesce(column, report.at.into()));
    }
    if report.to == MessageStatus::Failed {
        update = update
            .col_expr(message::Column::ErrorCode, Expr::value(report.error_code))
            .col_expr(
                message::Column::ErrorMessage,
                Expr::value(report.error_message.clone()),
            );
    }
    update
}

/// History row per step, the counts, and the events of every step.
async fn announce<C: ConnectionTrait>(
    db: &C,
    row: &message::Model,
    report: &Report,
    from: MessageStatus,
    chain: Vec<MessageStatus>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut prev = from;
    let mut changes = Vec::with_capacity(chain.len());
    for step in chain {
        let detail = match (step, &report.error_message) {
            (MessageStatus::Failed, Some(msg)) => format!(
                "callback: {}{msg}",
                report
                    .error_code
                    .map(|c| format!("({c}) "))
                    .unwrap_or_default()
            ),
            _ => "callback".to_owned(),
        };
        history::write(
            db,
            &row.campaign_id,
            std::slice::from_ref(&row.id),
            Some(prev),
            step,
            &Detail::Same(Some(detail)),
            now,
        )
        .await?;
        changes.push(Change {
            message_id: row.id.clone(),
            from: prev,
            to: step,
            at: report.at,
        });
        prev = step;
    }
    counts::moved(db, &row.campaign_id, from, report.to, 1).await?;
    outbox::message_events(db, &row.campaign_id, &changes, now).await?;
    Ok(())
}

/// The statuses a message passes through from `from` to `to`, or `None` when the
/// report is not ahead of it. `failed` is reached directly from any status before
/// `delivered`; nothing leaves `failed`.
pub fn steps(from: MessageStatus, to: MessageStatus) -> Option<Vec<MessageStatus>> {
    use MessageStatus::*;
    if !to.predecessors().contains(&from) {
        return None;
    }
    if to == Failed {
        return Some(vec![Failed]);
    }
    let start = from.rank()?.max(Sending.rank()?);
    let end = to.rank()?;
    Some(
        [Sent, Delivered, Read]
            .into_iter()
            .filter(|s| s.rank().is_some_and(|r| r > start && r <= end))
            .collect(),
    )
}

/// The message a report names, and whether by its wamid (else by our id).
async fn find<C: ConnectionTrait>(
    db: &C,
    r: &Report,
) -> Result<Option<(message::Model, bool)>, DbErr> {
    if let Some(m) = message::Entity::find()
        .filter(message::Column::Wamid.eq(&r.wamid))
        .one(db)
        .await?
    {
        return Ok(Some((m, true)));
    }
    match &r.message_id {
        Some(id) => Ok(message::Entity::find_by_id(id.clone())
            .one(db)
            .await?
            .map(|m| (m, false))),
        None => Ok(None),
    }
}

/// A wamid is WhatsApp's own, so its number must match; our id can be set by any
/// sender, so the recipient must match too.
async fn bound<C: ConnectionTrait>(
    db: &C,
    row: &message::Model,
    by_wamid: bool,
    r: &Report,
    senders: &mut Senders,
) -> Result<bool, DbErr> {
    let recipient_ok = by_wamid
        || r.recipient
            .as_deref()
            .is_some_and(|p| same_recipient(&row.phone, p));
    Ok(recipient_ok && senders.sent_from(db, row, r.number.as_deref()).await?)
}

fn coalesce(col: message::Column, value: sea_orm::Value) -> SimpleExpr {
    Func::coalesce([Expr::col(col), Expr::val(value)]).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn jumps_fill_the_gap_and_nothing_goes_back() {
        assert_eq!(steps(Sent, Read), Some(vec![Delivered, Read]));
        assert_eq!(steps(Sending, Delivered), Some(vec![Sent, Delivered]));
        assert_eq!(steps(Pending, Read), Some(vec![Sent, Delivered, Read]));
        assert_eq!(steps(Sent, Sent), None);
        assert_eq!(steps(Read, Delivered), None);
        assert_eq!(steps(Delivered, Sent), None);
        assert_eq!(steps(Sent, Failed), Some(vec![Failed]));
        assert_eq!(steps(Delivered, Failed), None);
        assert_eq!(steps(Failed, Read), None);
        assert_eq!(steps(Failed, Failed), None);
    }
}
