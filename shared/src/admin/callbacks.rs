//! WhatsApp callbacks given up after failing to apply again and again (the dead
//! letter): listed for an operator, and armed again once the cause is fixed, for the
//! reconciler to apply within a minute.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::{AdminError, parse_id};
use crate::db::Db;
use crate::db::entities::whatsapp_callback::{Column, Entity};
use crate::ids::CallbackId;

/// A dead callback, without its body (it may be large; it stays in SQL).
#[derive(Debug, Serialize)]
pub struct DeadCallback {
    pub callback_id: String,
    pub received_at: DateTime<Utc>,
    pub dead_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeadCallbacks {
    pub total: u64,
    pub callbacks: Vec<DeadCallback>,
}

#[derive(Debug, Serialize)]
pub struct CallbacksRearmed {
    pub rearmed: u64,
}

/// The most recently given-up callbacks, and how many there are.
pub async fn callbacks_dead(db: &Db, limit: u64) -> Result<DeadCallbacks, AdminError> {
    let dead = Entity::find().filter(Column::DeadAt.is_not_null());
    let total = dead.clone().count(db).await?;
    let rows = dead
        .order_by_desc(Column::DeadAt)
        .limit(limit)
        .all(db)
        .await?;
    Ok(DeadCallbacks {
        total,
        callbacks: rows
            .into_iter()
            .map(|r| DeadCallback {
                callback_id: r.id.to_string(),
                received_at: r.received_at,
                dead_at: r.dead_at,
                attempts: r.attempts,
                last_error: r.last_error,
                summary: r.summary,
            })
            .collect(),
    })
}

/// Arms a dead callback again (or every one, without an id): its attempts start over
/// and the reconciler queues it.
pub async fn callbacks_retry(db: &Db, id: Option<&str>) -> Result<CallbacksRearmed, AdminError> {
    let mut update = Entity::update_many()
        .col_expr(Column::DeadAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::Attempts, Expr::value(0))
        .filter(Column::DeadAt.is_not_null());
    if let Some(raw) = id {
        let id: CallbackId = parse_id(raw)?;
        update = update.filter(Column::Id.eq(id));
    }
    let res = update.exec(db).await?;
    if id.is_some() && res.rows_affected == 0 {
        return Err(AdminError(format!(
            "callback {} is not dead (or does not exist)",
            id.unwrap_or_default()
        )));
    }
    Ok(CallbacksRearmed {
        rearmed: res.rows_affected,
    })
}
