//! `/api/v1/whatsapp/webhook`: the callback URL to give Meta.

use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::receive;
use crate::http::envelope::Success;
use crate::http::error_sets::{CallbackErrors, VerifyErrors};
use crate::http::errors::Failure;
use crate::http::raw_json::RawJson;
use crate::http::tags::Tag;
use crate::http::time::Timestamp;
use crate::state::AppState;

/// The full path of both operations.
pub const PATH: &str = "/api/v1/whatsapp/webhook";

pub struct WhatsAppApi;

#[derive(ApiResponse)]
pub enum Challenge {
    /// The token matches: `hub.challenge`, as plain text.
    #[oai(status = 200)]
    Ok(PlainText<String>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "Tag::WhatsApp")]
impl WhatsAppApi {
    /// WhatsApp verification handshake
    ///
    /// Meta calls this when the callback URL is set in the App Dashboard. With
    /// `hub.mode=subscribe` and `hub.verify_token` equal to `WHATSAPP_VERIFY_TOKEN`,
    /// the answer is `hub.challenge`; anything else is 403.
    #[oai(
        path = "/whatsapp/webhook",
        method = "get",
        operation_id = "verify_whatsapp_webhook"
    )]
    async fn verify_whatsapp_webhook(
        &self,
        state: Data<&AppState>,
        #[oai(name = "hub.mode")] mode: Query<Option<String>>,
        #[oai(name = "hub.verify_token")] token: Query<Option<String>>,
        #[oai(name = "hub.challenge")] challenge: Query<Option<String>>,
    ) -> Result<Challenge, Failure<VerifyErrors>> {
        let challenge = receive::verify(
            &state.0.inbound,
            mode.0.as_deref(),
            token.0.as_deref(),
            challenge.0,
        )?;
        Ok(Challenge::Ok(PlainText(challenge)))
    }

    /// WhatsApp status and message callbacks
    ///
    /// Meta POSTs message statuses (`sent`, `delivered`, `read`, `failed`), replies and
    /// button taps here, signed with `X-Hub-Signature-256` (HMAC-SHA256 of the raw
    /// body with `WHATSAPP_APP_SECRET`). A missing or wrong signature is 401 and changes
    /// nothing. A verified body is stored and applied in the background.
    #[oai(
        path = "/whatsapp/webhook",
        method = "post",
        operation_id = "receive_whatsapp_webhook"
    )]
    async fn receive_whatsapp_webhook(
        &self,
        state: Data<&AppState>,
        /// `sha256=` and the hex HMAC-SHA256 of the body.
        #[oai(name = "X-Hub-Signature-256")]
        signature: Header<Option<String>>,
        body: RawJson,
    ) -> Result<Json<CallbackReceived>, Failure<CallbackErrors>> {
        receive::receive(state.0, signature.0.as_deref(), body.0).await?;
        Ok(Json(CallbackReceived {
            status: Success::Success,
            timestamp: Timestamp::now(),
        }))
    }
}

// The answer to a stored callback.
#[derive(Object, Debug)]
pub struct CallbackReceived {
    pub status: Success,
    pub timestamp: Timestamp,
}
