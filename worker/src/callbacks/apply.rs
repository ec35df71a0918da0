//! Applying a stored WhatsApp callback: every status of every change of every entry,
//! a few statuses per transaction, then the replies and button taps that quote our
//! messages with the row marked processed, in one last transaction. Statuses move
//! forward by compare-and-set, so a job that runs twice (or a body Meta sent twice, or
//! a run cut short) changes nothing twice.

use std::collections::BTreeSet;
use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::Value;

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::whatsapp_callback;
use waplify_shared::ids::{CallbackId, CampaignId};
use waplify_shared::jobs::ApplyCallback;
use waplify_shared::sending::refund;
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::{self, Report, Senders, Settled};

use super::marks::{self, Mark};
use super::parse::{is_click, list, number, report, timestamp, values};
use crate::backoff::retry_rolled_back;
use crate::error::WorkError;
use crate::runtime::context::Ctx;
use crate::send::finalize;

/// Attempts at one callback before leaving it to the reconciler.
const TRIES: u32 = 5;
/// Statuses applied per transaction: a body holds up to hundreds, and one transaction
/// for all of them held its row and count locks against every send and callback of the
/// same campaigns for its whole length. Each status is a compare-and-set, so a body
/// applied again after a partial run changes only what is left.
const CHUNK: usize = 25;

pub async fn handle(job: ApplyCallback, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    // Two callbacks about the same messages can deadlock on PostgreSQL; the loser's
    // transaction rolled back whole, so it simply runs again.
    let what = format!("applying callback {}", job.callback_id);
    if let Err(e) = retry_rolled_back(TRIES, &what, || apply(&ctx, &job.callback_id)).await {
        // Still unprocessed in SQL: the reconciler queues it again.
        tracing::warn!(callback_id = %job.callback_id, "applying a callback failed: {e}");
    }
    Ok(())
}

/// What one callback did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub moved: usize,
    pub unchanged: usize,
    pub unknown: usize,
    /// Statuses and replies naming a message of ours for another number or recipient.
    pub foreign: usize,
    pub replies: usize,
    pub clicks: usize,
    pub ignored: usize,
}

pub async fn apply(ctx: &Ctx, callback_id: &CallbackId) -> Result<Applied, WorkError> {
    let now = Utc::now();
    let Some(row) = whatsapp_callback::Entity::find_by_id(callback_id.clone())
        .one(&ctx.db)
        .await?
    else {
        return Ok(Applied::default());
    };
    if row.processed_at.is_some() {
        return Ok(Applied::default());
    }
    let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    let mut out = Applied::default();
    let mut touched = BTreeSet::new();
    let mut senders = Senders::default();
    for chunk in reports(&body, &mut out).chunks(CHUNK) {
        let txn = begin_write(&ctx.db).await?;
        let moved = statuses(&txn, chunk, &mut senders, &mut out, now).await?;
        // A failure reported after its campaign was settled is refunded with the move.
        for campaign_id in &moved {
            refund::refund_settled(&txn, campaign_id, now).await?;
        }
        txn.commit().await?;
        touched.extend(moved);
    }
    let txn = begin_write(&ctx.db).await?;
    replies(&txn, &body, &mut senders, &mut out, now).await?;
    whatsapp_callback::Entity::update_many()
        .col_expr(whatsapp_callback::Column::ProcessedAt, Expr::value(now))
        .col_expr(
            whatsapp_callback::Column::Summary,
            Expr::value(format!("{out:?}")),
        )
        .filter(whatsapp_callback::Column::Id.eq(callback_id.clone()))
        .filter(whatsapp_callback::Column::ProcessedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    // A settled straggler or a late failure may be what a campaign waited for.
    for campaign_id in touched {
        if finalize::try_finish(ctx, &campaign_id).await? {
            finalize::refund_late(ctx, &campaign_id).await?;
        }
    }
    Ok(out)
}

/// Every status of the body, in wamid order: two callbacks about the same messages
/// take their row locks in the same order.
fn reports(body: &Value, out: &mut Applied) -> Vec<Report> {
    let mut reports = Vec::new();
    for value in values(body) {
        for status in list(value, "statuses") {
            match report(status, number(value)) {
                Some(r) => reports.push(r),
                None => out.ignored += 1,
            }
        }
    }
    reports.sort_by(|a, b| a.wamid.cmp(&b.wamid));
    reports
}

/// Applies some statuses. Returns the campaigns that may now be complete.
async fn statuses<C: ConnectionTrait>(
    txn: &C,
    reports: &[Report],
    senders: &mut Senders,
    out: &mut Applied,
    now: DateTime<Utc>,
) -> Result<BTreeSet<CampaignId>, DbErr> {
    let mut touched = BTreeSet::new();
    for report in reports {
        match transition::reported(txn, report, senders, now).await? {
            Settled::Moved { campaign_id, from } => {
                out.moved += 1;
                if matches!(from, MessageStatus::Pending | MessageStatus::Sending)
                    || report.to == MessageStatus::Failed
                {
                    touched.insert(campaign_id);
                }
            }
            Settled::Unchanged => out.unchanged += 1,
            Settled::Unknown => out.unknown += 1,
            Settled::Foreign => {
                out.foreign += 1;
                tracing::warn!(wamid = %report.wamid, number = ?report.number, "a status for another number's message ignored");
            }
        }
    }
    Ok(touched)
}

/// Marks the messages that replies and button taps quote.
async fn replies<C: ConnectionTrait>(
    txn: &C,
    body: &Value,
    senders: &mut Senders,
    out: &mut Applied,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for value in values(body) {
        for msg in list(value, "messages") {
            let quoted = msg
                .pointer("/context/id")
                .and_then(Value::as_str)
                .filter(|q| !q.contains('\0'));
            let Some(quoted) = quoted else {
                out.ignored += 1;
                continue;
            };
            let Some(m) = marks::quoted(txn, quoted).await? else {
                continue;
            };
            if !senders.sent_from(txn, &m, number(value)).await? {
                out.foreign += 1;
                continue;
            }
            let at = timestamp(msg.get("timestamp")).unwrap_or(now);
            if marks::set(txn, &m, Mark::Replied, at).await? {
                out.replies += 1;
            }
            if is_click(msg) && marks::set(txn, &m, Mark::Clicked, at).await? {
                out.clicks += 1;
            }
        }
    }
    Ok(())
}
