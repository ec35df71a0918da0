//! `/api/v1/webhooks…`: where an account's message events go.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use waplify_shared::ids::WebhookId;

use super::views::*;
use super::{deliveries, endpoints};
use crate::http::auth::ApiKeyAuth;
use crate::http::envelope::Success;
use crate::http::error_sets::{ListErrors, WebhookCreateErrors, WebhookErrors, WebhookTestErrors};
use crate::http::errors::Failure;
use crate::http::idempotency::{self, Fingerprint, IdempotencyKey, Idempotent};
use crate::http::paging::{Limit, Page};
use crate::http::tags::Tag;
use crate::http::time::Timestamp;
use crate::state::AppState;

pub struct WebhooksApi;

#[derive(ApiResponse)]
pub enum Created {
    /// The endpoint is registered; events start flowing to it.
    #[oai(status = 201)]
    Created(Json<CreateWebhookResponse>),
}

#[derive(ApiResponse)]
pub enum TestQueued {
    /// A signed `webhook.test` event is queued.
    #[oai(status = 202)]
    Accepted(Json<TestWebhookResponse>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// Register a webhook endpoint
    ///
    /// Message events (`message.sent`, `message.delivered`, `message.read`,
    /// `message.failed`) are POSTed to `url` as they happen, signed with `secret` when
    /// one is set, and retried with exponential back-off on 429, 5xx and timeouts.
    #[oai(path = "/webhooks", method = "post", operation_id = "create_webhook")]
    async fn create_webhook(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
        body: Json<CreateWebhookRequest>,
    ) -> Result<Idempotent<Created>, Failure<WebhookCreateErrors>> {
        let (state, caller) = (state.0, &auth.0);
        let what = Fingerprint::post("create_webhook").body(&body.0);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let networks = state.webhook_networks;
            let made = endpoints::create(
                &state.db,
                &state.secrets,
                networks,
                &caller.account_id,
                body.0,
            )
            .await?;
            Ok(Created::Created(Json(made)))
        })
        .await
    }

    /// List webhook endpoints
    #[oai(path = "/webhooks", method = "get", operation_id = "list_webhooks")]
    async fn list_webhooks(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// Page number, from 1.
        page: Query<Page>,
        /// Items per page, 1 to 100.
        limit: Query<Limit>,
    ) -> Result<Json<ListWebhooksResponse>, Failure<ListErrors>> {
        Ok(Json(
            endpoints::list(&state.0.db, &auth.0.account_id, page.0, limit.0).await?,
        ))
    }

    /// Get a webhook endpoint
    #[oai(
        path = "/webhooks/:webhook_id",
        method = "get",
        operation_id = "get_webhook"
    )]
    async fn get_webhook(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        webhook_id: Path<WebhookId>,
    ) -> Result<Json<GetWebhookResponse>, Failure<WebhookErrors>> {
        let found = endpoints::find(&state.0.db, &auth.0.account_id, &webhook_id.0).await?;
        Ok(Json(GetWebhookResponse {
            status: Success::Success,
            webhook: endpoints::view(found),
            timestamp: Timestamp::now(),
        }))
    }

    /// Delete a webhook endpoint
    ///
    /// No further events are sent to it; its pending deliveries are cancelled. Its
    /// delivery history is kept.
    #[oai(
        path = "/webhooks/:webhook_id",
        method = "delete",
        operation_id = "delete_webhook"
    )]
    async fn delete_webhook(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        webhook_id: Path<WebhookId>,
    ) -> Result<Json<DeleteWebhookResponse>, Failure<WebhookErrors>> {
        Ok(Json(
            endpoints::delete(&state.0.db, &auth.0.account_id, &webhook_id.0).await?,
        ))
    }

    /// Send a test event
    ///
    /// Queues a signed `webhook.test` event to the endpoint, delivered and retried like
    /// any other; follow it with `list_webhook_deliveries`.
    #[oai(
        path = "/webhooks/:webhook_id/test",
        method = "post",
        operation_id = "test_webhook"
    )]
    async fn test_webhook(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        webhook_id: Path<WebhookId>,
        /// Runs the operation once per key; a retry with the key gets the first answer.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKey,
    ) -> Result<Idempotent<TestQueued>, Failure<WebhookTestErrors>> {
        let (state, caller, id) = (state.0, &auth.0, webhook_id.0);
        let what = Fingerprint::post("test_webhook").param(&id);
        idempotency::run(state, caller, idempotency_key, what, || async move {
            let queued = endpoints::test(&state.db, &caller.account_id, &id).await?;
            Ok(TestQueued::Accepted(Json(queued)))
        })
        .await
    }

    /// List deliveries of an endpoint
    ///
    /// Newest first, each with every attempt and its outcome.
    #[oai(
        path = "/webhooks/:webhook_id/deliveries",
        method = "get",
        operation_id = "list_webhook_deliveries"
    )]
    async fn list_webhook_deliveries(
        &self,
        auth: ApiKeyAuth,
        state: Data<&AppState>,
        /// 24 lowercase hex characters.
        webhook_id: Path<WebhookId>,
        /// Page number, from 1.
        page: Query<Page>,
        /// Items per page, 1 to 100.
        limit: Query<Limit>,
        /// Only deliveries in this state.
        #[oai(name = "state")]
        state_filter: Query<Option<DeliveryState>>,
    ) -> Result<Json<ListDeliveriesResponse>, Failure<WebhookErrors>> {
        Ok(Json(
            deliveries::list(
                &state.0.db,
                &auth.0.account_id,
                &webhook_id.0,
                page.0,
                limit.0,
                state_filter.0,
            )
            .await?,
        ))
    }
}
