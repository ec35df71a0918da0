//! Recording a claim's results while the database may be away: the results stay in
//! hand and are tried again until shortly before anyone may claim the messages again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DbErr;

use waplify_shared::db::Db;
use waplify_shared::ids::CampaignId;

use super::record::{Outcome, Recorded, record};

/// Results are given up this long before the messages may be claimed again, so none is
/// sent a second time while its result is about to land.
const LEASE_MARGIN: chrono::Duration = chrono::Duration::seconds(2);
/// The longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// [`record`], tried again while it fails, until shortly before the messages may be
/// claimed again: the lease, then the hold its expiry puts them in (`hold`), during
/// which they keep this claim token. Through a database outage shorter than that, or
/// a transaction that rolled back, the results stay in hand and a message WhatsApp
/// accepted is recorded instead of being sent again. The claim token still fences
/// every move, so a try that lands after another claim took a message changes nothing.
pub async fn record_retrying(
    db: &Db,
    campaign_id: &CampaignId,
    (claim, lease_until): (&str, DateTime<Utc>),
    hold: Duration,
    outcomes: Vec<Outcome>,
) -> Result<Recorded, DbErr> {
    let deadline =
        lease_until + chrono::Duration::from_std(hold).unwrap_or_default() - LEASE_MARGIN;
    let mut pause = Duration::from_millis(50);
    for attempt in 1.. {
        let left = (deadline - Utc::now()).to_std().unwrap_or_default();
        let error = match tokio::time::timeout(
            left,
            record(db, campaign_id, claim, outcomes.clone()),
        )
        .await
        {
            Ok(Ok(recorded)) => return Ok(recorded),
            Ok(Err(e)) => e,
            Err(_) => DbErr::Custom(
                "no answer from the database before the messages could be claimed again".into(),
            ),
        };
        let left = (deadline - Utc::now()).to_std().unwrap_or_default();
        if left.is_zero() {
            return Err(error);
        }
        // The job's span names the campaign.
        if attempt == 1 {
            tracing::warn!(
                "recording provider results failed, keeping them and trying again: {error}"
            );
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
    unreachable!("the loop returns")
}
