//! Bearer authentication: the key is hashed and looked up (revoked and expired keys
//! are unknown keys: the same 401); the key itself is never stored. A malformed key is rejected without touching the database. A known key's
//! request is then counted against its rate limit (`ratelimit`).

use chrono::{Duration, Utc};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use waplify_shared::apikey::ApiKey;
use waplify_shared::db::entities::api_key;
use waplify_shared::ids::AccountId;

use super::errors::ApiError;
use crate::state::AppState;

/// The account a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: AccountId,
}

/// `Authorization: Bearer wapl_…`
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "wapl_<40 alphanumerics>",
    checker = "check"
)]
pub struct ApiKeyAuth(pub Caller);

/// `last_used_at` is refreshed at most this often, so reads stay reads.
const TOUCH_EVERY: Duration = Duration::minutes(1);

async fn check(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let Some(key) = ApiKey::parse(bearer.token.trim()) else {
        return Err(ApiError::unauthorized().into());
    };
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let row = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key.hash()))
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(
            api_key::Column::ExpiresAt
                .is_null()
                .or(api_key::Column::ExpiresAt.gt(Utc::now())),
        )
        .one(&state.db)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::unauthorized)?;
    state.rate_limit.check(&state.queues, &row.id).await?;
    let now = Utc::now();
    if row.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY) {
        let touched = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(row.id.clone()))
            .exec(&state.db)
            .await;
        if let Err(e) = touched {
            tracing::warn!("could not record key use: {e}");
        }
    }
    Ok(Caller {
        account_id: row.account_id,
    })
}
