//! Re-encrypting stored secrets under the current key: all of them for
//! `waplify-admin secrets rotate`, the plain text ones for the migration that
//! introduced encryption. Each row is written only if it still holds the value read,
//! so a concurrent change is never overwritten; running it again changes nothing.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use super::{Field, Keyring, SecretError, is_encrypted, key_id_of};

/// Rows read per query.
const PAGE: u64 = 200;

/// Which values to write again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reseal {
    /// Only plain text (values under an old key stay as they are).
    PlaintextOnly,
    /// Everything not under the current key.
    All,
}

/// What one field's pass did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Resealed {
    /// Plain text now encrypted.
    pub encrypted: u64,
    /// Values under an old key now under the current one.
    pub reencrypted: u64,
    /// Left as they were (already under the current key, or changed meanwhile).
    pub unchanged: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("WAPLIFY_SECRET_KEY is not set: there is no key to encrypt with")]
    NoKey,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("database error: {}", crate::db::brief(.0))]
    Db(#[from] DbErr),
}

/// Writes every value of `field` that `mode` selects again under the current key.
pub async fn reseal<C: ConnectionTrait>(
    db: &C,
    keys: &Keyring,
    field: Field,
    mode: Reseal,
) -> Result<Resealed, ResealError> {
    let key = keys.current().ok_or(ResealError::NoKey)?;
    let (table, column) = (field.table(), field.column());
    let mut done = Resealed::default();
    let mut after = String::new();
    loop {
        let page = Query::select()
            .columns(["id", column])
            .from(table)
            .and_where(Expr::col(column).is_not_null())
            .and_where(Expr::col("id").gt(after.clone()))
            .order_by("id", Order::Asc)
            .limit(PAGE)
            .to_owned();
        let rows = db.query_all(&page).await?;
        if rows.is_empty() {
            return Ok(done);
        }
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let stored: String = row.try_get("", column)?;
            after.clone_from(&id);
            let fresh = if !is_encrypted(&stored) {
                key.seal(field, &id, &stored)
            } else if mode == Reseal::PlaintextOnly || key_id_of(&stored) == Some(key.id().as_str())
            {
                done.unchanged += 1;
                continue;
            } else {
                let plain = keys.open(field, &id, &stored)?;
                key.seal(field, &id, plain.expose())
            };
            let write = Query::update()
                .table(table)
                .value(column, fresh)
                .and_where(Expr::col("id").eq(id.as_str()))
                .and_where(Expr::col(column).eq(stored.as_str()))
                .to_owned();
            match db.execute(&write).await?.rows_affected() {
                0 => done.unchanged += 1,
                _ if is_encrypted(&stored) => done.reencrypted += 1,
                _ => done.encrypted += 1,
            }
        }
    }
}
