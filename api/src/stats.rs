//! Campaign stats: funnel counts from the campaign's per-status counts
//! (`message_counts`), kept in step with every message transition.

use sea_orm::ConnectionTrait;

use waplify_shared::db::counts;
use waplify_shared::db::entities::campaign;
use waplify_shared::status::{CampaignStatus, MessageStatus};

use crate::errors::ApiError;
use crate::views::{CampaignState, CampaignStatsResponse, Success};

pub async fn stats<C: ConnectionTrait>(
    db: &C,
    c: campaign::Model,
) -> Result<CampaignStatsResponse, ApiError> {
    let counts = counts::by_name(db, &c.id).await?;
    let named = |wanted: &[&str]| -> i64 {
        counts
            .iter()
            .filter(|(s, _)| wanted.contains(&s.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    let count = |wanted: &[MessageStatus]| -> i64 {
        named(&wanted.iter().map(|s| s.as_str()).collect::<Vec<_>>())
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
        clicked_count: named(&[counts::CLICKED]),
        failed_count: failed,
        replied_count: named(&[counts::REPLIED]),
        success_count: c.total_contacts - failed,
        created_at: c.created_at,
        scheduled_at: c.scheduled_at,
        started_at: c.started_at,
        completed_at: c.completed_at,
    })
}
