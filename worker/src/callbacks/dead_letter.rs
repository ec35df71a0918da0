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

/// Counts a failed run of `id`; gives it up at the limit, in the same statement, so
/// two runs failing at once cannot step past the limit. Returns whether it did.
pub async fn failed(ctx: &Ctx, id: &CallbackId, error: &str) -> Result<bool, DbErr> {
    let error: String = error.replace('\0', "").chars().take(ERROR_CHARS).collect();
    let now = Utc::now();
    let counted = Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LastError, Expr::value(error.clone()))
        .col_expr(
            Column::DeadAt,
            Expr::case(
                Expr::col(Column::Attempts)
                    .add(1)
                    .gte(ctx.cfg.callback_attempts),
                Expr::value(now),
            )
            .finally(Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .into(),
        )
        .filter(Column::Id.eq(id.clone()))
        .filter(Column::ProcessedAt.is_null())
        .filter(Column::DeadAt.is_null())
        .exec(&ctx.db)
        .await?;
    if counted.rows_affected == 0 {
        return Ok(false);
    }
    let row = Entity::find_by_id(id.clone()).one(&ctx.db).await?;
    let Some(row) = row.filter(|r| r.dead_at.is_some()) else {
        return Ok(false);
    };
    ctx.metrics.callback_dead();
    tracing::error!(callback_id = %id, attempts = row.attempts, "a WhatsApp callback was given up: {error}");
    Ok(true)
}
