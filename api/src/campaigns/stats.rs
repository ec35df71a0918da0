//! Campaign stats: funnel counts (`counts::Funnel`) from the campaign's per-status
//! counts (`message_counts`), kept in step with every message transition.

use sea_orm::ConnectionTrait;

use chrono::{DateTime, Utc};
use waplify_shared::db::counts::Funnel;
use waplify_shared::db::entities::campaign;

use super::error::CampaignError;
use super::views::{CampaignState, CampaignStatsResponse};
use crate::http::envelope::Success;
use crate::http::time::Timestamp;

pub async fn stats<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    c: campaign::Model,
) -> Result<CampaignStatsResponse, CampaignError> {
    let counts = Funnel::read(db, &c.id).await?;
    let failure_reason = super::listing::failure_reason(&c);
    let next_window_at = super::listing::window_wait(&c, now);
    Ok(CampaignStatsResponse {
        status: Success::Success,
        campaign_id: c.id.to_string(),
        name: c.name,
        campaign_status: CampaignState::from(c.status),
        total_contacts: c.total_contacts,
        sent_count: counts.sent,
        delivered_count: counts.delivered,
        read_count: counts.read,
        clicked_count: counts.clicked,
        failed_count: counts.failed,
        replied_count: counts.replied,
        cancelled_count: counts.cancelled,
        success_count: c.total_contacts - counts.failed - counts.cancelled,
        created_at: Timestamp(c.created_at),
        scheduled_at: c.scheduled_at.map(Timestamp),
        started_at: c.started_at.map(Timestamp),
        completed_at: c.completed_at.map(Timestamp),
        failure_reason,
        waiting_for_window: next_window_at.is_some(),
        next_window_at: next_window_at.map(Timestamp),
    })
}
