//! Applying a stored WhatsApp callback: every status of every change of every entry,
//! a few statuses per transaction (`statuses`), then the replies and button taps that
//! quote our messages with the row marked processed, in one last transaction. Statuses
//! move forward by compare-and-set, so a job that runs twice (or a body Meta sent
//! twice, or a run cut short) changes nothing twice. A status that cannot be applied
//! leaves the row unprocessed, to be tried again and in the end given up
//! (`dead_letter`).

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::Value;

use waplify_shared::db::entities::{message, whatsapp_callback};
use waplify_shared::db::{begin_write, is_transient};
use waplify_shared::ids::CallbackId;
use waplify_shared::jobs::ApplyCallback;
use waplify_shared::transition::{Report, Senders, locks};

use super::marks::{self, Mark};
use super::parse::{is_click, list, number, report, timestamp, values};
use super::summary::Applied;
use super::{dead_letter, statuses};
use crate::backoff::retry_rolled_back;
use crate::error::WorkError;
use crate::runtime::context::Ctx;
use crate::send::finalize;

/// Attempts at one run before leaving the callback to the reconciler.
const TRIES: u32 = 5;

pub async fn handle(job: ApplyCallback, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    // A deadlock, a lost connection or a busy database rolled the transaction back
    // whole: the run simply goes again, and is not held against the callback.
    let what = format!("applying callback {}", job.callback_id);
    let error = match retry_rolled_back(TRIES, &what, || apply(&ctx, &job.callback_id)).await {
        Ok((_, None)) => return Ok(()),
        Ok((_, Some(poison))) => poison.to_string(),
        Err(WorkError::Db(e)) if is_transient(&e) => {
            // Still unprocessed in SQL: the reconciler queues it again, uncounted.
            tracing::warn!(callback_id = %job.callback_id, "applying a callback failed: {e}");
            return Ok(());
        }
        Err(e) => e.to_string(),
    };
    tracing::warn!(callback_id = %job.callback_id, "applying a callback failed: {error}");
    // Still unprocessed in SQL: the reconciler queues it again, until it is given up.
    if let Err(e) = dead_letter::failed(&ctx, &job.callback_id, &error).await {
        tracing::warn!(callback_id = %job.callback_id, "counting a failed callback failed: {e}");
    }
    Ok(())
}

/// Applies a callback. Returns what it did and, when some status could not be
/// applied, why: the callback then stays unprocessed (the rest of it landed).
pub async fn apply(
    ctx: &Ctx,
    callback_id: &CallbackId,
) -> Result<(Applied, Option<DbErr>), WorkError> {
    let now = Utc::now();
    let Some(row) = whatsapp_callback::Entity::find_by_id(callback_id.clone())
        .one(&ctx.db)
        .await?
    else {
        return Ok((Applied::default(), None));
    };
    if row.processed_at.is_some() || row.dead_at.is_some() {
        return Ok((Applied::default(), None));
    }
    let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    let mut out = Applied::default();
    let mut senders = Senders::default();
    let reports = reports(&body, &mut out);
    let run = statuses::apply_all(ctx, &reports, &mut senders, &mut out, now).await?;
    let txn = begin_write(&ctx.db).await?;
    replies(&txn, &body, &mut senders, &mut out, now).await?;
    let mut done = whatsapp_callback::Entity::update_many()
        .col_expr(
            whatsapp_callback::Column::Summary,
            Expr::value(format!("{out:?}")),
        )
        .filter(whatsapp_callback::Column::Id.eq(callback_id.clone()))
        .filter(whatsapp_callback::Column::ProcessedAt.is_null());
    if run.last_error.is_none() && run.transient.is_none() {
        done = done.col_expr(whatsapp_callback::Column::ProcessedAt, Expr::value(now));
    }
    done.exec(&txn).await?;
    txn.commit().await?;
    // Counted once: a run that leaves the callback unprocessed runs again.
    let counted = if run.last_error.is_none() {
        [
            ("moved", out.moved),
            ("unchanged", out.unchanged),
            ("unknown", out.unknown),
            ("foreign", out.foreign),
        ]
        .to_vec()
    } else {
        vec![("moved", out.moved), ("failed", out.failed)]
    };
    for (outcome, n) in counted {
        ctx.metrics.callback_statuses(outcome, n);
    }
    // A settled straggler or a late failure may be what a campaign waited for.
    for campaign_id in run.touched {
        if finalize::try_finish(ctx, &campaign_id).await? {
            finalize::refund_late(ctx, &campaign_id).await?;
        }
    }
    match (run.last_error, run.transient) {
        (None, Some(transient)) => Err(transient.into()),
        (poison, _) => Ok((out, poison)),
    }
}

/// Every status of the body, in wamid order, so every run of one body makes the same
/// chunks (row locks go by message id: `transition::locks`).
pub fn reports(body: &Value, out: &mut Applied) -> Vec<Report> {
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

/// Marks the messages that replies and button taps quote. They are found and checked
/// first, so their rows and count shards are locked in the one order
/// (`transition::locks`) before any mark is set.
async fn replies<C: ConnectionTrait>(
    txn: &C,
    body: &Value,
    senders: &mut Senders,
    out: &mut Applied,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut quoting = Vec::new();
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
            quoting.push((m, at, is_click(msg)));
        }
    }
    let rows: Vec<&message::Model> = quoting.iter().map(|(m, _, _)| m).collect();
    locks::messages_and_shards(txn, &rows).await?;
    for (m, at, click) in &quoting {
        if marks::set(txn, m, Mark::Replied, *at).await? {
            out.replies += 1;
        }
        if *click && marks::set(txn, m, Mark::Clicked, *at).await? {
            out.clicks += 1;
        }
    }
    Ok(())
}
