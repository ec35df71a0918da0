//! Campaign stats: funnel counts from the campaign's per-status counts
//! (`message_counts`), kept in step with every message transition.

use sea_orm::ConnectionTrait;

use waplify_shared::db::counts::{self, Tally};
use waplify_shared::db::entities::campaign;

use super::error::CampaignError;
use super::views::{CampaignState, CampaignStatsResponse};
use crate::http::envelope::Success;

pub async fn stats<C: ConnectionTrait>(
    db: &C,
    c: campaign::Model,
) -> Result<CampaignStatsResponse, CampaignError> {
    let counts = counts::of_campaign(db, &c.id).await?;
    let count = |wanted: &[Tally]| -> i64 {
        counts
            .iter()
            .filter(|(t, _)| wanted.contains(t))
            .map(|(_, n)| n)
            .sum()
    };
    use Tally::*;
    let failed = count(&[Failed]);
    let failure_reason = super::listing::failure_reason(&c);
    Ok(CampaignStatsResponse {
        status: Success::Success,
        campaign_id: c.id.to_string(),
        name: c.name,
        campaign_status: CampaignState::from(c.status),
        total_contacts: c.total_contacts,
        sent_count: count(&[Sent, Delivered, Read]),
        delivered_count: count(&[Delivered, Read]),
        read_count: count(&[Read]),
        clicked_count: count(&[Clicked]),
        failed_count: failed,
        replied_count: count(&[Replied]),
        success_count: c.total_contacts - failed,
        created_at: c.created_at,
        scheduled_at: c.scheduled_at,
        started_at: c.started_at,
        completed_at: c.completed_at,
        failure_reason,
    })
}
