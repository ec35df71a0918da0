//! Sending a draft by hand: the prechecks, the move to `queued` with the credits
//! reserved and the task id stored (`waplify_shared::sending`, which the scheduler
//! uses for scheduled campaigns too), then the push of the dispatch job.
//!
//! The push comes after the commit. If Redis is unreachable the request still
//! succeeds: the campaign is `queued` with its task id in SQL, and the worker's
//! reconciler pushes the job under that same id.

use chrono::Utc;

use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::jobs::DispatchCampaign;
use waplify_shared::sending::{self, Refused};

use super::error::CampaignError;
use super::lookup::{self, ensure_draft};
use super::views::SendAcceptedResponse;
use crate::http::envelope::Accepted;
use crate::http::time::Timestamp;
use crate::state::AppState;

pub async fn send(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
) -> Result<SendAcceptedResponse, CampaignError> {
    let found = lookup::campaign(&state.db, account, id).await?;
    ensure_draft(&found)?;
    let queued = sending::queue(&state.db, &found, state.credits_per_message, Utc::now()).await?;
    let task_id = match queued {
        Ok(task_id) => task_id,
        Err(Refused::Precheck(reason)) => return Err(CampaignError::Precheck(reason)),
        Err(Refused::Moved) => {
            let current = lookup::campaign(&state.db, account, id).await?;
            ensure_draft(&current)?;
            return Err(CampaignError::Unexpected(
                "a draft could not be queued".into(),
            ));
        }
    };
    let job = DispatchCampaign {
        campaign_id: id.clone(),
    };
    if let Err(e) = state.queues.push(job, task_id.clone(), None).await {
        tracing::warn!(campaign_id = %id, %task_id, "dispatch push failed, the reconciler will push it: {e}");
    }
    Ok(SendAcceptedResponse {
        status: Accepted::Accepted,
        message: "Campaign send queued and will run in background".into(),
        campaign_id: id.to_string(),
        task_id: task_id.to_string(),
        timestamp: Timestamp::now(),
    })
}
