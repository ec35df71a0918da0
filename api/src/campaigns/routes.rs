//! `/api/v1/campaigns…`

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use waplify_shared::ids::CampaignId;

use super::lifecycle_routes::answer;
use super::lifecycle_views::UpdateCampaignRequest;
use super::views::*;
use super::{append, create, listing, lookup, send, stats, update};
use crate::http::auth::ApiKeyAuth;
use crate::http::envelope::Success;
use crate::http::error_sets::{ChangeErrors, CreateErrors, ListErrors, ReadErrors, UpdateErrors};
use crate::http::errors::Failure;
use crate::http::idempotency::{self, Fingerprint, IdempotencyKey, Idempotent};
use crate::http::paging::{Limit, Page};
use crate::http::tags::Tag;
use crate::http::time::Timestamp;
use crate::state::AppState;

pub struct CampaignsApi;

#[derive(ApiResponse)]
pub enum SendAccepted {
    /// Queued: the dispatch job runs in the background.
    #[oai(status = 202)]
    Accepted(Json<SendAcceptedResponse>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::Campaigns")]
impl CampaignsApi {
    /// Create a campaign
    ///
    /// Stores the campaign as a `draft` (or `scheduled` with `scheduled_at`) with up to
    /// 10,000 recipients. Phones are normalised to E.164 digits and deduplicated;
    /// invalid ones are skipped and listed in `invalid_phones`.
    #[oai(path = "/campaigns", method = "post", operation_id = "create_campaign")]
    async fn create_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
        body: Json<CreateCampaignRequest>,
    ) -> Result<Idempotent<Json<CreateCampaignResponse>>, Failure<CreateErrors>> {
        let (state, caller) = (state.0, &auth.0);
        let what = Fingerprint::post("create_campaign").body(&body.0);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let made = create::create(&state.db, &state.clock, &caller.account_id, body.0).await?;
            Ok(Json(made))
        })
        .await
    }

    /// List campaigns
    ///
    /// Newest first, with an optional status filter.
    #[oai(path = "/campaigns", method = "get", operation_id = "list_campaigns")]
    async fn list_campaigns(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// Page number, from 1.
        page: Query<Page>,
        /// Items per page, 1 to 100.
        limit: Query<Limit>,
        /// Only campaigns in this status.
        status: Query<Option<CampaignState>>,
    ) -> Result<Json<ListCampaignsResponse>, Failure<ListErrors>> {
        Ok(Json(
            listing::list(
                &state.0.db,
                state.0.clock.now(),
                &auth.0.account_id,
                page.0,
                limit.0,
                status.0,
            )
            .await?,
        ))
    }

    /// Get a campaign
    #[oai(
        path = "/campaigns/:campaign_id",
        method = "get",
        operation_id = "get_campaign"
    )]
    async fn get_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
    ) -> Result<Json<GetCampaignResponse>, Failure<ReadErrors>> {
        let found = lookup::campaign(&state.0.db, &auth.0.account_id, &campaign_id.0).await?;
        Ok(Json(GetCampaignResponse {
            status: Success::Success,
            campaign: listing::view(&state.0.db, state.0.clock.now(), found).await?,
            timestamp: Timestamp::now(),
        }))
    }

    /// Change a campaign
    ///
    /// Name, description, schedule and sending window of a `draft` or `scheduled`
    /// campaign. Setting `scheduled_at` makes it `scheduled`; `null` makes it a `draft`
    /// again. Same validation and messages as `create_campaign`.
    #[oai(
        path = "/campaigns/:campaign_id",
        method = "patch",
        operation_id = "update_campaign"
    )]
    async fn update_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        body: Json<UpdateCampaignRequest>,
    ) -> Result<Json<GetCampaignResponse>, Failure<UpdateErrors>> {
        let c = update::update(state.0, &auth.0.account_id, &campaign_id.0, body.0).await?;
        Ok(Json(answer(state.0, c).await?))
    }

    /// Add recipients to a draft
    ///
    /// Appends up to 10,000 recipients per call, normalised and deduplicated against
    /// those already in the campaign. Call it repeatedly to build large campaigns.
    #[oai(
        path = "/campaigns/:campaign_id/contacts",
        method = "post",
        operation_id = "add_campaign_contacts"
    )]
    async fn add_campaign_contacts(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
        body: Json<AddContactsRequest>,
    ) -> Result<Idempotent<Json<AddContactsResponse>>, Failure<ChangeErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        let what = Fingerprint::post("add_campaign_contacts")
            .param(&id)
            .body(&body.0);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let added = append::add_contacts(state, &caller.account_id, &id, body.0).await?;
            Ok(Json(added))
        })
        .await
    }

    /// Send a campaign
    ///
    /// Runs the prechecks (template approved, media present, number active, credits),
    /// reserves the credits and queues the campaign. Answers at once; the messages go
    /// out in the background. Only a `draft` can be sent.
    #[oai(
        path = "/campaigns/:campaign_id/send",
        method = "post",
        operation_id = "send_campaign"
    )]
    async fn send_campaign(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
    ) -> Result<Idempotent<SendAccepted>, Failure<ChangeErrors>> {
        let (state, caller, id) = (state.0, &auth.0, campaign_id.0);
        let what = Fingerprint::post("send_campaign").param(&id);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let accepted = send::send(state, &caller.account_id, &id).await?;
            Ok(SendAccepted::Accepted(Json(accepted)))
        })
        .await
    }

    /// Campaign stats
    ///
    /// Funnel counts (a read message also counts as delivered and sent) and timestamps.
    #[oai(
        path = "/campaigns/:campaign_id/stats",
        method = "get",
        operation_id = "get_campaign_stats"
    )]
    async fn get_campaign_stats(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        campaign_id: Path<CampaignId>,
    ) -> Result<Json<CampaignStatsResponse>, Failure<ReadErrors>> {
        let found = lookup::campaign(&state.0.db, &auth.0.account_id, &campaign_id.0).await?;
        Ok(Json(
            stats::stats(&state.0.db, state.0.clock.now(), found).await?,
        ))
    }
}
