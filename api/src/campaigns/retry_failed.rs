//! Sending a finished campaign's failed recipients again (`retry_failed_messages`):
//! the body read into a pick, the campaign's status checked, then
//! `waplify_shared::sending::retry` (prechecks, the moves back to `queued` and
//! `pending`, the credits) and the push of the new dispatch job, as `send` does.
//! Recipients that were sent are never touched: only `failed` ones move.

use chrono::Utc;

use waplify_shared::db::entities::campaign;
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::jobs::DispatchCampaign;
use waplify_shared::sending::retry::{self, RetryRefused};
use waplify_shared::sending::retry_pick::Pick;

use super::error::CampaignError;
use super::lifecycle_views::{RetryFailedRequest, RetryFailedResponse};
use super::lookup;
use crate::http::envelope::Accepted;
use crate::http::time::Timestamp;
use crate::state::AppState;

pub async fn retry_failed(
    state: &AppState,
    account: &AccountId,
    id: &CampaignId,
    body: Option<RetryFailedRequest>,
) -> Result<RetryFailedResponse, CampaignError> {
    let pick = pick(body);
    let found = lookup::campaign(&state.db, account, id).await?;
    ensure_finished(&found)?;
    let queued = match retry::retry(
        &state.db,
        &found,
        &pick,
        state.credits_per_message,
        Utc::now(),
    )
    .await?
    {
        Ok(queued) => queued,
        Err(RetryRefused::Precheck(reason)) => return Err(CampaignError::Precheck(reason)),
        Err(RetryRefused::NoneChosen) => return Err(nothing(&pick)),
        Err(RetryRefused::Moved) => {
            // Another retry (or the end of the campaign's last calls) came first.
            // If it has even finished again since, it is still not this request's to move.
            let current = lookup::campaign(&state.db, account, id).await?;
            ensure_finished(&current)?;
            return Err(CampaignError::NothingToRetry(
                "Another retry of this campaign came first; read the campaign again".into(),
            ));
        }
    };
    let job = DispatchCampaign {
        campaign_id: id.clone(),
    };
    let (count, task_id) = (queued.count, queued.task_id);
    if let Err(e) = state.queues.push(job, task_id.clone(), None).await {
        tracing::warn!(campaign_id = %id, %task_id, "dispatch push failed, the reconciler will push it: {e}");
    }
    Ok(RetryFailedResponse {
        status: Accepted::Accepted,
        message: "Failed recipients queued again and will be sent in background".into(),
        campaign_id: id.to_string(),
        count,
        task_id: task_id.to_string(),
        timestamp: Timestamp::now(),
    })
}

/// The pick a body asks for, codes deduplicated (the spec's validators have refused an
/// empty list and codes below 1).
fn pick(body: Option<RetryFailedRequest>) -> Pick {
    match body.and_then(|b| b.error_codes) {
        Some(mut codes) => {
            codes.sort_unstable();
            codes.dedup();
            Pick::Codes(codes)
        }
        None => Pick::Default,
    }
}

/// Only a completed or failed campaign that has settled is retried.
fn ensure_finished(c: &campaign::Model) -> Result<(), CampaignError> {
    if !retry::FROM.contains(&c.status) {
        return Err(CampaignError::WrongStatus {
            status: c.status,
            allowed: retry::FROM,
            done: "retried",
        });
    }
    if c.settled_at.is_none() {
        return Err(CampaignError::Finishing(c.status));
    }
    Ok(())
}

fn nothing(pick: &Pick) -> CampaignError {
    CampaignError::NothingToRetry(match pick {
        Pick::Default => "No failed recipients to retry: every failure is permanent for its \
                          recipient, or its outcome is unknown (name error_codes to pick \
                          permanent ones)"
            .into(),
        Pick::Codes(codes) => {
            let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
            format!(
                "No failed recipients to retry with error code {}",
                codes.join(", ")
            )
        }
    })
}
