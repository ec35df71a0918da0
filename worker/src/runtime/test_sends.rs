//! The reconciler's part for test messages (`send_test_message`), which belong to no
//! lane and may sit in a campaign that is a draft: SQL says which are owed work, and
//! this queues it again.
//!
//! - `sending` past its lease: back to `pending`, held like a recipient's
//!   (`leases::hand_back`);
//! - `pending` and due a while ago with nothing sending it (Redis lost its job, or the
//!   API could not push it): a `SendTest` job again, under a task id made from the
//!   message, its attempt and the round of `ROUND` since it fell due, so passes and
//!   workers add at most one job per message per round.
//!
//! Both scans read only the partial index of test messages (`idx_messages_tests_open`).

use std::collections::BTreeMap;

use apalis::prelude::TaskId;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use waplify_shared::db::entities::message;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::jobs::SendTest;
use waplify_shared::status::MessageStatus;

use super::context::Ctx;
use super::leases;
use crate::error::WorkError;

/// A due test message's job normally runs within a second.
const GRACE: chrono::Duration = chrono::Duration::seconds(10);
/// How often a stuck test message may get one more job.
const ROUND: chrono::Duration = chrono::Duration::seconds(60);
/// Messages looked at per pass and kind.
const LIMIT: u64 = 500;

/// Returns how many leases were handed back and how many jobs pushed.
pub async fn reconcile(ctx: &Ctx) -> Result<(usize, usize), WorkError> {
    Ok((expired(ctx).await?, lost(ctx).await?))
}

async fn expired(ctx: &Ctx) -> Result<usize, WorkError> {
    let rows: Vec<(MessageId, CampaignId)> = message::Entity::find()
        .select_only()
        .columns([message::Column::Id, message::Column::CampaignId])
        .filter(message::is_test())
        .filter(message::Column::Status.eq(MessageStatus::Sending))
        .filter(message::Column::LeaseUntil.lt(Utc::now()))
        .limit(LIMIT)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let mut by_campaign: BTreeMap<CampaignId, Vec<MessageId>> = BTreeMap::new();
    for (id, campaign_id) in rows {
        by_campaign.entry(campaign_id).or_default().push(id);
    }
    let mut handed = 0;
    for (campaign_id, ids) in by_campaign {
        handed += leases::hand_back(ctx, &campaign_id, &ids).await?;
    }
    Ok(handed)
}

async fn lost(ctx: &Ctx) -> Result<usize, WorkError> {
    let now = Utc::now();
    let rows: Vec<(MessageId, CampaignId, i32, DateTime<Utc>)> = message::Entity::find()
        .select_only()
        .columns([
            message::Column::Id,
            message::Column::CampaignId,
            message::Column::Attempts,
            message::Column::NextAttemptAt,
        ])
        .filter(message::is_test())
        .filter(message::Column::Status.eq(MessageStatus::Pending))
        .filter(message::Column::NextAttemptAt.lt(now - GRACE))
        .limit(LIMIT)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let n = rows.len();
    if n > 0 {
        let jobs = rows
            .into_iter()
            .map(|(message_id, campaign_id, attempts, due)| {
                let waited = now - due - GRACE;
                let round = (waited.num_seconds() / ROUND.num_seconds()).max(0);
                let id = task_id(&message_id, attempts, round);
                let job = SendTest {
                    campaign_id,
                    message_id,
                };
                (job, id, None)
            })
            .collect();
        ctx.queues.push_batch(jobs).await?;
    }
    Ok(n)
}

/// The 96 bits of the message id, then the attempt and the round (16 bits each).
fn task_id(id: &MessageId, attempts: i32, round: i64) -> TaskId {
    let bits = u128::from_str_radix(id.as_str(), 16).unwrap_or_default();
    let attempt = (attempts.max(0) as u128) & 0xffff;
    let round = (round as u128) & 0xffff;
    TaskId::from_ulid(ulid::Ulid::from((bits << 32) | (attempt << 16) | round))
}
