//! Sending a test message: a campaign's template, with its variables (some overridden
//! by the request) and media, to one number now, before the campaign goes to
//! everyone. It is a `messages` row marked `test` in the campaign, with the contact
//! upserted as the create path does, so `get_campaign_message` shows its outcome and
//! history; the transition module keeps it out of the campaign's counts, and no lane,
//! completion, sweep or settlement of the campaign touches it (`messages.test`).
//!
//! One transaction, under the campaign row's lock: the status check, the hourly limit
//! (so concurrent requests cannot exceed it), the row and its charge through the
//! ledger. The `SendTest` job is pushed after the commit; if Redis misses it, the
//! worker's reconciler pushes it again from the row.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::{account, campaign, message, template};
use waplify_shared::ids::{AccountId, CampaignId, MessageId};
use waplify_shared::jobs::SendTest;
use waplify_shared::ledger;
use waplify_shared::phone::Phone;
use waplify_shared::queue::new_task_id;
use waplify_shared::sending::precheck;
use waplify_shared::status::{CampaignStatus, MessageStatus};

use super::error::CampaignError;
use super::lifecycle_views::{TestMessageAccepted, TestMessageRequest};
use super::{lookup, recipients, resolve};
use crate::http::envelope::Accepted;
use crate::http::text::Text;
use crate::http::time::Timestamp;
use crate::state::AppState;

/// Test messages per campaign per hour.
pub const HOURLY_LIMIT: u64 = 10;

/// The statuses a campaign may be tested in: before it sends, or while it is paused.
const TESTABLE: &[CampaignStatus] = &[
    CampaignStatus::Draft,
    CampaignStatus::Scheduled,
    CampaignStatus::Paused,
];

pub async fn send_test(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
    req: TestMessageRequest,
) -> Result<TestMessageAccepted, CampaignError> {
    let phone = Phone::parse(req.phone.as_str()).ok_or_else(|| {
        CampaignError::Invalid(format!(
            "phone '{}' is not a phone number: give digits with the country code (8 to 15)",
            req.phone.as_str()
        ))
    })?;
    let found = lookup::campaign(&state.db, account, id).await?;
    testable(&found)?;
    let body_data = variables(&state.db, &found, req.body_data).await?;
    let price = state.credits_per_message;
    if let Err(reason) = precheck::check_need(&state.db, &found, price).await? {
        return Err(CampaignError::Precheck(reason));
    }
    let message_id = store(state, &found, &phone, &body_data).await?;
    let job = SendTest {
        campaign_id: id.clone(),
        message_id: message_id.clone(),
    };
    if let Err(e) = state.queues.push(job, new_task_id(), None).await {
        tracing::warn!(campaign_id = %id, %message_id, "test send push failed, the reconciler will push it: {e}");
    }
    Ok(TestMessageAccepted {
        status: Accepted::Accepted,
        message: "Test message queued and will be sent in background".into(),
        campaign_id: id.to_string(),
        message_id: message_id.into_string(),
        phone: phone.as_str().to_owned(),
        timestamp: Timestamp::now(),
    })
}

fn testable(c: &campaign::Model) -> Result<(), CampaignError> {
    if TESTABLE.contains(&c.status) {
        return Ok(());
    }
    Err(CampaignError::WrongStatus {
        status: c.status,
        allowed: TESTABLE,
        done: "sent a test message",
    })
}

/// The campaign's body variables with the request's overrides, checked against the
/// template as `create_campaign` checks them; as JSON.
async fn variables<C: ConnectionTrait>(
    db: &C,
    c: &campaign::Model,
    overrides: Option<HashMap<String, Text>>,
) -> Result<String, CampaignError> {
    let t = template::Entity::find_by_id(c.template_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| CampaignError::Unexpected(format!("template {}", c.template_id)))?;
    let stored: BTreeMap<String, String> = serde_json::from_str(&c.body_data).unwrap_or_default();
    let mut merged: HashMap<String, Text> = stored.into_iter().map(|(k, v)| (k, Text(v))).collect();
    merged.extend(overrides.unwrap_or_default());
    let checked = resolve::variables("body", Some(merged), t.body_vars)?;
    Ok(serde_json::to_string(&checked).expect("a string map serialises"))
}

/// The row, its contact and its charge, after the status and the limit are checked
/// again under the campaign row's lock.
async fn store(
    state: &AppState,
    c: &campaign::Model,
    phone: &Phone,
    body_data: &str,
) -> Result<MessageId, CampaignError> {
    let now = Utc::now();
    let at = state.clock.now();
    let txn = begin_write(&state.db).await?;
    let mut find = campaign::Entity::find_by_id(c.id.clone());
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    let locked = find.one(&txn).await?.ok_or(CampaignError::NotFound)?;
    testable(&locked)?;
    within_limit(&txn, &c.id, at).await?;
    let (contact_id, _) =
        recipients::upsert_contacts(&txn, &c.account_id, &[(phone.clone(), None)], now)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CampaignError::Unexpected("the contact was not stored".into()))?;
    let id = MessageId::generate();
    let price = state.credits_per_message;
    message::Entity::insert(message::ActiveModel {
        id: Set(id.clone()),
        campaign_id: Set(c.id.clone()),
        contact_id: Set(contact_id),
        phone: Set(phone.as_str().to_owned()),
        status: Set(MessageStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claim: Set(None),
        lease_until: Set(None),
        wamid: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        created_at: Set(at),
        updated_at: Set(now),
        sent_at: Set(None),
        delivered_at: Set(None),
        read_at: Set(None),
        failed_at: Set(None),
        replied_at: Set(None),
        clicked_at: Set(None),
        test: Set(true),
        body_data: Set(Some(body_data.to_owned())),
        credits_charged: Set(price),
        refunded_at: Set(None),
        send_round: Set(0),
    })
    .exec_without_returning(&txn)
    .await?;
    let charge = ledger::Entry {
        account_id: &c.account_id,
        campaign_id: Some(&c.id),
        kind: ledger::Kind::Charge,
        amount: -price,
        note: Some(format!("test message {id} to {}", phone.as_str())),
    };
    if ledger::apply(&txn, charge, now).await?.is_none() {
        txn.rollback().await?;
        let have = account::Entity::find_by_id(c.account_id.clone())
            .one(&state.db)
            .await?
            .map(|a| a.balance)
            .unwrap_or(0);
        return Err(CampaignError::Precheck(precheck::insufficient(price, have)));
    }
    txn.commit().await?;
    Ok(id)
}

/// At most [`HOURLY_LIMIT`] test messages created in the hour before `at` (the
/// project's clock, which tests move).
async fn within_limit<C: ConnectionTrait>(
    txn: &C,
    campaign_id: &CampaignId,
    at: DateTime<Utc>,
) -> Result<(), CampaignError> {
    let hour = Duration::hours(1);
    let recent: Vec<DateTime<Utc>> = message::Entity::find()
        .select_only()
        .column(message::Column::CreatedAt)
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .filter(message::is_test())
        .filter(message::Column::CreatedAt.gt(at - hour))
        .order_by_desc(message::Column::CreatedAt)
        .limit(HOURLY_LIMIT)
        .into_tuple()
        .all(txn)
        .await?;
    if (recent.len() as u64) < HOURLY_LIMIT {
        return Ok(());
    }
    // The oldest of the newest ten ages out first.
    let next_at = recent.last().copied().unwrap_or(at) + hour;
    Err(CampaignError::TooManyTests {
        limit: HOURLY_LIMIT,
        next_at,
        retry_after: (next_at - at).num_seconds().max(1) as u64,
    })
}
