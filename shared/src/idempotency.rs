//! Idempotency keys in SQL: a request given a key first inserts the key's row (the
//! primary key on account and key decides between two concurrent first requests), runs,
//! then stores its answer in the row, which later requests with the key get instead of
//! running again. Keys are per account; an answer is replayed for [`REPLAY_FOR`].
//!
//! A row still in progress after `abandoned_after` (the API's request timeout, past
//! which no request is still running) belonged to a process that died: the next
//! request with the key takes it over. So does one that finds an expired row.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, TryInsertResult};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::db::entities::idempotency_key::{self, Column};
use crate::ids::AccountId;

/// How long an answer is replayed; older rows are purged and never replayed.
pub const REPLAY_FOR: Duration = Duration::hours(24);

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// The key as held by one request, until it completes or releases it.
#[derive(Clone, Debug)]
pub struct Held {
    account_id: AccountId,
    key: String,
    claim: String,
}

/// What a request with a key may do.
#[derive(Debug)]
pub enum Claim {
    /// Run the operation, then [`complete`] or [`release`].
    Run(Held),
    /// The first request's answer.
    Replay(Answer),
    /// The key was used for another request.
    Reused,
    /// The first request with the key is still running.
    InUse,
}

/// The hash (hex) of what identifies a request: each part, length-prefixed so no two
/// different lists of parts hash alike. HMAC-SHA-256 under the secret key's
/// fingerprint key when one is set, else SHA-256.
pub fn request_hash<'a>(
    mac_key: Option<&[u8; 32]>,
    parts: impl IntoIterator<Item = &'a [u8]>,
) -> String {
    // Keyed when a secret key is set: a body may hold a webhook secret, which a plain
    // hash in a database dump would let anyone guess offline.
    match mac_key {
        Some(key) => {
            let mut h = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
            for part in parts {
                h.update(&(part.len() as u64).to_be_bytes());
                h.update(part);
            }
            hex::encode(h.finalize().into_bytes())
        }
        None => {
            let mut h = Sha256::new();
            for part in parts {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
            hex::encode(h.finalize())
        }
    }
}

/// Claims `key` for a request hashing to `hash`, or says why not.
pub async fn claim(
    db: &Db,
    account_id: &AccountId,
    key: &str,
    hash: &str,
    now: DateTime<Utc>,
    abandoned_after: Duration,
) -> Result<Claim, DbErr> {
    // A row that vanished or was taken over between two statements: look again. Each
    // turn is a lost race with another request; a few turns settle it.
    for _ in 0..3 {
        let held = Held {
            account_id: account_id.clone(),
            key: key.to_owned(),
            claim: ulid::Ulid::generate().to_string(),
        };
        if insert(db, &held, hash, now).await? {
            return Ok(Claim::Run(held));
        }
        let Some(row) = idempotency_key::Entity::find_by_id((account_id.clone(), key.to_owned()))
            .one(db)
            .await?
        else {
            continue;
        };
        let expired = row.started_at <= now - REPLAY_FOR;
        let abandoned = row.completed_at.is_none() && row.started_at <= now - abandoned_after;
        if expired || abandoned {
            if take_over(db, &held, &row.claim, hash, now).await? {
                return Ok(Claim::Run(held));
            }
            continue;
        }
        if row.request_hash != hash {
            return Ok(Claim::Reused);
        }
        return Ok(match (row.status_code, row.body) {
            (Some(status), Some(body)) if row.completed_at.is_some() => Claim::Replay(Answer {
                status: u16::try_from(status).unwrap_or(500),
                content_type: row.content_type,
                body,
            }),
            _ => Claim::InUse,
        });
    }
    Ok(Claim::InUse)
}

/// Inserts the key's row, in progress; false if the key has a row already.
async fn insert(db: &Db, held: &Held, hash: &str, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let row = idempotency_key::ActiveModel {
        account_id: Set(held.account_id.clone()),
        idem_key: Set(held.key.clone()),
        request_hash: Set(hash.to_owned()),
        claim: Set(held.claim.clone()),
        started_at: Set(now),
        completed_at: Set(None),
        status_code: Set(None),
        content_type: Set(None),
        body: Set(None),
    };
    let inserted = idempotency_key::Entity::insert(row)
        .on_conflict_do_nothing_on([Column::AccountId, Column::IdemKey])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// Replaces an expired or abandoned row, if it is still the one seen (`seen_claim`).
async fn take_over(
    db: &Db,
    held: &Held,
    seen_claim: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let taken = idempotency_key::Entity::update_many()
        .col_expr(Column::RequestHash, Expr::value(hash))
        .col_expr(Column::Claim, Expr::value(held.claim.clone()))
        .col_expr(Column::StartedAt, Expr::value(now))
        .col_expr(
            Column::CompletedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::StatusCode, Expr::value(Option::<i32>::None))
        .col_expr(Column::ContentType, Expr::value(Option::<String>::None))
        .col_expr(Column::Body, Expr::value(Option::<String>::None))
        .filter(held_row(held, seen_claim))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

fn held_row(held: &Held, claim: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::AccountId.eq(held.account_id.clone()))
        .add(Column::IdemKey.eq(held.key.clone()))
        .add(Column::Claim.eq(claim.to_owned()))
}

/// Stores the answer to replay; false if the key was taken over meanwhile.
pub async fn complete(
    db: &Db,
    held: &Held,
    answer: &Answer,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = idempotency_key::Entity::update_many()
        .col_expr(Column::CompletedAt, Expr::value(now))
        .col_expr(Column::StatusCode, Expr::value(i32::from(answer.status)))
        .col_expr(
            Column::ContentType,
            Expr::value(answer.content_type.clone()),
        )
        .col_expr(Column::Body, Expr::value(answer.body.clone()))
        .filter(held_row(held, &held.claim))
        .filter(Column::CompletedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Gives the key up without an answer, so a retry runs the operation again.
pub async fn release(db: &Db, held: &Held) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(held_row(held, &held.claim))
        .filter(Column::CompletedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes rows past [`REPLAY_FOR`] (the worker's housekeeping runs it).
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let purged = idempotency_key::Entity::delete_many()
        .filter(Column::StartedAt.lte(now - REPLAY_FOR))
        .exec(db)
        .await?;
    Ok(purged.rows_affected)
}
