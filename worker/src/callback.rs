//! Applying a stored WhatsApp callback: every status of every change of every entry,
//! then the replies and button taps that quote our messages. One transaction per
//! callback; the row is marked processed in it, so a job that runs twice (or a body
//! Meta sent twice) changes nothing the second time.

use std::collections::BTreeSet;
use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::Value;

use waplify_shared::db::begin_write;
use waplify_shared::db::counts;
use waplify_shared::db::entities::{message, whatsapp_callback};
use waplify_shared::ids::MessageId;
use waplify_shared::jobs::ApplyCallback;
use waplify_shared::status::MessageStatus;

use crate::context::Ctx;
use crate::error::WorkError;
use crate::finalize;
use crate::settle::{self, Report, Settled};

/// Attempts at one callback before leaving it to the reconciler.
const TRIES: u32 = 5;

pub async fn handle(job: ApplyCallback, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    for attempt in 1..=TRIES {
        match apply(&ctx, &job.callback_id).await {
            Ok(_) => return Ok(()),
            // Two callbacks about the same messages can deadlock on PostgreSQL; the
            // loser's transaction rolled back whole, so it simply runs again.
            Err(e) if attempt < TRIES => {
                tracing::debug!(callback_id = %job.callback_id, attempt, "applying a callback failed, again: {e}");
                let pause = rand::random_range(20..100u64) * u64::from(attempt);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(e) => {
                // Still unprocessed in SQL: the reconciler queues it again.
                tracing::warn!(callback_id = %job.callback_id, "applying a callback failed: {e}");
            }
        }
    }
    Ok(())
}

/// What one callback did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub moved: usize,
    pub unchanged: usize,
    pub unknown: usize,
    pub replies: usize,
    pub clicks: usize,
    pub ignored: usize,
}

pub async fn apply(ctx: &Ctx, callback_id: &str) -> Result<Applied, WorkError> {
    let now = Utc::now();
    let txn = begin_write(&ctx.db).await?;
    let Some(row) = whatsapp_callback::Entity::find_by_id(callback_id.to_owned())
        .one(&txn)
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
    // Messages are locked in wamid order, so two callbacks about the same messages
    // take their row locks in the same order.
    let mut reports = Vec::new();
    for status in values(&body).flat_map(|v| list(v, "statuses")) {
        match report(status) {
            Some(r) => reports.push(r),
            None => out.ignored += 1,
        }
    }
    reports.sort_by(|a, b| a.wamid.cmp(&b.wamid));
    for report in reports {
        match settle::apply(&txn, &report, now).await? {
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
        }
    }
    for value in values(&body) {
        for msg in list(value, "messages") {
            let Some(quoted) = msg.pointer("/context/id").and_then(Value::as_str) else {
                out.ignored += 1;
                continue;
            };
            let at = timestamp(msg.get("timestamp")).unwrap_or(now);
            if mark(
                &txn,
                quoted,
                message::Column::RepliedAt,
                counts::REPLIED,
                at,
            )
            .await?
            {
                out.replies += 1;
            }
            if is_click(msg)
                && mark(
                    &txn,
                    quoted,
                    message::Column::ClickedAt,
                    counts::CLICKED,
                    at,
                )
                .await?
            {
                out.clicks += 1;
            }
        }
    }
    whatsapp_callback::Entity::update_many()
        .col_expr(whatsapp_callback::Column::ProcessedAt, Expr::value(now))
        .col_expr(
            whatsapp_callback::Column::Summary,
            Expr::value(format!("{out:?}")),
        )
        .filter(whatsapp_callback::Column::Id.eq(callback_id))
        .filter(whatsapp_callback::Column::ProcessedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    // A settled straggler or a late failure may be what a campaign waited for.
    for campaign_id in touched {
        finalize::try_finish(ctx, &campaign_id).await?;
    }
    Ok(out)
}

/// Every `entry[].changes[].value` of a notification.
fn values(body: &Value) -> impl Iterator<Item = &Value> {
    list(body, "entry")
        .flat_map(|entry| list(entry, "changes"))
        .filter_map(|change| change.get("value"))
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter())
        .into_iter()
        .flatten()
}

/// A status object as a [`Report`]; `None` for statuses we do not track (`played`,
/// `deleted`, …) or objects without an id.
fn report(status: &Value) -> Option<Report> {
    let wamid = status.get("id")?.as_str()?.to_owned();
    let to = match status.get("status")?.as_str()? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    let error = status.pointer("/errors/0");
    let error_code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok());
    let error_message = error.and_then(|e| {
        ["/error_data/details", "/message", "/title"]
            .iter()
            .find_map(|p| e.pointer(p).and_then(Value::as_str))
            .map(str::to_owned)
    });
    Some(Report {
        wamid,
        to,
        at: timestamp(status.get("timestamp")).unwrap_or_else(Utc::now),
        message_id: status
            .get("biz_opaque_callback_data")
            .and_then(Value::as_str)
            .and_then(|s| MessageId::parse(s).ok())
            .map(MessageId::into_string),
        error_code,
        error_message: error_message
            .or_else(|| (to == MessageStatus::Failed).then(|| "failed".into())),
    })
}

/// Unix seconds, sent as a string or a number.
fn timestamp(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = match v? {
        Value::String(s) => s.parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Utc.timestamp_opt(secs, 0).single()
}

/// A quick-reply button or an interactive button or list choice.
fn is_click(msg: &Value) -> bool {
    match msg.get("type").and_then(Value::as_str) {
        Some("button") => true,
        Some("interactive") => matches!(
            msg.pointer("/interactive/type").and_then(Value::as_str),
            Some("button_reply" | "list_reply")
        ),
        _ => false,
    }
}

/// Sets a first-time mark (`replied_at`, `clicked_at`) on the message with this wamid
/// and counts it. Returns whether this call set it.
async fn mark<C: ConnectionTrait>(
    db: &C,
    wamid: &str,
    column: message::Column,
    count: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(m) = message::Entity::find()
        .filter(message::Column::Wamid.eq(wamid))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    let set = message::Entity::update_many()
        .col_expr(column, Expr::value(at))
        .filter(message::Column::Id.eq(&m.id))
        .filter(column.is_null())
        .exec(db)
        .await?;
    if set.rows_affected != 1 {
        return Ok(false);
    }
    counts::adjust_named(db, &m.campaign_id, &[(count, 1)]).await?;
    Ok(true)
}
