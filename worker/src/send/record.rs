//! Recording what the provider said: every call in `provider_calls`, and each
//! message's move out of `sending` (or out of the hold a lease expiry put it in),
//! fenced by the claim token, in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait};

use waplify_shared::db::entities::{message, provider_call};
use waplify_shared::db::sql::case_by;
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::sending::codes;
use waplify_shared::status::MessageStatus;
use waplify_shared::transition;

use super::claim::Claimed;
use super::provider::{Answer, Call};
use super::record_move::{Late, MoveOut};
use super::verdict::Verdict;

/// One message's call and what to do about it.
#[derive(Clone)]
pub struct Outcome {
    pub message: Claimed,
    pub call: Call,
    pub verdict: Verdict,
}

/// What the transaction changed.
#[derive(Debug, Default)]
pub struct Recorded {
    pub sent: usize,
    pub failed: usize,
    /// Messages handed back for a retry, and when.
    pub retries: Vec<(MessageId, DateTime<Utc>)>,
    /// The first campaign-fatal answer, if any.
    pub fatal: Option<(Option<i32>, String)>,
}

/// A provider error as stored: code and text.
type Failure = (Option<i32>, String);

/// The outcomes of one flush, grouped by where their messages go.
#[derive(Default)]
struct Sorted {
    sent: Vec<(MessageId, String)>,
    retry: Vec<(MessageId, DateTime<Utc>, Failure)>,
    /// The retries held for a status callback: they keep their claim token.
    held: Vec<MessageId>,
    failed: Vec<(MessageId, Failure)>,
    fatal: Option<Failure>,
    calls: Vec<provider_call::ActiveModel>,
}

pub async fn record(
    db: &Db,
    campaign_id: &CampaignId,
    claim: &str,
    outcomes: Vec<Outcome>,
) -> Result<Recorded, DbErr> {
    let now = Utc::now();
    let sorted = sort(campaign_id, outcomes, now);
    let out = |to, details| MoveOut {
        campaign_id,
        claim,
        to,
        details,
    };
    let txn = begin_write(db).await?;
    transition::locks::messages(&txn, &sorted.ids()).await?;
    let sent = out(MessageStatus::Sent, details_sent(&sorted.sent))
        .apply(&txn, sets_sent(&sorted.sent, now), now, Late::Land)
        .await?;
    let retried = out(MessageStatus::Pending, details_retry(&sorted.retry))
        .apply(
            &txn,
            sets_retry(&sorted.retry, &sorted.held),
            now,
            Late::Stay,
        )
        .await?;
    let failed = out(MessageStatus::Failed, details_failed(&sorted.failed))
        .apply(&txn, sets_failed(&sorted.failed, now), now, Late::Land)
        .await?;
    if !sorted.calls.is_empty() {
        provider_call::Entity::insert_many(sorted.calls)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    let retry_at: HashMap<MessageId, DateTime<Utc>> = sorted
        .retry
        .into_iter()
        .map(|(id, at, _)| (id, at))
        .collect();
    Ok(Recorded {
        sent: sent.len(),
        failed: failed.len(),
        retries: retried
            .into_iter()
            .map(|id| {
                let at = retry_at[&id];
                (id, at)
            })
            .collect(),
        fatal: sorted.fatal,
    })
}

impl Sorted {
    /// Every message the record may move.
    fn ids(&self) -> Vec<MessageId> {
        let sent = self.sent.iter().map(|(id, _)| id);
        let retry = self.retry.iter().map(|(id, _, _)| id);
        let failed = self.failed.iter().map(|(id, _)| id);
        sent.chain(retry).chain(failed).cloned().collect()
    }
}

/// Groups the outcomes and builds their `provider_calls` rows.
fn sort(campaign_id: &CampaignId, outcomes: Vec<Outcome>, now: DateTime<Utc>) -> Sorted {
    let mut out = Sorted::default();
    for o in outcomes {
        let (http_status, code, error) = match &o.call.answer {
            Answer::Accepted { .. } => (Some(200), None, None),
            Answer::Unknown {
                http_status,
                message,
            } => (
                http_status.map(i32::from),
                None,
                Some(codes::unknown_outcome(message)),
            ),
            Answer::Rejected {
                http_status,
                code,
                message,
                ..
            } => (
                http_status.map(i32::from),
                code.and_then(|c| i32::try_from(c).ok()),
                Some(message.clone()),
            ),
        };
        let failure = (code, error.clone().unwrap_or_default());
        let id = o.message.id.clone();
        match &o.verdict {
            Verdict::Sent { wamid } => out.sent.push((id, wamid.clone())),
            Verdict::Retry { delay } | Verdict::Hold { delay } => {
                let at = now + chrono::Duration::from_std(*delay).unwrap_or_default();
                if matches!(o.verdict, Verdict::Hold { .. }) {
                    out.held.push(id.clone());
                }
                out.retry.push((id, at, failure));
            }
            Verdict::Failed | Verdict::GaveUp => out.failed.push((id, failure)),
            Verdict::Fatal => {
                out.fatal.get_or_insert_with(|| failure.clone());
                out.failed.push((id, failure));
            }
        }
        let Some(outcome) = o.verdict.outcome() else {
            continue;
        };
        out.calls.push(provider_call::ActiveModel {
            id: NotSet,
            message_id: Set(o.message.id),
            campaign_id: Set(campaign_id.clone()),
            attempt: Set(o.message.attempt),
            outcome: Set(outcome),
            http_status: Set(http_status),
            error_code: Set(code),
            error_message: Set(error),
            latency_ms: Set(o.call.latency.as_millis().min(i32::MAX as u128) as i32),
            at: Set(now),
        });
    }
    out
}

fn details_sent(sent: &[(MessageId, String)]) -> HashMap<MessageId, String> {
    sent.iter().cloned().collect()
}

fn sets_sent(
    sent: &[(MessageId, String)],
    now: DateTime<Utc>,
) -> Vec<(message::Column, SimpleExpr)> {
    vec![
        (message::Column::Wamid, by_id(sent.iter().cloned())),
        (message::Column::SentAt, Expr::value(now)),
        (message::Column::LeaseUntil, null_time()),
        (message::Column::ErrorCode, Expr::value(Option::<i32>::None)),
        (
            message::Column::ErrorMessage,
            Expr::value(Option::<String>::None),
        ),
    ]
}

fn details_retry(retry: &[(MessageId, DateTime<Utc>, Failure)]) -> HashMap<MessageId, String> {
    retry
        .iter()
        .map(|(id, at, failure)| {
            let what = format!("retry at {}", at.to_rfc3339());
            (id.clone(), describe(what, failure))
        })
        .collect()
}

/// A held message keeps its claim token: that marks it as waiting for its status
/// callback (see `claim`), and lets its own late result still land.
fn sets_retry(
    retry: &[(MessageId, DateTime<Utc>, Failure)],
    held: &[MessageId],
) -> Vec<(message::Column, SimpleExpr)> {
    vec![
        (
            message::Column::NextAttemptAt,
            by_id(retry.iter().map(|r| (r.0.clone(), r.1))),
        ),
        (
            message::Column::ErrorCode,
            by_id(retry.iter().map(|r| (r.0.clone(), r.2.0))),
        ),
        (
            message::Column::ErrorMessage,
            by_id(retry.iter().map(|r| (r.0.clone(), r.2.1.clone()))),
        ),
        (
            message::Column::Claim,
            Expr::case(
                message::Column::Id.is_in(held.iter().cloned()),
                Expr::col(message::Column::Claim),
            )
            .finally(Expr::value(Option::<String>::None))
            .into(),
        ),
        (message::Column::LeaseUntil, null_time()),
    ]
}

fn details_failed(failed: &[(MessageId, Failure)]) -> HashMap<MessageId, String> {
    failed
        .iter()
        .map(|(id, failure)| (id.clone(), describe("failed".into(), failure)))
        .collect()
}

fn sets_failed(
    failed: &[(MessageId, Failure)],
    now: DateTime<Utc>,
) -> Vec<(message::Column, SimpleExpr)> {
    vec![
        (message::Column::FailedAt, Expr::value(now)),
        (
            message::Column::ErrorCode,
            by_id(failed.iter().map(|f| (f.0.clone(), f.1.0))),
        ),
        (
            message::Column::ErrorMessage,
            by_id(failed.iter().map(|f| (f.0.clone(), f.1.1.clone()))),
        ),
        (message::Column::LeaseUntil, null_time()),
    ]
}

/// `CASE id WHEN … THEN … END` over message ids.
fn by_id<V: Into<sea_orm::Value>>(pairs: impl IntoIterator<Item = (MessageId, V)>) -> SimpleExpr {
    case_by(message::Column::Id, pairs)
}

fn describe(what: String, (code, message): &Failure) -> String {
    match code {
        Some(c) => format!("{what}: ({c}) {message}"),
        None => format!("{what}: {message}"),
    }
}

fn null_time() -> SimpleExpr {
    Expr::value(Option::<DateTime<Utc>>::None)
}
