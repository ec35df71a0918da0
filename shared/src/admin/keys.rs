//! API keys: created (optionally expiring), listed, revoked. Only a key's hash is
//! stored; its first characters (`key_prefix`) name it to operators.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;

use super::{AdminError, existing_account, refuse};
use crate::apikey::{ApiKey, PREFIX_LEN};
use crate::db::Db;
use crate::db::entities::api_key;
use crate::ids::{AccountId, KeyId};

#[derive(Debug, Serialize)]
pub struct KeyCreated {
    pub account_id: AccountId,
    pub key_id: KeyId,
    pub key_prefix: String,
    pub api_key: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct KeyRevoked {
    pub revoked: bool,
    pub key_prefix: String,
    pub key_id: KeyId,
    pub account_id: AccountId,
}

/// A key as operators see it (never the key itself).
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    pub key_id: KeyId,
    pub key_prefix: String,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
    pub created_at: DateTime<Utc>,
    /// Refreshed at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct KeyList {
    pub account_id: AccountId,
    pub keys: Vec<KeyInfo>,
}

impl KeyInfo {
    pub fn of(k: api_key::Model, now: DateTime<Utc>) -> KeyInfo {
        let state = match (k.revoked_at, k.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(at)) if at <= now => "expired",
            _ => "active",
        };
        KeyInfo {
            key_id: k.id,
            key_prefix: k.key_prefix,
            state,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A duration as operators type it: a whole number and `s`, `m`, `h`, `d` or `w`
/// (`90d`, `12h`).
pub fn parse_duration(text: &str) -> Result<Duration, AdminError> {
    let text = text.trim();
    let refused = || {
        AdminError(format!(
            "--expires-in: '{text}' is not like 90d, 12h, 30m or 2w"
        ))
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(refused)?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().map_err(|_| refused())?;
    let d = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    };
    d.filter(|d| *d > Duration::zero() && *d <= Duration::days(3650))
        .ok_or_else(refused)
}

pub(super) async fn insert_key<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    key: &ApiKey,
    expires_at: Option<DateTime<Utc>>,
) -> Result<KeyId, AdminError> {
    let id = KeyId::generate();
    api_key::Entity::insert(api_key::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account.clone()),
        key_prefix: Set(key.prefix().to_owned()),
        key_hash: Set(key.hash()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        last_used_at: Set(None),
        expires_at: Set(expires_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// A new key for an account; with `expires_in` (`90d`), it stops working then.
pub async fn key_create(
    db: &Db,
    account_raw: &str,
    expires_in: Option<&str>,
) -> Result<KeyCreated, AdminError> {
    let expires_at = expires_in
        .map(parse_duration)
        .transpose()?
        .map(|d| Utc::now() + d);
    let account = existing_account(db, account_raw).await?;
    let key = ApiKey::generate();
    let id = insert_key(db, &account.id, &key, expires_at).await?;
    Ok(KeyCreated {
        account_id: account.id,
        key_id: id,
        key_prefix: key.prefix().to_owned(),
        api_key: key.expose().to_owned(),
        expires_at,
    })
}

/// Every key of an account, oldest first.
pub async fn key_list(db: &Db, account_raw: &str) -> Result<KeyList, AdminError> {
    let account = existing_account(db, account_raw).await?;
    let now = Utc::now();
    let keys = api_key::Entity::find()
        .filter(api_key::Column::AccountId.eq(account.id.clone()))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(KeyList {
        account_id: account.id,
        keys: keys.into_iter().map(|k| KeyInfo::of(k, now)).collect(),
    })
}

/// Revokes the one active key with this prefix.
pub async fn key_revoke(db: &Db, prefix: &str) -> Result<KeyRevoked, AdminError> {
    let prefix = prefix.trim();
    if prefix.len() < PREFIX_LEN || !prefix.starts_with("wapl_") {
        return refuse(format!(
            "--key-prefix must be the first {PREFIX_LEN} characters of a key (as `account show` lists them)"
        ));
    }
    let prefix = &prefix[..PREFIX_LEN];
    let active = api_key::Entity::find()
        .filter(api_key::Column::KeyPrefix.eq(prefix))
        .filter(api_key::Column::RevokedAt.is_null())
        .all(db)
        .await?;
    match active.as_slice() {
        [] => refuse(format!("no active key with prefix {prefix}")),
        [one] => {
            api_key::Entity::update_many()
                .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
                .filter(api_key::Column::Id.eq(one.id.clone()))
                .exec(db)
                .await?;
            Ok(KeyRevoked {
                revoked: true,
                key_prefix: prefix.to_owned(),
                key_id: one.id.clone(),
                account_id: one.account_id.clone(),
            })
        }
        many => refuse(format!(
            "{} active keys share prefix {prefix}; revoke by a longer prefix is not possible, rotate the account's keys",
            many.len()
        )),
    }
}
