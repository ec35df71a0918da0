//! `/api/v1/campaigns/{campaign_id}/…` lifecycle: cancel, pause, resume, retry the
//! failed recipients, and a test message before sending. (Changing a campaign shares
//! its path with `get_campaign`, so it is in `routes`.)

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use waplify_shared::db::entities::campaign;
use waplify_shared::ids::CampaignId;

use super::error::{CampaignError, TestMessageErrors};
use super::lifecycle_views::{
    RetryErrors, RetryFailedRequest, RetryFailedResponse, TestMessageAccepted, TestMessageRequest,
};
use super::views::GetCampaignResponse;
use super::{control, listing, retry_failed, test_send};
use crate::http::auth::ApiKeyAuth;
use crate::http::envelope::Success;
use crate::http::error_sets::ControlErrors;
use crate::http::errors::Failure;
use crate::http::idempotency::{self, Fingerprint, IdempotencyKey, Idempotent};
use crate::http::optional_json::OptionalJson;
use crate::http::tags::Tag;
use crate::http::time::Timestamp;
use crate::state::AppState;

pub struct CampaignLifecycleApi;

#[derive(ApiResponse)]
pub enum RetryAccepted {
    /// Queued again: the dispatch job runs in the background.
    #[oai(status = 202)]
    Accepted(Json<RetryFailedResponse>),
}

#[derive(ApiResponse)]
pub enum TestAccepted {
    /// Queued: the test message is sent in the background.
    #[oai(status = 202)]
    Accepted(Json<TestMessageAccepted>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::Campaigns")]
impl CampaignLifecycleApi {
    /// Cancel a campaign
    ///
    /// From `draft`, `scheduled`, `queued`, `running` or `paused`. Recipients not sent
    /// yet become `cancelled` and their credits are refunded at once, up to 20,000 of
    /// them; the worker cancels and refunds the rest shortly after. No provider call
    /// starts after this answers; calls already in flight finish and are recorded.
    #[oai(
        path = "/campaigns/:campaign_id/cancel",
        method = "post",
        operation_id = "cancel_campaign"
    )]
    async fn cancel_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
    ) -> Result<Idempotent<Json<GetCampaignResponse>>, Failure<ControlErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        let what = Fingerprint::post("cancel_campaign").param(&id);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let c = control::cancel(state, &caller.account_id, &id).await?;
            Ok(Json(answer(state, c).await?))
        })
        .await
    }

    /// Pause a campaign
    ///
    /// From `queued` or `running`. Nothing more is claimed on any worker once this
    /// answers; calls in flight finish and retries that fall due wait. The reserved
    /// credits stay reserved.
    #[oai(
        path = "/campaigns/:campaign_id/pause",
        method = "post",
        operation_id = "pause_campaign"
    )]
    async fn pause_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
    ) -> Result<Idempotent<Json<GetCampaignResponse>>, Failure<ControlErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        let what = Fingerprint::post("pause_campaign").param(&id);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let c = control::pause(state, &caller.account_id, &id).await?;
            Ok(Json(answer(state, c).await?))
        })
        .await
    }

    /// Send a test message
    ///
    /// Sends the campaign's template, with its variables (`body_data` overrides some)
    /// and media, to one number now, through the same queue and provider client as the
    /// campaign. From `draft`, `scheduled` or `paused`. Charged like one message
    /// (refunded if it fails); at most 10 per campaign per hour. The message is marked
    /// `test` and is not one of the campaign's recipients: not in its stats, counts or
    /// `total_contacts`, and no `message.*` webhook events.
    #[oai(
        path = "/campaigns/:campaign_id/test",
        method = "post",
        operation_id = "send_test_message"
    )]
    async fn send_test_message(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
        body: Json<TestMessageRequest>,
    ) -> Result<Idempotent<TestAccepted>, Failure<TestMessageErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        let what = Fingerprint::post("send_test_message")
            .param(&id)
            .body(&body.0);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let accepted = test_send::send_test(state, &caller.account_id, &id, body.0).await?;
            Ok(TestAccepted::Accepted(Json(accepted)))
        })
        .await
    }

    /// Resume a campaign
    ///
    /// From `paused`: `running` again where it stopped, or `queued` if it had not
    /// started (or a retry of it had not moved all its recipients back yet). `task_id`
    /// becomes the id of the new dispatch job.
    #[oai(
        path = "/campaigns/:campaign_id/resume",
        method = "post",
        operation_id = "resume_campaign"
    )]
    async fn resume_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
    ) -> Result<Idempotent<Json<GetCampaignResponse>>, Failure<ControlErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        let what = Fingerprint::post("resume_campaign").param(&id);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let c = control::resume(state, &caller.account_id, &id).await?;
            Ok(Json(answer(state, c).await?))
        })
        .await
    }

    /// Retry failed recipients
    ///
    /// From `completed` or `failed` (once its last calls are done). Sends the chosen
    /// failed recipients again: by default those whose last error is not permanent for
    /// them (transient errors they ran out of attempts on, rate limits, campaign-fatal
    /// errors such as a revoked token, whose cause may be fixed), or those whose last
    /// error has one of `error_codes`. A recipient whose outcome stayed unknown is
    /// never retried (WhatsApp may have delivered it); sent recipients are never
    /// touched. Prechecks and credits as for `send_campaign`, for the chosen
    /// recipients; the campaign runs again and refunds only its new failures.
    #[oai(
        path = "/campaigns/:campaign_id/retry-failed",
        method = "post",
        operation_id = "retry_failed_messages"
    )]
    async fn retry_failed_messages(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
        body: OptionalJson<RetryFailedRequest>,
    ) -> Result<Idempotent<RetryAccepted>, Failure<RetryErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        // No body and `{}` ask for the same thing.
        let mut what = Fingerprint::post("retry_failed_messages").param(&id);
        if let Some(codes) = body.0.as_ref().and_then(|b| b.error_codes.as_ref()) {
            what = what.body(codes);
        }
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let accepted =
                retry_failed::retry_failed(state, &caller.account_id, &id, body.0).await?;
            Ok(RetryAccepted::Accepted(Json(accepted)))
        })
        .await
    }
}

/// The 200 of a lifecycle operation: the campaign as `get_campaign` shows it.
pub async fn answer(
    state: &AppState,
    c: campaign::Model,
) -> Result<GetCampaignResponse, CampaignError> {
    Ok(GetCampaignResponse {
        status: Success::Success,
        campaign: listing::view(&state.db, state.clock.now(), c).await?,
        timestamp: Timestamp::now(),
    })
}
