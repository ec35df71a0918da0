//! Campaign stats: funnel counts from one `GROUP BY status` served by the
//! `(campaign_id, status, next_attempt_at)` index.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait};

use waplify_shared::db::entities::{campaign, message};
use waplify_shared::status::{CampaignStatus, MessageStatus};

use crate::errors::ApiError;
use crate::views::{CampaignState, CampaignStatsResponse, Success};

/// Messages per status.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    campaign_id: &str,
) -> Result<Vec<(MessageStatus, i64)>, ApiError> {
    let mut q = Query::select();
    q.column(message::Column::Status)
        .expr(Expr::cust("COUNT(*)"))
        .from(message::Entity)
        .and_where(message::Column::CampaignId.eq(campaign_id))
        .group_by_col(message::Column::Status);
    let mut out = Vec::new();
    for row in db.query_all(&q).await? {
        let status: String = row.try_get_by_index(0)?;
        let n: i64 = row.try_get_by_index(1)?;
        out.push((status.parse().map_err(ApiError::internal)?, n));
    }
    Ok(out)
}

pub async fn stats<C: ConnectionTrait>(
    db: &C,
    c: campaign::Model,
) -> Result<CampaignStatsResponse, ApiError> {
    let counts = counts(db, &c.id).await?;
    let count = |wanted: &[MessageStatus]| -> i64 {
        counts
            .iter()
            .filter(|(s, _)| wanted.contains(s))
            .map(|(_, n)| n)
            .sum()
    };
    use MessageStatus::*;
    let failed = count(&[Failed]);
    let status: CampaignStatus = c.status.parse().map_err(ApiError::internal)?;
    Ok(CampaignStatsResponse {
        status: Success::Success,
        campaign_id: c.id,
        name: c.name,
        campaign_status: CampaignState::from(status),
        total_contacts: c.total_contacts,
        sent_count: count(&[Sent, Delivered, Read]),
        delivered_count: count(&[Delivered, Read]),
        read_count: count(&[Read]),
        clicked_count: 0,
        failed_count: failed,
        replied_count: 0,
        success_count: c.total_contacts - failed,
        created_at: c.created_at,
        scheduled_at: c.scheduled_at,
        started_at: c.started_at,
        completed_at: c.completed_at,
    })
}
