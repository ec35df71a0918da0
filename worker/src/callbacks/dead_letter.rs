//! Stored callbacks that keep failing to apply. Each failed run is counted with its
//! error; after `CALLBACK_MAX_ATTEMPTS` the callback is given up (`dead_at`): the
//! reconciler no longer queues it, and operators see it (`waplify-admin callbacks
//! dead`, `scripts/callbacks`, `waplify_callbacks_dead_total`) and can run it again
//! once the cause is fixed (`waplify-admin callbacks retry`).

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use waplify_shared::db::entities::whatsapp_callback::{Column, Entity};
use waplify_shared::ids::CallbackId;

use crate::runtime::context::Ctx;

/// The longest error text kept.
const ERROR_CHARS: usize = 1000;

/// Counts a failed run of `id`; gives it up at the limit. Returns whether it did.
pub async fn failed(ctx: &Ctx, id: &CallbackId, error: &str) -> Result<bool, DbErr> {
    let Some(row) = Entity::find_by_id(id.clone()).one(&ctx.db).await? else {
        return Ok(false);
    };
    if row.processed_at.is_some() || row.dead_at.is_some() {
        return Ok(false);
    }
    let dead = row.attempts + 1 >= ctx.cfg.callback_attempts;
    let error: String = error.replace('\0', "").chars().take(ERROR_CHARS).collect();
    Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LastError, Expr::value(error.clone()))
        .col_expr(Column::DeadAt, Expr::value(dead.then(Utc::now)))
        .filter(Column::Id.eq(id.clone()))
        .filter(Column::ProcessedAt.is_null())
        .filter(Column::DeadAt.is_null())
        .exec(&ctx.db)
        .await?;
    if dead {
        ctx.metrics.callback_dead();
        tracing::error!(callback_id = %id, attempts = row.attempts + 1, "a WhatsApp callback was given up: {error}");
    }
    Ok(dead)
}
