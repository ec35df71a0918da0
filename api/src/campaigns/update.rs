//! Changing a draft or scheduled campaign (`update_campaign`): its name, description,
//! schedule and sending window. Setting `scheduled_at` makes it `scheduled`, clearing
//! it a `draft` again, through the transition module; everything else is a plain
//! update guarded by the status it was read in, so a campaign the scheduler fires
//! meanwhile is not changed under it.

use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use waplify_shared::db::begin_write;
use waplify_shared::db::entities::campaign;
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::status::CampaignStatus;
use waplify_shared::transition::{self, CampaignMove};

use super::error::CampaignError;
use super::lifecycle_views::UpdateCampaignRequest;
use super::{lookup, schedule};
use crate::http::text::Text;
use crate::state::AppState;

/// The statuses a campaign may be changed in.
const CHANGEABLE: [CampaignStatus; 2] = [CampaignStatus::Draft, CampaignStatus::Scheduled];

pub async fn update(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
    req: UpdateCampaignRequest,
) -> Result<campaign::Model, CampaignError> {
    let found = lookup::campaign(&state.db, account, id).await?;
    let wrong = |status| CampaignError::WrongStatus {
        status,
        allowed: &CHANGEABLE,
        done: "changed",
    };
    if !CHANGEABLE.contains(&found.status) {
        return Err(wrong(found.status));
    }
    let (sets, status) = changes(&found, req, state.clock.now())?;
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let changed = if status == found.status {
        let mut update =
            campaign::Entity::update_many().col_expr(campaign::Column::UpdatedAt, Expr::value(now));
        for (col, expr) in sets {
            update = update.col_expr(col, expr);
        }
        let done = update
            .filter(campaign::Column::Id.eq(id.clone()))
            .filter(campaign::Column::Status.eq(found.status))
            .exec(&txn)
            .await?;
        done.rows_affected == 1
    } else {
        let mut mv = CampaignMove::to(id, status)
            .from(std::slice::from_ref(&found.status))
            .detail("updated by request");
        mv.sets = sets;
        transition::campaign(&txn, mv, now).await?.is_some()
    };
    if !changed {
        txn.rollback().await?;
        let current = lookup::campaign(&state.db, account, id).await?;
        return Err(wrong(current.status));
    }
    txn.commit().await?;
    lookup::campaign(&state.db, account, id).await
}

/// The columns the request changes and the status the campaign ends up in.
fn changes(
    found: &campaign::Model,
    req: UpdateCampaignRequest,
    now: DateTime<Utc>,
) -> Result<(Vec<(campaign::Column, SimpleExpr)>, CampaignStatus), CampaignError> {
    use campaign::Column as C;
    let mut sets: Vec<(C, SimpleExpr)> = Vec::new();
    let mut status = found.status;
    if let Some(name) = req.name {
        sets.push((C::Name, Expr::value(name.into_string())));
    }
    match req.description {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => sets.push((C::Description, Expr::value(Option::<String>::None))),
        MaybeUndefined::Value(d) => sets.push((C::Description, Expr::value(d.into_string()))),
    }
    let given_zone = schedule::timezone(req.scheduled_timezone)?;
    let zone = given_zone
        .clone()
        .or_else(|| found.scheduled_timezone.clone());
    match req.scheduled_at {
        MaybeUndefined::Undefined => {
            if given_zone.is_some() {
                sets.push((C::ScheduledTimezone, Expr::value(given_zone)));
            }
        }
        MaybeUndefined::Null => {
            sets.push((C::ScheduledAt, Expr::value(Option::<DateTime<Utc>>::None)));
            sets.push((C::ScheduledTimezone, Expr::value(Option::<String>::None)));
            status = CampaignStatus::Draft;
        }
        MaybeUndefined::Value(at) => {
            let s = schedule::schedule(Text::as_str(&at), zone, now)?;
            sets.push((C::ScheduledAt, Expr::value(s.at)));
            sets.push((C::ScheduledTimezone, Expr::value(s.timezone)));
            status = CampaignStatus::Scheduled;
        }
    }
    match req.send_window {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => sets.push((C::SendWindow, Expr::value(Option::<String>::None))),
        MaybeUndefined::Value(w) => {
            let window = w.parse().map_err(CampaignError::Invalid)?;
            sets.push((C::SendWindow, Expr::value(window.to_string())));
        }
    }
    Ok((sets, status))
}
