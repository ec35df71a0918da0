//! How the stored secrets stand, and the check every process that reads or writes
//! them makes at start: encrypted values whose key is not configured stop it with one
//! line naming the key id, rather than failing later, one send at a time.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbErr, Statement};
use serde::Serialize;

use super::{Field, Keyring};
use crate::config::ConfigError;

/// Stored secrets (both fields): how many are plain text, and how many each key sealed.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Census {
    pub plaintext: i64,
    pub by_key: BTreeMap<String, i64>,
}

pub async fn census<C: ConnectionTrait>(db: &C) -> Result<Census, DbErr> {
    let mut out = Census::default();
    for field in Field::ALL {
        let (t, c) = (field.table(), field.column());
        // The key id of `enc:v1:<id>:…` is 8 characters; any other `enc:` is unreadable.
        let sql = format!(
            "SELECT CASE WHEN substr(\"{c}\", 1, 7) = 'enc:v1:' THEN substr(\"{c}\", 8, 8) \
             WHEN substr(\"{c}\", 1, 4) = 'enc:' THEN '?' ELSE '' END, COUNT(*) \
             FROM \"{t}\" WHERE \"{c}\" IS NOT NULL GROUP BY 1"
        );
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
        for row in rows {
            let kid: String = row.try_get_by_index(0)?;
            let n: i64 = row.try_get_by_index(1)?;
            if kid.is_empty() {
                out.plaintext += n;
            } else {
                *out.by_key.entry(kid).or_default() += n;
            }
        }
    }
    Ok(out)
}

/// Refuses to start when stored secrets are encrypted under a key that is not
/// configured; warns while secrets are (or would be) kept in plain text.
pub async fn check_at_startup<C: ConnectionTrait>(
    db: &C,
    keys: &Keyring,
) -> Result<Census, ConfigError> {
    let found = census(db).await.map_err(|e| {
        ConfigError::new(
            "DATABASE_URL",
            format!("cannot read the stored secrets: {}", crate::db::brief(&e)),
        )
    })?;
    for (kid, n) in &found.by_key {
        if keys.find(kid).is_some() {
            continue;
        }
        let problem = match keys.current() {
            None => format!(
                "is not set, but {n} stored secret(s) are encrypted (key id {kid}): \
                 set it to the key they were encrypted with"
            ),
            Some(current) => format!(
                "{n} stored secret(s) are encrypted under key id {kid}, which neither this key \
                 (key id {}) nor WAPLIFY_SECRET_KEYS_OLD holds",
                current.id()
            ),
        };
        return Err(ConfigError::new("WAPLIFY_SECRET_KEY", problem));
    }
    match keys.current() {
        None => tracing::warn!(
            plaintext = found.plaintext,
            "WAPLIFY_SECRET_KEY is not set: access tokens and webhook secrets are stored in \
             plain text; production must set a key"
        ),
        Some(current) => {
            let stale = found.plaintext
                + found
                    .by_key
                    .iter()
                    .filter(|(kid, _)| *kid != current.id().as_str())
                    .map(|(_, n)| n)
                    .sum::<i64>();
            if stale > 0 {
                tracing::warn!(
                    stale,
                    key_id = %current.id(),
                    "stored secrets not under the current key (plain text or an old key): \
                     run `waplify-admin secrets rotate`"
                );
            }
        }
    }
    Ok(found)
}
