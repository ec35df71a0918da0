//! Campaign status changes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::db::entities::campaign;
use crate::ids::CampaignId;
use crate::status::CampaignStatus;

/// Moves one campaign to `to` from any of its allowed predecessors, setting `extra`
/// columns too. Returns whether this caller made the change.
pub async fn campaign<C: ConnectionTrait>(
    db: &C,
    id: &CampaignId,
    to: CampaignStatus,
    now: DateTime<Utc>,
    extra: Vec<(campaign::Column, SimpleExpr)>,
) -> Result<bool, DbErr> {
    let mut update = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(to))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now));
    for (col, expr) in extra {
        update = update.col_expr(col, expr);
    }
    let result = update
        .filter(campaign::Column::Id.eq(id.clone()))
        .filter(campaign::Column::Status.is_in(to.predecessors().iter().copied()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
