//! What a chaos run found, read once everything settled: recipients lost or sent twice
//! (at the fake provider, by recipient), campaigns completed, credits balanced, and
//! customer webhooks against the transitions they announce.

use std::collections::HashSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbErr, Statement};

use waplify_shared::db::Db;

use crate::fake::Fake;

/// The figures a run prints, and whether they meet the bar.
#[derive(Debug, Default)]
pub struct Report {
    pub recipients: u64,
    /// Never accepted by the provider, and not failed either.
    pub lost: u64,
    /// Still `pending` or `sending` at the end.
    pub unfinished: u64,
    /// Accepted by the provider but on record as failed by us (not by a callback).
    pub accepted_but_failed: u64,
    /// Failed recipients by reason: transient errors exhausted, no known outcome.
    pub failed_exhausted: u64,
    pub failed_unknown: u64,
    pub failed_late: u64,
    pub failed_other: u64,
    /// Accepted calls beyond the first for a recipient.
    pub duplicates: u64,
    pub campaigns: u64,
    pub completed: u64,
    /// Campaigns whose reserve != charged + refunded, or accounts whose balance moved
    /// by other than what their campaigns charged.
    pub credit_mismatches: u64,
    pub transitions: u64,
    pub deliveries: u64,
    /// Transitions announced more than once (two outbox rows).
    pub announced_twice: u64,
    pub deliveries_unfinished: u64,
    pub webhooks_received: u64,
    /// Webhook requests beyond the first for one delivery id (at-least-once).
    pub webhooks_redelivered: u64,
    pub longest_stall: Duration,
    pub longest_stall_campaign: String,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.unfinished == 0
            && self.accepted_but_failed == 0
            && self.failed_other == 0
            && self.duplicates == 0
            && self.completed == self.campaigns
            && self.credit_mismatches == 0
            && self.announced_twice == 0
            && self.deliveries == self.transitions
            && self.deliveries_unfinished == 0
            && self.webhooks_received == self.deliveries
    }
}

/// Recipients: lost, unfinished, failed by reason, and sent twice.
pub async fn recipients(db: &Db, fake: &Fake, out: &mut Report) -> Result<(), DbErr> {
    let accepted = fake.accepted_ids();
    let rows = query(
        db,
        "SELECT id, status, COALESCE(error_code, 0), COALESCE(error_message, '') FROM messages",
    )
    .await?;
    let mut odd: Vec<String> = Vec::new();
    for r in rows {
        let id: String = r.try_get_by_index(0)?;
        let status: String = r.try_get_by_index(1)?;
        let code: i32 = r.try_get_by_index(2)?;
        let error: String = r.try_get_by_index(3)?;
        out.recipients += 1;
        let was_accepted = accepted.contains(&id);
        match status.as_str() {
            "pending" | "sending" => out.unfinished += 1,
            "failed" if code == 131049 && was_accepted => out.failed_late += 1,
            "failed" if was_accepted => {
                out.accepted_but_failed += 1;
                if out.accepted_but_failed <= 3 {
                    odd.push(id.clone());
                }
            }
            "failed" if code == 2 || code == 130429 => out.failed_exhausted += 1,
            "failed" if error.contains("no status callback settled it") => out.failed_unknown += 1,
            "failed" => out.failed_other += 1,
            _ if !was_accepted => out.lost += 1,
            _ => {}
        }
    }
    let c = fake.counters();
    out.duplicates = c.accepted - c.unique_recipients;
    out.duplicates = out.duplicates.max(c.duplicates);
    for id in fake.duplicate_ids().iter().take(3) {
        explain(db, id, "sent twice").await?;
    }
    for id in &odd {
        explain(db, id, "accepted, on record failed").await?;
    }
    Ok(())
}

/// Prints what happened to an odd message: its history and provider calls.
async fn explain(db: &Db, id: &str, what: &str) -> Result<(), DbErr> {
    eprintln!("{what}: message {id}");
    let history = query(
        db,
        &format!(
            "SELECT CAST(at AS TEXT), from_status, to_status, COALESCE(detail, '') \
             FROM message_events WHERE message_id = '{id}' ORDER BY at, id"
        ),
    )
    .await?;
    for r in history {
        let (at, from, to, detail): (String, Option<String>, String, String) = (
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
            r.try_get_by_index(3)?,
        );
        eprintln!("  {at} {} -> {to} {detail}", from.unwrap_or_default());
    }
    let calls = query(
        db,
        &format!(
            "SELECT CAST(at AS TEXT), attempt, outcome FROM provider_calls \
             WHERE message_id = '{id}' ORDER BY id"
        ),
    )
    .await?;
    for r in calls {
        let (at, attempt, outcome): (String, i32, String) = (
            r.try_get_by_index(0)?,
            r.try_get_by_index(1)?,
            r.try_get_by_index(2)?,
        );
        eprintln!("  {at} call {attempt}: {outcome}");
    }
    Ok(())
}

/// Campaigns completed, and credits: every campaign's reserve is what it charged plus
/// what it refunded, and every account's balance moved by exactly what was charged.
pub async fn credits(
    db: &Db,
    balances_before: &[(String, i64)],
    out: &mut Report,
) -> Result<(), DbErr> {
    let rows = query(
        db,
        "SELECT c.id, c.status, c.total_contacts, c.credits_reserved, c.credits_refunded, \
         CAST(COALESCE(SUM(CASE WHEN m.status IN ('sent', 'delivered', 'read') THEN m.n END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN m.status IN ('failed', 'cancelled') THEN m.n END), 0) AS BIGINT) \
         FROM campaigns c LEFT JOIN message_counts m ON m.campaign_id = c.id \
         GROUP BY c.id, c.status, c.total_contacts, c.credits_reserved, c.credits_refunded",
    )
    .await?;
    for r in rows {
        let status: String = r.try_get_by_index(1)?;
        let total: i64 = r.try_get_by_index(2)?;
        let reserved: i64 = r.try_get_by_index(3)?;
        let refunded: i64 = r.try_get_by_index(4)?;
        let charged: i64 = r.try_get_by_index(5)?;
        let given_back: i64 = r.try_get_by_index(6)?;
        out.campaigns += 1;
        out.completed += u64::from(status == "completed");
        let unit = if total > 0 { reserved / total } else { 0 };
        if reserved != unit * charged + refunded || refunded != unit * given_back {
            let id: String = r.try_get_by_index(0)?;
            eprintln!(
                "credits of campaign {id}: reserved {reserved}, charged {charged} x {unit}, \
                 refunded {refunded} for {given_back} failed or cancelled"
            );
            out.credit_mismatches += 1;
        }
    }
    for (account, before) in balances_before {
        let after = scalar(
            db,
            &format!("SELECT balance FROM accounts WHERE id = '{account}'"),
        )
        .await?;
        let spent = scalar(
            db,
            &format!(
                "SELECT CAST(COALESCE(SUM(credits_reserved - credits_refunded), 0) AS BIGINT) \
                 FROM campaigns WHERE account_id = '{account}'"
            ),
        )
        .await?;
        if before - after != spent {
            eprintln!("balance of account {account}: {before} -> {after}, campaigns spent {spent}");
            out.credit_mismatches += 1;
        }
    }
    Ok(())
}

/// Customer webhooks: one outbox row per announced transition, none twice, all
/// delivered; and what the receiver got.
/// `subscribed`: each account, and the message statuses its endpoint takes events of.
pub async fn webhooks(
    db: &Db,
    subscribed: &[(String, &[&str])],
    received: (u64, u64),
    out: &mut Report,
) -> Result<(), DbErr> {
    let mut messages = 0;
    for (account, statuses) in subscribed {
        let statuses = statuses
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        messages += scalar(
            db,
            &format!(
                "SELECT COUNT(*) FROM message_events e JOIN campaigns c ON c.id = e.campaign_id \
                 WHERE c.account_id = '{account}' AND e.to_status IN ({statuses})"
            ),
        )
        .await?;
    }
    let campaigns = scalar(
        db,
        "SELECT COUNT(*) FROM campaign_events \
         WHERE to_status IN ('running', 'paused', 'completed', 'failed', 'cancelled')",
    )
    .await?;
    out.transitions = (messages + campaigns) as u64;
    out.deliveries = scalar(db, "SELECT COUNT(*) FROM webhook_deliveries").await? as u64;
    out.announced_twice = scalar(
        db,
        "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries \
         GROUP BY COALESCE(message_id, ''), COALESCE(campaign_id, ''), event \
         HAVING COUNT(*) > 1) twice",
    )
    .await? as u64;
    out.deliveries_unfinished = unfinished_deliveries(db).await? as u64;
    out.webhooks_received = received.0;
    out.webhooks_redelivered = received.1 - received.0;
    Ok(())
}

pub async fn unapplied_callbacks(db: &Db) -> Result<i64, DbErr> {
    scalar(
        db,
        "SELECT COUNT(*) FROM whatsapp_callbacks WHERE processed_at IS NULL",
    )
    .await
}

pub async fn unfinished_deliveries(db: &Db) -> Result<i64, DbErr> {
    scalar(
        db,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE state <> 'delivered'",
    )
    .await
}

/// Campaigns not yet in a final status.
pub async fn unfinished_campaigns(db: &Db, ids: &HashSet<String>) -> Result<usize, DbErr> {
    let rows = query(db, "SELECT id, status FROM campaigns").await?;
    let mut open = 0;
    for r in rows {
        let id: String = r.try_get_by_index(0)?;
        let status: String = r.try_get_by_index(1)?;
        if ids.contains(&id) && !matches!(status.as_str(), "completed" | "failed" | "cancelled") {
            open += 1;
        }
    }
    Ok(open)
}

async fn query(db: &Db, sql: &str) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
}

async fn scalar(db: &Db, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?;
    row.try_get_by_index(0)
}
