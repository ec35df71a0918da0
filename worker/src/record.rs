//! Recording what the provider said: every call in `provider_calls`, and each
//! message's move out of `sending`, fenced by the claim token, in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, DbErr, EntityTrait};

use waplify_shared::db::entities::{message, provider_call};
use waplify_shared::db::transition::{self, Detail, MessageMove, Target, case_by_id};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::status::MessageStatus;

use crate::claim::Claimed;
use crate::provider::{Answer, Call};
use crate::retry::Verdict;

/// One message's call and what to do about it.
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
    pub retries: Vec<(String, DateTime<Utc>)>,
    /// The first campaign-fatal answer, if any.
    pub fatal: Option<(Option<i32>, String)>,
}

pub async fn record(
    db: &Db,
    campaign_id: &str,
    claim: &str,
    outcomes: Vec<Outcome>,
) -> Result<Recorded, DbErr> {
    let now = Utc::now();
    let mut sent: Vec<(String, String)> = Vec::new();
    let mut retry: Vec<(String, DateTime<Utc>, Option<i32>, String)> = Vec::new();
    let mut failed: Vec<(String, Option<i32>, String)> = Vec::new();
    let mut fatal = None;
    let mut calls = Vec::with_capacity(outcomes.len());
    for o in &outcomes {
        let (http_status, code, error) = match &o.call.answer {
            Answer::Accepted { .. } => (None, None, None),
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
        let http_status = match &o.call.answer {
            Answer::Accepted { .. } => Some(200),
            _ => http_status,
        };
        let kind = match &o.verdict {
            Verdict::Sent { wamid } => {
                sent.push((o.message.id.clone(), wamid.clone()));
                "sent"
            }
            Verdict::Retry { delay } => {
                let at = now + chrono::Duration::from_std(*delay).unwrap_or_default();
                retry.push((
                    o.message.id.clone(),
                    at,
                    code,
                    error.clone().unwrap_or_default(),
                ));
                "retry"
            }
            Verdict::Failed => {
                failed.push((
                    o.message.id.clone(),
                    code,
                    error.clone().unwrap_or_default(),
                ));
                "failed"
            }
            Verdict::Fatal => {
                let text = error.clone().unwrap_or_default();
                if fatal.is_none() {
                    fatal = Some((code, text.clone()));
                }
                failed.push((o.message.id.clone(), code, text));
                "fatal"
            }
        };
        calls.push(provider_call::ActiveModel {
            id: NotSet,
            message_id: Set(o.message.id.clone()),
            campaign_id: Set(campaign_id.to_owned()),
            attempt: Set(o.message.attempt),
            outcome: Set(kind.to_owned()),
            http_status: Set(http_status),
            error_code: Set(code),
            error_message: Set(error),
            latency_ms: Set(o.call.latency.as_millis().min(i32::MAX as u128) as i32),
            at: Set(now),
        });
    }

    let txn = begin_write(db).await?;
    let out_of_sending = |to, details, sets| MoveOut {
        campaign_id,
        claim,
        to,
        details,
        sets,
    };
    let moved_sent = out_of_sending(
        MessageStatus::Sent,
        sent.iter().cloned().collect(),
        vec![
            (message::Column::Wamid, case_by_id(sent.clone())),
            (message::Column::SentAt, Expr::value(now)),
            (message::Column::LeaseUntil, null_time()),
            (message::Column::ErrorCode, Expr::value(Option::<i32>::None)),
            (
                message::Column::ErrorMessage,
                Expr::value(Option::<String>::None),
            ),
        ],
    )
    .apply(&txn, now)
    .await?;
    let moved_retry = out_of_sending(
        MessageStatus::Pending,
        retry
            .iter()
            .map(|(id, at, code, msg)| {
                (
                    id.clone(),
                    describe(format!("retry at {}", at.to_rfc3339()), *code, msg),
                )
            })
            .collect(),
        vec![
            (
                message::Column::NextAttemptAt,
                case_by_id(retry.iter().map(|r| (r.0.clone(), r.1))),
            ),
            (
                message::Column::ErrorCode,
                case_by_id(retry.iter().map(|r| (r.0.clone(), r.2))),
            ),
            (
                message::Column::ErrorMessage,
                case_by_id(retry.iter().map(|r| (r.0.clone(), r.3.clone()))),
            ),
            (message::Column::Claim, Expr::value(Option::<String>::None)),
            (message::Column::LeaseUntil, null_time()),
        ],
    )
    .apply(&txn, now)
    .await?;
    let moved_failed = out_of_sending(
        MessageStatus::Failed,
        failed
            .iter()
            .map(|(id, code, msg)| (id.clone(), describe("failed".into(), *code, msg)))
            .collect(),
        vec![
            (message::Column::FailedAt, Expr::value(now)),
            (
                message::Column::ErrorCode,
                case_by_id(failed.iter().map(|f| (f.0.clone(), f.1))),
            ),
            (
                message::Column::ErrorMessage,
                case_by_id(failed.iter().map(|f| (f.0.clone(), f.2.clone()))),
            ),
            (message::Column::LeaseUntil, null_time()),
        ],
    )
    .apply(&txn, now)
    .await?;
    let retry_at: HashMap<String, DateTime<Utc>> =
        retry.iter().map(|r| (r.0.clone(), r.1)).collect();
    let out = Recorded {
        sent: moved_sent.len(),
        failed: moved_failed.len(),
        retries: moved_retry
            .into_iter()
            .map(|id| {
                let at = retry_at[&id];
                (id, at)
            })
            .collect(),
        fatal,
    };
    if !calls.is_empty() {
        provider_call::Entity::insert_many(calls)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(out)
}

/// Moves a group of claimed messages out of `sending`, with one history detail each.
struct MoveOut<'a> {
    campaign_id: &'a str,
    claim: &'a str,
    to: MessageStatus,
    details: HashMap<String, String>,
    sets: Vec<(message::Column, SimpleExpr)>,
}

impl MoveOut<'_> {
    async fn apply<C: sea_orm::ConnectionTrait>(
        self,
        db: &C,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DbErr> {
        if self.details.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = self.details.keys().cloned().collect();
        transition::messages(
            db,
            MessageMove {
                campaign_id: self.campaign_id,
                target: Target::Ids(&ids),
                from: MessageStatus::Sending,
                to: self.to,
                claim: Some(self.claim),
                sets: self.sets,
                detail: Detail::PerId(self.details),
            },
            now,
        )
        .await
        .map(|moved| moved.into_iter().map(|m| m.id).collect())
    }
}

fn describe(what: String, code: Option<i32>, message: &str) -> String {
    match code {
        Some(c) => format!("{what}: ({c}) {message}"),
        None => format!("{what}: {message}"),
    }
}

fn null_time() -> SimpleExpr {
    Expr::value(Option::<DateTime<Utc>>::None)
}
